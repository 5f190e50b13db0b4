"""Acceptance checks derived from the spec's words: the real openai client over HTTP to the scripted server,
real Chromium, real git."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import pytest

from fakeopenai import FakeOpenAI
from runshot import gitrepo
from runshot.derive import derive_checks, parse_derived
from runshot.loop import RunOptions, run_new
from runshot.report import Report
from runshot.runstate import Progress, Run
from runshot.spec import parse_spec_file, parse_spec_text
from runshot.validators.runner import Validator
from test_candidates import wiring
from test_pipeline import GOOD_HTML, GOOD_JS, SPEC, answer

PLAIN = "---\ntitle: Counter\n---\nA counter with an Increment button and a live status showing the count.\n"
DERIVED = """Here are the checks.
```yaml
checks:
  - name: increments on click
    steps:
      - click: {role: button, name: Increment}
      - expect: {role: status, text: "1"}
  - name: shows game over
    steps:
      - expect: {text: Game over}
```
"""


class Notes(Progress):
    def __init__(self):
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.fixture(scope="module")
def validator():
    with ExitStack() as stack:
        yield stack.enter_context(Validator())


def test_parse_derived_accepts_the_step_language_and_rejects_the_rest():
    checks, problem = parse_derived(DERIVED)
    assert problem == "" and [c.name for c in checks] == ["increments on click", "shows game over"]
    assert parse_derived("checks:\n  - name: x\n    steps:\n      - tap: {role: button}\n")[1].count("unknown action")
    assert parse_derived("just words, sorry")[0] == ()
    assert parse_derived("```yaml\nchecks: [\n```")[0] == ()


def test_derived_checks_are_used_stored_and_a_wrong_one_is_marked(fake_openai, validator, tmp_path: Path):
    good = answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS))
    fake_openai.script(DERIVED, good, good, good)
    ask, validate = wiring(fake_openai, validator)
    out = tmp_path / "out"
    notes = Notes()
    report = run_new(parse_spec_text(PLAIN), out, ask, validate, {"name": "scripted"},
                     RunOptions(max_iterations=3), progress=notes)
    assert any("derived check: increments on click" in n for n in notes.notes)
    # The derived checks were run: the counter passes one and fails the wrong one every time.
    first = report.iterations[0]
    assert first.acceptance_passed == 2
    assert any("shows game over" in f.message for f in first.findings if f.check == "acceptance")
    data = json.loads((out / ".runshot" / "report.json").read_text())
    assert [c["name"] for c in data["derived_checks"]] == ["increments on click", "shows game over"]
    assert data["possibly_wrong_checks"] == ["shows game over"]
    # After failing twice the wrong check left the prompt; the first repair still had it.
    assert "Game over" in json.dumps(fake_openai.chat_requests[2].body["messages"][1]["content"].split("# Problems")[1])
    assert "Game over" not in fake_openai.chat_requests[3].body["messages"][1]["content"].split("# Problems")[1]
    kept = parse_spec_file(out / ".runshot" / "spec.md")
    assert [c.name for c in kept.checks] == ["increments on click", "shows game over"]
    assert "derived: true" in (out / ".runshot" / "spec.md").read_text()


def _run(fake: FakeOpenAI, spec_text: str, tmp_path: Path) -> tuple[Run, Notes]:
    ask, _ = wiring(fake, None)
    notes = Notes()
    spec = parse_spec_text(spec_text)
    run = Run(spec, tmp_path, ask, None, RunOptions(), notes, gitrepo.init_repo(tmp_path),
              Report(spec=spec.to_dict(), model={}))
    (tmp_path / ".runshot").mkdir(exist_ok=True)
    return run, notes


def test_an_answer_that_does_not_parse_gives_no_checks_and_a_note(fake_openai, tmp_path):
    fake_openai.script("### index.html\n```html\n<p>I wrote the app instead</p>\n```\n")
    run, notes = _run(fake_openai, PLAIN, tmp_path)
    derive_checks(run)
    assert run.spec.checks == () and run.derived == frozenset()
    assert any(n.startswith("no derived checks") for n in notes.notes)
    assert run.report.other_usage.total > 0


def test_checks_written_by_the_user_always_win(fake_openai, tmp_path):
    run, _ = _run(fake_openai, SPEC, tmp_path)
    derive_checks(run)
    assert fake_openai.chat_requests == [] and [c.name for c in run.spec.checks] == ["increments on click"]
