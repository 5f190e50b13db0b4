"""What a page costs when `runshot check` follows a site's pages: each page's check time as a ratio to the entry's.

    python benchmarks/pages_cost.py TARGET [--runs 3] [--pages 10] [--checks LIST]

TARGET is a folder or the URL of a running app with several linked pages. Each run is `runshot check TARGET
--json` in a new process, as a CI job runs it. Printed per run: every page's seconds (the entry page's include
starting the browser and, for a folder, serving it), and the median ratio of a further page to the entry page;
then the median of those over the runs. The machine may be shared: take the figures as rough.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CLI = "from runshot.cli import main; main()"


def one_run(target: str, pages: int, checks: str | None) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        args = [sys.executable, "-c", CLI, "check", target, "--pages", str(pages), "--json", str(report)]
        if checks:
            args += ["--checks", checks]
        subprocess.run(args, capture_output=True, text=True, timeout=900)
        if not report.is_file():
            raise SystemExit(f"runshot check {target} wrote no report")
        return json.loads(report.read_text()).get("pages") or []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--checks", default=None)
    args = parser.parse_args()
    ratios = []
    for n in range(args.runs):
        pages = one_run(args.target, args.pages, args.checks)
        if len(pages) < 2:
            raise SystemExit(f"{args.target}: only {len(pages)} page found; give a site with linked pages")
        entry = pages[0]["seconds"]
        ratio = statistics.median(p["seconds"] / entry for p in pages[1:])
        ratios.append(ratio)
        shown = ", ".join(f"{p['page']} {p['seconds']:.2f} s" for p in pages)
        print(f"run {n + 1}: {shown}; a further page = {ratio:.2f}x the entry page")
    print(f"median over {len(ratios)} run(s): a further page costs {statistics.median(ratios):.2f}x the entry page")


if __name__ == "__main__":
    main()
