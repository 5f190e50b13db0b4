"""The command line. Each command group lives in its own module and attaches itself through `register(group)`,
called when one of its commands is run or listed (COMMANDS names each module's commands, in `--help` order). The
command modules import only `runshot.cli.common`, never this package's names, so nothing imports back what imports
it.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings

import click

from runshot import __version__
from runshot.errors import RunshotError
from runshot.redact import RedactingStream, url_secrets
from runshot.wiring import endpoint_secrets

# The modules whose `register(group)` adds commands, in the order `runshot --help` lists them, with the commands
# each adds.
COMMANDS = {
    "new": ("new",), "derive": ("derive",), "fix": ("fix",), "check": ("check",), "checks": ("checks",),
    "rules": ("rules",), "batch": ("batch", "merge"), "bench": ("bench",), "ci": ("regress",),
    "gallery": ("gallery", "serve"), "model": ("model",),
}


class _Commands(click.Group):
    """The command group, importing a command's module only when the command is wanted: `runshot check` starts
    without loading the model client, the repair loop and the other commands (about a third of its start-up).
    Listing them (`runshot --help`) loads every module."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.module_of = {command: module for module, commands in COMMANDS.items() for command in commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.module_of, *(name for name in super().list_commands(ctx) if name not in self.module_of)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = self.module_of.get(name)
        if module is not None and name not in self.commands:
            importlib.import_module(f"runshot.cli.{module}").register(self)
        return super().get_command(ctx, name)


def build_cli() -> click.Group:
    @click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="runshot")
    def cli() -> None:
        """Turn a spec into a one-shot runnable web project, checked in headless Chromium."""

    return cli


cli = build_cli()


def _argv_secrets(argv: list[str]) -> list[str]:
    """Secret values given on the command line (--api-key, credentials inside --base-url)."""
    found: list[str] = []
    for i, arg in enumerate(argv):
        for flag in ("--api-key", "--base-url"):
            value = None
            if arg == flag and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith(flag + "="):
                value = arg.split("=", 1)[1]
            if value:
                found += [value] if flag == "--api-key" else url_secrets(value)
    return found


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: expected failures print one line and exit with their documented code. Whatever the commands
    print passes through `runshot.redact` (no URL credentials, no API key)."""
    args = list(sys.argv[1:] if argv is None else argv)
    secrets = _argv_secrets(args) + list(endpoint_secrets())
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(sys.stdout, secrets), RedactingStream(sys.stderr, secrets)
    try:
        _run(args)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        sys.stdout, sys.stderr = saved


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _interrupted(argv: list[str]) -> None:
    """One line for Ctrl-C or SIGTERM; what the browser's event loop leaves half-done is cleaned up unseen (every
    process runshot started was stopped on the way out)."""
    # The browser's event loop was stopped mid-way: at exit Python finalizes its pending coroutines and tasks and
    # would print each ("Task was destroyed but it is pending!", "Exception ignored in ..."). Not news to a user.
    logging.getLogger("asyncio").disabled = True
    sys.unraisablehook = lambda unraisable: None
    warnings.simplefilter("ignore")
    command = next((a for a in argv if not a.startswith("-")), "")
    if command in ("new", "fix", "batch", "bench"):
        _say("runshot: interrupted; finished iterations are committed and the report is saved "
             "(continue with: runshot new --resume OUT)" if command == "new" else
             "runshot: interrupted; finished work is committed and the report is saved")
    else:
        _say("runshot: interrupted")


def _run(argv: list[str]) -> None:
    try:
        cli.main(args=argv, prog_name="runshot", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        _say(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(2)
    except click.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx else "runshot"
        _say(f"{cmd}: error: {exc.format_message()}")
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _interrupted(argv)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _say(f"runshot: error: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except RunshotError as exc:
        _say(f"runshot: {exc.message}")
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # a bug in runshot, not the user's fault: say so in one line
        if os.environ.get("RUNSHOT_DEBUG"):
            raise
        _say(f"runshot: internal error: {type(exc).__name__}: {exc} (set RUNSHOT_DEBUG=1 for a traceback)")
        sys.exit(4)
    sys.exit(0)
