"""Acceptance checks derived from the spec's words, for the requirements no written check verifies.

Before any code is written, the spec is split into its requirements (runshot.derivation.coverage); those no written or
default check verifies are numbered and sent to the model (templates/derive_checks.j2, the step language with
worked examples), which answers with checks in YAML, each naming the requirement it `covers`, its actions
(`steps`) and what the page must then show (`expect`, at least one; the embedded engine is held to the JSON schema
of such an answer, vocab.checks_schema, so it can only write steps the parser takes, each with a target). The model
is asked SAMPLES times (seeds 1..SAMPLES; when the first two answers hold the very same checks, no third is asked).
Each answer is parsed by the spec parser (unknown keys are refused; a `fill`, `select` or `check` without a target
takes the one of the click before it), and each check is held against the spec's words (`held`: the review of
each step, runshot.derivation.review; the actions its requirement names before an expected text, put in or
refused, runshot.derivation.acts; texts a part of which would match another state expected whole,
runshot.derivation.literal). Per requirement the samples vote: the check written the same way by the most samples
is kept, if no other check had as many votes; when it expects a value the spec does not state (the model computed
it) at least two samples must agree on it. A requirement no sample's check is kept for gets the checks its own words
settle (from_words, runshot.derivation.worded). Derived checks are added after the user's own ones, marked derived,
never replacing them; they are shown, kept in `.runshot/spec.md` with `derived: true` and `covers:`, and used like
the user's checks. A derived check that keeps failing is marked "possibly a wrong check" (runshot.loop.steps).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import yaml

from runshot.derivation import coverage
from runshot.derivation.acts import complete, without_reloads
from runshot.derivation.literal import sharpen
from runshot.derivation.names import misnamed
from runshot.derivation.worded import later_states, unstated_state, worded_checks

from runshot.loop import steps
from runshot.derivation.review import Reviewed, review_check
from runshot.errors import ModelError, UsageError
from runshot.generator.prompts import describe_step, render
from runshot.loop.state import Run, call_ask
from runshot.spec import AcceptanceCheck, Spec, parse_checks
from runshot.values import Usage
from runshot.vocab import EXPECTATIONS, TARGET_DESCRIPTION, checks_schema, step_language

MAX_CHECKS, MAX_STEPS = 8, 12
SAMPLES = 3
TEMPERATURE = 0.4
DERIVE_SHARE = 0.35  # of a run's time budget, the most deriving checks may take
MIN_SAMPLE_SECONDS = 30.0  # the shortest deadline a sample gets from the budget
DEFAULT_CHECKS = ("runtime", "a11y", "semantics", "keyboard", "dialog", "motion", "mobile")
_YAML_BLOCK = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*(?:ya?ml)?[ \t]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)


@dataclass
class Derivation:
    """What deriving gave: the checks kept (each with the requirements it covers), and what it cost."""

    checks: tuple[AcceptanceCheck, ...] = ()
    asked: tuple[str, ...] = ()  # the requirements sent to the model
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    calls: int = 0
    notes: list[str] = field(default_factory=list)  # refused checks and answers that did not parse

    def to_dict(self) -> dict:
        return {"calls": self.calls, "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens, "seconds": round(self.seconds, 2),
                "asked": list(self.asked), "kept": [c.name for c in self.checks], "notes": self.notes[:20]}


def derive_messages(spec: Spec, todo: list[coverage.Requirement]) -> list[dict]:
    user = render(
        "derive_checks.j2", spec=spec, requirements=[r.text for r in todo], actions=step_language(),
        targets=TARGET_DESCRIPTION, expectations=EXPECTATIONS,
    )
    system = "You write precise browser acceptance checks in YAML. You answer with one YAML block only."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_derived(text: str, todo: list[str] | None = None) -> tuple[tuple[AcceptanceCheck, ...], str]:
    """(checks, "") from a model's answer, or (the checks the parser takes, what was wrong with the others; () when
    nothing could be read). `covers: N` becomes the N-th text of `todo`."""
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
    items = [dict(_joined(item), covers=_covered_text(item.get("covers"), todo or []) or _best_match(item, todo or []),
                  derived=True) if isinstance(item, dict) else item for item in data[:MAX_CHECKS]]
    checks: list[AcceptanceCheck] = []
    problems: list[str] = []
    for item in items:  # a check the parser refuses leaves the others of the answer standing
        try:
            [check] = parse_checks([item], "derived checks")
        except UsageError as exc:
            problems.append(exc.message)
            continue
        if any(c.name == check.name for c in checks):
            problems.append(f"two derived checks are named {check.name!r}: the second is left out")
            continue
        checks.append(dataclasses.replace(check, steps=check.steps[:MAX_STEPS]))
    return tuple(checks), "; ".join(problems)


_TARGET_KEYS = ("role", "name", "exact", "label", "text", "testid", "css")
_ON_A_TARGET = ("fill", "select", "check")  # actions that need a target and say what they do with it


def _joined(item: dict) -> dict:
    """A check as the parser takes it: the answer's `expect` list (the schema's form: actions, then what the page
    must show) appended to its steps as `expect` steps; a `fill`, `select` or `check` without a target takes the
    target of the `click` right before it, which it replaces ("click: Size" then "select: {value: Large}" is
    choosing Large in Size)."""
    out = {k: v for k, v in item.items() if k != "expect"}
    steps = [] if item.get("steps") is None else item["steps"]
    if not isinstance(steps, list):
        return out  # the parser says what is wrong with it
    expect = item.get("expect")
    if expect is not None:
        steps = steps + [{"expect": e} for e in (expect if isinstance(expect, list) else [expect])]
    out["steps"] = _carried(steps)
    return out


def _carried(steps: list) -> list:
    out: list = []
    for step in steps:
        action, args = next(iter(step.items())) if isinstance(step, dict) and len(step) == 1 else (None, None)
        before = out[-1] if out else None
        clicked = before.get("click") if isinstance(before, dict) and len(before) == 1 else None
        if action in _ON_A_TARGET and isinstance(args, dict) and not any(k in args for k in _TARGET_KEYS) \
                and isinstance(clicked, dict) and any(k in clicked for k in _TARGET_KEYS):
            out[-1] = {action: {**{k: v for k, v in clicked.items() if k in _TARGET_KEYS}, **args}}
            continue
        out.append(step)
    return out


def _covered_text(raw: Any, todo: list[str]) -> list[str]:
    numbers = raw if isinstance(raw, list) else [raw]
    out = []
    for n in numbers:
        if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= len(todo):
            out.append(todo[n - 1])
        elif isinstance(n, str) and n in todo:
            out.append(n)
    return out


def _best_match(item: dict, todo: list[str]) -> list[str]:
    """For a check without a usable `covers`: the one requirement whose quoted texts, then words, its steps' values
    (names, labels, texts) share the most, if exactly one shares the most; else none."""
    values = " ".join(str(v) for step in item.get("steps") or [] if isinstance(step, dict)
                      for args in step.values() if isinstance(args, dict) for v in args.values())
    words = set(re.findall(r"\w+", values.casefold()))
    folded = coverage.fold(values)
    scores = [100 * sum(lit.casefold() in folded for lit in coverage.read_requirement(t).literals)
              + len(words & set(re.findall(r"\w+", t.casefold()))) for t in todo]
    best = max(scores, default=0)
    return [todo[scores.index(best)]] if best and scores.count(best) == 1 else []


def to_verify(spec: Spec, default_checks: tuple[str, ...] = DEFAULT_CHECKS) -> list[coverage.Requirement]:
    """The spec's requirements no check of its own (written, or derived and kept in the spec) and no default check
    verifies, and the step language could."""
    covered = coverage.account(coverage.split_requirements(spec.body), spec.checks, default_checks=default_checks)
    return [c.requirement for c in covered if not c.verified and c.requirement.checkable]


def derive(spec: Spec, ask: Any, samples: int = SAMPLES, call: Any = None,
           default_checks: tuple[str, ...] = DEFAULT_CHECKS, budget: float | None = None) -> Derivation:
    """Derive checks for the requirements of `spec` nothing verifies yet; never raises for a bad answer.
    `call(messages, temperature, seed, schema, deadline)` returns a Completion (default: call_ask on `ask`);
    `schema` is the JSON schema of an answer (vocab.checks_schema), which the embedded engine holds its sampling
    to. With `budget` (seconds), no sample starts that the time left would not hold (judged by the last one) and
    each answer's deadline is the time left (at least MIN_SAMPLE_SECONDS)."""
    out = Derivation()
    todo = to_verify(spec, default_checks)
    out.asked = tuple(r.text for r in todo)
    if not todo:
        return out
    messages = derive_messages(spec, todo)
    schema = checks_schema(len(todo), MAX_CHECKS, MAX_STEPS)
    started = time.monotonic()
    answers: list[tuple[AcceptanceCheck, ...]] = []
    last = 0.0
    for seed in range(1, samples + 1):
        spent = time.monotonic() - started
        if budget is not None and answers and spent + last > budget:
            out.notes.append(f"time budget of {budget:.0f} s: {len(answers)} sample(s) asked")
            break
        deadline = None if budget is None else max(budget - spent, MIN_SAMPLE_SECONDS)
        try:
            if call is not None:
                completion = call(messages, TEMPERATURE, seed, schema, deadline)
            else:
                completion = call_ask(ask, messages, None, temperature=TEMPERATURE, seed=seed, schema=schema,
                                      deadline=deadline)
        except ModelError as exc:
            out.notes.append(f"sample {seed}: the model call failed ({exc.message})")
            break
        out.calls += 1
        out.usage.add(completion.usage)
        last = time.monotonic() - started - spent
        checks, problem = parse_derived(completion.text, list(out.asked))
        if problem:
            out.notes.append(f"sample {seed}: {problem}")
        answers.append(checks)
        if len(answers) == 2 and samples > 2 and _same(answers[0], answers[1]) and answers[0]:
            out.notes.append("the first two samples agree on every check: no third one asked")
            break
    out.seconds = time.monotonic() - started
    out.checks = agree(answers, spec, out.notes, [c.name for c in spec.checks], list(out.asked))
    out.checks += from_words([r for r in out.asked if not any(r in c.covers for c in out.checks)], spec,
                             [c.name for c in spec.checks + out.checks], out.notes)
    return out


