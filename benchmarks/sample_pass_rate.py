"""Pass rate of the samples: after one shot and after repair, over several runs, with time and token rates.

    python benchmarks/sample_pass_rate.py [--runs 3] [--model local] [--max-iterations 4] [--jobs 1]
                                          [--checks LIST] [--keep DIR] [SPEC ...]

Each run is one `runshot batch` over the specs (default: every sample). Prints per spec and overall: one-shot pass
rate (iteration 1 passed), pass rate after repair (the best iteration passed), mean iterations, wall time per
iteration, model time per iteration, and generation tokens per second of model time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def collect(runs_dir: Path, rows: dict) -> None:
    for report_path in sorted(runs_dir.glob("*/.runshot/report.json")):
        report = json.loads(report_path.read_text())
        its = report["iterations"]
        if not report.get("stopped_because"):
            continue  # still running or killed: not a finished run
        rows[report_path.parents[1].name].append({
            "one_shot": bool(its and its[0]["passed"]),
            "passed": bool(report["passed"]),
            "iterations": len(its),
            "seconds": report["seconds"]["total"],
            "model_seconds": sum(i["seconds"]["model"] for i in its),
            "completion_tokens": report["usage"]["completion_tokens"],
            "prompt_tokens": report["usage"]["prompt_tokens"],
        })


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", default="local")
    ap.add_argument("--max-iterations", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--checks", default=None)
    ap.add_argument("--keep", type=Path, help="keep the runs under this folder")
    ap.add_argument("--base-url")
    ap.add_argument("--from", dest="existing", type=Path, nargs="+",
                    help="summarise finished batch folders instead of running new ones")
    args = ap.parse_args()
    specs = args.specs or sorted(SAMPLES.glob("*.md"))

    root = args.keep or Path(tempfile.mkdtemp(prefix="runshot-bench-"))
    rows: dict[str, list[dict]] = defaultdict(list)
    wall_total = 0.0
    existing = args.existing or []
    for r in range(1, (0 if existing else args.runs) + len(existing) + 1):
        if existing:
            runs_dir = existing[r - 1]
            collect(runs_dir, rows)
            continue
        runs_dir = root / f"run-{r}"
        cmd = [sys.executable, "-m", "runshot", "batch", *map(str, specs), "-o", str(runs_dir),
               "--model", args.model, "--max-iterations", str(args.max_iterations), "--jobs", str(args.jobs)]
        if args.checks:
            cmd += ["--checks", args.checks]
        if args.base_url:
            cmd += ["--base-url", args.base_url]
        t = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall_total += time.monotonic() - t
        if proc.returncode not in (0, 1):
            print(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"batch exit {proc.returncode}")
            return proc.returncode
        collect(runs_dir, rows)

    def pct(xs):
        return f"{100 * sum(xs) / len(xs):.0f}%" if xs else "-"

    if existing:
        print(f"summary of {len(existing)} finished batch folder(s): {', '.join(map(str, existing))}")
    else:
        print(f"model: {args.model}; runs: {args.runs}; max iterations: {args.max_iterations}; jobs: {args.jobs}")
    print(f"{'spec':24} {'one-shot':>9} {'repaired':>9} {'iters':>6} {'s/iter':>7} {'model s/iter':>13} {'gen tok/s':>10}")
    everything = []
    for name, items in sorted(rows.items()):
        everything += items
        iters = sum(i["iterations"] for i in items)
        print(f"{name:24} {pct([i['one_shot'] for i in items]):>9} {pct([i['passed'] for i in items]):>9} "
              f"{iters / len(items):6.1f} {sum(i['seconds'] for i in items) / iters:7.1f} "
              f"{sum(i['model_seconds'] for i in items) / iters:13.1f} "
              f"{sum(i['completion_tokens'] for i in items) / max(1e-9, sum(i['model_seconds'] for i in items)):10.1f}")
    if everything:
        iters = sum(i["iterations"] for i in everything)
        print(f"{'ALL':24} {pct([i['one_shot'] for i in everything]):>9} {pct([i['passed'] for i in everything]):>9} "
              f"{iters / len(everything):6.1f} {sum(i['seconds'] for i in everything) / iters:7.1f} "
              f"{sum(i['model_seconds'] for i in everything) / iters:13.1f} "
              f"{sum(i['completion_tokens'] for i in everything) / max(1e-9, sum(i['model_seconds'] for i in everything)):10.1f}")
        print(f"total wall time: {wall_total:.0f} s; tokens: "
              f"{sum(i['prompt_tokens'] for i in everything)} prompt + {sum(i['completion_tokens'] for i in everything)} completion; "
              f"median run: {statistics.median(i['seconds'] for i in everything):.0f} s")
    print(f"runs kept in: {root}" if args.keep else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
