"""What a change to the keyboard check costs: `runshot check` of two installs of runshot, alternated.

    python benchmarks/keyboard_cost.py --base OTHER/bin/runshot [--new runshot] [--rounds 2] [APP ...]

Each round runs, per app (a folder, or a name under tests/fixtures/corpus), `runshot check --timings APP` once with
each executable, in alternating order so that both sides share the machine's load. Prints per app the median
seconds of the keyboard check and of the whole check for each side and their ratios new ÷ base, then the median
ratios. Default apps: the composite widget fixtures and three other corpus apps.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
DEFAULT_APPS = [p.name for p in sorted(CORPUS.glob("good-composite-*"))] + ["good-todo", "good-kanban",
                                                                            "good-contact-form"]
_KEYBOARD = re.compile(r"\bkeyboard ([\d.]+)")
_TOTAL = re.compile(r"total ([\d.]+) s")


def timed(runshot: str, app: Path) -> tuple[float, float] | None:
    """(keyboard seconds, total seconds) of one `runshot check --timings`, or None when it printed no timings."""
    out = subprocess.run([runshot, "check", "--timings", str(app)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, check=False).stdout
    keyboard, total = _KEYBOARD.search(out), _TOTAL.search(out)
    if not keyboard or not total:
        return None
    return float(keyboard.group(1)), float(total.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the runshot executable to compare against")
    ap.add_argument("--new", default="runshot", help="the runshot executable measured (default: runshot)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("apps", nargs="*", default=DEFAULT_APPS)
    args = ap.parse_args(argv)
    apps = [Path(a) if Path(a).is_dir() else CORPUS / a for a in args.apps]
    missing = [str(a) for a in apps if not a.is_dir()]
    if missing:
        print(f"error: no such app: {', '.join(missing)}", file=sys.stderr)
        return 2
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        for app in apps:
            for side in (("base", "new") if r % 2 == 0 else ("new", "base")):
                got = timed(args.base if side == "base" else args.new, app)
                if got:
                    runs.setdefault((app.name, side), []).append(got)
    print(f"{'app':32s} keyboard base  new  ratio | total base   new  ratio")
    kr, tr = [], []
    for app in apps:
        base, new = runs.get((app.name, "base")), runs.get((app.name, "new"))
        if not base or not new:
            print(f"{app.name:32s} (no timings)")
            continue
        kb, kn = statistics.median(x[0] for x in base), statistics.median(x[0] for x in new)
        tb, tn = statistics.median(x[1] for x in base), statistics.median(x[1] for x in new)
        kr.append(kn / kb)
        tr.append(tn / tb)
        print(f"{app.name:32s} {kb:13.2f} {kn:5.2f} {kn / kb:5.2f} | {tb:10.2f} {tn:5.2f} {tn / tb:5.2f}")
    if kr:
        print(f"median ratio new/base: keyboard {statistics.median(kr):.2f}, whole check {statistics.median(tr):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
