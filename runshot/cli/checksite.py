"""`runshot check` of one folder or one URL: its pages, an app started for it, the project's runshot.toml.

The settings come from the flags, then the config file (runshot/settings/siteconfig.py) for whatever no flag gave.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

import runshot.cli.common as common
from runshot import api, procs, wiring
from runshot.reporting import outputs
from runshot.errors import UsageError
from runshot.redact import url_secrets
from runshot.settings import Settings
from runshot.settings.siteconfig import SiteConfig
from runshot.validators.serve.target import guard, looks_like_url, parse_url, reach_for

# flag parameter -> config key, for the flags the config file may set
CONFIG_KEYS = {
    "url": "url", "start": "start", "start_timeout": "start_timeout", "pages": "pages", "page": "page",
    "allow_host": "allow_hosts", "any_host": "any_host", "spec_path": "spec", "json_path": "json",
    "junit_path": "junit", "summary_path": "summary", "screenshot_path": "screenshot", "jobs_checks": "jobs_checks",
    "timings": "timings", "checks": "checks", "strict": "strict", "page_timeout": "page_timeout",
    "check_timeout": "check_timeout", "sandbox": "sandbox", "chromium": "chromium",
}


@dataclass
class SiteCheck:
    """One `runshot check` of a folder or URL, settled from flags and config."""

    target: str  # a folder or an http(s) URL
    opts: dict
    waive: dict[str, str] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)  # from the same flags and config

    @property
    def is_url(self) -> bool:
        return looks_like_url(self.target)


def merged(ctx: click.Context, params: dict, config: SiteConfig) -> dict:
    """The flags' values, with the config file's for each flag left at its default. DIR or URL arguments replace
    the file's target (url, start)."""
    out = dict(params)
    skip = ("url", "start") if params.get("directories") else ()
    for name, key in CONFIG_KEYS.items():
        if key in config.values and name not in skip and ctx.get_parameter_source(name) in (click.core.ParameterSource.DEFAULT, None):
            value = config.values[key]
            out[name] = ",".join(value) if name == "checks" else tuple(value) if name in ("page", "allow_host") \
                else value
    return out


def target_of(directories: tuple[str, ...], opts: dict, config: SiteConfig) -> str | None:
    """The one folder or URL to check when that is what was asked (None: the several-folder check)."""
    if opts.get("url"):
        if directories:
            raise UsageError("give DIR or --url, not both")
        return opts["url"]
    if opts.get("start"):
        raise UsageError("--start needs --url (the address the started app answers at)")
    if len(directories) == 1 and not opts.get("changed"):
        return directories[0]
    if not directories:
        if config.get("folder"):
            return config.get("folder")
        raise UsageError("nothing to check: give DIR or URL (or url/folder in runshot.toml)")
    return None


def run(site: SiteCheck, console) -> None:
    """Check the site, write the outputs asked for, exit 0 (passed) or 1."""
    opts = site.opts
    registry = common.registry()
    selected = common.parse_checks(opts.get("checks"), registry)
    url = parse_url(site.target, opts.get("any_host", False)) if site.is_url else None
    allow = tuple(opts.get("allow_host") or ())
    sandbox = _sandbox_for(opts.get("sandbox"), allow, url is not None, console)
    spec = api.check_spec(Path(site.target), opts.get("spec_path")) if not url else \
        (api.as_spec(Path(opts["spec_path"])) if opts.get("spec_path") else None)
    if opts.get("start"):
        procs.terminate_as_interrupt()  # a CI job's SIGTERM stops the started app too
    elif url is not None and not procs.answers(url.url, timeout=site.settings.browser.page_timeout):
        raise UsageError(f"{url.url} does not answer: start the app first (or give --start CMD)")
    started = time.monotonic()
    with ExitStack() as stack:
        escape = stack.enter_context(guard()) if url else None
        browser = replace(site.settings.browser, sandbox=sandbox, allow_hosts=allow,
                          reach=reach_for(url) if url else (), escape_proxy=escape, outside="warning")
        host = wiring.open_host(stack, browser)
        if opts.get("start"):
            with console.status(f"starting {opts['start']} and waiting for {url.url}…"):
                stack.enter_context(procs.StartedApp(opts["start"], url.url, opts.get("start_timeout") or 60))
        with console.status(f"checking {site.target} in headless Chromium…"):
            result = api.check_site(site.target, spec, selected, replace(site.settings, browser=browser),
                                    screenshot=opts.get("screenshot_path"), waive=site.waive, registry=registry,
                                    host=host)
    common.print_coverage(console, result, spec)
    _report(site, result, selected, time.monotonic() - started, console)


def _sandbox_for(sandbox: str | None, allow: tuple[str, ...], is_url: bool, console) -> str | None:
    """A folder checked with outside hosts allowed runs without the sandbox (which has no network); a URL's app is
    the user's own, already running: no sandbox to set up for it."""
    if is_url:
        return "off"
    if not allow:
        return sandbox
    if sandbox == "require":
        raise UsageError("--allow-host needs the network, which the sandbox (--sandbox require) does not have")
    if sandbox != "off":
        console.print("--allow-host: the app is served without the sandbox (which has no network)", markup=False)
    return "off"


def _report(site: SiteCheck, r, selected, seconds: float, console) -> None:
    opts = site.opts
    common.print_findings(console, r.name, r, timings=opts.get("timings", False))
    for w in r.info.get("waived") or []:
        console.print(f"waived  [{w.get('rule', '')}] {w['message']} ({w['reason']})", markup=False)
    repair = None if site.is_url else outputs.fix_command(site.target, opts.get("spec_path"), selected)
    if repair and not r.passed:
        console.print(f"repair it with a model: {repair}", markup=False)
    secrets = common.secrets() + tuple(url_secrets(site.target))
    if opts.get("json_path"):
        data = outputs.check_json(r.name, r.passed, r.findings, r.checks_run, dict(r.info))
        data["seconds"] = round(seconds, 3)
        if repair and not r.passed:
            data["fix_command"] = repair
        outputs.write_text(opts["json_path"], json.dumps(data, indent=2, ensure_ascii=False) + "\n", secrets)
    if opts.get("junit_path"):
        outputs.write_text(opts["junit_path"], outputs.junit_xml(r.name, r.findings, r.checks_run, r.seconds, r.info),
                           secrets)
    if opts.get("summary_path"):
        outputs.write_text(opts["summary_path"], outputs.markdown_summary(r.name, r.passed, r.findings, r.checks_run,
                                                                          repair, r.info, r.info.get("coverage")),
                           secrets)
    sys.exit(0 if r.passed else 1)
