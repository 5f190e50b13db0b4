"""Validation speed: one pass cold (new browser each time) and warm (browser kept open across iterations),
and runshot's own overhead per repair iteration beyond model time.

    python benchmarks/validate.py [--runs 5] [--checks runtime,acceptance] [--project DIR] [--spec SPEC]

Prints medians in seconds. With no --project it uses a small counter app written to a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from runshot import wiring
from runshot.generator.client import Completion
from runshot.loop.repair import RunOptions, run_new
from runshot.spec import load_spec, parse_spec_text
from runshot.validators.runner.registry import built_in_registry
from runshot.values import Usage

SPEC = """---
title: Counter
checks:
  - name: increments
    steps:
      - click: {role: button, name: Increment}
      - expect: {role: status, text: "1"}
---
A counter.
"""
HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Counter</title></head>
<body><main><h1>Counter</h1><button type="button" id="inc">Increment</button>
<p role="status" id="out">0</p></main><script src="app.js"></script></body></html>
"""
JS = """let n = 0;
document.getElementById('inc').addEventListener('click', () => {
  n += 1; document.getElementById('out').textContent = String(n);
});
"""
BROKEN = HTML.replace("</main>", "</main><script>oops();</script>")


def answer(html: str) -> str:
    return f"### index.html\n```html\n{html}```\n\n### app.js\n```js\n{JS}```\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--checks", default=None, help="comma-separated checks (default: all)")
    ap.add_argument("--project", type=Path)
    ap.add_argument("--spec")
    args = ap.parse_args()
    checks = args.checks.split(",") if args.checks else None
    # Every validator here is made the way `runshot check` makes them (page/check timeouts as the CLI's defaults).
    make_validator = wiring.validator_factory(wiring.BrowserOptions(), built_in_registry())

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.project:
            project, spec = args.project.resolve(), load_spec(args.spec) if args.spec else parse_spec_text(SPEC)
        else:
            project, spec = tmp / "app", parse_spec_text(SPEC)
            project.mkdir()
            (project / "index.html").write_text(HTML)
            (project / "app.js").write_text(JS)

        cold = []
        for _ in range(args.runs):
            t = time.perf_counter()
            with make_validator() as v:
                v.validate(project, spec, checks=checks)
            cold.append(time.perf_counter() - t)

        warm = []
        with make_validator() as v:
            v.validate(project, spec, checks=checks)  # launch outside the measurement
            for _ in range(args.runs):
                t = time.perf_counter()
                v.validate(project, spec, checks=checks)
                warm.append(time.perf_counter() - t)

        # Overhead per iteration beyond model time: a model that answers instantly, broken then fixed.
        overhead = []
        for i in range(max(1, args.runs // 2)):
            answers = iter([answer(BROKEN), answer(HTML)])

            def ask(messages, on_progress):
                return Completion(text=next(answers), finish_reason="stop", usage=Usage(100, 100), seconds=0.0,
                                  attempts=1, continuations=0, usage_estimated=False)

            with make_validator() as v:
                v.validate(project, spec, checks=checks)  # warm browser, as in a real run
                report = run_new(parse_spec_text(SPEC), tmp / f"out{i}", ask,
                                 lambda d, s, shot: v.validate(d, s, checks=checks, screenshot_path=shot),
                                 {"name": "instant", "base_url": None}, RunOptions(max_iterations=2))
            validate_s = sum(it.validate_seconds for it in report.iterations)
            overhead.append(((report.total_seconds - validate_s) / len(report.iterations),
                             report.total_seconds / len(report.iterations)))

    med = statistics.median
    print(f"checks: {args.checks or 'all'}; runs: {args.runs}; project: {args.project or 'counter app'}")
    print(f"validation pass, cold (browser launched each time): median {med(cold):.2f} s "
          f"(min {min(cold):.2f}, max {max(cold):.2f})")
    print(f"validation pass, warm (browser kept open):          median {med(warm):.2f} s "
          f"(min {min(warm):.2f}, max {max(warm):.2f})")
    print(f"iteration overhead beyond model time, validation included: median {med(o[1] for o in overhead):.2f} s")
    print(f"iteration overhead beyond model and validation (parse, write, git, report): "
          f"median {med(o[0] for o in overhead) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