def from_words(todo: list[str], spec: Spec, taken: list[str], notes: list[str]) -> tuple[AcceptanceCheck, ...]:
    """For each requirement of `todo`, the checks its own words settle (runshot.derivation.worded), held to the
    spec like the model's."""
    text = spec.title + "\n" + spec.body
    names = set(taken)
    kept: list[AcceptanceCheck] = []
    for req in todo:
        for check in worded_checks(req, text):
            reviewed = held(check, text)
            if reviewed.check is None:
                notes.append(f"not kept '{check.name}' (from the requirement's words): {reviewed.problem}")
                continue
            name = check.name
            while name in names:
                name += " (derived)"
            names.add(name)
            kept.append(dataclasses.replace(reviewed.check, name=name))
            notes.append(f"'{name}' written from the words of '{req}'")
    return tuple(kept)


def step_key(step) -> str:
    """A step written the same way whatever the order or spacing of its arguments."""
    inner = ",".join(f"{k}={coverage.fold(v)}" for k, v in sorted(step.args.items()))
    return f"{step.action}({inner})"


def check_key(check: AcceptanceCheck) -> str:
    """A check written the same way (the samples' votes compare these)."""
    return ";".join(step_key(s) for s in check.steps)


def _same(a: tuple[AcceptanceCheck, ...], b: tuple[AcceptanceCheck, ...]) -> bool:
    return sorted((c.covers, check_key(c)) for c in a) == sorted((c.covers, check_key(c)) for c in b)


