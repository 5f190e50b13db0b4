"""Prompt-only specs end to end: `runshot new` on each spec in a folder, one at a time, with the figures per run.

    python benchmarks/plain_specs.py [--specs benchmarks/plain_specs] [--out DIR] [--limit 600] [-- NEW_ARGS...]

Each spec runs as `runshot new SPEC -o OUT/NAME NEW_ARGS...` (no endpoint flags: the embedded model unless the
environment or config names another). Per run it prints the exit code, wall seconds, tokens (all model calls, the
derived checks' included), iterations, answers judged as cut or looping, the machine's load average while it ran
(the local model shares the CPU with whatever else runs), and whether the run kept within --limit seconds; a run
past the limit gets SIGTERM (runshot stops its children and keeps what it finished). A JSON summary is written to
OUT/summary.json.
The bar: exit 0 or 1 (never 2 or 3) within the limit.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_one(spec: Path, out: Path, new_args: list[str], limit: float) -> dict:
    command = [sys.executable, "-m", "runshot", "new", str(spec), "-o", str(out), *new_args]
    started = time.monotonic()
    with open(out.with_suffix(".log"), "w", encoding="utf-8") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = proc.wait(limit)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
    seconds = time.monotonic() - started
    load = os.getloadavg()[2 if seconds > 600 else 1]  # the 15- or 5-minute average, as long as the run
    row = {"spec": spec.stem, "exit": code, "seconds": round(seconds, 1), "within_limit": seconds <= limit,
           "load": round(load, 1),
           "tokens": None, "completion_tokens": None, "iterations": None, "passed": None, "stopped_because": ""}
    report_path = out / ".runshot" / "report.json"
    if report_path.exists():
        report = json.loads(report_path.read_text(encoding="utf-8"))
        usage = report.get("usage") or {}
        row.update(
            tokens=usage.get("total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)),
            completion_tokens=usage.get("completion_tokens"),
            iterations=len(report.get("iterations") or []),
            passed=report.get("passed"),
            stopped_because=report.get("stopped_because", ""),
            cut=sum(1 for it in report.get("iterations") or [] for f in it.get("findings") or []
                    if f.get("rule") in ("format/broken-off", "format/repeating", "format/cut-off")),
            derivation={k: (report.get("derivation") or {}).get(k) for k in ("calls", "seconds", "kept")},
            iteration_seconds=[round((it.get("seconds") or {}).get("model", 0) + (it.get("seconds") or {}).get(
                "validate", 0)) for it in report.get("iterations") or []],
            errors_left=[it.get("errors") for it in report.get("iterations") or []],
        )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=Path, default=HERE / "plain_specs", help="folder of *.md specs")
    parser.add_argument("--out", type=Path, default=None, help="where the projects go (default: a temporary folder)")
    parser.add_argument("--limit", type=float, default=600.0, help="seconds a run may take (default 600)")
    parser.add_argument("--only", default="", help="comma-separated spec names to run, in this order (default: all)")
    parser.add_argument("new_args", nargs="*", help="extra arguments for `runshot new` (after --)")
    args = parser.parse_args(argv)
    specs = sorted(args.specs.glob("*.md"))
    if args.only:  # in the order given
        by_name = {s.stem: s for s in specs}
        specs = [by_name[name] for name in args.only.split(",") if name in by_name]
    if not specs:
        print(f"no specs in {args.specs}", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="plain-specs-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(specs)} spec(s) → {out}; runshot new … {' '.join(args.new_args)}", flush=True)
    print(f"{'spec':<14} {'exit':>4} {'seconds':>8} {'tokens':>7} {'compl.':>7} {'iters':>5} {'cut':>4} {'load':>5}  "
          "stopped because", flush=True)
    rows = []
    for spec in specs:
        row = run_one(spec, out / spec.stem, args.new_args, args.limit)
        rows.append(row)
        print(f"{row['spec']:<14} {row['exit']:>4} {row['seconds']:>8.1f} {row['tokens'] or '-':>7} "
              f"{row['completion_tokens'] or '-':>7} {row['iterations'] or '-':>5} {row.get('cut', '-'):>4} "
              f"{row['load']:>5}  "
              f"{row['stopped_because']}", flush=True)
        (out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    good = [r for r in rows if r["exit"] in (0, 1) and r["within_limit"]]
    seconds = sorted(r["seconds"] for r in rows)
    print(f"{len(good)}/{len(rows)} ended with exit 0 or 1 within {args.limit:g} s; passed "
          f"{sum(1 for r in rows if r['exit'] == 0)}; seconds median {seconds[len(seconds) // 2]:.0f}, "
          f"max {seconds[-1]:.0f}; summary {out / 'summary.json'}")
    return 0 if len(good) == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
