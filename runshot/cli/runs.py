"""What `runshot batch` and `runshot bench` share: the models of many runs, and running the runs here (threads and
a pool of browsers) or as Ray tasks, with a live board of what runs."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.live import Live
from rich.table import Table

import runshot.cli.common as common
from runshot import wiring
from runshot.api import keep_spec_copy
from runshot.errors import UsageError
from runshot.scale.cassette import cassette_file
from runshot.settings import ModelOptions, Settings, check_names
from runshot.settings.config import resolve_endpoint


class Models:
    """One model per --model (its ask function and redacted description), sharing one local server per GGUF.
    With a cassette folder (`record` or `replay`) each run gets a model of its own, whose cassette is
    FOLDER/<run>/."""

    def __init__(self, stack: ExitStack, console: Console, names: dict[str, str | None], options: ModelOptions,
                 cassettes: Path | None = None):
        """`names`: each model's name and its own base URL (None: `options.base_url`)."""
        self.stack, self.console, self.options, self.cassettes = stack, console, options, cassettes
        self.local_servers: dict[str, tuple[str, str]] = {}
        self.endpoints = {name: resolve_endpoint(name or None, url or options.base_url, options.api_key)
                          for name, url in (names or {"": None}).items()}
        self.entries = {}
        self.lock = threading.Lock()
        if cassettes is None:
            for name, endpoint in self.endpoints.items():
                self.entries[name] = self._open(endpoint, options)

    def _open(self, endpoint, options):
        return wiring.open_model(self.stack, endpoint, options,
                                 note=lambda text: self.console.print(text, markup=False),
                                 status=self.console.status, local_servers=self.local_servers)

    def model_for(self, job):
        if self.cassettes is None:
            return self.entries[job.model]
        with self.lock:
            if job.name not in self.entries:
                folder = str(self.cassettes / job.name)
                options = replace(self.options, record=folder) if self.options.record else \
                    replace(self.options, replay=folder)
                self.entries[job.name] = self._open(self.endpoints[job.model], options)
            return self.entries[job.name]

    def ask_for(self, job):
        return self.model_for(job).ask

    def info(self, job) -> dict:
        return dict(self.model_for(job).description)


def check_cassettes(jobs, runs_dir: Path, record: str | None, replay: str | None, resume: bool) -> Path | None:
    """The cassette folder of a batch (FOLDER/<run>/cassette.jsonl per run), checked before anything runs."""
    from runshot.scale.batch import finished_run  # lazy: when the command runs: it loads the repair loop (seconds)

    common.cassette_flags(record, replay)
    if not (record or replay):
        return None
    root = Path(record or replay)
    for job in jobs:
        if resume and finished_run(job, runs_dir / job.name) is not None:
            continue
        path = cassette_file(root / job.name)
        if record and path.exists():
            raise UsageError(f"{path}: a cassette is there already; record into a new or empty folder")
        if replay and not path.is_file():
            raise UsageError(f"{path}: no cassette to replay for run {job.name}")
    return root


def _live_board(jobs, console: Console):
    from runshot.scale.batch import Board  # lazy: start-up

    class LiveBoard(Board):
        def on_done(self, result) -> None:
            r = result.report or {}
            tokens = sum((r.get("usage") or {}).values()) if r else 0
            if result.status == "error":
                text, style = f"error   {result.job.name}: {result.error}", "red"
            else:
                text = (f"{'passed ' if result.passed else 'FAILED '} {result.job.name}: "
                        f"{len(r.get('iterations') or [])} iteration(s), {tokens} tokens, "
                        f"{float((r.get('seconds') or {}).get('total', 0)):.1f} s" + (" (reused)" if result.reused else ""))
                style = "green" if result.passed else "red"
            console.print(text, style=style, markup=False)

        def render(self):
            rows = self.snapshot()
            done = [r for r in rows if r["state"] in ("passed", "failed", "error")]
            running = [r for r in rows if r["state"] in ("model", "validate")]
            passed = sum(1 for r in done if r["state"] == "passed")
            table = Table(title=f"runshot batch: {len(done)}/{len(rows)} done, {passed} passed, "
                                f"{len(running)} running, {len(rows) - len(done) - len(running)} queued",
                          title_justify="left", show_edge=False, box=None)
            for col in ("run", "doing", "iteration", "tokens", "time"):
                table.add_column(col, justify="right" if col in ("iteration", "tokens", "time") else "left")
            now = time.monotonic()
            for r in running:
                doing = "waiting for the model" if r["state"] == "model" else "validating in Chromium"
                secs = now - r["started"] if r["started"] else 0
                table.add_row(r["job"].name, doing, str(r["iteration"]), str(r["tokens"]), f"{secs:.0f} s")
            return table

    return LiveBoard(jobs)


