"""`runshot regress`: re-check projects against a stored baseline (for CI)."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path

import click

import runshot.cli.common as common
from runshot import api, wiring
from runshot.errors import UsageError
from runshot.reporting import outputs, regress as rg
from runshot.settings.siteconfig import load_site_config


@click.command()
@click.argument("directories", nargs=-1, required=True, metavar="DIR...")
@click.option("--baseline", "baseline_path", metavar="PATH",
              help="A `check --json`, `batch` (batch.json) or `merge` output to compare with (default: `baseline` "
                   "in runshot.toml or [tool.runshot]).")
@click.option("--config", "config_path", metavar="PATH", help="The check settings file (default: runshot.toml here).")
@click.option("--spec", "spec_path", metavar="SPEC", help="Spec file (default: DIR/.runshot/spec.md when present).")
@click.option("--json", "json_path", metavar="PATH", help="Write the current verdicts and regressions as JSON.")
@common.browser_options
def regress(directories, baseline_path, config_path, spec_path, json_path, chromium, sandbox, checks, strict,
            page_timeout, check_timeout):
    """Re-check projects and fail (exit 1) when a check that passed in the baseline fails now.

    Each DIR is matched to the baseline project of the same name and re-checked with the checks the baseline ran
    (or --checks). Checks that failed in the baseline and still fail are not regressions.
    """
    console = common.console()
    baseline_path = baseline_path or load_site_config(config_path).get("baseline")
    if not baseline_path:
        raise UsageError("no baseline: pass --baseline PATH (or set baseline in runshot.toml)")
    baseline = rg.load_baseline(Path(baseline_path))
    registry = common.registry()
    selected = common.parse_checks(checks, registry)
    pairs = []
    for d in directories:
        root = Path(d)
        if not root.is_dir():
            raise UsageError(f"{d}: not a folder")
        base = baseline.get(root.resolve().name)
        if base is None:
            console.print(f"no baseline for {root.resolve().name} in {baseline_path}: skipped", style="yellow",
                          markup=False)
            continue
        pairs.append((root, base))
    if not pairs:
        raise UsageError(f"none of the folders has a project in {baseline_path} (projects are matched by folder name)")
    found: list = []
    out_projects = []
    settings = common.settings_from_flags(click.get_current_context().params)
    with ExitStack() as stack:
        validator = wiring.open_validator(stack, settings.browser, registry)
        for root, base in pairs:
            names = selected or rg.checks_to_rerun(base, registry.names())
            with console.status(f"re-checking {root}…"):
                result = api.check(root, api.check_spec(root, spec_path), names, settings, validator=validator)
            entry = rg.ProjectCheck(root.resolve().name, root, result, result.seconds).to_dict()
            regs = rg.regressions(base, entry)
            fixed = rg.fixed(base, entry)
            entry["regressions"] = [{"check": r.check, "errors": r.errors} for r in regs]
            entry["fixed"] = fixed
            out_projects.append(entry)
            found += regs
            for r in regs:
                console.print(f"REGRESSED {r.describe()}", style="bold red", markup=False, soft_wrap=True)
            if fixed:
                console.print(f"fixed     {entry['project']}: {', '.join(fixed)} failed in the baseline, pass now",
                              style="green", markup=False)
            if not regs:
                still = sorted(base.failing & {f["check"] for f in entry["findings"] if f["severity"] == "error"})
                tail = f" (still failing as in the baseline: {', '.join(still)})" if still else ""
                console.print(f"ok        {entry['project']}: no regression{tail}", markup=False)
    if json_path:
        data = {"kind": "regress", "baseline": str(baseline_path), "regressions": len(found),
                "projects": out_projects}
        outputs.write_text(json_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", common.secrets())
    if found:
        console.print(f"{len(found)} regression(s) in {len({r.project for r in found})} project(s)",
                      style="bold red", markup=False)
        sys.exit(1)
    console.print(f"no regressions in {len(pairs)} project(s)", style="bold green", markup=False)
    sys.exit(0)


def register(group: click.Group) -> None:
    group.add_command(regress)
