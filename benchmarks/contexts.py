"""What a fresh browser context costs against reloading one page: wall and machine-wide CPU seconds.

    python benchmarks/contexts.py [APP_DIR] [-n 5] [--rounds 2]

Each round opens n fresh contexts (each with one page, loaded once), then loads one page n times in a single
context, alternating, in one browser. CPU is read from /proc/stat (all processes: Chromium's renderers included),
so other work on the machine shows up in it: compare the two lines of one round, not rounds of different runs.
On 2 cores a context with its first load cost about 2.5x the CPU of a reload, which is why the checks that walk
many states reload one page (storage cleared) instead of opening a context per state or per acceptance check.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from runshot.validators.browser.chromium import BrowserSettings, find_chromium
from runshot.validators.serve.server import serve

ROOT = Path(__file__).resolve().parents[1]


def busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (user, nice, system, irq, softirq, steal)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / 100


async def measure(url: str, n: int, rounds: int, chromium: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=BrowserSettings().launch_args())
        warm = await browser.new_context()
        await (await warm.new_page()).goto(url)
        await warm.close()
        for r in range(1, rounds + 1):
            for mode in ("contexts", "reloads"):
                cpu, wall = busy_seconds(), time.perf_counter()
                if mode == "contexts":
                    for _ in range(n):
                        context = await browser.new_context()
                        await (await context.new_page()).goto(url, wait_until="load")
                        await context.close()
                else:
                    context = await browser.new_context()
                    page = await context.new_page()
                    for _ in range(n):
                        await page.goto(url, wait_until="load")
                    await context.close()
                wall, cpu = time.perf_counter() - wall, busy_seconds() - cpu
                print(f"round {r} {mode:8}: {n} loads, {wall:5.2f} s wall, {cpu:5.2f} s CPU, "
                      f"{cpu / n:4.2f} CPU s per load")
        await browser.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("app", nargs="?", type=Path, default=ROOT / "tests" / "fixtures" / "samples" / "counter")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with serve(args.app) as server:
        asyncio.run(measure(server.base_url + "index.html", args.n, args.rounds, find_chromium()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
