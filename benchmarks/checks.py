"""How long `runshot check` takes, against a yardstick measured in the same run, and how it scales with --jobs.

    python benchmarks/checks.py [--runs 1] [--quick] [--sandbox both|on|off] [--part all|ratio|throughput]
                                [--apps 20] [--jobs 4] [--jobs-checks N]

Apps: every sample's reference app (tests/fixtures/samples/*, with its spec from samples/) and the check
fixtures (tests/fixtures/checks/*, tests/fixtures/corpus/* when present).

Ratio part, per app, for all checks and for `--checks runtime`:
- cold: `python -m runshot check APP` in a new process, as a CI job runs it (one process per app), beside the
  yardstick in a new process: a minimal Playwright script that serves the folder, opens the page in Chromium,
  collects console errors and runs axe-core once;
- warm: one Validator kept open (as across the iterations of `runshot new`) beside a yardstick with a kept browser.
Then runshot ÷ yardstick per app and the median of those ratios, and the median seconds of each check.

Throughput part: N apps (corpus apps repeated as temporary copies) through `Validator.validate_many` with
jobs 1 and with --jobs, in apps per minute, and the speed-up (with --runs K: K alternating rounds and the median
speed-up); an app whose findings differ between the two is named with the difference. Beside each: how many
cores were busy on average (CPU time of the whole process tree ÷ seconds). What --jobs can add is bounded by
that: with jobs 1 keeping 1.4 of 2 cores busy, no number of jobs makes it more than 2 / 1.4 = 1.43× as fast.
`--jobs-checks 1` runs each app's interacting checks in turn (jobs 1 then keeps about one core busy), which
measures what validating several apps at once adds on its own.

Both parts run with the sandbox on and off (RUNSHOT_SANDBOX) unless --sandbox says otherwise. The machine
may be shared: take the figures as rough, and prefer --runs 3 for anything you want to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK_FIXTURES = ("good_app", "good_dialog", "bad_keyboard_trap", "bad_button_throws", "bad_no_main")


# ---------------------------------------------------------------- the apps


def apps(quick: bool) -> list[tuple[str, Path, Path | None]]:
    """(name, folder, spec file or None) for every app measured."""
    out: list[tuple[str, Path, Path | None]] = []
    for app in sorted((ROOT / "tests" / "fixtures" / "samples").iterdir()):
        spec = ROOT / "samples" / f"{app.name}.md"
        if app.is_dir():
            out.append((f"sample/{app.name}", app, spec if spec.is_file() else None))
    for corpus in ("checks", "corpus"):
        folder = ROOT / "tests" / "fixtures" / corpus
        if not folder.is_dir():
            continue
        for app in sorted(folder.iterdir()):
            if app.is_dir() and (app / "index.html").is_file() and (not quick or app.name in QUICK_FIXTURES):
                out.append((f"{corpus}/{app.name}", app, None))
    return out


def spec_for(folder: Path, spec_file: Path | None):
    from runshot.spec import Spec, load_spec

    if spec_file is not None:
        return load_spec(str(spec_file))
    return Spec(title=folder.name, body="", source="(none)")


# ---------------------------------------------------------------- the yardstick


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@functools.lru_cache(maxsize=1)
def _axe() -> str:
    from runshot.validators.checks.a11y import axe_source

    return axe_source()


def _serve(folder: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def yardstick_page(browser, folder: Path, entry: str = "index.html") -> dict:
    """Serve `folder`, open its page in a fresh context of `browser`, collect console errors, run axe once."""
    server = _serve(folder)
    try:
        context = await browser.new_context()
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"http://127.0.0.1:{server.server_address[1]}/{entry}", wait_until="load")
        await page.evaluate(_axe())
        found = await page.evaluate("async () => (await axe.run(document)).violations.length")
        await context.close()
        return {"errors": len(errors), "violations": found}
    finally:
        server.shutdown()
        server.server_close()


async def yardstick_cold(folder: Path) -> dict:
    from playwright.async_api import async_playwright

    from runshot.validators.browser.chromium import find_chromium

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=find_chromium(), args=["--disable-gpu"])
        try:
            return await yardstick_page(browser, folder)
        finally:
            await browser.close()


class WarmYardstick:
    """The yardstick with one browser kept open, on a loop of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pw = self.browser = None

    def __enter__(self) -> "WarmYardstick":
        from playwright.async_api import async_playwright

        from runshot.validators.browser.chromium import find_chromium

        async def start():
            self.pw = await async_playwright().start()
            self.browser = await self.pw.chromium.launch(executable_path=find_chromium(), args=["--disable-gpu"])

        self.loop.run_until_complete(start())
        return self

    def measure(self, folder: Path) -> float:
        started = time.perf_counter()
        self.loop.run_until_complete(yardstick_page(self.browser, folder))
        return time.perf_counter() - started

    def __exit__(self, *exc) -> None:
        async def stop():
            await self.browser.close()
            await self.pw.stop()

        self.loop.run_until_complete(stop())
        self.loop.close()


