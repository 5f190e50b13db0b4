"""`runshot derive SPEC [-o FILE]`: the spec with checks derived for the requirements nothing verifies, and its
coverage, to read, fix and commit before generating (the same code `runshot new` runs first)."""

from __future__ import annotations

import dataclasses
import sys
from contextlib import ExitStack
from pathlib import Path

import click

import runshot.cli.common as common
from runshot import wiring
from runshot.derivation import coverage
from runshot.errors import ModelError, UsageError
from runshot.settings import resolve
from runshot.spec import load_spec


@click.command("derive", short_help="Derive acceptance checks from a spec's words, with its coverage.")
@click.argument("spec")
@click.option("-o", "--out", "out_path", metavar="FILE", help="Write the spec to FILE (a new file) instead of stdout.")
@click.option("--model", metavar="M", help="Model name, 'local', or 'local:/path/model.gguf' [RUNSHOT_MODEL].")
@click.option("--base-url", metavar="URL", help="OpenAI-compatible endpoint [OPENAI_BASE_URL].")
@click.option("--api-key", metavar="KEY", help="API key [OPENAI_API_KEY]; never written anywhere.")
@click.option("--samples", type=click.IntRange(1, 9), default=3, show_default=True,
              help="Answers asked for; a check is kept when they agree on it.")
@click.option("--timeout", "call_timeout", type=click.FloatRange(1, 3600), default=None,
              help="Seconds per model call attempt (default 120, local model 600).")
@click.option("--retries", type=click.IntRange(0, 20), default=4, show_default=True,
              help="Retries of a model call after 429, 5xx or a dropped connection.")
@click.option("--words-only", is_flag=True,
              help="No model: only the checks the spec's own words settle (texts at start or after named actions, "
                   "sizes, states on load).")
def derive(spec, out_path, model, base_url, api_key, samples, call_timeout, retries, words_only):
    """Print SPEC with acceptance checks derived from its words (marked `derived: true`, each with the requirement
    it `covers`) and what verifies each requirement; -o FILE writes it to a new file."""
    # Imported when the command runs: the derivation loads the generator's prompts and client (about a second,
    # measured with `python -X importtime`), which `--help` needs not.
    from runshot.derivation import derive as deriving  # lazy: start-up

    console = common.console()
    the_spec = load_spec(spec)
    if out_path and Path(out_path).exists():
        raise UsageError(f"{out_path}: already exists; give a new file")
    found = deriving.Derivation()
    if deriving.to_verify(the_spec) and words_only:
        found = deriving.derive(the_spec, None, samples=0)
        for note in found.notes:
            console.print(f"  {note}", markup=False)
        console.print(f"derived {len(found.checks)} check(s) from the spec's words (no model)", markup=False)
    elif deriving.to_verify(the_spec):
        with ExitStack() as stack:
            settings = resolve(common.settings_from_flags(click.get_current_context().params))
            the_model = wiring.open_model(stack, settings.model.endpoint, settings.model,
                                          note=lambda text: console.print(text, markup=False), status=console.status)
            with console.status(f"asking {the_model.name} for checks ({samples} samples)…"):
                found = deriving.derive(the_spec, the_model.ask, samples=samples)
        if found.calls == 0:
            raise ModelError(found.notes[0] if found.notes else "the model gave no answer")
        for note in found.notes:
            console.print(f"  {note}", markup=False)
        u = found.usage
        console.print(f"derived {len(found.checks)} check(s) from {found.calls} sample(s): {u.prompt_tokens} prompt + "
                      f"{u.completion_tokens} completion tokens, {found.seconds:.1f} s", markup=False)
    else:
        console.print("nothing to derive: written, derived or default checks verify every requirement they can",
                      markup=False)
    the_spec = dataclasses.replace(the_spec, checks=the_spec.checks + found.checks)
    covered = coverage.of_spec(the_spec, deriving.DEFAULT_CHECKS)
    console.print("spec coverage: " + coverage.summary(covered), markup=False)
    text = deriving.spec_text(the_spec, [_coverage_line(c) for c in covered])
    if out_path:
        _write_new(Path(out_path), text)
        console.print(f"wrote {out_path}", markup=False)
    else:
        sys.stdout.write(text)


def _coverage_line(c) -> str:
    if c.verified:
        return f"verified ({c.by}: {', '.join(c.checks)}): {c.requirement.text}"
    return f"not verified: {c.requirement.text} ({c.why})"


def _write_new(path: Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise UsageError(f"{path}: already exists; give a new file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None


def register(group: click.Group) -> None:
    group.add_command(derive)