def held(check: AcceptanceCheck, spec_text: str):
    """`check` held against the spec's words: reloads of its page the spec never speaks of dropped, a control's
    state (`checked`, `disabled`) expected only where the spec says it (worded.unstated_state), acting only on what
    the spec gives a control's name (names.misnamed), its steps reviewed (runshot.derivation.review), the actions
    its requirement names put in (acts), its texts expected whole where a part would also match another state
    (literal); a state it expects after acting counts as a value the model computed (worded.later_states). A
    Reviewed: the check corrected, or None and why."""
    check, dropped = without_reloads(check, spec_text)
    unstated = unstated_state(check, spec_text) or misnamed(check, spec_text)
    if unstated:
        return Reviewed(None, unstated)
    reviewed = review_check(check, spec_text)
    if dropped and reviewed.check is not None:
        reviewed = dataclasses.replace(reviewed, problem="; ".join(n for n in (*dropped, reviewed.problem) if n))
    reviewed = sharpen(complete(reviewed, spec_text), spec_text)
    if reviewed.check is not None and (states := later_states(reviewed.check)):
        reviewed = dataclasses.replace(reviewed, computed=reviewed.computed + states)
    return reviewed


def agree(answers: list[tuple[AcceptanceCheck, ...]], spec: Spec, notes: list[str],
          taken: list[str] | None = None, asked: list[str] | None = None) -> tuple[AcceptanceCheck, ...]:
    """Per requirement, the reviewed check the samples agree on (see the module's docstring). A check that expects
    texts only one of the spec's requirements quotes counts for that one, whatever its `covers` says (and is left
    out when that one is not among those `asked`: a written check verifies it); among checks
    with as many votes, one that expects only texts its requirement quotes is kept (the one expecting most of
    them, then the earliest sample's); a value the model computed needs two samples."""
    text = spec.title + "\n" + spec.body
    every = [r.text for r in coverage.split_requirements(spec.body)]
    votes: dict[str, Counter] = {}
    first: dict[tuple[str, str], tuple[AcceptanceCheck, tuple[str, ...]]] = {}
    fixes: dict[tuple[str, str], str] = {}  # what holding the check to the spec corrected
    order: list[str] = []
    for sample, checks in enumerate(answers, 1):
        seen: set[tuple[str, str]] = set()
        for check in checks:
            reviewed = held(check, text)
            if reviewed.check is None:
                notes.append(f"sample {sample}: refused '{check.name}': {reviewed.problem}")
                continue
            key = check_key(reviewed.check)
            quoting = _quoting(reviewed.check, every)
            if quoting and asked is not None and quoting[0] not in asked:
                notes.append(f"sample {sample}: left out '{check.name}': it expects what '{quoting[0]}' says, which "
                             f"a written check verifies already")
                continue
            for req in quoting or reviewed.check.covers or ("",):
                if not req or (req, key) in seen:
                    continue
                seen.add((req, key))
                votes.setdefault(req, Counter())[key] += 1
                first.setdefault((req, key), (reviewed.check, reviewed.computed))
                fixes.setdefault((req, key), reviewed.problem)
                if req not in order:
                    order.append(req)
    kept: list[AcceptanceCheck] = []
    names = set(taken or ())
    for req in order:
        ranked = votes[req].most_common()
        top = [k for k, n in ranked if n == ranked[0][1]]
        stated = sorted((k for k in top if _own(first[(req, k)][0], req)),
                        key=lambda k: -_literals(first[(req, k)][0], req))
        key, n = (stated[0] if stated else top[0]), ranked[0][1]
        check, computed = first[(req, key)]
        if len(top) > 1 and not stated:
            notes.append(f"not kept for '{req}': the samples disagree ({len(ranked)} different checks)")
            continue
        if computed and n < 2:
            notes.append(f"not kept '{check.name}': it expects {', '.join(computed)}, which the spec does not "
                         f"state, and the samples did not agree on it")
            continue
        if any(check_key(k) == key for k in kept):
            continue
        name = check.name
        while name in names:
            name += " (derived)"
        names.add(name)
        kept.append(dataclasses.replace(check, name=name, covers=(req,), derived=True))
        if fixes[(req, key)]:
            notes.append(f"'{name}' corrected to fit the spec: {fixes[(req, key)]}")
    return tuple(kept)


