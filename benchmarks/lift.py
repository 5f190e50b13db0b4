"""What test-time compute buys: one shot vs repair vs candidates vs both, at equal token budgets, side by side.

`runshot bench` is the command for this (suites, several models, Ray, merged outputs); this script keeps the
repeat-and-seed protocol of the published figures and shares its modes, figures and shared answers with it.

    python benchmarks/lift.py [--budget 12000] [--candidates 3] [--model local] [--base-url URL] [--api-key KEY]
                              [--keep DIR] [--modes one-shot,repair,candidates,both] [--json OUT] [SPEC ...]
    python benchmarks/lift.py --from-json OUT ...  # the table of saved runs (also of one stopped early)

Specs (default): the samples with written acceptance checks that fit a small model (counter, tip calculator,
todo) and two WebGen-Bench instructions with acceptance checks written for them (benchmarks/webgen/). Each spec
runs in every mode with one model and one browser, so all modes see the same endpoint and machine:

- one-shot: one answer, judged as it is;
- repair: one answer, then repairs while errors remain, within the token budget;
- candidates: N independent first answers, the best by the checks (no repair);
- both: N candidates, the best one repaired, within the same budget.

Checks the model writes from the spec are off in every mode (the written checks are the judge).

Every request is seeded (a run's unseeded requests get seed 1; each repeat offsets every seed by 1000, and
--first-repeat K starts at repeat K, to add repeats to an earlier run's --json later), and an identical request (same messages, temperature and seed) is answered once and replayed to any
later run that makes it: the one-shot answer is also candidate 1 and the repair mode's first answer, and the
"both" mode replays the candidates and, when candidate 1 wins, the repair mode's repairs. Replayed answers are
charged in full (their tokens count against the budget and their model seconds are added to the run's seconds),
so every mode's figures are what an independent run against a seeded endpoint costs; the model is asked once
per distinct request, which about halves the benchmark's time. --no-replay asks for every request again. A run passes
when its best iteration has no error. Prints per mode: pass rate, tokens per pass, seconds per pass, the lift
over one-shot (passes ÷ one-shot passes) and the errors left in the runs' best iterations, then per spec. Figures from a small local model vary from run to run:
run it several times (--repeat) before quoting a lift.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from runshot.scale.bench import SharedAnswers as Replay
from runshot.scale.bench import rows as bench_rows
from runshot.loop.modes import MODES, mode_values

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPECS = [ROOT / "samples" / f"{n}.md" for n in ("counter", "tip-calculator", "todo")] + sorted(
    (ROOT / "benchmarks" / "webgen").glob("*.md"))


def mode_options(mode: str, budget: int, candidates: int, max_iterations: int) -> dict:
    """RunOptions values for one mode (runshot.loop.modes, as `runshot bench` uses them)."""
    return mode_values(mode, budget, candidates, max_iterations)


def run_one(spec_path: Path, mode: str, out: Path, model, validate, options: dict, ask=None) -> dict:
    from runshot.api import as_spec, keep_spec_copy, run_options
    from runshot.loop.repair import run_new

    spec = as_spec(str(spec_path))
    keep_spec_copy(spec, out)
    started = time.monotonic()
    ask = ask or model.ask
    replayed, replayed_seconds = getattr(ask, "replayed", 0), getattr(ask, "replayed_seconds", 0.0)
    report = run_new(spec, out, ask, validate, model_info=dict(model.description),
                     options=run_options(**{"derive_checks": False, **options}))
    usage = report.usage
    covered = getattr(report, "coverage", None) or {}
    return {
        "spec": spec_path.stem, "mode": mode, "passed": bool(report.passed),
        "iterations": len(report.iterations), "candidates": len(getattr(report, "candidates", []) or []),
        "tokens": usage.prompt_tokens + usage.completion_tokens, "completion_tokens": usage.completion_tokens,
        "seconds": round(time.monotonic() - started + getattr(ask, "replayed_seconds", 0.0) - replayed_seconds, 1),
        "answers_replayed": getattr(ask, "replayed", 0) - replayed, "stopped_because": report.stopped_because,
        "errors": min((sum(1 for f in it.findings if f.severity == "error") for it in report.iterations),
                      default=None),
        "verified": covered.get("verified"), "requirements": covered.get("total"),
        "derived_checks": len(getattr(report, "derived_checks", None) or []),
    }


def table(rows: list[dict], modes: list[str]) -> str:
    """Per mode the figures of `runshot bench` (runshot.scale.bench.rows), then passes and errors left per spec."""
    lines = [f"{'mode':12} {'passed':>8} {'tokens/pass':>12} {'s/pass':>8} {'tokens/run':>11} {'lift':>6} "
             f"{'errors left':>12} {'verified':>9}"]
    figures = {r["mode"]: r for r in bench_rows([{**r, "model": ""} for r in rows])}
    base = figures.get("one-shot", {}).get("passed", 0)
    for mode in modes:
        f = figures.get(mode)
        if f is None:
            continue
        passes = f["passed"]
        per_pass = (f"{f['tokens_per_pass']:12.0f} {f['seconds'] / passes:8.0f}" if passes else f"{'-':>12} {'-':>8}")
        lift = f"{passes / base:5.2f}×" if base else ("  n/a" if not passes else "  inf")
        mine = [r for r in rows if r["mode"] == mode and r.get("requirements")]
        verified = (f"{sum(r['verified'] for r in mine)}/{sum(r['requirements'] for r in mine)}" if mine else "-")
        lines.append(f"{mode:12} {passes:>3}/{f['runs']:<4} {per_pass} {f['tokens'] / f['runs']:11.0f} {lift:>6} "
                     f"{f['errors_left']:>12} {verified:>9}")
    lines.append("")
    lines.append(f"{'spec (passed, errors left)':26} " + " ".join(f"{m:>11}" for m in modes))
    for spec in sorted({r["spec"] for r in rows}):
        cells = []
        for mode in modes:
            mine = [r for r in rows if r["spec"] == spec and r["mode"] == mode]
            cells.append(f"{sum(r['passed'] for r in mine)}/{len(mine)}, {sum(r['errors'] or 0 for r in mine)}"
                         if mine else "-")
        lines.append(f"{spec:26} " + " ".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", type=Path)
    ap.add_argument("--budget", type=int, default=12000, help="tokens (prompt + completion) per run, every mode")
    ap.add_argument("--candidates", type=int, default=3)
    ap.add_argument("--max-iterations", type=int, default=4, help="for the repair modes")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--repeat", type=int, default=1, help="runs per spec and mode")
    ap.add_argument("--first-repeat", type=int, default=1, help="number of the first repeat (seeds follow it)")
    ap.add_argument("--model", default="local")
    ap.add_argument("--base-url")
    ap.add_argument("--api-key")
    ap.add_argument("--max-tokens", type=int, default=None, help="cap per answer")
    ap.add_argument("--derive", action="store_true",
                    help="let the model derive checks for the requirements no written check verifies (they judge too)")
    ap.add_argument("--no-replay", action="store_true", help="ask again for a request already answered")
    ap.add_argument("--keep", type=Path, help="keep every run under this folder")
    ap.add_argument("--json", type=Path, help="write every run's figures here (after each run)")
    ap.add_argument("--from-json", type=Path, nargs="+",
                    help="print the table of saved --json files (runs of several together) instead of running")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        print(f"unknown mode(s): {', '.join(unknown)} (known: {', '.join(MODES)})", file=sys.stderr)
        return 2
    specs = args.specs or DEFAULT_SPECS
    if args.from_json:
        print(table([row for path in args.from_json for row in json.loads(path.read_text())], modes))
        return 0

    from runshot import wiring
    from runshot.settings.config import resolve_endpoint

    root = args.keep or Path(tempfile.mkdtemp(prefix="runshot-lift-"))
    rows: list[dict] = []
    with ExitStack() as stack:
        endpoint = resolve_endpoint(args.model, args.base_url, args.api_key)
        model = wiring.open_model(stack, endpoint, wiring.ModelOptions(max_tokens=args.max_tokens))
        validator = wiring.open_validator(stack, wiring.BrowserOptions())
        ask = Replay(model.ask, getattr(model.settings, "temperature", None), enabled=not args.no_replay)

        def validate(project_dir, spec, shot):
            return validator.validate(project_dir, spec, screenshot_path=shot)

        print(f"model: {model.description.get('name')}; budget {args.budget} tokens per run; "
              f"{args.candidates} candidates; modes: {', '.join(modes)}", flush=True)
        for r in range(args.first_repeat - 1, args.first_repeat - 1 + args.repeat):
            ask.seed_base = 1000 * r
            for spec in specs:
                for mode in modes:
                    out = root / f"{spec.stem}-{mode}-{r + 1}"
                    row = run_one(spec, mode, out, model, validate,
                                  {**mode_options(mode, args.budget, args.candidates, args.max_iterations),
                                   "derive_checks": args.derive}, ask)
                    row["repeat"] = r + 1
                    rows.append(row)
                    print(f"  {row['spec']:20} {mode:11} {'PASS' if row['passed'] else 'fail'}  "
                          f"{row['iterations']} it, {row['tokens']} tok, {row['seconds']:.0f} s, "
                          f"{row['answers_replayed']} replayed, {row['verified']}/{row['requirements']} verified "
                          f"(best: {row['errors']} errors; {row['stopped_because']})", flush=True)
                    if args.json:
                        args.json.write_text(json.dumps(rows, indent=1))
    print()
    print(table(rows, modes))
    print(f"\nruns kept in: {root}" if args.keep else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