def timed(command: list[str], env: dict) -> tuple[float, dict]:
    """Wall seconds of `command`, and the JSON it wrote to the file named by a "{json}" argument, if any."""
    with tempfile.TemporaryDirectory(prefix="runshot-bench-") as tmp:
        out = Path(tmp) / "result.json"
        command = [str(out) if part == "{json}" else part for part in command]
        started = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        data = json.loads(out.read_text()) if out.is_file() else {}
    return seconds, data


# ---------------------------------------------------------------- the parts


def ratio_part(args, mode: str, selection: list) -> None:
    from runshot.validators.runner.project import Validator

    env = {**os.environ, "RUNSHOT_SANDBOX": mode}
    os.environ["RUNSHOT_SANDBOX"] = mode
    for label, checks in (("all checks", None), ("--checks runtime", ["runtime"])):
        print(f"\n== sandbox {mode}, {label} ==")
        print(f"{'app':32} {'cold':>7} {'yard':>6} {'ratio':>6} | {'warm':>6} {'yard':>6} {'ratio':>6}")
        cold_ratios, warm_ratios = [], []
        cold_checks: dict[str, list[float]] = defaultdict(list)
        warm_checks: dict[str, list[float]] = defaultdict(list)
        with Validator() as validator, WarmYardstick() as yard:
            for name, folder, spec_file in selection:
                spec = spec_for(folder, spec_file)
                command = [sys.executable, "-m", "runshot", "check", str(folder), "--json", "{json}"]
                if spec_file is not None:
                    command += ["--spec", str(spec_file)]
                if checks:
                    command += ["--checks", ",".join(checks)]
                cold, ycold, warm, ywarm = [], [], [], []
                validator.validate(folder, spec, checks=checks)  # warm up for this folder (sandbox: its browser)
                yard.measure(folder)
                for _ in range(args.runs):
                    seconds, data = timed(command, env)
                    cold.append(seconds)
                    for check, s in ((data.get("info") or {}).get("seconds") or {}).items():
                        cold_checks[check].append(float(s))
                    ycold.append(timed([sys.executable, __file__, "--yardstick", str(folder)], env)[0])
                    started = time.perf_counter()
                    result = validator.validate(folder, spec, checks=checks)
                    warm.append(time.perf_counter() - started)
                    for check, s in (result.info.get("seconds") or {}).items():
                        warm_checks[check].append(float(s))
                    ywarm.append(yard.measure(folder))
                c, yc, w, yw = (statistics.median(x) for x in (cold, ycold, warm, ywarm))
                cold_ratios.append(c / yc)
                warm_ratios.append(w / yw)
                print(f"{name:32} {c:6.2f}s {yc:5.2f}s {c / yc:6.2f} | {w:5.2f}s {yw:5.2f}s {w / yw:6.2f}", flush=True)
        print(f"median ratio runshot ÷ yardstick: cold {statistics.median(cold_ratios):.2f}, "
              f"warm {statistics.median(warm_ratios):.2f}")
        for title, per in (("cold", cold_checks), ("warm", warm_checks)):
            print(f"median seconds per check ({title}): "
                  + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in per.items()))


