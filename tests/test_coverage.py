"""Spec coverage: requirements read from a spec's words and accounted for by written, derived and default checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runshot.derivation import coverage
from runshot.derivation.derive import DEFAULT_CHECKS
from runshot.spec import parse_spec_file, parse_spec_text

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _by(spec, defaults=DEFAULT_CHECKS) -> dict[str, str | None]:
    return {c.requirement.text: c.by or None for c in coverage.of_spec(spec, defaults)}


def test_the_counter_samples_statements_are_each_verified_or_reported():
    spec = parse_spec_file(SAMPLES / "counter.md")
    by = _by(spec)
    assert by["It starts as `Count: 0`"] is None  # "Count: 0" appears only after Reset in the written checks
    assert by["the count may go below 0"] is None
    assert by["Big, friendly, centred layout"] is None
    assert by["buttons at least 44 px tall with a visible focus outline"] is None
    assert by["after two increments it reads `Count: 2`, after one decrement more `Count: 1`"] == "written"
    assert by["Everything works with the mouse and the keyboard (Tab to a button, Enter or Space presses it)"] == \
        "default"
    covered = coverage.of_spec(spec, DEFAULT_CHECKS)
    line = coverage.summary(covered)
    assert line.startswith(f"{sum(c.verified for c in covered)} of {len(covered)} requirements verified; not verified:")
    assert "'Big, friendly, centred layout'" in line and "'the count may go below 0'" in line
    why = {c.requirement.text: c.why for c in covered}
    assert why["Big, friendly, centred layout"] == "about looks ('Big'), which no step checks"
    assert why["It starts as `Count: 0`"] == "no check expects 'Count: 0' on load"


DERIVED = """
  - name: starts at zero
    derived: true
    covers: ["It starts as `Count: 0`"]
    steps:
      - expect: {role: status, text: "Count: 0"}
  - name: below zero
    derived: true
    covers: ["the count may go below 0"]
    steps:
      - click: {role: button, name: Decrement}
      - expect: {role: status, text: "Count: -1"}
  - name: tall buttons
    derived: true
    steps:
      - expect: {role: button, min_height: 44}
  - name: claims the layout
    derived: true
    covers: ["Big, friendly, centred layout"]
    steps:
      - expect: {role: main}
"""


def test_derived_checks_verify_what_they_cover_and_looks_stay_not_verified():
    text = (SAMPLES / "counter.md").read_text()
    text = text.replace("checks:\n", "checks:" + DERIVED, 1)
    by = _by(parse_spec_text(text))
    assert by["It starts as `Count: 0`"] == "derived"
    assert by["the count may go below 0"] == "derived"
    assert by["buttons at least 44 px tall with a visible focus outline"] == "derived"  # size + keyboard check
    assert by["Big, friendly, centred layout"] is None  # a check claiming looks does not verify them
    # Without the keyboard check, the focus outline is not verified, whatever the size check says.
    assert _by(parse_spec_text(text), ("a11y",))["buttons at least 44 px tall with a visible focus outline"] is None


@pytest.mark.parametrize("body, requirements", [
    ("- One **Add** button; a list below it.\n- Items can be removed (each one has a **Remove** button).",
     ["One **Add** button", "a list below it", "Items can be removed (each one has a **Remove** button)"]),
    ("# Title\n\nShows `Total: 0` on load. Pressing **Add** adds 5.\n\n```js\nlet x = 1;\n```\n",
     ["Shows `Total: 0` on load", "Pressing **Add** adds 5"]),
    ("The score (which may go negative) is shown.", ["which may go negative", "The score is shown"]),
    ("B is rounded to one decimal (e.g. 23.1, 17.0), i.e. always one digit. Then C follows.",
     ["B is rounded to one decimal (e.g. 23.1, 17.0), i.e. always one digit", "Then C follows"]),
])
def test_requirements_are_bullets_sentences_and_clauses(body, requirements):
    got = [r.text for r in coverage.split_requirements(body)]
    assert got == requirements


def test_facets_read_from_the_words():
    r = coverage.read_requirement("It starts as `Count: 0` and each button is at least 44 px tall and 80 px wide")
    assert r.literals == ("Count: 0",) and r.initial
    assert r.sizes == (("min_height", 44.0), ("min_width", 80.0))
    t = coverage.read_requirement('The status shows `Count: N` and the page has a "Reset" link')
    assert t.literals == ("Count:", "Reset") and not t.initial
    assert coverage.read_requirement("Fields have labels and images have alt text").defaults == (
        ("a11y", "form labels"), ("a11y", "alt text"))


CHECKED_SPEC = """---
title: Counter
checks:
  - name: starts at zero
    steps:
      - expect: {role: status, text: "Count: 0"}
---
- The status starts as `Count: 0`.
- After a click on **Increment** it reads `Count: 1`.
- A calm, centred layout.
"""


def test_runshot_check_reports_the_coverage_in_its_output_json_and_summary(tmp_path: Path):
    from test_pipeline import run_cli

    spec = tmp_path / "spec.md"
    spec.write_text(CHECKED_SPEC)
    project = Path(__file__).parent / "fixtures" / "projects" / "good"
    summary = tmp_path / "summary.md"
    done = run_cli("check", str(project), "--spec", str(spec), "--checks", "runtime,acceptance", "--json", "-",
                   "--summary", str(summary))
    assert done.returncode == 0, done.stderr
    line = ("spec coverage: 1 of 3 requirements verified; not verified: 'After a click on **Increment** it reads "
            "`Count: 1`', 'A calm, centred layout'")
    assert line in done.stderr  # the human output goes to stderr
    data = json.loads(done.stdout)["info"]
    assert data["coverage"]["verified"] == 1 and data["coverage"]["requirements"][0] == {
        "requirement": "The status starts as `Count: 0`", "verified_by": "written", "checks": ["starts at zero"]}
    text = summary.read_text()
    assert "**Spec coverage:** 1 of 3 requirements verified" in text
    assert "| A calm, centred layout | **not verified** (about looks ('calm" not in text  # 'calm' is no looks word
    assert "| A calm, centred layout | **not verified** (about looks ('centred'), which no step checks) |" in text
    # Without the acceptance check, the written checks verify nothing.
    done = run_cli("check", str(project), "--spec", str(spec), "--checks", "runtime")
    assert "spec coverage: 0 of 3 requirements verified" in done.stderr


def test_the_run_summary_names_the_requirements_not_verified_and_the_cost_of_deriving():
    from runshot.report import Report, summary_lines

    report = Report(spec={"title": "Counter"}, model={})
    spec = parse_spec_file(SAMPLES / "counter.md")
    report.coverage = coverage.to_dict(coverage.of_spec(spec, DEFAULT_CHECKS))
    report.derivation = {"calls": 2, "prompt_tokens": 2400, "completion_tokens": 300, "seconds": 41.5, "kept": ["a"]}
    lines = summary_lines(report)
    assert any(line.startswith("spec coverage: 4 of 9 requirements verified; not verified: ") and
               "'Big, friendly, centred layout'" in line for line in lines)
    assert "derived checks: 1 kept from 2 sample(s), 2400 + 300 tokens, 41.5 s" in lines


def test_code_in_a_requirement_is_no_text_the_page_must_show():
    # an attribute, an element and an event name written as code are not texts a check must expect
    req = coverage.read_requirement('One results element with `role="status"` shows `Tip: X`; listen to the `input` event '
                           "of each `<input>`")
    assert req.literals == ("Tip:",)
    assert coverage.read_requirement("The page shows `input` and `Saved`").literals == ("input", "Saved")
