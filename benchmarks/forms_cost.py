"""What the data walk (the `forms` check) adds to `runshot check`, on corpus apps with forms.

    python benchmarks/forms_cost.py [--rounds 5] [--apps good-contact-form,good-form-booking,good-todomvc] [--warm]

Each round runs, per app, `python -m runshot check APP --json FILE` in a new process twice, in alternating
order: with every built-in check (A) and with every built-in check but `forms` (B). Prints per app the median
wall-clock seconds of A and B, the median of the per-round ratios A ÷ B, and the median seconds the forms check
itself took (from the JSON info). With --warm, the same with one Validator kept open (as across the iterations of
`runshot new`), timing `validate` alone. The machine may be shared: the alternation keeps both sides under the
same load.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runshot.spec import Spec, parse_spec_file
from runshot.validators.runner.registry import BUILT_INS
from runshot.validators.runner.project import Validator

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
APPS = ("good-contact-form", "good-form-booking", "good-todomvc")


def cold_once(app: Path, checks: list[str], out: Path) -> tuple[float, dict]:
    """Seconds of one `runshot check` in a new process, and its JSON report."""
    cmd = [sys.executable, "-m", "runshot", "check", str(app), "--checks", ",".join(checks), "--json", str(out)]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"runshot check {app.name} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return seconds, json.loads(out.read_text(encoding="utf-8"))


def warm_once(validator: Validator, app: Path, checks: list[str]) -> tuple[float, dict]:
    """Seconds of one validation with a kept browser, and the report's info and findings."""
    spec = parse_spec_file(app / "spec.md") if (app / "spec.md").is_file() else \
        Spec(title=app.name, body="A small web app.", source="benchmark")
    started = time.monotonic()
    result = validator.validate(app, spec, checks=checks)
    seconds = time.monotonic() - started
    findings = [{"check": f.check, "message": f.message} for f in result.findings]
    return seconds, {"info": {"seconds": result.info.get("seconds", {})}, "findings": findings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--apps", default=",".join(APPS), help="corpus app names, comma-separated")
    parser.add_argument("--warm", action="store_true", help="one Validator kept open instead of a process per run")
    args = parser.parse_args(argv)
    every = [c.name for c in BUILT_INS]
    without = [name for name in every if name != "forms"]
    apps = [CORPUS / name for name in args.apps.split(",") if name]
    times: dict[str, dict[str, list[float]]] = {a.name: {"with": [], "without": [], "ratio": [], "forms": []}
                                                for a in apps}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        out = Path(tmp) / "report.json"
        if args.warm:
            validator = stack.enter_context(Validator())
            run = functools.partial(warm_once, validator)
        else:
            run = functools.partial(cold_once, out=out)
        for round_no in range(args.rounds):
            for app in apps:
                order = ("with", "without") if round_no % 2 == 0 else ("without", "with")
                seconds = {}
                for side in order:
                    seconds[side], report = run(app, every if side == "with" else without)
                    times[app.name][side].append(seconds[side])
                    if side == "with":
                        times[app.name]["forms"].append(report["info"]["seconds"].get("forms", 0.0))
                        findings = [f["message"] for f in report["findings"] if f["check"] == "forms"]
                        if findings:
                            print(f"  {app.name}: forms findings: {findings}", file=sys.stderr)
                times[app.name]["ratio"].append(seconds["with"] / seconds["without"])
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(f"{'app':24} {'with forms':>11} {'without':>9} {'ratio':>7} {'forms check':>12}")
    for name, t in times.items():
        med = statistics.median
        print(f"{name:24} {med(t['with']):10.2f}s {med(t['without']):8.2f}s {med(t['ratio']):6.3f}x "
              f"{med(t['forms']):11.2f}s")
    ratios = [r for t in times.values() for r in t["ratio"]]
    print(f"median ratio over {len(ratios)} pairs: {statistics.median(ratios):.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
