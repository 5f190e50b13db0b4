"""`runshot check DIR...`: validate existing projects, no model needed (a client of runshot.api.check_many)."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import click

import runshot.cli.common as common
from runshot import api, wiring
from runshot.cli import checksite
from runshot.errors import UsageError
from runshot.reporting import outputs, regress
from runshot.settings import Settings, siteconfig

HELP = (
    "Validate existing projects (no model needed): one DIR or the URL of a running app (and the pages they lead "
    "to), several DIRs, or with --changed only those that changed since --base.\n\nWith several DIRs or "
    "--changed, --json writes {\"projects\": [...]}, --junit one testsuite per project, and --screenshot names a "
    "folder (DIR-NAME.png inside); each is judged on its entry page. Settings not given as flags come from "
    "runshot.toml (or [tool.runshot] in pyproject.toml) in the current folder, or --config."
)


@click.command("check", help=HELP, short_help="Validate existing projects (no model needed).")
@click.argument("directories", nargs=-1, metavar="DIR|URL...")
@click.option("--url", metavar="URL", help="The URL of an app that is already running (or that --start starts).")
@click.option("--start", metavar="CMD", help="Start the app with this shell command, wait until --url answers, "
              "check it, and stop everything it started afterwards.")
@click.option("--start-timeout", "start_timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
              help="Seconds --start may take until the URL answers.")
@click.option("--pages", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Pages to check at most, the entry page included: same-origin links are followed (and "
                   "sitemap.xml). 1: the entry page alone.")
@click.option("--page", "page", multiple=True, metavar="PATH",
              help="A page to check besides the entry page (repeatable); no links are followed then.")
@click.option("--allow-host", "allow_host", multiple=True, metavar="HOST",
              help="An outside host pages may load from (repeatable); others are blocked and said once per host.")
@click.option("--any-host", "any_host", is_flag=True,
              help="Allow a URL on a host that is not a loopback or private address.")
@click.option("--config", "config_path", metavar="PATH",
              help="The check settings file (default: runshot.toml, else [tool.runshot] in pyproject.toml, here).")
@click.option("--changed", is_flag=True,
              help="Check only the folders holding a file changed since --base (git): "
                   "committed since the merge base, uncommitted or untracked.")
@click.option("--base", metavar="REV", default="HEAD~1", show_default=True,
              help="With --changed: the revision to compare with (e.g. origin/main). "
                   "A HEAD~N beyond a short or shallow history counts everything as changed.")
@click.option("--spec", "spec_path", metavar="SPEC", help="Spec file with entry page and acceptance checks.")
@click.option("--json", "json_path", metavar="PATH", help="Write the verdict as JSON ('-' for stdout).")
@click.option("--junit", "junit_path", metavar="PATH", help="Write JUnit XML, one testcase per check.")
@click.option("--summary", "summary_path", metavar="PATH", help="Write a Markdown summary (for a CI job summary).")
@click.option("--screenshot", "screenshot_path", metavar="PATH", help="Save a screenshot of the entry page.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Projects validated at the same time (on one browser).")
@click.option("--jobs-checks", "jobs_checks", type=click.IntRange(1, 64), default=None,
              help="Interacting checks of one project run at the same time (default: sized to the cores).")
@click.option("--timings", is_flag=True, help="Print the seconds each check took, per project.")
@common.browser_options
def check(directories, changed, base, spec_path, json_path, junit_path, summary_path, screenshot_path, jobs,
          jobs_checks, timings, **opts):
    # Imported when the command runs: every command module is imported to build the CLI, and this one loads the
    # validators' serving code.
    console = common.console()
    config = siteconfig.load_site_config(opts.get("config_path"))
    params = checksite.merged(click.get_current_context(), click.get_current_context().params, config)
    settings = common.settings_from_flags(params)  # flags, then the project's runshot.toml
    target = checksite.target_of(directories, params, config)
    if target is not None:
        checksite.run(checksite.SiteCheck(target, params, config.waived, settings), console)
    _check_dirs(directories, params, settings, console)


def _check_dirs(directories, params: dict, settings: Settings, console) -> None:
    dirs = [Path(d) for d in directories]
    for d in dirs:
        if not d.is_dir():
            raise UsageError(f"{d}: not a folder")
    names = [d.resolve().name for d in dirs]
    if len(set(names)) != len(names):
        raise UsageError("two folders share a name; their results could not be told apart")
    browser = settings.browser
    # A folder checked with outside hosts allowed runs without the sandbox (which has no network).
    browser = replace(browser, sandbox="off" if browser.allow_hosts else browser.sandbox, outside="warning")
    with ExitStack() as stack:
        # Playwright's driver starts now, beside the rest of the set-up (most of a second saved per run).
        host = wiring.open_host(stack, browser)
        _check(dirs, params, replace(settings, browser=browser), console, host)


def _check(dirs, params: dict, settings: Settings, console, host) -> None:
    changed, base = params.get("changed"), params["base"]
    registry = common.registry()
    selected = common.parse_checks(params.get("checks"), registry)
    extra: dict = {}
    if changed:
        picked = regress.changed_dirs(dirs, base)
        extra["changed"] = {"base": base, "checked": [str(d) for d in picked],
                            "unchanged": [str(d) for d in dirs if d not in picked]}
        for d in dirs:
            if d not in picked:
                console.print(f"unchanged since {base}: {d} (skipped)", markup=False)
        dirs = picked
    specs = [api.check_spec(d, params.get("spec_path")) for d in dirs]
    by_name = {d.resolve().name: s for d, s in zip(dirs, specs)}
    shot_dir = params.get("screenshot_path")
    shots = [Path(shot_dir) / f"{d.resolve().name}.png" if shot_dir else None for d in dirs]
    items: list = []

    def done(result) -> None:
        common.print_findings(console, result.name, result, timings=params.get("timings"))
        common.print_coverage(console, result, by_name.get(result.name))

    if dirs:
        label = f"checking {dirs[0]} in headless Chromium…" if len(dirs) == 1 else \
            f"checking {len(dirs)} projects in headless Chromium…"
        with console.status(label):
            results = api.check_many(dirs, specs, selected, settings, screenshots=shots, jobs=params["jobs"],
                                     on_done=done, registry=registry, host=host)
        items = [regress.ProjectCheck(r.name, d, r, r.seconds) for d, r in zip(dirs, results)]
    _write_outputs(params, items, extra)
    failed = [i.name for i in items if not i.passed]
    if not items:
        console.print(f"nothing to check: no folder changed since {base}" if changed else "nothing to check",
                      markup=False)
    else:
        console.print(f"{len(items)} project(s) checked: {len(items) - len(failed)} passed, {len(failed)} failed"
                      + (f" ({', '.join(failed)})" if failed else ""),
                      style="bold red" if failed else "bold green", markup=False)
    sys.exit(1 if failed else 0)


def _write_outputs(params: dict, items: list, extra: dict) -> None:
    """--json, --junit and --summary of several projects, with no secret in them."""
    secrets = common.secrets()
    if params.get("json_path"):
        data = regress.many_json(items, extra)
        outputs.write_text(params["json_path"], json.dumps(data, indent=2, ensure_ascii=False) + "\n", secrets)
    if params.get("junit_path"):
        outputs.write_text(params["junit_path"], regress.many_junit(items), secrets)
    if params.get("summary_path"):
        outputs.write_text(params["summary_path"], regress.many_markdown(items), secrets)


def register(group: click.Group) -> None:
    group.add_command(check)
