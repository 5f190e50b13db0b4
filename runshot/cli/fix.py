"""`runshot fix DIR`: repair an existing project until it passes (a client of runshot.api.fix)."""

from __future__ import annotations

from pathlib import Path

import click

import runshot.cli.common as common
from runshot import api
from runshot.procs import terminate_as_interrupt


@click.command()
@click.argument("directory", metavar="DIR")
@click.option("--spec", "spec_path", metavar="SPEC",
              help="Spec with entry page and acceptance checks (default: DIR/.runshot/spec.md, else the default "
                   "checks alone).")
@click.option("-o", "--out", "out", metavar="OUT",
              help="Outside git: a new folder (absent or empty) for the fixed copy; DIR is never written.")
@click.option("--allow-dirty", is_flag=True,
              help="In git: start from the working tree even with uncommitted changes (they are carried over "
                   "into the fix branch, never changed in place).")
@click.option("--model", metavar="M", help="Model name, 'local', or 'local:/path/model.gguf' [RUNSHOT_MODEL].")
@common.model_options
@click.option("--run-timeout", type=click.FloatRange(0, 7 * 86400), default=None,
              help="Seconds for the whole run: answers end by then and no iteration starts that the time left "
                   "cannot hold (default: 540 on the embedded model, else none; 0: none).")
@common.browser_options
@common.cassette_options
def fix(directory, spec_path, out, allow_dirty, model, base_url, api_key, max_iterations, max_tokens, token_budget,
        call_timeout, deadline, retries, candidates, no_derive_checks, run_timeout, chromium, sandbox, checks,
        strict, page_timeout, check_timeout, record, replay):
    """Repair the project in DIR until it passes every error-level check.

    In a git repository the fix goes to a new branch runshot/fix-N made from HEAD (your branch and working tree
    are not touched; the report goes inside .git). Outside git, -o OUT receives a fixed copy.
    """
    from runshot.cli.progress import ConsoleProgress  # lazy: when the command runs: it loads the repair loop (seconds)

    console = common.console()
    common.cassette_flags(record, replay)
    if candidates > 1:
        console.print("note: fix repairs one answer at a time; --candidates applies to runshot new", markup=False)
    spec = api.check_spec(Path(directory), spec_path) if spec_path else None
    registry = common.registry()
    common.parse_checks(checks, registry)  # unknown names: a usage error before anything starts
    settings = common.settings_from_flags(click.get_current_context().params)  # the endpoint: in api
    models = []

    def started(s, the_model, where):
        models.append(the_model)
        console.print(f"[bold]runshot fix[/bold] {where}  (model {the_model.name} at {the_model.where})")

    terminate_as_interrupt()
    with ConsoleProgress(console) as progress, common.replay_failures(models):
        result = api.fix(directory, spec, out, settings, allow_dirty=allow_dirty, progress=progress,
                         registry=registry, on_start=started, note=lambda text: console.print(text, markup=False),
                         status=console.status)
    common.print_outcome(console, result)


def register(group: click.Group) -> None:
    group.add_command(fix)