def _expected(check: AcceptanceCheck) -> list[str]:
    return [coverage.fold(v) for s in check.steps if s.action == "expect"
            for k in ("text", "exact_text", "value") if isinstance(v := s.args.get(k), str) and v.strip()]


@functools.lru_cache(maxsize=64)
def _quoted_by(req: str) -> tuple[str, ...]:
    """The texts a requirement quotes, folded (read once per requirement, not once per check and text)."""
    return tuple(coverage.fold(lit) for lit in coverage.read_requirement(req).literals)


def _quotes(req: str, expected: str) -> bool:
    """Whether the requirement quotes the text, whole or as a part of a quoted text."""
    return any(coverage.within(expected, lit) for lit in _quoted_by(req))


def _quoting(check: AcceptanceCheck, requirements: list[str]) -> tuple[str, ...]:
    """The one requirement that quotes a text the check expects, if exactly one does."""
    expected = _expected(check)
    found = [r for r in requirements if any(_quotes(r, e) for e in expected)]
    return (found[0],) if len(found) == 1 else ()


def _own(check: AcceptanceCheck, req: str) -> bool:
    """Whether every text the check expects is one its requirement quotes (none computed, none from elsewhere)."""
    expected = _expected(check)
    return bool(expected) and all(_quotes(req, e) for e in expected)


