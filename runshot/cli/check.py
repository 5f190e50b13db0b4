"""`runshot check DIR...`: validate existing projects, no model needed (a client of runshot.api.check_many)."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path

import click

import runshot.cli.common as common
from runshot import wiring
from runshot.errors import UsageError

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
    # Imported when the command runs: every command module is imported to build the CLI.
    from runshot import siteconfig
    from runshot.cli import checksite

    console = common.console()
    config = siteconfig.load_site_config(opts.get("config_path"))
    params = checksite.merged(click.get_current_context(), click.get_current_context().params, config)
    target = checksite.target_of(directories, params, config)
    if target is not None:
        checksite.run(checksite.SiteCheck(target, params, config.waived), console)
    _check_dirs(directories, changed, base, params, console)


def _check_dirs(directories, changed, base, params: dict, console) -> None:
    opts = params
    spec_path, json_path, junit_path = params.get("spec_path"), params.get("json_path"), params.get("junit_path")
    summary_path, screenshot_path, jobs = params.get("summary_path"), params.get("screenshot_path"), params["jobs"]
    jobs_checks, timings = params.get("jobs_checks"), params.get("timings")
    dirs = [Path(d) for d in directories]
    for d in dirs:
        if not d.is_dir():
            raise UsageError(f"{d}: not a folder")
    names = [d.resolve().name for d in dirs]
    if len(set(names)) != len(names):
        raise UsageError("two folders share a name; their results could not be told apart")
    with ExitStack() as stack:
        # Playwright's driver starts now, beside the rest of the set-up (most of a second saved per run).
        host = wiring.open_host(stack, _browser_options(opts, jobs_checks))
        _check(dirs, changed, base, spec_path, json_path, junit_path, summary_path, screenshot_path, jobs,
               jobs_checks, timings, opts, console, host)


def _check(dirs, changed, base, spec_path, json_path, junit_path, summary_path, screenshot_path, jobs,
           jobs_checks, timings, opts, console, host) -> None:
    from runshot import api
    from runshot.reporting import outputs, regress

    registry = common.registry()
    selected = common.parse_checks(opts.get("checks"), registry)
    extra: dict = {}
    if changed:
        picked = regress.changed_dirs(dirs, base)
        extra["changed"] = {"base": base, "checked": [str(d) for d in picked],
                            "unchanged": [str(d) for d in dirs if d not in picked]}
        for d in dirs:
            if d not in picked:
                console.print(f"unchanged since {base}: {d} (skipped)", markup=False)
        dirs = picked
    specs = [api.check_spec(d, spec_path) for d in dirs]
    by_name = {d.resolve().name: s for d, s in zip(dirs, specs)}
    if screenshot_path:
        shots = [Path(screenshot_path) / f"{d.resolve().name}.png" for d in dirs]
    else:
        shots = [None] * len(dirs)
    items: list = []

    def done(result) -> None:
        common.print_findings(console, result.name, result, timings=timings)
        common.print_coverage(console, result, by_name.get(result.name))

    if dirs:
        label = f"checking {dirs[0]} in headless Chromium…" if len(dirs) == 1 else \
            f"checking {len(dirs)} projects in headless Chromium…"
        with console.status(label):
            results = api.check_many(dirs, specs, selected, strict=opts.get("strict", False), screenshots=shots,
                                     jobs=jobs, on_done=done, check_jobs=jobs_checks, registry=registry,
                                     host=host, **_browser_kwargs(opts))
        items = [regress.ProjectCheck(r.name, d, r, r.seconds) for d, r in zip(dirs, results)]
    secrets = common.secrets()
    if json_path:
        outputs.write_text(json_path, json.dumps(regress.many_json(items, extra), indent=2, ensure_ascii=False) + "\n",
                           secrets)
    if junit_path:
        outputs.write_text(junit_path, regress.many_junit(items), secrets)
    if summary_path:
        outputs.write_text(summary_path, regress.many_markdown(items), secrets)
    failed = [i.name for i in items if not i.passed]
    if not items:
        console.print(f"nothing to check: no folder changed since {base}" if changed else "nothing to check",
                      markup=False)
    else:
        console.print(f"{len(items)} project(s) checked: {len(items) - len(failed)} passed, {len(failed)} failed"
                      + (f" ({', '.join(failed)})" if failed else ""),
                      style="bold red" if failed else "bold green", markup=False)
    sys.exit(1 if failed else 0)


def _browser_options(opts: dict, check_jobs: int | None):
    allow = tuple(opts.get("allow_host") or ())
    return wiring.BrowserOptions(chromium=opts.get("chromium"), sandbox="off" if allow else opts.get("sandbox"),
                                 page_timeout=opts["page_timeout"], check_timeout=opts["check_timeout"],
                                 check_jobs=check_jobs, allow_hosts=allow, outside="warning")


def _browser_kwargs(opts: dict) -> dict:
    return {"page_timeout": opts["page_timeout"], "check_timeout": opts["check_timeout"]}


def register(group: click.Group) -> None:
    group.add_command(check)