class TreeCPU(threading.Thread):
    """CPU seconds used by this process and every process below it (the browser and its driver, the sandbox and
    the app's server), read from /proc every 0.1 s while running (Linux). A process that ends loses at most its
    last tenth of a second, so the figure is a little low, never high."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen: dict[tuple[int, str], float] = {}  # (pid, start time) -> CPU seconds last read
        self.halt = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def read(self) -> None:
        parents, cpu = {}, {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(name)] = int(fields[1])
            cpu[int(name)] = ((int(fields[11]) + int(fields[12])) / self.tick, fields[19])
        mine, todo = set(), [os.getpid()]
        while todo:
            pid = todo.pop()
            mine.add(pid)
            todo.extend(child for child, parent in parents.items() if parent == pid and child not in mine)
        for pid in mine:
            if pid in cpu:
                seconds, start = cpu[pid]
                self.seen[(pid, start)] = max(seconds, self.seen.get((pid, start), 0.0))

    def run(self) -> None:
        while not self.halt.wait(0.1):
            self.read()

    def __enter__(self) -> "TreeCPU":
        self.read()
        self.before = sum(self.seen.values())
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.halt.set()
        self.join()
        self.read()
        self.seconds = sum(self.seen.values()) - self.before


def throughput_part(args, mode: str, selection: list) -> None:
    from runshot.validators.runner.project import ValidationRequest, Validator

    os.environ["RUNSHOT_SANDBOX"] = mode
    each = f", --jobs-checks {args.jobs_checks}" if args.jobs_checks else ""
    print(f"\n== throughput, sandbox {mode}: {args.apps} apps, all checks{each} ==")
    with tempfile.TemporaryDirectory(prefix="runshot-bench-") as tmp:
        requests = []
        for i in range(args.apps):
            name, folder, spec_file = selection[i % len(selection)]
            copy = Path(tmp) / f"{i:02d}-{folder.name}"
            shutil.copytree(folder, copy)
            requests.append(ValidationRequest(copy, spec_for(folder, spec_file)))
        ratios, same_counts = [], []
        for run in range(1, args.runs + 1):
            rates, verdicts = {}, {}
            for jobs in (1, args.jobs):
                started = time.perf_counter()
                with TreeCPU() as cpu:
                    with Validator(check_jobs=args.jobs_checks) as validator:
                        results = validator.validate_many(requests, jobs=jobs)
                seconds = time.perf_counter() - started
                busy = cpu.seconds / seconds  # cores kept busy, on average
                rates[jobs] = len(requests) / seconds * 60
                verdicts[jobs] = [(r.passed, sorted((f.check, f.rule, f.where) for f in r.findings)) for r in results]
                print(f"run {run}, jobs {jobs}: {seconds:6.1f}s, {rates[jobs]:5.1f} apps/min, "
                      f"{busy:.2f} of {os.cpu_count()} cores busy", flush=True)
            same = sum(a == b for a, b in zip(verdicts[1], verdicts[args.jobs]))
            for request, a, b in zip(requests, verdicts[1], verdicts[args.jobs]):
                if a != b:
                    print(f"  {request.project_dir.name}: jobs 1 only {sorted(set(a[1]) - set(b[1]))}, "
                          f"jobs {args.jobs} only {sorted(set(b[1]) - set(a[1]))}")
            ratios.append(rates[args.jobs] / rates[1])
            same_counts.append(same)
            print(f"run {run}, jobs {args.jobs} ÷ jobs 1: {ratios[-1]:.2f}× "
                  f"(same findings for {same}/{len(requests)} apps)", flush=True)
        if args.runs > 1:
            print(f"jobs {args.jobs} ÷ jobs 1, median of {args.runs} runs: {statistics.median(ratios):.2f}× "
                  f"(same findings for {min(same_counts)}/{len(requests)} apps or more in every run)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1, help="measurements per app (median taken)")
    ap.add_argument("--quick", action="store_true", help="samples and a few fixtures, 8 apps for throughput")
    ap.add_argument("--sandbox", choices=("both", "on", "off"), default="both")
    ap.add_argument("--part", choices=("all", "ratio", "throughput"), default="all")
    ap.add_argument("--apps", type=int, default=None, help="apps in the throughput part (default 20, quick 8)")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--jobs-checks", dest="jobs_checks", type=int, default=None,
                    help="interacting checks of one app at once in the throughput part (default: sized to the cores)")
    ap.add_argument("--yardstick", metavar="DIR", help=argparse.SUPPRESS)  # one cold yardstick run, then exit
    args = ap.parse_args()
    if args.yardstick:
        print(json.dumps(asyncio.run(yardstick_cold(Path(args.yardstick)))))
        return 0
    args.apps = args.apps or (8 if args.quick else 20)
    selection = apps(args.quick)
    modes = ["auto", "off"] if args.sandbox == "both" else ["auto" if args.sandbox == "on" else "off"]
    print(f"{len(selection)} apps, {os.cpu_count()} cores, runs {args.runs}")
    for mode in modes:
        if args.part in ("all", "ratio"):
            ratio_part(args, mode, selection)
        if args.part in ("all", "throughput"):
            throughput_part(args, mode, selection)
    return 0


if __name__ == "__main__":
    sys.exit(main())
