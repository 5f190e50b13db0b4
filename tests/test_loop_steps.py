"""The loop's steps return values: what the next iteration builds on comes back as a new state, the run's state
is never changed in place, and an iteration that lost hands the best one's files on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from runshot import gitrepo
from runshot.loop import steps
from runshot.loop.state import LoopState, Progress, Run, RunOptions
from runshot.report import Iteration, Report
from runshot.spec import parse_spec_text
from runshot.values import ERROR, Finding

SPEC = """---
title: Counter
checks:
  - name: increments
    steps:
      - click: {role: button, name: Increment}
      - expect: {text: "Count: 1"}
---
A counter.
"""


class Notes(Progress):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


def _error(message: str, where: str = "app.js:1", check: str = "runtime") -> Finding:
    return Finding(check, ERROR, message, where)


def _run(tmp_path: Path, state: LoopState, iterations: list[Iteration], derived: frozenset = frozenset()) -> Run:
    spec = parse_spec_text(SPEC)
    report = Report(spec=spec.to_dict(), model={}, iterations=iterations)
    return Run(spec, tmp_path, None, None, RunOptions(), Notes(), gitrepo.init_repo(tmp_path), report, state,
               derived=derived)


def test_the_run_and_its_state_are_values(tmp_path):
    run = _run(tmp_path, LoopState(), [])
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.state = LoopState()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.state.next_kind = "repair"  # type: ignore[misc]


def test_a_repeated_error_is_retried_hotter_and_the_old_state_stays(tmp_path):
    same = [_error("x is not defined")]
    first = Iteration(1, findings=same, commit="a" * 40, validated=True)
    second = Iteration(2, findings=same, commit="b" * 40, validated=True)
    state = LoopState(base_files={"app.js": "1"}, base_sha="a" * 40, previous_errors=steps.error_set(first),
                      files_by_number={1: {"app.js": "1"}, 2: {"app.js": "2"}}, next_kind="repair")
    run = _run(tmp_path, state, [first, second])
    after = steps.advance(run, second)
    assert (after.next_kind, after.temperature, after.seed, after.repeats) == ("retry", 0.9, 2, 1)
    assert after.base_files == {"app.js": "2"} and after.base_sha == "b" * 40  # a tie: the later one is best
    assert run.state == state and run.state.next_kind == "repair" and run.state.repeats == 0
    assert any("repeated the previous errors" in n for n in run.progress.notes)
    # Repeated once more after the hotter retry: a fresh start, at a fresh temperature, on nothing.
    third = Iteration(3, findings=same, commit="c" * 40, validated=True)
    run = dataclasses.replace(run, state=steps.remember(after, 3, {"app.js": "3"}))
    run.report.iterations.append(third)
    fresh = steps.advance(run, third)
    assert (fresh.next_kind, fresh.temperature, fresh.seed, fresh.repeats) == ("fresh", 1.0, 3, 0)
    assert fresh.base_files == {} and fresh.base_sha is None and fresh.base_findings == []
    assert fresh.previous_errors is None and run.state.files_by_number[3] == {"app.js": "3"}


def test_an_iteration_that_lost_hands_on_the_best_files_and_says_so(tmp_path):
    good = Iteration(1, findings=[_error("one")], commit="a" * 40, validated=True)
    worse = Iteration(2, findings=[_error("two"), _error("three", "app.js:9")], commit="b" * 40, validated=True)
    state = LoopState(files_by_number={1: {"app.js": "good"}, 2: {"app.js": "worse"}},
                      previous_errors=steps.error_set(good))
    after = steps.advance(_run(tmp_path, state, [good, worse]), worse)
    assert after.base_files == {"app.js": "good"} and after.base_sha == "a" * 40
    assert [f.rule for f in after.base_findings][0] == "repair/discarded"
    assert [f.message for f in after.base_findings[1:]] == ["one"]
    assert (after.next_kind, after.temperature, after.seed) == ("repair", None, None)


def test_an_uncommitted_answer_keeps_the_base_and_adds_its_findings(tmp_path):
    base = [_error("one")]
    unusable = Iteration(2, findings=[Finding("format", ERROR, "the answer held no files")])
    state = LoopState(base_files={"app.js": "1"}, base_sha="a" * 40, base_findings=base)
    after = steps.advance(_run(tmp_path, state, [unusable]), unusable)
    assert after.base_files == {"app.js": "1"} and after.base_sha == "a" * 40
    assert [f.message for f in after.base_findings] == ["the answer held no files", "one"]


def test_a_derived_check_failing_twice_becomes_doubtful_without_touching_the_report(tmp_path):
    failing = [_error("expected Count: 1", "increments / step 2", "acceptance")]
    first = Iteration(1, findings=failing, commit="a" * 40, validated=True)
    run = _run(tmp_path, LoopState(), [first], derived=frozenset({"increments"}))
    failures, doubtful = steps.count_derived_failures(run, first)
    assert failures == {"increments": 1} and doubtful == []
    second = Iteration(2, findings=failing, commit="b" * 40, validated=True)
    run.report.iterations.append(second)
    run = dataclasses.replace(run, state=dataclasses.replace(run.state, derived_failures=failures))
    failures, doubtful = steps.count_derived_failures(run, second)
    assert failures == {"increments": 2} and doubtful == ["increments"]
    assert run.report.doubtful_checks == [] and run.state.derived_failures == {"increments": 1}
    # Passing in the best iteration clears the doubt.
    run.report.doubtful_checks = doubtful
    passing = Iteration(3, findings=[], commit="c" * 40, validated=True)
    run.report.iterations.append(passing)
    assert steps.count_derived_failures(run, passing)[1] == []
