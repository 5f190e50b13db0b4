"""Speed of the embedded local model: start its server, send N small coding requests, print the figures.

    python benchmarks/local_model.py [-n 3] [--max-tokens 400] [--model local|local:/path/x.gguf]

Per request: prompt and completion tokens (from the response's usage), prompt tok/s and generation tok/s (from the
server's own timings in its log: generation = eval runs / eval time; prompt = prompt tokens / (total - eval time)),
and the wall time seen by the client. Each request starts with a distinct first line so the server cannot reuse the
previous request's prompt cache; the figures are cold-prompt figures.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from openai import OpenAI

from runshot.generator.local import LocalServer, default_threads, resolve_local

SYSTEM = (
    "You write complete small web projects. For every file, write a line `### path` and then the whole file "
    "in one fenced code block. No other prose."
)
USER = (
    "A counter page: index.html with a heading, a button labelled Increment and a status element "
    "(role=status) showing the count; app.js increments the count on click. Keep it short."
)

_EVAL = re.compile(r"^\S*perf_context_print:\s+eval time =\s+([\d.]+) ms /\s+(\d+) runs", re.MULTILINE)
_TOTAL = re.compile(r"^\S*perf_context_print:\s+total time =\s+([\d.]+) ms /\s+(\d+) tokens", re.MULTILINE)


@dataclass
class Sample:
    prompt_tokens: int
    completion_tokens: int
    wall: float
    eval_ms: float | None
    eval_runs: int | None
    total_ms: float | None
    finish_reason: str

    @property
    def gen_tps(self) -> float | None:
        if self.eval_ms and self.eval_runs:
            return self.eval_runs / (self.eval_ms / 1000)
        return None

    @property
    def prompt_tps(self) -> float | None:
        if self.total_ms is not None and self.eval_ms is not None and self.total_ms > self.eval_ms:
            return self.prompt_tokens / ((self.total_ms - self.eval_ms) / 1000)
        return None


def read_from(path: Path, offset: int) -> tuple[str, int]:
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    return data.decode("utf-8", errors="replace"), offset + len(data)


def one_request(client: OpenAI, model: str, number: int, max_tokens: int, log: Path, offset: int):
    started = time.monotonic()
    response = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": f"Request {number} at {time.time():.6f}.\n{SYSTEM}"},
            {"role": "user", "content": USER},
        ],
        max_tokens=max_tokens,
        temperature=0.2,
    )
    wall = time.monotonic() - started
    time.sleep(0.2)  # let the server flush its timing lines
    text, offset = read_from(log, offset)
    evals, totals = _EVAL.findall(text), _TOTAL.findall(text)
    usage = response.usage
    sample = Sample(
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        wall=wall,
        eval_ms=float(evals[-1][0]) if evals else None,
        eval_runs=int(evals[-1][1]) if evals else None,
        total_ms=float(totals[-1][0]) if totals else None,
        finish_reason=response.choices[0].finish_reason or "",
    )
    return sample, response.choices[0].message.content or "", offset


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--model", default="local", help="'local' or 'local:/path/to/model.gguf'")
    parser.add_argument("--n-ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--show", action="store_true", help="print each answer")
    args = parser.parse_args(argv)

    path = resolve_local(args.model)
    log_dir = Path(tempfile.mkdtemp(prefix="runshot-bench-"))
    t0 = time.monotonic()
    with LocalServer(path, log_dir=log_dir, n_ctx=args.n_ctx, n_threads=args.threads) as server:
        ready = time.monotonic() - t0
        print(f"model {path.name}  threads {args.threads}  n_ctx {args.n_ctx}  server ready in {ready:.1f} s")
        client = OpenAI(base_url=server.base_url, api_key="local", timeout=600, max_retries=0)
        assert server.log_path is not None
        offset = server.log_path.stat().st_size
        samples = []
        print(f"{'#':>2} {'prompt':>6} {'compl':>6} {'prompt tok/s':>12} {'gen tok/s':>10} {'wall s':>7}  finish")
        for number in range(1, args.requests + 1):
            sample, text, offset = one_request(client, server.model_name, number, args.max_tokens,
                                               server.log_path, offset)
            samples.append(sample)
            print(f"{number:>2} {sample.prompt_tokens:>6} {sample.completion_tokens:>6} "
                  f"{fmt(sample.prompt_tps):>12} {fmt(sample.gen_tps):>10} {sample.wall:>7.1f}  "
                  f"{sample.finish_reason}", flush=True)
            if args.show:
                print(text)
    gens = [s.gen_tps for s in samples if s.gen_tps]
    prompts = [s.prompt_tps for s in samples if s.prompt_tps]
    walls = [s.wall for s in samples]
    print(f"mean: prompt {fmt(sum(prompts) / len(prompts) if prompts else None)} tok/s, "
          f"generation {fmt(sum(gens) / len(gens) if gens else None)} tok/s, "
          f"wall {sum(walls) / len(walls):.1f} s per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
