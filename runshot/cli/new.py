"""`runshot new`: generate a project for a spec and repair it until it passes (a client of runshot.api.generate)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import runshot.cli.common as common
from runshot import api
from runshot.errors import UsageError
from runshot.procs import terminate_as_interrupt
from runshot.report import summary_lines
from runshot.spec import load_spec
from runshot.values import STATE_DIR


@click.command()
@click.argument("spec", required=False)
@click.option("-o", "--out", "out", metavar="OUT", help="New folder for the project (absent or empty).")
@click.option("--from", "from_dir", metavar="DIR",
              help="Change the existing project in DIR as SPEC asks (into -o OUT, or a new branch when DIR is in git).")
@click.option("--resume", "resume", metavar="OUT", help="Continue an interrupted run in OUT from its last committed iteration.")
@click.option("--model", metavar="M", help="Model name, 'local', or 'local:/path/model.gguf' [RUNSHOT_MODEL].")
@common.model_options
@click.option("--max-files", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Most files the model may write.")
@click.option("--max-file-bytes", type=click.IntRange(1, 10**9), default=1_000_000, show_default=True,
              help="Largest file the model may write, in bytes.")
@click.option("--max-total-bytes", type=click.IntRange(1, 10**10), default=5_000_000, show_default=True,
              help="Most bytes the model may write in all.")
@click.option("--max-depth", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Deepest path (folders plus file name).")
@click.option("--run-timeout", type=click.FloatRange(0, 7 * 86400), default=None,
              help="Seconds for the whole run: answers end by then and no iteration starts that the time left "
                   "cannot hold (default: 540 on the embedded model, else none; 0: none).")
@common.browser_options
@common.cassette_options
def new(spec, out, from_dir, resume, model, base_url, api_key, max_iterations, max_tokens, token_budget, call_timeout, deadline,
        retries, candidates, no_derive_checks, max_files, max_file_bytes, max_total_bytes, max_depth, run_timeout,
        chromium, sandbox, checks, strict, page_timeout, check_timeout, record, replay):
    """Generate a project for SPEC (a spec file, or the prompt itself) into OUT and repair it until it passes."""
    # Imported when the command runs: every command module is imported to build the CLI, and these load the
    # repair loop and the spec parser (seconds, measured with `python -X importtime`), which `--help` needs not.
    from runshot.cli.progress import ConsoleProgress  # lazy: start-up

    console = common.console()
    common.cassette_flags(record, replay)
    if from_dir:
        if resume or not spec:
            raise UsageError("runshot new --from DIR needs SPEC (the change to make) and takes no --resume")
    elif resume:
        if spec or out:
            raise UsageError(f"--resume OUT takes no SPEC and no -o: the spec is the one kept in OUT/{STATE_DIR}/spec.md")
        out_dir = Path(resume)
        the_spec = api.resume_spec(out_dir)
    else:
        if not spec or not out:
            raise UsageError("runshot new needs SPEC and -o OUT (or --resume OUT)")
        the_spec = load_spec(spec)
        out_dir = Path(out)
        api.require_empty_out(out_dir)
    registry = common.registry()
    common.parse_checks(checks, registry)  # unknown names: a usage error before anything starts
    settings = common.settings_from_flags(click.get_current_context().params)  # the endpoint: in api
    if from_dir:
        _change(from_dir, spec, out, settings, console)
    models = []  # the model, once started: its cassette is checked after the run

    def started(s, the_model, where):
        models.append(the_model)
        console.print(f"[bold]runshot[/bold] {s.title!r} → {where}  (model {the_model.name} at {the_model.where})")

    terminate_as_interrupt()
    with ConsoleProgress(console) as progress, common.replay_failures(models):
        report = api.generate(the_spec, out_dir, settings, resume=bool(resume), progress=progress,
                              registry=registry, on_start=started, note=lambda text: console.print(text, markup=False),
                              status=console.status)
    for i, line in enumerate(summary_lines(report)):
        style = ("bold green" if report.passed else "bold red") if i == 0 else None
        console.print(line, style=style, markup=False)
    console.print(f"project: {out_dir}   report: {out_dir / STATE_DIR / 'report.json'}", markup=False)
    sys.exit(0 if report.passed else 1)


def _change(from_dir: str, spec: str, out: str | None, settings, console) -> None:
    """`runshot new --from DIR SPEC`: change the project in DIR as SPEC asks; exits with the outcome."""
    from runshot.cli.progress import ConsoleProgress  # lazy: when the command runs (see `new`)

    models = []
    terminate_as_interrupt()
    with ConsoleProgress(console) as progress, common.replay_failures(models):
        result = api.fix(from_dir, None, out, settings, change=load_spec(spec), progress=progress,
                         note=lambda text: console.print(text, markup=False), status=console.status,
                         on_start=lambda s, the_model, where: models.append(the_model))
    common.print_outcome(console, result)


def register(group: click.Group) -> None:
    group.add_command(new)
