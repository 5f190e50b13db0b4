"""Checks written from a requirement's own words (runshot.derivation.worded): what the words settle is written, what
they leave in doubt is not, and on the labelled set's apps (real Chromium) the written checks pass the good app and
fail the broken twin."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from runshot.derivation.coverage import split_requirements
from runshot.derivation.derive import derive_checks, from_words, parse_derived
from runshot.derivation.worded import unstated_state, worded_checks
from runshot.spec import parse_spec_file, parse_spec_text
from runshot.validators.browser.context import Timeouts
from runshot.validators.runner.project import Validator
from test_derive import _run

LABELLED = Path(__file__).resolve().parents[1] / "benchmarks" / "derive"


def _written(spec_text: str) -> list[list[str]]:
    """The steps of every check written from the words of each of the spec's requirements, as YAML-ish lines."""
    return [[f"{s.action}: {s.args}" for s in c.steps]
            for r in split_requirements(spec_text) for c in worded_checks(r.text, spec_text)]


def _labelled(case: str) -> str:
    spec = parse_spec_file(LABELLED / case / "spec.md")
    return spec.title + "\n" + spec.body


@pytest.mark.parametrize("case, checks", [
    # a text at start, with the controls its clause names present
    ("cart", [["expect: {'role': 'button', 'name': 'Add to cart'}", "expect: {'text': 'Cart (0)'}"],
              ["click: {'role': 'button', 'name': 'Add to cart'}", "click: {'role': 'button', 'name': 'Add to cart'}",
               "expect: {'text': 'Cart (2)'}"]]),
    ("char-counter", [["expect: {'text': '0 / 140'}"],
                      ["fill: {'role': 'textbox', 'name': 'Message', 'value': 'hello'}", "expect: {'text': '5 / 140'}"]]),
    ("greeter", [["fill: {'role': 'textbox', 'name': 'Your name', 'value': 'Ada'}",
                  "click: {'role': 'button', 'name': 'Greet'}", "expect: {'text': 'Hello, Ada!'}"]]),
    ("size-price", [["select: {'role': 'combobox', 'name': 'Size', 'value': 'Large'}", "expect: {'text': 'Price: $12'}"],
                    ["select: {'role': 'combobox', 'name': 'Size', 'value': 'Small'}", "expect: {'text': 'Price: $8'}"]]),
    ("start-button", [["expect: {'role': 'button', 'name': 'Start', 'min_height': 48}"],
                      ["click: {'role': 'button', 'name': 'Start'}", "expect: {'text': 'Running'}"]]),
    ("temperature", [["fill: {'role': 'spinbutton', 'name': 'Celsius', 'value': '100'}",
                      "click: {'role': 'button', 'name': 'Convert'}", "expect: {'text': '212 °F'}"],
                     ["fill: {'role': 'spinbutton', 'name': 'Celsius', 'value': '0'}",
                      "click: {'role': 'button', 'name': 'Convert'}", "expect: {'text': '32 °F'}"]]),
    ("tabs", [["click: {'role': 'tab', 'name': 'Details'}", "expect: {'text': 'Weight: 2 kg'}"]]),
    # a press counted for each text: one check per text, each on a fresh page
    ("likes", [["expect: {'role': 'button', 'name': 'Like'}", "expect: {'text': '0 likes'}"],
               ["click: {'role': 'button', 'name': 'Like'}", "expect: {'text': '1 like'}"],
               ["click: {'role': 'button', 'name': 'Like'}", "click: {'role': 'button', 'name': 'Like'}",
                "expect: {'text': '2 likes'}"]]),
])
def test_what_the_words_settle_is_written(case, checks):
    assert _written(_labelled(case)) == checks


