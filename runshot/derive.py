"""Acceptance checks derived from the spec's words, for a spec that has none.

Before any code is written, one model call (templates/derive_checks.j2) turns the description into steps of
runshot's step language (YAML). The spec parser validates them; they are shown, kept in `.runshot/spec.md` with
`derived: true`, and used like the user's checks for validation, ranking and repair findings. A derived check
that keeps failing is marked "possibly a wrong check" and leaves the repair prompt (runshot.steps). A spec with
checks of its own never gets derived ones. An answer that does not parse gives no derived checks and a note.
"""

from __future__ import annotations

import dataclasses
import re

import yaml

from runshot import steps
from runshot.errors import ModelError, UsageError
from runshot.generator.prompts import describe_step, render
from runshot.runstate import Run, call_ask
from runshot.spec import AcceptanceCheck, Spec, parse_checks
from runshot.vocab import EXPECTATIONS, TARGET_DESCRIPTION, step_language

MIN_CHECKS, MAX_CHECKS, MAX_STEPS = 1, 4, 12
TEMPERATURE = 0.2
_YAML_BLOCK = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*(?:ya?ml)?[ \t]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)


def derive_messages(spec: Spec) -> list[dict]:
    user = render(
        "derive_checks.j2", spec=spec, actions=step_language(), targets=TARGET_DESCRIPTION,
        expectations=EXPECTATIONS, min_checks=MIN_CHECKS, max_checks=MAX_CHECKS,
    )
    system = "You write precise browser acceptance checks in YAML. You answer with one YAML block only."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_derived(text: str) -> tuple[tuple[AcceptanceCheck, ...], str]:
    """(checks, "") from a model's answer, or ((), what was wrong)."""
    blocks = [m.group(2) for m in _YAML_BLOCK.finditer(text.replace("\r\n", "\n"))]
    source = blocks[0] if blocks else text
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        return (), f"the answer is not YAML ({getattr(exc, 'problem', None) or 'syntax error'})"
    if isinstance(data, dict) and "checks" in data:
        data = data["checks"]
    if not isinstance(data, list) or not data:
        return (), "the answer holds no list of checks"
    try:
        checks = parse_checks(data[:MAX_CHECKS], "derived checks")
    except UsageError as exc:
        return (), exc.message
    checks = tuple(dataclasses.replace(c, steps=c.steps[:MAX_STEPS]) for c in checks)
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        return (), "two derived checks have the same name"
    return checks, ""


def derive_checks(run: Run) -> None:
    """Give `run.spec` derived checks when it has none and deriving is on; never raises for a bad answer."""
    if not run.options.derive_checks or run.spec.checks:
        return
    messages = derive_messages(run.spec)
    run.progress.note("the spec has no acceptance checks: asking the model to write some from its words")
    try:
        completion = call_ask(run.ask, messages, None, temperature=TEMPERATURE)
    except ModelError as exc:
        run.progress.note(f"no derived checks: the model call failed ({exc.message})")
        return
    run.report.other_usage.add(completion.usage)
    steps.write_transcript(run.state_dir, "derive-checks", messages, completion)
    checks, problem = parse_derived(completion.text)
    if problem:
        run.progress.note(f"no derived checks: {problem}")
        return
    run.spec = dataclasses.replace(run.spec, checks=checks)
    run.derived = frozenset(c.name for c in checks)
    run.report.derived_checks = [
        {"name": c.name, "steps": [describe_step(s) for s in c.steps], "derived": True} for c in checks
    ]
    for c in checks:
        run.progress.note(f"derived check: {c.name}: " + "; ".join(describe_step(s) for s in c.steps))
    keep_spec(run.spec, run.state_dir / "spec.md")
    steps.save(run)


def keep_spec(spec: Spec, path) -> None:
    """Write the spec with its derived checks (each marked `derived: true`) where `runshot check` finds it."""
    meta: dict = {"title": spec.title, "entry": spec.entry}
    if spec.animated:
        meta["animated"] = True
    meta.update({k: v for k, v in spec.extra.items() if k not in ("checks", "derived_checks")})
    meta["derived_checks"] = True
    meta["checks"] = [
        {"name": c.name, "derived": True, "steps": [{s.action: dict(s.args)} for s in c.steps]} for c in spec.checks
    ]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    path.write_text(f"---\n{front}---\n{spec.body}\n", encoding="utf-8")

