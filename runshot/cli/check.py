"""`runshot check DIR...`: validate existing projects, no model needed (a client of runshot.api.check_many)."""

from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import click

import runshot.cli.common as common
from runshot import coverage, wiring
from runshot.errors import UsageError
from runshot.report import coverage_line

HELP = (
    "Validate existing projects (no model needed): one DIR, several, or with --changed only those that "
    "changed since --base.\n\nWith several DIRs or --changed, --json writes {\"projects\": [...]}, --junit one "
    "testsuite per project, and --screenshot names a folder (DIR-NAME.png inside)."
)


@click.command("check", help=HELP, short_help="Validate existing projects (no model needed).")
@click.argument("directories", nargs=-1, required=True, metavar="DIR...")
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
    console = common.console()
    dirs = [Path(d) for d in directories]
    for d in dirs:
        if not d.is_dir():
            raise UsageError(f"{d}: not a folder")
    single = len(dirs) == 1 and not changed
    names = [d.resolve().name for d in dirs]
    if len(set(names)) != len(names):
        raise UsageError("two folders share a name; their results could not be told apart")
    with ExitStack() as stack:
        # Playwright's driver starts now, beside the rest of the set-up (most of a second saved per run).
        host = wiring.open_host(stack, _browser_options(opts, jobs_checks))
        _check(dirs, single, changed, base, spec_path, json_path, junit_path, summary_path, screenshot_path, jobs,
               jobs_checks, timings, opts, console, host)


def _check(dirs, single, changed, base, spec_path, json_path, junit_path, summary_path, screenshot_path, jobs,
           jobs_checks, timings, opts, console, host) -> None:
    from runshot import api, outputs, regress

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
        shots = [Path(screenshot_path)] if single else [Path(screenshot_path) / f"{d.resolve().name}.png" for d in dirs]
    else:
        shots = [None] * len(dirs)
    started = time.monotonic()
    items: list = []

    covered: dict[str, dict] = {}

    def done(result) -> None:
        common.print_findings(console, result.name, result, timings=timings)
        print_coverage(console, result, by_name.get(result.name), covered)

    if dirs:
        label = f"checking {dirs[0]} in headless Chromium…" if len(dirs) == 1 else \
            f"checking {len(dirs)} projects in headless Chromium…"
        with console.status(label):
            results = api.check_many(dirs, specs, selected, strict=opts.get("strict", False), screenshots=shots,
                                     jobs=jobs, on_done=done, check_jobs=jobs_checks, registry=registry,
                                     host=host, **_browser_kwargs(opts))
        items = [regress.ProjectCheck(r.name, d, r, r.seconds) for d, r in zip(dirs, results)]
    secrets = common.secrets()
    if single:
        item = items[0]
        r = item.result
        repair = outputs.fix_command(item.path, spec_path, selected)
        if not r.passed:
            console.print(f"repair it with a model: {repair}", markup=False)
        if json_path:
            data = outputs.check_json(item.name, r.passed, r.findings, r.checks_run, dict(r.info))
            data["seconds"] = round(time.monotonic() - started, 3)
            if item.name in covered:
                data["coverage"] = covered[item.name]
            if not r.passed:
                data["fix_command"] = repair
            outputs.write_text(json_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", secrets)
        if junit_path:
            outputs.write_text(junit_path, outputs.junit_xml(item.name, r.findings, r.checks_run, r.seconds), secrets)
        if summary_path:
            outputs.write_text(summary_path, outputs.markdown_summary(item.name, r.passed, r.findings, r.checks_run,
                                                                      repair, covered.get(item.name)), secrets)
        sys.exit(0 if r.passed else 1)
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


def print_coverage(console, result, spec, covered: dict[str, dict]) -> None:
    """Work out and print which of the spec's requirements this project's checks verified (kept in `covered`)."""
    if spec is None or not spec.body:
        return
    covered[result.name] = spec_coverage(spec, result.checks_run)
    if covered[result.name]["total"]:
        console.print(f"{result.name}: spec coverage: " + coverage_line(covered[result.name]), markup=False)


def spec_coverage(spec, checks_run) -> dict:
    """The spec's requirements and what verified each in this run (its checks count only if acceptance ran)."""
    checks = spec.checks if "acceptance" in checks_run else ()
    requirements = coverage.split_requirements(spec.body)
    return coverage.to_dict(coverage.account(requirements, checks, tuple(checks_run)))


def _browser_options(opts: dict, check_jobs: int | None):
    return wiring.BrowserOptions(chromium=opts.get("chromium"), sandbox=opts.get("sandbox"),
                                 page_timeout=opts["page_timeout"], check_timeout=opts["check_timeout"],
                                 check_jobs=check_jobs)


def _browser_kwargs(opts: dict) -> dict:
    return {"page_timeout": opts["page_timeout"], "check_timeout": opts["check_timeout"]}


def register(group: click.Group) -> None:
    group.add_command(check)
