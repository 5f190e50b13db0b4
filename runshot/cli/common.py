"""What the commands share: option groups, consoles, check selection, printing findings."""

from __future__ import annotations

import contextlib
import sys

import click
from rich.console import Console

from runshot.api import select_checks
from runshot.derivation import coverage
from runshot.errors import ModelError, UsageError
from runshot.redact import url_secrets
from runshot.report import coverage_line, summary_lines
from runshot.settings import KEYWORDS, BrowserOptions, Settings, from_options, resolve
from runshot.spec import spec_path
from runshot.validators.runner.registry import load_registry
from runshot.values import Limits
from runshot.wiring import endpoint_secrets


def console() -> Console:
    """The console for progress and verdicts: standard error."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    probe = Console(file=sys.stdout)
    return Console(file=sys.stdout, highlight=False, soft_wrap=False, width=None if probe.is_terminal else 120)


def registry():
    """Every registered check: built-ins, then installed plugins (a broken plugin is one warning line)."""
    return load_registry(warn=lambda line: click.echo(line, err=True))


def parse_checks(value: str | None, known) -> list[str] | None:
    """`--checks a,b` checked against the registry `known` (unknown names: a usage error listing the known)."""
    return select_checks(value, known)


def secrets(api_key: str | None = None, base_url: str | None = None) -> tuple[str, ...]:
    """Secret values to scrub from files written: the API key and URL credentials (flags and environment)."""
    extra = [api_key or ""] + url_secrets(base_url)
    return tuple(dict.fromkeys([s for s in extra if s] + list(endpoint_secrets())))


# flag parameter -> settings keyword, where the two names differ
FLAG_NAMES = {"call_timeout": "timeout", "jobs_checks": "check_jobs", "allow_host": "allow_hosts"}
LIMIT_FLAGS = ("max_files", "max_file_bytes", "max_total_bytes", "max_depth")


def settings_from_flags(params: dict, resolve_model: bool = False) -> Settings:
    """The one settings value of a command, from its flags' values (click's `params`; flags that are not settings
    are left out). With `resolve_model`, the model's endpoint is decided too: flags, then the environment, then
    the config file, then the embedded default."""
    options = {FLAG_NAMES.get(name, name): value for name, value in params.items()}
    options = {name: value for name, value in options.items() if name in KEYWORDS}
    if params.get("no_derive_checks"):
        options["derive_checks"] = False
    if any(params.get(name) is not None for name in LIMIT_FLAGS):
        options["limits"] = Limits(**{name: params[name] for name in LIMIT_FLAGS if params.get(name) is not None})
    built = from_options(**options)
    return resolve(built) if resolve_model else built


def browser(opts: dict, check_jobs: int | None = None) -> BrowserOptions:
    """BrowserOptions from the flags of `browser_options`."""
    return settings_from_flags({**opts, "check_jobs": check_jobs}).browser


def browser_options(f):
    f = click.option("--chromium", "chromium", metavar="PATH", envvar="RUNSHOT_CHROMIUM",
                     help="Chromium/Chrome executable (default: chromium on PATH).")(f)
    f = click.option("--sandbox", type=click.Choice(["auto", "off", "require"]), default=None,
                     help="Run the app's server and Chromium in bubblewrap: auto (where it works), off, require "
                          "[RUNSHOT_SANDBOX].")(f)
    f = click.option("--checks", metavar="LIST",
                     help="Comma-separated checks to run (default: every registered check; `runshot checks` "
                          "lists them).")(f)
    f = click.option("--strict", is_flag=True, help="Treat warnings as errors.")(f)
    f = click.option("--page-timeout", type=click.FloatRange(1, 600), default=15.0, show_default=True,
                     help="Seconds for one page load.")(f)
    f = click.option("--check-timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
                     help="Seconds for one check.")(f)
    return f


def model_options(f):
    """Flags shared by the commands that call a model (`new`, `batch`)."""
    f = click.option("--no-derive-checks", "no_derive_checks", is_flag=True,
                     help="Do not let the model write acceptance checks for a spec that has none.")(f)
    f = click.option("--candidates", type=click.IntRange(1, 16), default=1, show_default=True,
                     help="First attempts per spec; the best one is repaired further.")(f)
    f = click.option("--retries", type=click.IntRange(0, 20), default=4, show_default=True,
                     help="Retries of a model call after 429, 5xx or a dropped connection.")(f)
    f = click.option("--deadline", type=click.FloatRange(1, 86400), default=None,
                     help="Seconds for one model answer, retries included (default 900, local model 1800).")(f)
    f = click.option("--timeout", "call_timeout", type=click.FloatRange(1, 3600), default=None,
                     help="Seconds per model call attempt (default 120, local model 600).")(f)
    f = click.option("--token-budget", type=click.IntRange(1, 10**9), default=None,
                     help="Stop repairing once this many tokens (prompt + completion) were spent.")(f)
    f = click.option("--max-tokens", type=click.IntRange(256, 1_000_000), default=None,
                     help="Cap on completion tokens per model answer.")(f)
    f = click.option("--max-iterations", type=click.IntRange(1, 50), default=4, show_default=True,
                     help="Model calls: the first generation plus up to N-1 repairs.")(f)
    f = click.option("--api-key", metavar="KEY", help="API key [OPENAI_API_KEY]; never written anywhere.")(f)
    f = click.option("--base-url", metavar="URL",
                     help="OpenAI-compatible endpoint [OPENAI_BASE_URL]; credentials in it are never shown.")(f)
    return f


def cassette_options(f):
    """--record DIR / --replay DIR: the model calls of a run written to a cassette, or answered from one."""
    f = click.option("--replay", "replay", metavar="DIR",
                     help="Answer every model request from the cassette in DIR (no endpoint); a request it lacks "
                          "fails the run (exit 3).")(f)
    f = click.option("--record", "record", metavar="DIR",
                     help="Write every model request and answer to a cassette in DIR (no keys or credentials).")(f)
    return f


def cassette_flags(record: str | None, replay: str | None) -> None:
    if record and replay:
        raise UsageError("--record and --replay cannot be used together")


@contextlib.contextmanager
def replay_failures(models: list):
    """Around a replayed run: a request the cassette lacked is the run's failure (exit 3), named in full, whether
    the run stopped on it or carried on with its best iteration."""
    def first_miss():
        return next((m.cassette.misses[0] for m in models if getattr(m.cassette, "misses", None)), None)

    try:
        yield
    except ModelError:
        miss = first_miss()
        if miss:
            raise ModelError(miss) from None
        raise
    miss = first_miss()
    if miss:
        raise ModelError(miss)


def print_findings(out: Console, name: str, result, timings: bool = False) -> None:
    """Each finding (errors first), then one verdict line; with `timings`, seconds per check and in all."""
    errs = [f for f in result.findings if f.is_error]
    warns = [f for f in result.findings if not f.is_error]
    for f in errs + warns:
        where = f" ({f.where})" if f.where else ""
        style = "red" if f.is_error else "yellow"
        page = f"{f.page}: " if f.page else ""
        out.print(f"{f.severity:7} {page}[{f.check}] {f.message}{where}", style=style, markup=False, soft_wrap=True)
    if timings:
        print_timings(out, name, result)
    pages = (result.info or {}).get("pages") or []
    if pages:
        out.print("pages: " + ", ".join(f"{p['page']} {'ok' if p['passed'] else 'FAILED'} ({p['seconds']:.1f} s)"
                                        for p in pages),
                  markup=False, soft_wrap=True)
    verdict = "PASSED" if result.passed else "FAILED"
    out.print(f"{verdict}: {name}: {len(errs)} error(s), {len(warns)} warning(s) in {result.seconds:.1f} s",
              style="bold green" if result.passed else "bold red", markup=False)


def print_timings(out: Console, name: str, result) -> None:
    seconds = (result.info or {}).get("seconds") or {}
    parts = [f"{check} {float(s):.2f}" for check, s in seconds.items()]
    out.print(f"timings: {name}: " + (", ".join(parts) if parts else "none recorded")
              + f"; total {result.seconds:.2f} s", markup=False)


def spec_files(args: tuple[str, ...]):
    """Spec files given as files or folders of *.md, each once, in order."""
    found = [p for a in args for p in spec_path(a, "spec file not found (batch takes spec files or folders of them)")]
    return list(dict.fromkeys(found))


def print_outcome(console, result) -> None:
    """The summary of a fix or change, its last line naming the branch (or folder) and the report; then exit."""
    report = result.report
    for i, line in enumerate(summary_lines(report)):
        style = ("bold green" if report.passed else "bold red") if i == 0 else None
        console.print(line, style=style, markup=False)
    if result.in_git:
        console.print(f"branch: {result.branch}   report: {result.state_dir / 'report.json'}", markup=False)
    else:
        console.print(f"project: {result.work}   report: {result.state_dir / 'report.json'}", markup=False)
    sys.exit(0 if report.passed else 1)


def print_coverage(console, result, spec) -> None:
    """Work out and print which of the spec's requirements this project's checks verified; kept in the result's
    info (so the JSON and the Markdown summary have it)."""
    if spec is None or not spec.body:
        return
    covered = spec_coverage(spec, result.checks_run)
    if covered["total"]:
        result.info["coverage"] = covered
        console.print(f"{result.name}: spec coverage: " + coverage_line(covered), markup=False)


def spec_coverage(spec, checks_run) -> dict:
    """The spec's requirements and what verified each in this run (its checks count only if acceptance ran)."""
    checks = spec.checks if "acceptance" in checks_run else ()
    requirements = coverage.split_requirements(spec.body)
    return coverage.to_dict(coverage.account(requirements, checks, tuple(checks_run)))
