"""What one repair costs with edit blocks allowed versus whole files only: output tokens and seconds.

    python benchmarks/repair_cost.py --base-url URL --model NAME [--api-key KEY] [-n 1]
    python benchmarks/repair_cost.py --model local            # the embedded local model (started here)
    python benchmarks/repair_cost.py --model local --engine both   # and again with prompt cache + lookup decoding

A sample project (a counter with one wrong element id, so it throws at load) and its finding are put into a
repair prompt twice: once explaining edit blocks, once asking for whole files only. Each prompt is sent n times;
per answer the script prints completion tokens, seconds, whether the answer applied cleanly and whether the fix
is in it. A scripted test server says nothing about this: run it against a real model.

With the local model, `--engine` picks the server's settings: `plain`, `fast` (the engine's prompt cache and
prompt-lookup decoding, as runshot starts it by default) or `both` (each in turn, same prompts, so the two can be
compared as a ratio in one run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from contextlib import ExitStack

from runshot.generator.client import ModelSettings, complete, make_client
from runshot.generator.edits import apply_edits, parse_answer
from runshot.generator.feedback import for_prompt
from runshot.generator.prompts import repair_messages
from runshot.spec import parse_spec_text
from runshot.values import ERROR, Finding

SPEC = parse_spec_text("""---
title: Counter
checks:
  - name: increments on click
    steps:
      - click: {role: button, name: Increment}
      - expect: {role: status, text: "1"}
---
A counter with an Increment button and a live status showing the count.
""")
STYLE = "".join(f".row-{i} {{ margin: {i}px; padding: {i % 7}px; }}\n" for i in range(60))
FILES = {
    "index.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Counter</title><link rel="stylesheet" href="style.css"></head>
<body><main><h1>Counter</h1>
<button type="button" id="inc">Increment</button>
<p role="status" id="count">0</p>
</main><script src="app.js"></script></body></html>
""",
    "style.css": "body { font-family: system-ui, sans-serif; }\n" + STYLE,
    "app.js": "".join(f"function helper{i}(x) {{ return x + {i}; }}\n" for i in range(40)) + """let n = 0;
const out = document.getElementById('output');
document.getElementById('inc').addEventListener('click', () => {
  n += 1;
  out.textContent = String(n);
});
""",
}
FINDING = Finding("exception", ERROR, "TypeError: Cannot set properties of null (setting 'textContent')",
                  where="app.js:45", rule="exception/uncaught")


ENGINES = {"plain": {}, "fast": {"prompt_cache": True, "lookup_tokens": 10}}


def settings_from(args, stack: ExitStack, engine: str = "plain") -> ModelSettings:
    if args.model.startswith("local"):
        from runshot.generator import local

        path = local.resolve_local(args.model)
        server = stack.enter_context(local.LocalServer(path, **ENGINES[engine]))
        return ModelSettings(name=path.stem, base_url=server.base_url, timeout=600, deadline=1800,
                             max_tokens=args.max_tokens)
    base_url = args.base_url or os.environ.get("OPENAI_BASE_URL")
    if not base_url:
        sys.exit("give --base-url (or OPENAI_BASE_URL), or --model local")
    return ModelSettings(name=args.model, base_url=base_url, api_key=args.api_key or os.environ.get("OPENAI_API_KEY"),
                         timeout=300, deadline=900, max_tokens=args.max_tokens)


def judge(text: str, edits: bool) -> tuple[bool, bool]:
    """(the answer applied without findings, the fixed id is in the resulting app.js)."""
    answer = parse_answer(text, allow_edits=edits)
    files = dict(answer.parsed.files)
    changed, findings = apply_edits(answer.edits, {**FILES, **files})
    files.update(changed)
    clean = not findings and not answer.findings and answer.parsed.ok
    app = files.get("app.js", FILES["app.js"])
    return clean, "getElementById('count')" in app or 'getElementById("count")' in app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url")
    parser.add_argument("--model", default="local")
    parser.add_argument("--api-key")
    parser.add_argument("-n", type=int, default=1, help="answers per mode")
    parser.add_argument("--max-tokens", type=int, default=4000)
    parser.add_argument("--engine", choices=("plain", "fast", "both"), default="fast",
                        help="local model only: the server's settings (see above)")
    args = parser.parse_args()
    engines = ("plain", "fast") if args.engine == "both" else (args.engine,)
    if not args.model.startswith("local"):
        engines = ("endpoint",)
    for engine in engines:
        with ExitStack() as stack:
            run_engine(args, stack, engine)
    return 0


def run_engine(args, stack: ExitStack, engine: str) -> None:
    settings = settings_from(args, stack, engine if engine in ENGINES else "plain")
    client = make_client(settings)
    print(f"model {settings.name} ({engine}); {args.n} answer(s) per mode")
    for mode, edits in (("edits allowed", True), ("whole files only", False)):
        messages = repair_messages(SPEC, FILES, for_prompt([FINDING], FILES, 12), 2, edits=edits)
        tokens, seconds = [], []
        for i in range(args.n):
            c = complete(client, settings, messages)
            clean, fixed = judge(c.text, edits)
            tokens.append(c.usage.completion_tokens)
            seconds.append(c.seconds)
            print(f"  {mode:17} #{i + 1}: {c.usage.completion_tokens:6d} completion tokens, {c.seconds:7.1f} s, "
                  f"applied cleanly: {clean}, fixed: {fixed}, finish: {c.finish_reason}")
        print(f"{engine:8} {mode:19}: median {statistics.median(tokens):.0f} tokens, "
              f"{statistics.median(seconds):.1f} s, {statistics.median(tokens) / statistics.median(seconds):.1f} "
              "tokens/s")


if __name__ == "__main__":
    sys.exit(main())
