"""Are derived checks right? For each prompt-only spec with an app that meets it and a twin that breaks it, derive
checks from the spec's words on one endpoint, run them on both apps, and count the specs where they are right:
the good app passes and the broken twin fails.

    python benchmarks/derive.py [--model local] [--base-url URL] [--api-key KEY] [--samples 3] [--only a,b]
                                [--json OUT] [--show] [--replay OUT | --words | --reference] [DIR]

DIR (default benchmarks/derive/) holds one folder per spec: spec.md (no checks of its own), good/ and broken/
(README.md there says what each twin breaks). Only the acceptance check runs, with the derived checks alone.
Derivation is the code `runshot new` and `runshot derive` run (runshot.derivation.derive.derive). Prints per spec: right or
wrong (and why: the good app failed, the twin passed, or nothing was kept), the checks kept, the tokens and seconds
derivation took; then the totals. --show prints the derived checks; --json keeps each sample's answer too, and
--replay OUT judges those answers again with no model; --words keeps only the checks the spec's own words settle
(no model). Exit 0 always (it measures; it judges nothing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runshot.derivation import derive as deriving  # noqa: E402 (the checkout's runshot, after the path is set)
from runshot import wiring  # noqa: E402
from runshot.settings.config import resolve_endpoint  # noqa: E402
from runshot.generator.prompts import describe_step  # noqa: E402
from runshot.procs import terminate_as_interrupt  # noqa: E402
from runshot.spec import parse_checks, parse_spec_file  # noqa: E402
from runshot.generator.client import Completion  # noqa: E402
from runshot.values import Usage  # noqa: E402


def cases(folder: Path, only: set[str]) -> list[Path]:
    found = sorted(p for p in folder.iterdir() if (p / "spec.md").is_file() and (p / "good").is_dir())
    return [p for p in found if not only or p.name in only]


def judge(validator, case: Path, spec) -> tuple[bool, str]:
    """(right, why): right when the good app passes the derived checks and the broken twin fails them."""
    if not spec.checks:
        return False, "no derived check was kept"
    good = validator.validate(case / "good", spec, checks=["acceptance"])
    if not good.passed:
        return False, "the good app failed: " + good.errors[0].message[:200]
    broken = validator.validate(case / "broken", spec, checks=["acceptance"])
    if broken.passed:
        return False, "the broken twin passed"
    return True, "twin failed: " + broken.errors[0].message[:160]


def logged(model, name: str, free: bool = False, answers: list | None = None):
    """A derive() model call that prints each sample's tokens and seconds to stderr as it ends (with `free`, the
    answer is not held to the step grammar; with `answers`, each answer's text is added to it)."""
    def call(messages, temperature, seed, schema, deadline=None):
        schema = None if free else schema
        started = time.monotonic()
        completion = model.ask(messages, None, temperature=temperature, seed=seed, schema=schema, deadline=deadline)
        print(f"  {name} sample {seed}: {completion.usage.prompt_tokens}+{completion.usage.completion_tokens} tokens, "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        if answers is not None:
            answers.append(completion.text)
        return completion
    return call


def _source(args) -> str:
    if args.words:
        return "none (the spec's words only)"
    return f"answers of {args.replay}" if args.replay else "none (reference checks)"


def replayed(answers: list[str], row: dict):
    """A derive() model call that answers sample N with the N-th saved answer, charged the saved tokens."""
    calls = max(1, len(answers))

    def call(messages, temperature, seed, schema, deadline=None):
        usage = Usage(prompt_tokens=row["prompt_tokens"] // calls, completion_tokens=row["completion_tokens"] // calls)
        return Completion(text=answers[seed - 1], finish_reason="stop", usage=usage, seconds=0.0, attempts=1,
                          continuations=0, usage_estimated=False)
    return call


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", default=str(ROOT / "benchmarks" / "derive"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--api-key", default=None)
    ap.add_argument("--samples", type=int, default=deriving.SAMPLES)
    ap.add_argument("--only", default="", help="comma-separated folder names")
    ap.add_argument("--max-tokens", type=int, default=800, help="cap on one derivation answer")
    ap.add_argument("--json", dest="json_path", default=None)
    ap.add_argument("--show", action="store_true", help="print the derived checks")
    ap.add_argument("--free", action="store_true", help="answers in free text, not held to the step grammar")
    ap.add_argument("--replay", default=None, metavar="JSON",
                    help="no model: take each sample's answer from an earlier run's --json (judges the same answers "
                         "again, e.g. after a change to how checks are held to the spec)")
    ap.add_argument("--words", action="store_true",
                    help="no model: only the checks the spec's own words settle (runshot.derivation.worded)")
    ap.add_argument("--reference", action="store_true",
                    help="no model: run each folder's hand-written reference.yaml instead (checks the labels)")
    args = ap.parse_args(argv)
    terminate_as_interrupt()  # SIGTERM stops the local model's server too
    rows: list[dict] = []
    with ExitStack() as stack:
        saved = {r["spec"]: r for r in json.loads(Path(args.replay).read_text())["rows"]} if args.replay else None
        model = None if args.reference or args.words or saved is not None else wiring.open_model(
            stack, resolve_endpoint(args.model, args.base_url, args.api_key),
            wiring.ModelOptions(max_tokens=args.max_tokens), note=lambda t: print(t, file=sys.stderr))
        validator = wiring.open_validator(stack, wiring.BrowserOptions())
        for case in cases(Path(args.folder), {n for n in args.only.split(",") if n}):
            spec = parse_spec_file(case / "spec.md")
            started = time.monotonic()
            if saved is not None:
                answers = list(saved.get(case.name, {}).get("answers") or [])
                found = deriving.derive(spec, None, samples=len(answers), call=replayed(answers, saved[case.name]))
            elif args.words:
                found = deriving.derive(spec, None, samples=0)
            elif model is None:
                raw = yaml.safe_load((case / "reference.yaml").read_text(encoding="utf-8"))
                found = deriving.Derivation(checks=parse_checks(raw, f"{case.name}/reference.yaml"))
            else:
                answers: list[str] = []
                found = deriving.derive(spec, model.ask, samples=args.samples,
                                        call=logged(model, case.name, args.free, answers))
            spec = dataclasses.replace(spec, checks=found.checks)
            right, why = judge(validator, case, spec)
            row = {"spec": case.name, "right": right, "why": why, "checks": len(found.checks), "calls": found.calls,
                   "prompt_tokens": found.usage.prompt_tokens, "completion_tokens": found.usage.completion_tokens,
                   "derive_seconds": round(found.seconds, 1), "seconds": round(time.monotonic() - started, 1),
                   "derived": [{"name": c.name, "covers": list(c.covers),
                                "steps": [describe_step(s) for s in c.steps]} for c in found.checks],
                   "notes": found.notes, "answers": answers if model is not None or saved is not None else []}
            rows.append(row)
            print(f"{case.name:14} {'right' if right else 'WRONG':5}  {len(found.checks)} check(s)  "
                  f"{found.usage.prompt_tokens}+{found.usage.completion_tokens} tokens  {found.seconds:.0f} s  {why}",
                  flush=True)
            if args.show:
                for c in row["derived"]:
                    print(f"    {c['name']}: " + "; ".join(c["steps"]))
                for note in found.notes:
                    print(f"    ({note})")
    right = sum(r["right"] for r in rows)
    tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    seconds = sum(r["derive_seconds"] for r in rows)
    print(f"right: {right} of {len(rows)}; derivation: {tokens} tokens, {seconds:.0f} s in all "
          f"({tokens // max(1, len(rows))} tokens, {seconds / max(1, len(rows)):.0f} s per spec); model "
          f"{model.name if model else _source(args)}, "
          f"{args.samples if saved is None and not args.words else max((r['calls'] for r in rows), default=0)} "
          f"sample(s)")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"right": right, "total": len(rows), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
