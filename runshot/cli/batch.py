"""`runshot batch` (many specs × models at once) and `runshot merge` (combine batch outputs)."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

import runshot.cli.common as common
from runshot.errors import UsageError


class Models:
    """One model per --model (its ask function and redacted description), sharing one local server per GGUF.
    With a cassette folder (`record` or `replay`) each run gets a model of its own, whose cassette is
    FOLDER/<run>/."""

    def __init__(self, stack: ExitStack, console: Console, names: list[str], base_url, api_key, options,
                 cassettes: Path | None = None, base_urls: dict[str, str | None] | None = None):
        from runshot.config import resolve_endpoint

        self.stack, self.console, self.options, self.cassettes = stack, console, options, cassettes
        self.local_servers: dict[str, tuple[str, str]] = {}
        urls = base_urls or {}
        self.endpoints = {name: resolve_endpoint(name or None, urls.get(name) or base_url, api_key)
                          for name in names or [""]}
        self.entries = {}
        self.lock = threading.Lock()
        if cassettes is None:
            for name, endpoint in self.endpoints.items():
                self.entries[name] = self._open(endpoint, options)

    def _open(self, endpoint, options):
        from runshot import wiring

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
    from runshot.batch import finished_run
    from runshot.cassette import cassette_file

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
    from runshot.batch import Board

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


def _print_summary(data: dict, console: Console) -> None:
    """Tables: every run, then per model (pass rate, tokens per pass), then specs × models when several."""
    projects = data["projects"]
    runs = Table(title="runs", title_justify="left")
    for col in ("project", "model", "result", "iterations", "tokens", "time"):
        runs.add_column(col, justify="right" if col in ("iterations", "tokens", "time") else "left")
    for e in projects:
        result = "passed" if e.get("passed") else ("error" if e.get("status") == "error" else "FAILED")
        runs.add_row(e["project"], e.get("model") or "", result, str(e.get("iterations", 0)), str(e.get("tokens", 0)),
                     f"{float(e.get('seconds') or 0):.1f} s")
    console.print(runs)
    models = Table(title="per model", title_justify="left")
    for col in ("model", "runs", "passed", "pass rate", "iterations", "tokens", "tokens/pass", "time"):
        models.add_column(col, justify="left" if col == "model" else "right")
    for m in data["models"] + [{"model": "all", **data["summary"]}]:
        per_pass = m["tokens_per_pass"]
        models.add_row(m["model"] or "(default)", str(m["runs"]), str(m["passed"]), f"{m['pass_rate'] * 100:.0f} %",
                       str(m["iterations"]), str(m["tokens"]), "—" if per_pass is None else str(per_pass),
                       f"{m['seconds']:.1f} s")
    console.print(models)
    names = sorted({e.get("model") or "" for e in projects})
    if len(names) > 1:
        grid = Table(title="specs × models", title_justify="left")
        grid.add_column("spec")
        for m in names:
            grid.add_column(m or "(default)", justify="center")
        cells: dict[str, dict[str, str]] = {}
        for e in projects:
            stem = (e.get("spec") or {}).get("stem") or e["project"]
            mark = ("pass" if e.get("passed") else "error" if e.get("status") == "error" else "fail")
            cells.setdefault(stem, {})[e.get("model") or ""] = f"{mark} ({e.get('iterations', 0)})"
        for stem in sorted(cells):
            grid.add_row(stem, *[cells[stem].get(m, "") for m in names])
        grid.add_row("pass rate", *[f"{m['pass_rate'] * 100:.0f} %" for m in data["models"]])
        console.print(grid)


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("-o", "--out", "runs_dir", required=True, metavar="RUNS_DIR",
              help="Folder for the runs: RUNS_DIR/<spec-stem>[--<model>]/ each, and RUNS_DIR/batch.json.")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Runs at the same time (so model requests at the same time).")
@click.option("--browser-jobs", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Validations at the same time (each on a browser of its own).")
@click.option("--model", "models", multiple=True, metavar="M",
              help="Model to run every spec with; repeat to compare models side by side.")
@click.option("--shard", "shard_text", metavar="K/N", help="Run only the K-th of N slices of the sorted runs.")
@click.option("--resume", is_flag=True, help="Reuse runs in RUNS_DIR that already finished.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run each run as a Ray task: on the cluster at ADDRESS (or $RAY_ADDRESS), else on a Ray started "
                   "here. --jobs is then the most runs at once per model endpoint.")
@common.model_options
@common.browser_options
@common.cassette_options
def batch(specs, runs_dir, jobs, browser_jobs, models, shard_text, resume, ray_address, base_url, api_key,
          max_iterations, max_tokens, token_budget, call_timeout, deadline, retries, candidates, no_derive_checks,
          chromium, sandbox, checks, strict, page_timeout, check_timeout, record, replay):
    """Generate and validate many specs (files, or folders of *.md) with one or more models.

    Exit 0 when every run passed, 1 when some did not, 2/3 when every run failed for the same usage/endpoint
    reason. The summary goes to standard output and RUNS_DIR/batch.json.
    """
    from runshot import batch as b, wiring
    from runshot.spec import parse_spec_file
    from runshot.validators.browser import BrowserSettings, find_chromium

    console = common.console()
    out = common.stdout_console()
    paths = common.spec_files(specs)
    parsed = {p: parse_spec_file(p) for p in paths}
    registry = common.registry()
    selected = common.parse_checks(checks, registry)
    all_jobs = b.plan(paths, list(models))
    shard_spec = b.parse_shard(shard_text) if shard_text else None
    todo = b.shard(all_jobs, *shard_spec) if shard_spec else all_jobs
    root = Path(runs_dir)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{runs_dir}: exists and is not a folder")
    b.check_run_dirs(todo, root, resume)
    cassettes = check_cassettes(todo, root, record, replay, resume)
    if chromium:
        BrowserSettings(executable=chromium).resolve_executable()
    else:
        find_chromium()
    shard_note = f" (shard {shard_spec[0]}/{shard_spec[1]} of {len(all_jobs)})" if shard_spec else ""
    where = "on Ray" if ray_address is not None else f"{browser_jobs} browser(s)"
    console.print(f"[bold]runshot batch[/bold]: {len(todo)} run(s){shard_note} → {root}; "
                  f"{jobs} at a time{' per endpoint' if ray_address is not None else ''}, {where}")
    options = b.BatchOptions(jobs=jobs, max_iterations=max_iterations, token_budget=token_budget, checks=selected,
                             resume=resume, candidates=candidates, derive_checks=not no_derive_checks)
    stop = threading.Event()
    started = time.monotonic()
    model_options = wiring.ModelOptions(call_timeout, deadline, max_tokens, retries, record=record, replay=replay)
    browser = common.browser({"chromium": chromium, "sandbox": sandbox, "page_timeout": page_timeout,
                              "check_timeout": check_timeout})
    run = BatchRun(todo, root, parsed, options, model_options, browser, selected, strict, cassettes, base_url,
                   api_key, registry, browser_jobs, console)
    if ray_address is not None:
        results, pool_stats = run_with_ray(run, ray_address, stop), None
    else:
        results, pool_stats = run_here(run, stop)
    ran = selected or registry.names()
    entries = [b.project_entry(r, ran) for r in results]
    opts = {"jobs": jobs, "browser_jobs": browser_jobs, "max_iterations": max_iterations, "token_budget": token_budget,
            "checks": ran, "strict": strict, "models": list(models), "candidates": candidates,
            "derive_checks": not no_derive_checks, "ray": ray_address is not None}
    data = b.batch_json(entries, opts, shard_spec)
    data["seconds"] = round(time.monotonic() - started, 3)
    if pool_stats is not None:
        data["browser"] = pool_stats
    finish_batch(data, results, root, common.secrets(api_key, base_url), out, console)


@dataclass
class BatchRun:
    """Everything the runs of one `runshot batch` (or `runshot bench`) need, here or on Ray."""

    jobs: list
    root: Path
    specs: dict
    options: object  # runshot.batch.BatchOptions
    model_options: object  # runshot.wiring.ModelOptions
    browser: object  # runshot.wiring.BrowserOptions
    checks: list[str] | None
    strict: bool
    cassettes: Path | None
    base_url: str | None
    api_key: str | None
    registry: object
    browser_jobs: int
    console: Console

    @property
    def models(self) -> list[str]:
        return sorted({j.model for j in self.jobs})


def run_here(run: BatchRun, stop: threading.Event):
    """The runs in this process: threads for the models, a pool of browsers for the validations."""
    from rich.live import Live

    from runshot import batch as b, wiring
    from runshot.api import keep_spec_copy

    with ExitStack() as stack:
        setup = Models(stack, run.console, run.models, run.base_url, run.api_key, run.model_options, run.cassettes,
                       {j.model: j.base_url for j in run.jobs}) if run.jobs else None
        factory = wiring.validator_factory(run.browser, run.registry)
        pool = stack.enter_context(b.ValidatorPool(run.browser_jobs, factory))

        def validate(project_dir, spec, shot):
            return pool.validate(project_dir, spec, checks=run.checks, screenshot_path=shot, strict=run.strict)

        board = _live_board(run.jobs, run.console)
        with Live(console=run.console, get_renderable=board.render, refresh_per_second=4, transient=True,
                  redirect_stdout=False, redirect_stderr=False):
            try:
                results = b.run_batch(run.jobs, run.root, run.specs, setup.ask_for if setup else None,
                                      setup.info if setup else None, validate, run.options, board=board, stop=stop,
                                      finish=lambda job, spec, d: keep_spec_copy(spec, d))
            except KeyboardInterrupt:
                stop.set()
                raise
        pool_stats = {"validations": pool.validations, "max_at_once": pool.max_active,
                      "seconds_waiting": round(pool.waited, 3)}
        if setup is not None and run.cassettes is not None:
            results = [b.with_misses(r, setup.model_for(r.job)) if not r.reused else r for r in results]
    return results, pool_stats


def ray_endpoints(run: BatchRun) -> dict:
    """Each model's endpoint, resolved here (flags, environment, config) and sent to the workers."""
    from runshot import wiring
    from runshot.config import resolve_endpoint

    endpoints = {}
    for job in run.jobs:
        if job.model in endpoints:
            continue
        endpoint = resolve_endpoint(job.model or None, job.base_url or run.base_url, run.api_key)
        if not run.model_options.replay:
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
        from runshot import ray_batch  # optional: pip install 'runshot[ray]'
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'runshot[ray]'") from None
    from runshot.cassette import cassette_file

    opts = run.model_options
    replays = {j.name: cassette_file(run.cassettes / j.name).read_bytes() for j in run.jobs
               if opts.replay and cassette_file(run.cassettes / j.name).is_file()}
    settings = ray_batch.WorkerSettings(ray_endpoints(run), replace(opts, record=None, replay=None), run.browser,
                                        run.checks, run.strict, record=bool(opts.record), replays=replays)
    board = _live_board(run.jobs, run.console)
    with ray_batch.connect(address or None):
        nodes = ray_batch.check_nodes(run.browser.chromium)
        run.console.print(f"Ray: {len(nodes)} node(s): {', '.join(nodes)}", markup=False)
        try:
            return ray_batch.run_on_ray(run.jobs, run.root, run.specs, settings, run.options, board, stop,
                                        run.cassettes if opts.record else None)
        except KeyboardInterrupt:
            stop.set()
            raise