def _literals(check: AcceptanceCheck, req: str) -> int:
    """How many of the requirement's quoted texts the check expects."""
    expected = set(_expected(check))
    return sum(lit in expected for lit in _quoted_by(req))


def derive_checks(run: Run) -> Run:
    """The run with derived checks added to its spec for the requirements nothing verifies; coverage and cost
    recorded in its report."""
    spec = run.spec
    todo = to_verify(spec) if run.options.derive_checks else []
    if todo:
        spec = _with_derived(run, spec, len(todo))
    run = dataclasses.replace(run, spec=spec, derived=frozenset(c.name for c in spec.checks if c.derived))
    run.report.derived_checks = [
        {"name": c.name, "steps": [describe_step(s) for s in c.steps], "derived": True, "covers": list(c.covers)}
        for c in spec.checks if c.derived
    ]
    covered = coverage.of_spec(spec, DEFAULT_CHECKS)
    run.report.coverage = coverage.to_dict(covered)
    if covered:
        run.progress.note("spec coverage: " + coverage.summary(covered))
    if run.derived:
        keep_spec(spec, run.state_dir / "spec.md")
        steps.save(run)
    return run


def _with_derived(run: Run, spec: Spec, todo: int) -> Spec:
    """`spec` with the checks the model derives for its `todo` unverified requirements (progress shown)."""
    left = run.time_left()
    budget = None if left is None else max(DERIVE_SHARE * left, MIN_SAMPLE_SECONDS)
    within = "" if budget is None else f" within {budget:.0f} s"
    run.progress.note(f"{todo} requirement(s) of the spec no written check verifies: asking the model for checks "
                      f"(up to {SAMPLES} samples{within})")

    def call(messages, temperature, seed, schema, deadline):  # the live progress line shows the tokens
        return call_ask(run.ask, messages, run.progress.model_progress, temperature=temperature, seed=seed,
                        schema=schema, deadline=deadline)

    run.progress.waiting("deriving checks")
    try:
        found = derive(spec, run.ask, call=call, budget=budget)
    finally:
        run.progress.waiting_done()
    run.report.other_usage.add(found.usage)
    run.report.derivation = found.to_dict()
    for note in found.notes:
        run.progress.note(f"deriving checks: {note}")
    if not found.checks:
        run.progress.note("no derived checks were kept")
        return spec
    for c in found.checks:
        run.progress.note(f"derived check: {c.name}: " + "; ".join(describe_step(s) for s in c.steps))
    return dataclasses.replace(spec, checks=spec.checks + found.checks)


def keep_spec(spec: Spec, path) -> None:
    """Write the spec with its checks, the derived ones marked `derived: true` with what they cover."""
    path.write_text(spec_text(spec), encoding="utf-8")


def spec_text(spec: Spec, coverage_lines: list[str] | None = None) -> str:
    """The spec as a Markdown file: front matter with every check (derived ones marked), then the description."""
    meta: dict = {"title": spec.title, "entry": spec.entry}
    if spec.animated:
        meta["animated"] = True
    meta.update({k: v for k, v in spec.extra.items() if k not in ("checks", "derived_checks")})
    meta["checks"] = [_check_dict(c) for c in spec.checks]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=120)
    tail = ""
    if coverage_lines:
        tail = "\n<!-- coverage (runshot derive):\n" + "\n".join(coverage_lines).replace("--", "- -") + "\n-->\n"
    body = re.sub(r"\s*<!-- coverage \(runshot derive\):.*?-->", "", spec.body, flags=re.S)
    return f"---\n{front}---\n{body}\n{tail}"


def _check_dict(c: AcceptanceCheck) -> dict:
    out: dict = {"name": c.name}
    if c.derived:
        out["derived"] = True
        if c.covers:
            out["covers"] = list(c.covers)
    out["steps"] = [{s.action: dict(s.args)} for s in c.steps]
    return out
