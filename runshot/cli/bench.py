"""`runshot bench`: a suite of specs × models × modes, one run each, and a table per model and mode."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import click

import runshot.cli.common as common
import runshot.cli.runs as engine
from runshot import wiring
from runshot.errors import UsageError
from runshot.loop.modes import parse_modes
from runshot.spec import parse_spec_file


@click.command()
@click.argument("suite", nargs=-1, required=True, metavar="SUITE...")
@click.option("-o", "--out", "runs_dir", default="bench-runs", show_default=True, metavar="RUNS_DIR",
              help="Folder for the runs (RUNS_DIR/<spec>--<model>--<mode>/ each) and RUNS_DIR/bench.json.")
@click.option("--model", "models", multiple=True, required=True, metavar="NAME[=URL]",
              help="A model to measure, at URL (an OpenAI-compatible endpoint) or at --base-url; repeat to compare.")
@click.option("--modes", "modes_text", default="one-shot,repair", show_default=True, metavar="LIST",
              help="Comma-separated: one-shot, repair, candidates, both.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None,
              help="Only the first N prompts of each JSONL suite.")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Runs at the same time (with --ray: per model endpoint).")
@click.option("--browser-jobs", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Validations at the same time (each on a browser of its own).")
@click.option("--resume", is_flag=True, help="Reuse runs in RUNS_DIR that already finished.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run each run as a Ray task (on the cluster at ADDRESS or $RAY_ADDRESS, else on a Ray started here).")
@click.option("--no-share", is_flag=True,
              help="Ask the model again for a request another mode of the same spec and model already asked.")
@click.option("--gallery", "gallery_dir", metavar="SITE", help="Also build the screenshot gallery of the suite.")
@common.model_options
@common.browser_options
@common.cassette_options
def bench(suite, runs_dir, models, modes_text, limit, jobs, browser_jobs, resume, ray_address, no_share, gallery_dir,
          base_url, api_key, max_iterations, max_tokens, token_budget, call_timeout, deadline, retries, candidates,
          no_derive_checks, chromium, sandbox, checks, strict, page_timeout, check_timeout, record, replay):
    """Measure models on a suite (spec files, folders of them, or a JSONL of prompts such as WebGen-Bench's) in
    each mode, at a token budget per run (--token-budget), and print pass rate, tokens and seconds per pass,
    errors left and the lift over one-shot per model and mode. Exit 0 when the runs finished (passed or not)."""
    # Imported when the command runs: every command module is imported to build the CLI, and these load the
    # repair loop (seconds, measured with `python -X importtime`), which `--help` needs not.
    from runshot.scale import batch as b, bench as bn  # lazy: start-up

    console = common.console()
    modes = parse_modes(modes_text)
    if candidates < 2 and {"candidates", "both"} & set(modes):
        raise UsageError("the candidates and both modes need --candidates N (2 or more)")
    root = Path(runs_dir)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{runs_dir}: exists and is not a folder")
    if gallery_dir and Path(gallery_dir).exists() and any(Path(gallery_dir).iterdir()):
        raise UsageError(f"{gallery_dir}: not empty; choose a new or empty SITE for --gallery")
    paths = bn.load_suite(list(suite), root / "suite", limit)
    parsed = {p: parse_spec_file(p) for p in paths}
    todo = bn.plan_bench(paths, [bn.parse_model(m) for m in models], modes)
    b.check_run_dirs(todo, root, resume)
    cassettes = engine.check_cassettes(todo, root, record, replay, resume)
    registry = common.registry()
    selected = common.parse_checks(checks, registry)
    wiring.check_browser(common.browser({"chromium": chromium}))
    console.print(f"[bold]runshot bench[/bold]: {len(paths)} spec(s) × {len(models)} model(s) × {len(modes)} "
                  f"mode(s) = {len(todo)} run(s) → {root}")
    options = b.BatchOptions(jobs=jobs, max_iterations=max_iterations, token_budget=token_budget, checks=selected,
                             resume=resume, candidates=candidates, derive_checks=not no_derive_checks,
                             ranks=registry.repair_ranks())
    sharing = bn.Sharing() if not (no_share or record or replay or ray_address is not None) else None
    settings = common.settings_from_flags(click.get_current_context().params)
    run = engine.BatchRun(todo, root, parsed, options, settings, cassettes, registry, browser_jobs, console,
                          wrap_ask=sharing.wrap if sharing else None)
    started = time.monotonic()
    stop = threading.Event()
    results = engine.run_with_ray(run, ray_address, stop) if ray_address is not None else engine.run_here(run, stop)[0]
    ran = selected or registry.names()
    entries = [bn.bench_entry(b.project_entry(r, ran), r.job) for r in results]
    if sharing is not None:
        entries = [sharing.charge(e) for e in entries]
    opts = {"modes": modes, "models": list(models), "jobs": jobs, "max_iterations": max_iterations,
            "token_budget": token_budget, "candidates": candidates, "checks": ran, "strict": strict,
            "derive_checks": not no_derive_checks, "shared_answers": sharing is not None,
            "ray": ray_address is not None}
    data = {**b.batch_json(entries, opts, None), "kind": "bench", "bench": bn.rows(entries),
            "seconds": round(time.monotonic() - started, 3)}
    secrets = common.secrets(api_key, base_url)
    b.write_json(root / bn.BENCH_FILE, data, secrets)
    bn.table(data["bench"], common.stdout_console())
    console.print(f"bench summary: {root / bn.BENCH_FILE}", markup=False)
    if gallery_dir:
        _gallery(root, Path(gallery_dir), chromium, secrets, console)
    errors = [r for r in results if r.status == "error"]
    if results and len(errors) == len(results) and len({r.exit_code for r in errors}) == 1 \
            and errors[0].exit_code in (2, 3):
        console.print(f"runshot: every run failed: {errors[0].error}", markup=False)
        sys.exit(errors[0].exit_code)
    sys.exit(0)


def _gallery(root: Path, site: Path, chromium: str | None, secrets, console) -> None:
    from runshot.reporting.gallery import build_gallery  # lazy: start-up

    with console.status("building the gallery…"):
        built = build_gallery([root], site, chromium=chromium, secrets=secrets)
    for note in built.notes:
        console.print(note, style="yellow", markup=False)
    console.print(f"gallery: {len(built.projects)} project(s) → {site / 'index.html'}", markup=False)


def register(group: click.Group) -> None:
    group.add_command(bench)