def finish_batch(data: dict, results, root: Path, secrets, out: Console, console: Console) -> None:
    """Write batch.json, print the summary, exit with the batch's code."""
    from runshot import batch as b
    from runshot.redact import redact_data

    b.write_json(root / b.BATCH_FILE, data, secrets)
    if data["projects"]:
        _print_summary(redact_data(data, secrets), out)
    console.print(f"batch summary: {root / b.BATCH_FILE}", markup=False)
    errors = [r for r in results if r.status == "error"]
    if results and len(errors) == len(results) and len({r.exit_code for r in errors}) == 1 \
            and errors[0].exit_code in (2, 3):
        console.print(f"runshot: every run failed: {errors[0].error}", markup=False)
        sys.exit(errors[0].exit_code)
    sys.exit(0 if all(r.passed for r in results) else 1)


# ---------------------------------------------------------------- merge


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="RUNS_DIR...")
@click.option("-o", "--out", "out_path", required=True, metavar="PATH", help="The merged summary (JSON).")
def merge(sources, out_path):
    """Combine batch outputs (RUNS_DIRs or batch.json files, one per shard) into one summary."""
    from runshot import batch as b
    from runshot.redact import redact_data

    secrets = common.secrets()
    data = redact_data(b.merge([Path(s) for s in sources], Path(out_path)), secrets)
    b.write_json(Path(out_path), data, secrets)
    if data["projects"]:
        _print_summary(data, common.stdout_console())
    note = ""
    if data["all_shards"] is False:
        note = " (some shards are missing)"
    common.console().print(f"merged {len(data['projects'])} project(s) from {len(sources)} source(s) into {out_path}{note}",
                     markup=False)


def register(group: click.Group) -> None:
    group.add_command(batch)
    group.add_command(merge)
