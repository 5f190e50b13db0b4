"""The states acceptance steps reach are checked for accessibility too, against real pages in real Chromium.

Each fixture under fixtures/checks is served and driven by the real Validator with a spec written here. A state
finding belongs to the a11y check, keeps axe's rule id and the policy's severity, and names the step that
reached the state; what the loaded page already showed is not reported again.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runshot.spec import parse_spec_text
from runshot.validators.acceptance import check as acceptance, states as acceptance_states
from runshot.validators.runner.project import Validator
from runshot.values import ERROR
from runshot.vocab import ACTION_NAMES

FIXTURES = Path(__file__).parent / "fixtures" / "checks"


def spec_of(checks: str):
    return parse_spec_text("---\nchecks:\n" + textwrap.indent(textwrap.dedent(checks).strip(), "  ")
                           + "\n---\nA test fixture.\n")


CONTACT = spec_of("""
    - name: sends the form
      steps:
        - fill: {label: Your name, value: Ada}
        - click: {role: button, name: Send}
        - expect: {text: "Thanks, Ada!"}
""")

TODO = spec_of("""
    - name: adds a task
      steps:
        - fill: {label: New task, value: Buy milk}
        - press: {label: New task, key: Enter}
        - expect: {role: listitem, count: 1}
        - check: {role: checkbox, name: Buy milk}
        - expect: {role: status, text: "0 left"}
    - name: adds and deletes a task
      steps:
        - fill: {label: New task, value: Walk the dog}
        - click: {role: button, name: Add task}
        - click: {role: button, name: Delete Walk the dog}
        - expect: {role: listitem, count: 0}
""")

GUESTS = spec_of("""
    - name: invites a guest
      steps:
        - fill: {label: Guest, value: Ada}
        - click: {role: button, name: Invite}
        - expect: {text: "1 guest invited"}
""")


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


@pytest.fixture(scope="module")
def validate(validator):
    cache: dict = {}

    def run(name: str, spec, checks: tuple[str, ...] = ("acceptance",)):
        key = (name, id(spec), checks)
        if key not in cache:
            cache[key] = validator.validate(FIXTURES / name, spec, checks=list(checks))
        return cache[key]

    return run


def test_low_contrast_after_submit_is_an_a11y_error_naming_the_step(validate):
    result = validate("bad_state_form_contrast", CONTACT)
    assert not result.passed
    (f,) = result.findings
    assert (f.check, f.rule, f.severity, f.where) == ("a11y", "color-contrast", ERROR, "#thanks")
    assert f.message.startswith("After step 2 of 'sends the form' (click role=button name=\"Send\"): "
                                "axe rule 'color-contrast'"), f.message
    assert "Thanks, Ada!" in f.evidence
    assert result.info["acceptance_states"] == 1  # the fill changed nothing; the click did


def test_the_page_as_loaded_is_fine_so_only_the_state_shows_it(validate):
    result = validate("bad_state_form_contrast", CONTACT, ("a11y",))
    assert result.passed and result.findings == []


def test_no_state_is_judged_when_a_later_step_fails(validate):
    failing = spec_of("""
        - name: sends the form
          steps:
            - fill: {label: Your name, value: Ada}
            - click: {role: button, name: Send}
            - expect: {text: "Message received"}
    """)
    result = validate("bad_state_form_contrast", failing)
    assert [(f.check, f.rule) for f in result.findings] == [("acceptance", "acceptance/step-failed")]
    assert "step 3" in result.findings[0].message and result.info["acceptance_states"] == 0


def test_a_state_after_which_the_spec_waits_is_not_judged(validate):
    waiting = spec_of("""
        - name: sends the form
          steps:
            - fill: {label: Your name, value: Ada}
            - click: {role: button, name: Send}
            - wait: 100
            - expect: {text: "Thanks, Ada!"}
    """)
    result = validate("bad_state_form_contrast", waiting)
    assert result.passed and result.findings == [] and result.info["acceptance_states"] == 0


def test_added_tasks_that_are_fine_give_no_finding(validate):
    result = validate("good_state_form_todo", TODO, ("a11y", "semantics", "acceptance"))
    assert result.passed
    assert [f.to_dict() for f in result.findings] == []
    assert 1 <= result.info["acceptance_states"] <= acceptance_states.MAX_STATES


def test_a_state_repeating_a_load_time_failure_is_not_reported_again(validate):
    alone = validate("bad_state_form_repeat", GUESTS)
    # Without the a11y check the state shows the faint total (the state check did see it) ...
    assert [(f.check, f.rule, f.where) for f in alone.findings] == [("a11y", "color-contrast", "#total")]
    assert alone.findings[0].message.startswith("After step 2 of 'invites a guest'")
    # ... with it, the total is reported once, for the page as loaded.
    both = validate("bad_state_form_repeat", GUESTS, ("a11y", "acceptance"))
    assert [(f.check, f.rule, f.where) for f in both.findings] == [("a11y", "color-contrast", "#total")]
    assert both.findings[0].message.startswith("axe rule 'color-contrast'")


def test_the_same_state_reached_by_two_checks_is_reported_once_by_the_first(validator, monkeypatch):
    twice = spec_of("""
        - name: sends the form
          steps:
            - fill: {label: Your name, value: Ada}
            - click: {role: button, name: Send}
        - name: sends the form again
          steps:
            - fill: {label: Your name, value: Ada}
            - click: {role: button, name: Send}
    """)
    seen = {}
    for jobs in (1, 2):  # the spec checks one after another, and side by side on two pages
        monkeypatch.setattr(validator, "check_jobs", jobs)
        result = validator.validate(FIXTURES / "bad_state_form_contrast", twice, checks=["acceptance"])
        seen[jobs] = [f.to_dict() for f in result.findings]
        assert [(f.rule, f.where) for f in result.findings] == [("color-contrast", "#thanks")]
        assert result.findings[0].message.startswith("After step 2 of 'sends the form' ")
        assert result.info["acceptance_states"] == 2  # each check judges the states it reaches
        assert result.info["isolated_pages"]["opened"] == jobs  # side by side: a page each
    assert seen[1] == seen[2]


def test_the_spec_checks_share_out_the_states_judged_in_advance():
    assert acceptance_states.state_caps(1) == [3]
    assert acceptance_states.state_caps(2) == [2, 1]
    assert acceptance_states.state_caps(3) == [1, 1, 1]
    assert acceptance_states.state_caps(5) == [1, 1, 1, 0, 0]
    assert sum(acceptance_states.state_caps(4)) == acceptance_states.MAX_STATES


def test_watched_steps_and_phrases_come_from_the_step_language():
    assert acceptance_states.STATE_ACTIONS <= set(ACTION_NAMES)
    step = CONTACT.checks[0].steps[0]
    assert acceptance_states.describe(step) == 'type "Ada" into label="Your name"'
    press = spec_of("""
        - name: p
          steps:
            - press: {key: Escape}
    """).checks[0].steps[0]
    assert acceptance_states.describe(press) == "press Escape"
    # The public names of the split modules stay importable from the check's module.
    for name in acceptance.__all__:
        assert hasattr(acceptance, name)