@dataclass
class BatchRun:
    """Everything the runs of one `runshot batch` (or `runshot bench`) need, here or on Ray."""

    jobs: list
    root: Path
    specs: dict
    options: object  # runshot.scale.batch.BatchOptions
    settings: Settings  # the model's (its base_url and api_key for models named without their own), browser, checks
    cassettes: Path | None
    registry: object
    browser_jobs: int
    console: Console
    wrap_ask: Callable | None = None  # (job, ask, temperature) -> the ask function the run uses (e.g. shared answers)


def run_here(run: BatchRun, stop: threading.Event):
    """The runs in this process: threads for the models, a pool of browsers for the validations."""
    from runshot.scale import batch as b  # lazy: the repair loop takes seconds to load

    settings = run.settings
    checks, strict = check_names(settings), settings.checks.strict
    with ExitStack() as stack:
        setup = Models(stack, run.console, {j.model: j.base_url for j in run.jobs}, settings.model,
                       run.cassettes) if run.jobs else None
        factory = wiring.validator_factory(settings.browser, run.registry)
        pool = stack.enter_context(b.ValidatorPool(run.browser_jobs, factory))

        def validate(project_dir, spec, shot):
            return pool.validate(project_dir, spec, checks=checks, screenshot_path=shot, strict=strict)

        def ask_for(job):
            model = setup.model_for(job)
            if run.wrap_ask is None:
                return model.ask
            return run.wrap_ask(job, model.ask, getattr(model.settings, "temperature", None))

        board = _live_board(run.jobs, run.console)
        with Live(console=run.console, get_renderable=board.render, refresh_per_second=4, transient=True,
                  redirect_stdout=False, redirect_stderr=False):
            try:
                parts = b.RunParts(ask_for if setup else None, setup.info if setup else None, validate,
                                   finish=lambda job, spec, d: keep_spec_copy(spec, d))
                results = b.run_batch(run.jobs, run.root, run.specs, parts, run.options, board=board, stop=stop)
            except KeyboardInterrupt:
                stop.set()
                raise
        pool_stats = {"validations": pool.validations, "max_at_once": pool.max_active,
                      "seconds_waiting": round(pool.waited, 3)}
        if setup is not None and run.cassettes is not None:
            results = [b.with_misses(r, setup.model_for(r.job)) if not r.reused else r for r in results]
    return results, pool_stats


def ray_endpoints(run: BatchRun) -> dict:
    """Each model's endpoint, resolved here (flags, environment, config); sent to the workers without its key."""
    options = run.settings.model
    endpoints = {}
    for job in run.jobs:
        if job.model in endpoints:
            continue
        endpoint = resolve_endpoint(job.model or None, job.base_url or options.base_url, options.api_key)
        if not options.replay:
            if endpoint.is_local:
                raise UsageError("--ray: the embedded local model is not started on Ray workers; serve a model "
                                 "over HTTP (an OpenAI-compatible server) and pass --base-url")
            if not endpoint.model:
                endpoint = replace(endpoint, model=wiring.only_model(endpoint))
        endpoints[job.model] = endpoint
    return endpoints


def run_with_ray(run: BatchRun, address: str, stop: threading.Event):
    """The runs as Ray tasks; Ray is started here (or joined) and shut down whatever happens."""
    try:
        from runshot.scale import ray_batch  # lazy: optional: pip install 'runshot[ray]'
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'runshot[ray]'") from None

    opts = run.settings.model
    replays = {j.name: cassette_file(run.cassettes / j.name).read_bytes() for j in run.jobs
               if opts.replay and cassette_file(run.cassettes / j.name).is_file()}
    endpoints = ray_endpoints(run)
    key = next((e.api_key for e in endpoints.values() if e.api_key), None)
    shipped = {name: ray_batch.without_key(e) for name, e in endpoints.items()}
    # Sent to the workers: no key, no base URL (it may hold credentials; each endpoint is shipped without them).
    model = replace(opts, record=None, replay=None, model=None, base_url=None, api_key=None, endpoint=None)
    settings = ray_batch.WorkerSettings(shipped, model, run.settings.browser, check_names(run.settings),
                                        run.settings.checks.strict, record=bool(opts.record), replays=replays)
    board = _live_board(run.jobs, run.console)
    with ray_batch.connect(address or None, key):
        nodes = ray_batch.check_nodes(run.settings.browser.chromium)
        run.console.print(f"Ray: {len(nodes)} node(s): {', '.join(nodes)}", markup=False)
        try:
            return ray_batch.run_on_ray(run.jobs, run.root, run.specs, settings, run.options, board, stop,
                                        run.cassettes if opts.record else None)
        except KeyboardInterrupt:
            stop.set()
            raise
