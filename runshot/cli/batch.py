"""`runshot batch` (many specs × models at once) and `runshot merge` (combine batch outputs)."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

import runshot.cli.common as common
from runshot.errors import UsageError


class Models:
    """One model per --model (its ask function and redacted description), sharing one local server per GGUF."""

    def __init__(self, stack: ExitStack, console: Console, names: list[str], base_url, api_key, options):
        from runshot import wiring
        from runshot.config import resolve_endpoint

        local_servers: dict[str, tuple[str, str]] = {}
        self.entries = {}
        for name in names or [""]:
            endpoint = resolve_endpoint(name or None, base_url, api_key)
            self.entries[name] = wiring.open_model(stack, endpoint, options,
                                                   note=lambda text: console.print(text, markup=False),
                                                   status=console.status, local_servers=local_servers)

    def ask_for(self, job):
        return self.entries[job.model].ask

    def info(self, job) -> dict:
        return dict(self.entries[job.model].description)


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
@common.model_options
@common.browser_options
def batch(specs, runs_dir, jobs, browser_jobs, models, shard_text, resume, base_url, api_key, max_iterations,
          max_tokens, token_budget, call_timeout, deadline, retries, candidates, no_derive_checks, chromium, sandbox,
          checks, strict, page_timeout, check_timeout):
    """Generate and validate many specs (files, or folders of *.md) with one or more models.

    Exit 0 when every run passed, 1 when some did not, 2/3 when every run failed for the same usage/endpoint
    reason. The summary goes to standard output and RUNS_DIR/batch.json.
    """
    from runshot import batch as b, wiring
    from runshot.redact import redact_data
    from runshot.api import keep_spec_copy
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
    if chromium:
        BrowserSettings(executable=chromium).resolve_executable()
    else:
        find_chromium()
    shard_note = f" (shard {shard_spec[0]}/{shard_spec[1]} of {len(all_jobs)})" if shard_spec else ""
    console.print(f"[bold]runshot batch[/bold]: {len(todo)} run(s){shard_note} → {root}; "
                  f"{jobs} at a time, {browser_jobs} browser(s)")
    options = b.BatchOptions(jobs=jobs, max_iterations=max_iterations, token_budget=token_budget, checks=selected,
                             resume=resume, candidates=candidates, derive_checks=not no_derive_checks)
    stop = threading.Event()
    started = time.monotonic()
    with ExitStack() as stack:
        needed = sorted({j.model for j in todo})
        setup = Models(stack, console, needed, base_url, api_key,
                       wiring.ModelOptions(call_timeout, deadline, max_tokens, retries)) if todo else None
        browser = common.browser({"chromium": chromium, "sandbox": sandbox, "page_timeout": page_timeout,
                                  "check_timeout": check_timeout})
        pool = stack.enter_context(b.ValidatorPool(browser_jobs, wiring.validator_factory(browser, registry)))

        def validate(project_dir, spec, shot):
            return pool.validate(project_dir, spec, checks=selected, screenshot_path=shot, strict=strict)

        board = _live_board(todo, console)
        from rich.live import Live

        with Live(console=console, get_renderable=board.render, refresh_per_second=4, transient=True,
                  redirect_stdout=False, redirect_stderr=False):
            try:
                results = b.run_batch(todo, root, parsed, setup.ask_for if setup else None,
                                      setup.info if setup else None, validate, options, board=board, stop=stop,
                                      finish=lambda job, spec, d: keep_spec_copy(spec, d))
            except KeyboardInterrupt:
                stop.set()
                raise
        pool_stats = {"validations": pool.validations, "max_at_once": pool.max_active,
                      "seconds_waiting": round(pool.waited, 3)}
    ran = selected or registry.names()
    entries = [b.project_entry(r, ran) for r in results]
    opts = {"jobs": jobs, "browser_jobs": browser_jobs, "max_iterations": max_iterations, "token_budget": token_budget,
            "checks": ran, "strict": strict, "models": list(models), "candidates": candidates,
            "derive_checks": not no_derive_checks}
    data = b.batch_json(entries, opts, shard_spec)
    data["seconds"] = round(time.monotonic() - started, 3)
    data["browser"] = pool_stats
    secrets = common.secrets(api_key, base_url)
    b.write_json(root / b.BATCH_FILE, data, secrets)
    if entries:
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