@pytest.mark.parametrize("spec", [
    # negation, hiding, time, alternatives
    "A **Save** button. Pressing Save no longer shows `Unsaved`.",
    "A **Save** button. After pressing Save the note `Saved` is hidden again.",
    "A **Start** button. Pressing Start shows `Done` after 3 seconds.",
    "A **Yes** button and a **No** button. Pressing Yes or No shows `Thanks`.",
    # a state the words do not name ("after a roll"), a bare number, a control's own name
    "A **Roll** button. After a roll the line starts with `You rolled`.",
    "An **Add** button. Pressing Add shows `3`.",
    "A **Next** button and a **Back** button. Pressing Next shows the button `Back`.",
    # the text is what is typed, not what shows; a text after a condition the actions do not set up
    "A search box labelled **Filter** over a fruit list. Typing `an` leaves Banana and Mango.",
    "A text field **Code** and a **Check** button. With `abc` typed, pressing Check shows `Valid`.",
    # a control the spec names without saying what it is
    "Pressing Go shows `Done`.",
    # a text hidden at first is not expected on load; a size of several controls
    "A **Show** button. The answer `Forty` is hidden at first and starts as `Forty`.",
    "Buttons **Up** and **Down**, each at least 44 px tall.",
])
def test_what_the_words_leave_in_doubt_is_not_written(spec):
    assert _written(spec) == []


def test_a_control_in_something_that_opens_is_not_expected_on_load():
    spec = "A menu with a **Sign out** button and a line that starts as `Signed in`."
    assert _written(spec) == [["expect: {'text': 'Signed in'}"]]


def _derived(fake_openai, spec_text: str, tmp_path, *answers: str):
    """The run's derived checks and notes, the model's answers scripted over HTTP (as `runshot new` derives)."""
    fake_openai.script(*answers)
    run, notes = _run(fake_openai, spec_text, tmp_path)
    run = derive_checks(run)
    return [c for c in run.spec.checks if c.derived], notes.notes


def test_derive_writes_from_the_words_what_no_answer_gave_and_says_so(fake_openai, tmp_path):
    checks, notes = _derived(fake_openai, (LABELLED / "greeter" / "spec.md").read_text(encoding="utf-8"), tmp_path,
                             *["checks: ["] * 3)  # answers that are no YAML at all
    [check] = [c for c in checks if "Hello, Ada!" in c.name]
    assert check.covers == ("After typing `Ada` and pressing Greet, a status line shows `Hello, Ada!`",)
    assert any("written from the words of" in n for n in notes)
    assert any("not YAML" in n for n in notes)


def test_a_requirement_a_kept_answer_covers_gets_no_check_from_its_words(fake_openai, tmp_path):
    answer = ("checks:\n  - name: runs\n    covers: 2\n    steps:\n      - click: {role: button, name: Start}\n"
              "    expect:\n      - {role: status, text: Running}\n")
    checks, _ = _derived(fake_openai, (LABELLED / "start-button" / "spec.md").read_text(encoding="utf-8"), tmp_path,
                         answer, answer)
    names = [c.name for c in checks]
    assert "runs" in names and "shows 'Running'" not in names
    assert "Start is at least 48 px" in names  # the requirement no answer covered


@pytest.fixture(scope="module")
def validator():
    with Validator(timeouts=Timeouts(load=4.0, action=1.5, check=30.0, settle=0.1)) as v:
        yield v


@pytest.mark.parametrize("case", ["cart", "char-counter", "likes", "size-price", "temperature", "start-button"])
def test_written_checks_pass_the_good_app_and_fail_the_broken_twin(validator, case):
    text = (LABELLED / case / "spec.md").read_text(encoding="utf-8")
    spec = parse_spec_text(text)
    body = spec.title + "\n" + spec.body
    checks = from_words([r.text for r in split_requirements(body)], spec, [], [])  # held to the spec, as derive does
    assert checks
    spec = dataclasses.replace(spec, checks=checks)
    good = validator.validate(LABELLED / case / "good", spec, checks=["acceptance"])
    assert good.passed, [e.message for e in good.errors]
    broken = validator.validate(LABELLED / case / "broken", spec, checks=["acceptance"])
    assert not broken.passed


POLL = ("A poll with two radio buttons, **Tea** and **Coffee**, and a **Vote** button. Vote must be greyed out "
        "(disabled) until an option is chosen.")


