"""`runshot batch` (many specs × models at once) and `runshot merge` (combine batch outputs)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

import runshot.cli.common as common
import runshot.cli.runs as engine
from runshot.errors import UsageError
from runshot.spec import parse_spec_file
from runshot.redact import redact_data


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
    # Imported when the command runs: every command module is imported to build the CLI, and these load the
    # repair loop and the browser launcher (seconds, measured with `python -X importtime`).
    from runshot.scale import batch as b  # lazy: start-up
    from runshot.validators.browser.chromium import BrowserSettings, find_chromium  # lazy: start-up

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
    cassettes = engine.check_cassettes(todo, root, record, replay, resume)
    if chromium:
        BrowserSettings(executable=chromium).resolve_executable()
    else:
        find_chromium()
    shard_note = f" (shard {shard_spec[0]}/{shard_spec[1]} of {len(all_jobs)})" if shard_spec else ""
    where = "on Ray" if ray_address is not None else f"{browser_jobs} browser(s)"
    console.print(f"[bold]runshot batch[/bold]: {len(todo)} run(s){shard_note} → {root}; "
                  f"{jobs} at a time{' per endpoint' if ray_address is not None else ''}, {where}")
    options = b.BatchOptions(jobs=jobs, max_iterations=max_iterations, token_budget=token_budget, checks=selected,
                             resume=resume, candidates=candidates, derive_checks=not no_derive_checks,
                             ranks=registry.repair_ranks())
    stop = threading.Event()
    started = time.monotonic()
    settings = common.settings_from_flags(click.get_current_context().params)
    run = engine.BatchRun(todo, root, parsed, options, settings, cassettes, registry, browser_jobs, console)
    if ray_address is not None:
        results, pool_stats = engine.run_with_ray(run, ray_address, stop), None
    else:
        results, pool_stats = engine.run_here(run, stop)
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


def finish_batch(data: dict, results, root: Path, secrets, out: Console, console: Console) -> None:
    """Write batch.json, print the summary, exit with the batch's code."""
    from runshot.scale import batch as b  # lazy: start-up

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
    from runshot.scale import batch as b  # lazy: start-up

    secrets = common.secrets()
    data = redact_data(b.merge([Path(s) for s in sources], Path(out_path)), secrets)
    if any(e.get("mode") for e in data["projects"]):  # benchmarks: their table per model and mode, merged
        from runshot.scale import bench as bn  # lazy: start-up

        data["bench"] = bn.rows(data["projects"])
    b.write_json(Path(out_path), data, secrets)
    if data.get("bench"):
        from runshot.scale import bench as bn  # lazy: start-up

        bn.table(data["bench"], common.stdout_console())
    elif data["projects"]:
        _print_summary(data, common.stdout_console())
    note = ""
    if data["all_shards"] is False:
        note = " (some shards are missing)"
    common.console().print(f"merged {len(data['projects'])} project(s) from {len(sources)} source(s) into {out_path}{note}",
                     markup=False)


def register(group: click.Group) -> None:
    group.add_command(batch)
    group.add_command(merge)
