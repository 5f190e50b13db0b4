"""A run's time budget (`--run-timeout`, 540 s by default on the embedded model): answers end by then, no iteration
starts that the time left cannot hold, deriving checks keeps to its share, and the run ends judged (exit 0 or 1),
never as an endpoint failure. The real openai client over HTTP to the scripted server, real Chromium and git; the
budget's reserves are shortened so that a test waits seconds, not minutes."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

import runshot
from runshot import api, wiring
from runshot.derivation import derive as deriving
from runshot.loop import state
from runshot.settings import LOCAL_RUN_TIMEOUT, ModelOptions, RunOptions
from runshot.settings.config import Endpoint
from runshot.spec import parse_spec_text as parse_spec
from fakeopenai import FakeOpenAI, Reply
from test_pipeline import BROKEN_HTML, GOOD_HTML, GOOD_JS, SPEC, answer, run_cli

KEY = "sk-test-run-budget-0123456789"
BROKEN = answer(("index.html", BROKEN_HTML), ("app.js", GOOD_JS))
GOOD = answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS))


@pytest.fixture
def short_reserves(monkeypatch):
    monkeypatch.setattr(state, "CHECK_RESERVE", 1.0)
    monkeypatch.setattr(state, "MIN_ANSWER", 2.0)


def generate(fake: FakeOpenAI, out: Path, **options):
    spec = out.parent / "counter.md"
    spec.write_text(SPEC)
    return runshot.generate(spec, out, model="scripted", base_url=fake.base_url, api_key=KEY,
                            checks=["runtime", "acceptance"], derive_checks=False, max_iterations=4, **options)


def test_an_answer_still_streaming_when_the_budget_ends_is_cut_judged_and_the_run_stops(short_reserves, tmp_path):
    slow = Reply(GOOD, chunk_delay=0.3)  # about 45 s for the whole answer
    with FakeOpenAI(BROKEN, slow, GOOD) as fake:
        started = time.monotonic()
        report = generate(fake, tmp_path / "out", run_timeout=20)
        seconds = time.monotonic() - started
        assert len(fake.chat_requests) == 2  # the third answer was never asked for
    assert seconds < 35
    first, second = report.iterations
    assert first.commit and not first.passed and report.spec["title"] == "Counter"
    assert any(f.rule == "format/broken-off" and "deadline" in f.message for f in second.findings), second.findings
    assert "run time limit of 20 s" in report.stopped_because
    assert report.best is not None and not report.passed
    transcript = json.loads((tmp_path / "out" / ".runshot" / "transcript" / "iteration-2.json").read_text())
    assert transcript["finish_reason"] == "cut"


def test_an_answer_that_has_not_begun_when_the_budget_ends_stops_the_run_not_as_an_endpoint_failure(
        short_reserves, tmp_path):
    with FakeOpenAI(BROKEN, Reply(GOOD, delay=60)) as fake:
        started = time.monotonic()
        report = generate(fake, tmp_path / "out", run_timeout=20)
        assert time.monotonic() - started < 40
    assert [it.number for it in report.iterations] == [1]
    assert report.stopped_because.startswith("run time limit of 20 s reached during an answer")
    assert "endpoint" not in report.stopped_because


def test_no_iteration_starts_that_the_time_left_cannot_hold(tmp_path):
    slow_broken = Reply(BROKEN, delay=8)
    with FakeOpenAI(slow_broken, GOOD) as fake:
        report = generate(fake, tmp_path / "out", run_timeout=14)  # iteration 1 takes T > 8 s: 0.75 T > 14 - T
        assert len(fake.chat_requests) == 1
    assert len(report.iterations) == 1
    assert "less than another iteration is likely to take" in report.stopped_because


def test_the_command_line_takes_0_for_no_budget_and_ends_judged_with_one(tmp_path):
    spec = tmp_path / "counter.md"
    spec.write_text(SPEC)
    with FakeOpenAI(BROKEN, Reply(GOOD, delay=30)) as fake:
        proc = run_cli("new", str(spec), "-o", str(tmp_path / "a"), "--base-url", fake.base_url, "--model",
                       "scripted", "--api-key", KEY, "--checks", "runtime,acceptance", "--no-derive-checks",
                       "--run-timeout", "0", "--max-iterations", "1")
        assert proc.returncode == 1, proc.stderr
    bad = run_cli("new", str(spec), "-o", str(tmp_path / "b"), "--run-timeout", "-1")
    assert bad.returncode == 2 and "--run-timeout" in bad.stderr and "Traceback" not in bad.stderr


def test_the_embedded_model_gets_a_default_budget_and_a_given_one_is_kept():
    notes: list[str] = []
    parts = api.Parts(note=notes.append)
    local, hosted = wiring.Model(None, None, {"name": "m"}, (), local=True), wiring.Model(None, None, {}, ())
    assert api._loop_for(RunOptions(), local, parts).run_timeout == LOCAL_RUN_TIMEOUT
    assert notes and f"{LOCAL_RUN_TIMEOUT:g} s" in notes[0] and "--run-timeout" in notes[0]
    assert api._loop_for(RunOptions(run_timeout=0), local, parts).run_timeout == 0
    assert api._loop_for(RunOptions(run_timeout=100), local, parts).run_timeout == 100
    assert api._loop_for(RunOptions(), hosted, parts).run_timeout is None
    assert len(notes) == 1


DERIVE_SPEC = """---
title: Greeter
---
A page with a text field labelled "Name" and a button labelled "Greet". Clicking Greet shows "Hello, NAME!" in a
status region, with the name typed.
"""

DERIVED = json.dumps({"checks": [{"name": "greets", "covers": [1], "steps": [
    {"fill": {"role": "textbox", "name": "Name", "value": "Ada"}},
    {"click": {"role": "button", "name": "Greet"}},
    {"expect": {"role": "status", "text": "Hello, Ada!"}}]}]})


def test_deriving_checks_asks_no_sample_its_budget_cannot_hold(tmp_path):
    with ExitStack() as stack:
        fake = stack.enter_context(FakeOpenAI(*[Reply(DERIVED, delay=1.0)] * 3))
        model = wiring.open_model(stack, Endpoint(model="scripted", base_url=fake.base_url, api_key=KEY, origin="flags"),
                                  ModelOptions())
        spec = parse_spec(DERIVE_SPEC)
        found = deriving.derive(spec, model.ask, budget=1.5)  # a sample takes 1 s: a second would end past 1.5 s
        assert len(fake.chat_requests) == 1
        assert found.calls == 1 and any("time budget of 2 s: 1 sample(s) asked" in n for n in found.notes), found.notes
        unbounded = deriving.derive(spec, model.ask)
    assert unbounded.calls == 2  # the first two agree: no third one


def test_a_derivation_answer_gets_the_time_left_of_its_budget_as_its_deadline(tmp_path):
    deadlines: list[float | None] = []
    spec = parse_spec(DERIVE_SPEC)
    with ExitStack() as stack:
        fake = stack.enter_context(FakeOpenAI(*[DERIVED] * 3))
        model = wiring.open_model(stack, Endpoint(model="scripted", base_url=fake.base_url, api_key=KEY, origin="flags"),
                                  ModelOptions())

        def call(messages, temperature, seed, schema, deadline):
            deadlines.append(deadline)
            return model.ask(messages, None, temperature=temperature, seed=seed, schema=schema, deadline=deadline)

        deriving.derive(spec, model.ask, call=call, budget=500)
        deriving.derive(spec, model.ask, call=call)
    assert len(deadlines) == 4
    assert 499 < deadlines[0] <= 500 and deadlines[1] < deadlines[0] and deadlines[2:] == [None, None]