@pytest.mark.parametrize("spec, checks", [
    (POLL, [["expect: {'role': 'button', 'name': 'Vote', 'disabled': True}"]]),
    ("A **Submit** button that starts disabled.", [["expect: {'role': 'button', 'name': 'Submit', 'disabled': True}"]]),
    ("A **Remember me** checkbox. The Remember me checkbox is ticked by default.",
     [["expect: {'role': 'checkbox', 'name': 'Remember me', 'checked': True}"]]),
    # no start said, two controls, a negation, checked said of a button: nothing
    ("**Back** and **Next** buttons. Back is disabled on step 1.", []),
    ("**Send** and **Cancel** buttons. Send or Cancel is disabled until you type.", []),
    ("A **Send** button. Send is not disabled until you type.", []),
    ("A **Go** button. Go is checked by default.", []),
])
def test_a_state_on_load_is_written_where_the_words_say_it(spec, checks):
    assert _written(spec) == checks


@pytest.mark.parametrize("spec, steps, problem", [
    (POLL, ["expect: {role: button, name: Vote, disabled: true}"], None),
    (POLL, ["check: {role: radio, name: Tea}", "expect: {role: button, name: Vote, disabled: false}"], None),
    # on load, where the spec says only that it becomes so later
    ("A number between **Decrease** and **Increase** buttons; once it reaches 5 the Increase button becomes "
     "disabled.", ["expect: {role: button, name: Increase, disabled: true}"], "does not say 'Increase' is disabled"),
    # a state the spec never speaks of for that control
    (POLL, ["expect: {role: radio, name: Tea, checked: false}"], "says nothing of 'Tea' being checked"),
    (POLL, ["expect: {role: button, disabled: true}"], "name no control"),
])
def test_a_model_s_state_expectation_needs_the_spec_s_words(spec, steps, problem):
    check = parse_derived("checks:\n  - name: c\n    steps:\n" + "".join(f"      - {s}\n" for s in steps))[0][0]
    found = unstated_state(check, spec)
    assert (found is None) if problem is None else (problem in found), found


def test_a_state_written_from_the_words_holds_on_a_real_page(validator, tmp_path):
    spec = parse_spec_text("# Poll\n\n" + POLL)
    checks = from_words([r.text for r in split_requirements(spec.body)], spec, [], [])
    assert [c.name for c in checks] == ["Vote is disabled at start"]
    spec = dataclasses.replace(spec, checks=checks)
    page = ('<!doctype html><html lang="en"><title>Poll</title><main><h1>Poll</h1><fieldset><legend>Tea or coffee?'
            '</legend><label><input type="radio" name="d"> Tea</label><label><input type="radio" name="d"> Coffee'
            '</label></fieldset><button type="button" {state}>Vote</button></main></html>')
    results = {}
    for name, state in (("disabled", "disabled"), ("aria", 'aria-disabled="true"'), ("enabled", "")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(page.replace("{state}", state), encoding="utf-8")
        results[name] = validator.validate(tmp_path / name, spec, checks=["acceptance"]).passed
    assert results == {"disabled": True, "aria": True, "enabled": False}


@pytest.mark.parametrize("agreeing, kept", [(1, False), (2, True)])
def test_a_state_expected_after_acting_counts_only_when_two_samples_agree(fake_openai, tmp_path, agreeing, kept):
    state = ("checks:\n  - name: votes\n    covers: 2\n    steps:\n      - check: {role: radio, name: Tea}\n"
             "    expect:\n      - {role: button, name: Vote, disabled: false}\n")
    answers = [state] * agreeing + ["checks: ["] * (3 - agreeing)  # the other samples give nothing to vote for
    checks, notes = _derived(fake_openai, "# Poll\n\n" + POLL, tmp_path, *answers)
    assert ("votes" in [c.name for c in checks]) is kept
    if not kept:
        assert any("it expects Vote enabled, which the spec does not state" in n for n in notes), notes
