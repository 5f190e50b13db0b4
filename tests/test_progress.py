"""The console progress of `runshot new`: a live token count on a terminal, a line per interval in a log."""

from __future__ import annotations

import io
import time

from rich.console import Console

from runshot.cli.progress import ConsoleProgress
from runshot.generator.client import Completion
from runshot.values import Usage


def completion(tokens: int) -> Completion:
    return Completion("text", "stop", Usage(100, tokens), 1.5, 1, 0, False)


def test_a_log_gets_a_line_per_interval_while_the_model_answers():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with ConsoleProgress(console, log_every=0.3, tick=0.05) as progress:
        progress.iteration_started(1, repair=False)
        time.sleep(0.45)  # no token yet (the engine reads the prompt): still a line
        progress.model_progress(12, 0.5)
        time.sleep(0.4)
        progress.model_progress(40, 0.9)
        progress.model_done(completion(40))
        time.sleep(0.5)  # nothing is waited on any more: no more lines
    lines = out.getvalue().splitlines()
    assert lines[0] == "iteration 1 (generate): waiting for the model…"
    assert lines[1].startswith("iteration 1 (generate): waiting for the model… 0 s") or \
        lines[1].startswith("iteration 1 (generate): waiting for the model… 1 s")
    assert any(line.startswith("iteration 1 (generate): 12 tokens,") for line in lines[2:])
    assert lines[-1] == "iteration 1 (generate): model answered in 1.5 s (100 prompt + 40 completion tokens)"
    assert 3 <= len(lines) <= 6  # one line per interval, not one per token


def test_the_ticker_stops_with_the_progress():
    console = Console(file=io.StringIO(), force_terminal=False)
    progress = ConsoleProgress(console, log_every=0.1, tick=0.02)
    with progress:
        progress.iteration_started(1, repair=True)
        ticker = progress._ticker
        assert ticker is not None and ticker.is_alive()
    assert not ticker.is_alive()


def test_a_terminal_line_counts_tokens_and_seconds():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system=None, width=200)
    with ConsoleProgress(console, tick=0.05) as progress:
        progress.iteration_started(2, repair=True)
        progress.model_progress(7, 1.0)
        time.sleep(0.2)
        progress.model_done(completion(7))
    text = out.getvalue()
    assert "iteration 2 (repair): 7 tokens" in text and "model answered in 1.5 s" in text


def test_deriving_checks_shows_life_too_and_stops_when_done():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with ConsoleProgress(console, log_every=0.2, tick=0.05) as progress:
        progress.waiting("deriving checks")
        time.sleep(0.3)
        progress.model_progress(9, 0.3)
        time.sleep(0.3)
        progress.waiting_done()
        time.sleep(0.4)  # nothing is waited on any more: no more lines
        progress.note("done")
    lines = out.getvalue().splitlines()
    assert lines[0] == "deriving checks: waiting for the model…"
    assert any(line.startswith("deriving checks: 9 tokens,") for line in lines[1:])
    assert lines[-1] == "done" and len(lines) <= 6
