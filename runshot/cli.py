"""The command line: `runshot new`, `runshot check`, `runshot model`."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import click
from rich.console import Console

from runshot import __version__
from runshot.errors import RunshotError, UsageError
from runshot.procs import terminate_as_interrupt
from runshot.values import Limits

CHECK_NAMES = ("runtime", "a11y", "semantics", "acceptance", "keyboard", "dialog", "motion", "mobile", "sweep")
DEFAULT_CHECKS = CHECK_NAMES


def _console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _parse_checks(value: str | None) -> list[str] | None:
    if not value:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in CHECK_NAMES]
    if unknown:
        raise UsageError(f"--checks: unknown check(s) {', '.join(unknown)} (known: {', '.join(CHECK_NAMES)})")
    return names


def _browser_options(f):
    f = click.option("--chromium", "chromium", metavar="PATH", envvar="RUNSHOT_CHROMIUM",
                     help="Chromium/Chrome executable (default: chromium on PATH).")(f)
    f = click.option("--sandbox", type=click.Choice(["auto", "off", "require"]), default=None,
                     help="Run the app's server and Chromium in bubblewrap: auto (where it works), off, require "
                          "[RUNSHOT_SANDBOX].")(f)
    f = click.option("--checks", metavar="LIST", help=f"Comma-separated checks to run (default all: {','.join(CHECK_NAMES)}).")(f)
    f = click.option("--strict", is_flag=True, help="Treat warnings as errors.")(f)
    f = click.option("--page-timeout", type=click.FloatRange(1, 600), default=15.0, show_default=True,
                     help="Seconds for one page load.")(f)
    f = click.option("--check-timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
                     help="Seconds for one check.")(f)
    return f


def _model_options(f):
    """Flags shared by the commands that call a model (`new`, `batch`)."""
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
    f = click.option("--base-url", metavar="URL", help="OpenAI-compatible endpoint [OPENAI_BASE_URL].")(f)
    return f


def _validator(stack: ExitStack, chromium: str | None, page_timeout: float, check_timeout: float,
               sandbox: str | None = None):
    from runshot.validators.browser import BrowserSettings
    from runshot.validators.context import Timeouts
    from runshot.validators.runner import Validator

    settings = BrowserSettings(executable=chromium, sandbox=sandbox or "auto")
    timeouts = Timeouts(load=page_timeout, check=check_timeout)
    return stack.enter_context(Validator(settings, timeouts))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runshot")
def cli() -> None:
    """Turn a spec into a one-shot runnable web project, checked in headless Chromium."""


# ---------------------------------------------------------------- new


@cli.command()
@click.argument("spec", required=False)
@click.option("-o", "--out", "out", metavar="OUT", help="New folder for the project (absent or empty).")
@click.option("--resume", "resume", metavar="OUT", help="Continue an interrupted run in OUT from its last committed iteration.")
@click.option("--model", metavar="M", help="Model name, 'local', or 'local:/path/model.gguf' [RUNSHOT_MODEL].")
@_model_options
@click.option("--max-files", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Most files the model may write.")
@click.option("--max-file-bytes", type=click.IntRange(1, 10**9), default=1_000_000, show_default=True,
              help="Largest file the model may write, in bytes.")
@click.option("--max-total-bytes", type=click.IntRange(1, 10**10), default=5_000_000, show_default=True,
              help="Most bytes the model may write in all.")
@click.option("--max-depth", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Deepest path (folders plus file name).")
@click.option("--run-timeout", type=click.FloatRange(1, 7 * 86400), default=None,
              help="Seconds for the whole run; no new iteration starts after that.")
@_browser_options
def new(spec, out, resume, model, base_url, api_key, max_iterations, max_tokens, token_budget, call_timeout, deadline, retries,
        max_files, max_file_bytes, max_total_bytes, max_depth, run_timeout,
        chromium, sandbox, checks, strict, page_timeout, check_timeout):
    """Generate a project for SPEC (a spec file, or the prompt itself) into OUT and repair it until it passes."""
    from runshot.config import resolve_endpoint
    from runshot.generator.client import ModelSettings, complete, make_client
    from runshot.loop import Progress, RunOptions, run_new
    from runshot.report import summary_lines
    from runshot.spec import load_spec

    console = _console()
    if resume:
        if spec or out:
            raise UsageError("--resume OUT takes no SPEC and no -o: the spec is the one kept in OUT/.runshot/spec.md")
        out_dir = Path(resume)
        kept = out_dir / ".runshot" / "spec.md"
        if not (out_dir / ".runshot" / "report.json").is_file() or not kept.is_file():
            raise UsageError(f"{out_dir}: not a runshot project to resume (no .runshot/report.json and spec.md)")
        from runshot.spec import parse_spec_file

        the_spec = parse_spec_file(kept)
    else:
        if not spec or not out:
            raise UsageError("runshot new needs SPEC and -o OUT (or --resume OUT)")
        the_spec = load_spec(spec)
        out_dir = Path(out)
        _require_empty_out(out_dir)
    selected = _parse_checks(checks)
    limits = Limits(max_files=max_files, max_file_bytes=max_file_bytes, max_total_bytes=max_total_bytes,
                    max_depth=max_depth)
    endpoint = resolve_endpoint(model, base_url, api_key)

    with ExitStack() as stack:
        from runshot.validators.browser import BrowserSettings

        BrowserSettings(executable=chromium).resolve_executable()  # no browser: fail before spending tokens
        if endpoint.is_local:
            base, model_name = _start_local(stack, endpoint, console, out_dir)
            settings = ModelSettings(name=model_name, base_url=base, api_key=None,
                                     timeout=call_timeout or 600, deadline=deadline or 1800, max_tokens=max_tokens,
                                     max_retries=retries)
        else:
            model_name = endpoint.model or _only_model(endpoint)
            settings = ModelSettings(name=model_name, base_url=endpoint.base_url, api_key=endpoint.api_key,
                                     timeout=call_timeout or 120, deadline=deadline or 900, max_tokens=max_tokens,
                                     max_retries=retries)
        console.print(f"[bold]runshot[/bold] {the_spec.title!r} → {out_dir}  (model {settings.name} at {settings.base_url})")
        client = make_client(settings)
        validator = _validator(stack, chromium, page_timeout, check_timeout, sandbox)

        def ask(messages, on_progress):
            return complete(client, settings, messages, on_progress=on_progress)

        def validate(project_dir, s, shot):
            return validator.validate(project_dir, s, checks=selected, screenshot_path=shot, strict=strict)

        progress = stack.enter_context(_ConsoleProgress(console))
        if not resume:
            (out_dir / ".runshot").mkdir(parents=True, exist_ok=True)
            _keep_spec_copy(the_spec, out_dir)
        terminate_as_interrupt()
        report = run_new(
            the_spec, out_dir, ask, validate,
            model_info={"name": settings.name, "base_url": settings.redacted().get("base_url")},
            options=RunOptions(max_iterations=max_iterations, limits=limits, token_budget=token_budget,
                               run_timeout=run_timeout),
            progress=progress,
            resume=bool(resume),
        )
    for i, line in enumerate(summary_lines(report)):
        style = ("bold green" if report.passed else "bold red") if i == 0 else None
        console.print(line, style=style, markup=False)
    console.print(f"project: {out_dir}   report: {out_dir / '.runshot' / 'report.json'}", markup=False)
    sys.exit(0 if report.passed else 1)


def _require_empty_out(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"{out_dir}: exists and is not a folder; choose a new OUT (nothing was changed)")
        if any(out_dir.iterdir()):
            raise UsageError(f"{out_dir}: not empty; choose a new or empty OUT (nothing was changed)")


def _keep_spec_copy(spec, out_dir: Path) -> None:
    """Keep the spec beside the report so `runshot check OUT` re-runs the same acceptance checks."""
    src = Path(spec.source)
    dest = out_dir / ".runshot" / "spec.md"
    if spec.source != "prompt" and src.is_file():
        shutil.copyfile(src, dest)
    else:
        dest.write_text(f"---\ntitle: {json.dumps(spec.title)}\n---\n{spec.body}\n", encoding="utf-8")


def _only_model(endpoint) -> str:
    """No --model given for an endpoint: use the one model it serves, or ask for a name."""
    from runshot.generator.client import ModelSettings, make_client

    try:
        client = make_client(ModelSettings(name="", base_url=endpoint.base_url, api_key=endpoint.api_key, timeout=10))
        ids = [m.id for m in client.models.list()]
    except Exception:
        ids = []
    if len(ids) == 1:
        return ids[0]
    raise UsageError("no model named: pass --model NAME (or set RUNSHOT_MODEL)")


def _start_local(stack: ExitStack, endpoint, console: Console, out_dir: Path):
    from runshot.generator import local

    path = local.resolve_local(endpoint.model)
    hint = "" if endpoint.origin != "default" else " (no endpoint configured; use --base-url/--model for a hosted one)"
    console.print(f"model: local {path.name}{hint}", markup=False)
    log_dir = Path(local.cache_dir()) / "logs"
    with console.status("starting the local model server…"):
        server = stack.enter_context(local.LocalServer(path, log_dir=log_dir))
    return server.base_url, path.stem


class _ConsoleProgress:
    """Live progress on stderr: which iteration, tokens so far, time."""

    def __init__(self, console: Console):
        self.console = console
        self.status = None
        self.label = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stop()

    def _stop(self):
        if self.status is not None:
            self.status.stop()
            self.status = None

    def _show(self, text: str):
        if not self.console.is_terminal:
            if not text.endswith((" s", "tokens")):  # no live line in a log: say each phase once
                self.console.print(text, markup=False)
            return
        if self.status is None:
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def iteration_started(self, number, repair):
        self.label = f"iteration {number} ({'repair' if repair else 'generate'})"
        self._show(f"{self.label}: waiting for the model…")

    def model_progress(self, tokens, seconds):
        self._show(f"{self.label}: {tokens} tokens, {seconds:.0f} s")

    def model_done(self, completion):
        self._stop()
        u = completion.usage
        self.console.print(f"{self.label}: model answered in {completion.seconds:.1f} s "
                           f"({u.prompt_tokens} prompt + {u.completion_tokens} completion tokens)", markup=False)

    def validating(self, number):
        self._show(f"iteration {number}: validating in headless Chromium…")

    def iteration_done(self, it):
        self._stop()
        errs = it.error_count
        verdict = "passes" if it.passed else (it.note or f"{errs} error(s)")
        self.console.print(f"iteration {it.number}: {verdict}; {len(it.findings) - errs} warning(s)", markup=False)

    def note(self, text):
        self.console.print(text, markup=False)


# ---------------------------------------------------------------- check


@cli.command()
@click.argument("directory", metavar="DIR")
@click.option("--spec", "spec_path", metavar="SPEC", help="Spec file with entry page and acceptance checks.")
@click.option("--json", "json_path", metavar="PATH", help="Write the verdict as JSON ('-' for stdout).")
@click.option("--junit", "junit_path", metavar="PATH", help="Write JUnit XML, one testcase per check.")
@click.option("--summary", "summary_path", metavar="PATH", help="Write a Markdown summary (for a CI job summary).")
@click.option("--screenshot", "screenshot_path", metavar="PATH", help="Save a screenshot of the entry page.")
@_browser_options
def check(directory, spec_path, json_path, junit_path, summary_path, screenshot_path, chromium, sandbox, checks,
          strict, page_timeout, check_timeout):
    """Validate an existing project in DIR (no model needed)."""
    from runshot import outputs

    console = _console()
    root = Path(directory)
    if not root.is_dir():
        raise UsageError(f"{directory}: not a folder")
    spec = _spec_for_check(root, spec_path)
    selected = _parse_checks(checks)
    started = time.monotonic()
    with ExitStack() as stack:
        validator = _validator(stack, chromium, page_timeout, check_timeout, sandbox)
        with console.status(f"checking {root} in headless Chromium…"):
            result = validator.validate(root.resolve(), spec,
                                        checks=selected, strict=strict,
                                        screenshot_path=Path(screenshot_path) if screenshot_path else None)
    name = root.resolve().name
    checks_run = list(getattr(result, "checks_run", selected or CHECK_NAMES))
    if json_path:
        data = outputs.check_json(name, result.passed, result.findings, checks_run, dict(result.info))
        data["seconds"] = round(time.monotonic() - started, 3)
        outputs.write_text(json_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    if junit_path:
        outputs.write_text(junit_path, outputs.junit_xml(name, result.findings, checks_run, result.seconds))
    if summary_path:
        outputs.write_text(summary_path, outputs.markdown_summary(name, result.passed, result.findings, checks_run))
    _print_findings(console, name, result)
    sys.exit(0 if result.passed else 1)


def _spec_for_check(root: Path, spec_path: str | None):
    from runshot.spec import Spec, load_spec, parse_spec_file

    if spec_path:
        p = Path(spec_path)
        if not p.exists():
            raise UsageError(f"{spec_path}: spec file not found")
        return load_spec(spec_path)
    kept = root / ".runshot" / "spec.md"
    if kept.is_file():
        return parse_spec_file(kept)
    return Spec(title=root.resolve().name, body="", source="(none)")


def _print_findings(console: Console, name: str, result) -> None:
    errs = [f for f in result.findings if f.is_error]
    warns = [f for f in result.findings if not f.is_error]
    for f in errs + warns:
        where = f" ({f.where})" if f.where else ""
        style = "red" if f.is_error else "yellow"
        console.print(f"{f.severity:7} [{f.check}] {f.message}{where}", style=style, markup=False, soft_wrap=True)
    verdict = "PASSED" if result.passed else "FAILED"
    console.print(f"{verdict}: {name}: {len(errs)} error(s), {len(warns)} warning(s) in {result.seconds:.1f} s",
                  style="bold green" if result.passed else "bold red", markup=False)


# ---------------------------------------------------------------- model


@cli.group()
def model() -> None:
    """The embedded local model."""


@model.command("pull")
def model_pull():
    """Fetch, assemble and verify the embedded local model."""
    from rich.progress import BarColumn, DownloadColumn, Progress as Bar, TransferSpeedColumn

    from runshot.generator import local

    console = _console()
    with Bar("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
             console=console) as bar:
        task = bar.add_task("assembling model", total=None)

        def progress(done, total):
            bar.update(task, completed=done, total=total)

        path = local.pull(progress=progress)
    console.print(f"{local.MODEL_NAME}: installed, verified: {path}", markup=False)


@model.command("list")
def model_list():
    """One line per known local model: name, installed or missing, path."""
    from runshot.generator import local

    for m in local.list_models():
        click.echo(f"{m.name}\t{'installed' if m.installed else 'missing'}\t{m.path}")


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: expected failures print one line and exit with their documented code."""
    try:
        cli.main(args=argv, prog_name="runshot", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx else "runshot"
        click.echo(f"{cmd}: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("runshot: interrupted; finished iterations are committed and the report is saved "
                   "(continue with: runshot new --resume OUT)", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"runshot: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except RunshotError as exc:
        click.echo(f"runshot: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # a bug in runshot, not the user's fault: say so in one line
        if os.environ.get("RUNSHOT_DEBUG"):
            raise
        click.echo(f"runshot: internal error: {type(exc).__name__}: {exc} (set RUNSHOT_DEBUG=1 for a traceback)",
                   err=True)
        sys.exit(4)
    sys.exit(0)

from runshot import cli_extra  # noqa: E402,F401  (registers batch, merge, regress, gallery, serve; extends check)
