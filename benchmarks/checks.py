"""Time of the full check set: on a typical app and on each sample's reference app, cold and warm.

    python benchmarks/checks.py [--runs 3] [--checks LIST]

Cold: a new browser for each pass. Warm: one browser kept open (as across the iterations of `runshot new`).
Also prints the median time of each check in the warm passes. Reference apps live in tests/fixtures/samples/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from runshot.spec import load_spec
from runshot.validators.browser import BrowserSettings
from runshot.validators.context import Timeouts
from runshot.validators.runner import Validator

ROOT = Path(__file__).resolve().parents[1]


def targets() -> list[tuple[str, Path, str | None]]:
    out = [("typical app (good fixture)", ROOT / "tests" / "fixtures" / "projects" / "good", None)]
    for app in sorted((ROOT / "tests" / "fixtures" / "samples").iterdir()):
        spec = ROOT / "samples" / f"{app.name}.md"
        if app.is_dir() and spec.exists():
            out.append((f"sample {app.name}", app, str(spec)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--checks", default=None)
    args = ap.parse_args()
    checks = args.checks.split(",") if args.checks else None
    per_check: dict[str, list[float]] = defaultdict(list)
    print(f"{'project':34} {'cold median':>12} {'warm median':>12} {'errors':>7} {'warnings':>9}")
    for name, project, spec_path in targets():
        spec = load_spec(spec_path) if spec_path else load_spec(f"{project.name} app")
        cold, warm = [], []
        result = None
        for _ in range(args.runs):
            t = time.perf_counter()
            with Validator(BrowserSettings(), Timeouts()) as v:
                v.validate(project, spec, checks=checks)
            cold.append(time.perf_counter() - t)
        with Validator(BrowserSettings(), Timeouts()) as v:
            v.validate(project, spec, checks=checks)
            for _ in range(args.runs):
                t = time.perf_counter()
                result = v.validate(project, spec, checks=checks)
                warm.append(time.perf_counter() - t)
                for check, seconds in (result.info.get("seconds") or {}).items():
                    per_check[check].append(float(seconds))
        errs = sum(1 for f in result.findings if f.is_error)
        print(f"{name:34} {statistics.median(cold):11.2f}s {statistics.median(warm):11.2f}s {errs:7d} "
              f"{len(result.findings) - errs:9d}")
    if per_check:
        print("median per check (warm): " + ", ".join(
            f"{c} {statistics.median(v):.2f}s" for c, v in per_check.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
