"""Derived checks held to the actions their requirement names (runshot.derivation.acts) and to texts a part of
which would also match another state (runshot.derivation.literal): completed where the spec's words settle it,
refused where they do not, right checks left as they are."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from runshot.derivation.acts import clause_acts
from runshot.derivation.coverage import split_requirements
from runshot.derivation.derive import held, parse_derived
from runshot.derivation.literal import ambiguous
from runshot.spec import parse_checks, parse_spec_file

LABELLED = Path(__file__).resolve().parents[1] / "benchmarks" / "derive"


def _spec(case: str) -> str:
    spec = parse_spec_file(LABELLED / case / "spec.md")
    return spec.title + "\n" + spec.body


def _held(spec_text: str, *steps: str):
    checks, problem = parse_derived("checks:\n  - name: c\n    steps:\n" + "".join(f"      - {s}\n" for s in steps))
    assert problem == ""
    covers = tuple(r.text for r in split_requirements(spec_text))
    return held(dataclasses.replace(checks[0], covers=covers), spec_text)


@pytest.mark.parametrize("case, steps, result", [
    # the checkbox the requirement ticks first, the spec's one checkbox
    ("terms", ["click: {role: button, name: Continue}", "expect: {text: 'Thanks, you are in!'}"],
     ["check: {role: 'checkbox', name: 'I agree to the terms'}", "click: {role: 'button', name: 'Continue'}",
      "expect: {text: 'Thanks, you are in!'}"]),
    # "entering `0` shows `32 °F`" after "entering `100` and pressing Convert": the press carries; Enter is no key
    # the spec names, so it stood for the press and goes
    ("temperature", ["fill: {role: spinbutton, name: Celsius, value: '0'}", "press: Enter", "expect: {text: 32 °F}"],
     ["fill: {role: 'spinbutton', name: 'Celsius', value: '0'}", "click: {role: 'button', name: 'Convert'}",
      "expect: {text: '32 °F'}"]),
    ("temperature", ["expect: {text: 212 °F}"],
     ["fill: {role: 'spinbutton', name: 'Celsius', value: '100'}", "click: {role: 'button', name: 'Convert'}",
      "expect: {text: '212 °F'}"]),
    # typing into the spec's one text field
    ("char-counter", ["expect: {text: 5 / 140}"],
     ["fill: {role: 'textbox', name: 'Message', value: 'hello'}", "expect: {text: '5 / 140'}"]),
    ("greeter", ["click: {role: button, name: Greet}", "expect: {text: 'Hello, Ada!'}"],
     ["fill: {role: 'textbox', name: 'Your name', value: 'Ada'}", "click: {role: 'button', name: 'Greet'}",
      "expect: {text: 'Hello, Ada!'}"]),
    # a number typed needs no quotes: typed into the spec's one number field, then the button the clause presses
    ("A number box called **Kilometres** and a **Convert** button. If I type 10 and hit Convert it should say "
     "`6.21 miles`.", ["click: {role: button, name: Convert}", "expect: {text: 6.21 miles}"],
     ["fill: {role: 'spinbutton', name: 'Kilometres', value: '10'}", "click: {role: 'button', name: 'Convert'}",
      "expect: {text: '6.21 miles'}"]),
    # choosing an option of the spec's one select; choosing a tab
    ("size-price", ["expect: {text: 'Price: $12'}"],
     ["select: {role: 'combobox', name: 'Size', value: 'Large'}", "expect: {text: 'Price: $12'}"]),
    ("tabs", ["expect: {text: 'Weight: 2 kg'}"],
     ["click: {role: 'tab', name: 'Details'}", "expect: {text: 'Weight: 2 kg'}"]),
    # "Adding `Buy milk`" where the spec names an Add button: typed into its one labelled field, Add pressed
    ("todo", ["expect: {role: listitem, text: Buy milk}"],
     ["fill: {label: 'New task', value: 'Buy milk'}", "click: {role: 'button', name: 'Add'}",
      "expect: {role: 'listitem', text: 'Buy milk'}"]),
    # a reload of the page the check starts on undoes the press before it
    ("likes", ["click: {role: button, name: Like}", "goto: index.html", "expect: {role: status, exact_text: 1 like}"],
     ["click: {role: 'button', name: 'Like'}", "expect: {role: 'status', exact_text: '1 like'}"]),
    # "after two presses it reads `Cart (2)`": the press it lacks
    ("cart", ["click: {role: button, name: Add to cart}", "expect: {text: Cart (2)}"],
     ["click: {role: 'button', name: 'Add to cart'}", "click: {role: 'button', name: 'Add to cart'}",
      "expect: {text: 'Cart (2)'}"]),
    # `1 like` is inside `1 likes`, the form the spec gives the other counts: expected whole
    ("likes", ["click: {role: button, name: Like}", "expect: {role: status, text: 1 like}"],
     ["click: {role: 'button', name: 'Like'}", "expect: {role: 'status', exact_text: '1 like'}"]),
    ("likes", ["click: {role: button, name: Like}", "expect: {text: 1 like}"],
     ["click: {role: 'button', name: 'Like'}", "expect: {text: '1 like', exact: True}"]),
])
def test_a_check_is_completed_where_the_spec_s_words_settle_what_it_left_out(case, steps, result):
    reviewed = _held(case if " " in case else _spec(case), *steps)
    assert reviewed.check is not None, reviewed.problem
    assert [s.describe() for s in reviewed.check.steps] == result


@pytest.mark.parametrize("spec, steps, reason", [
    # more presses than the requirement counts before the text
    (LABELLED / "likes", ["click: {role: button, name: Like}", "click: {role: button, name: Like}",
                          "expect: {role: status, exact_text: 1 like}"],
     "the requirement says '1 like' shows after 1 press(es) of 'Like', and the check presses it more often"),
    # the spec names the control but not its kind: which element to press is not settled
    ("A **Go** control. Pressing Go shows `Done`.", ["expect: {text: Done}"],
     "the requirement says to press 'Go' before 'Done' shows, and the check does not"),
    # the clause says something is done first and names no action the check could be given
    ("A **Roll** button and a status line. After a roll the line starts with `You rolled`.",
     ["expect: {role: status, text: You rolled}"], "the requirement says to act first ('After a roll"),
    ("Two radio options, Tea and Coffee, and a **Vote** button. Voting for Coffee shows `Coffee: 1 vote`.",
     ["expect: {text: 'Coffee: 1 vote'}"], "the requirement says to act first ('Voting for Coffee"),
    # typing where the spec has two text fields and the clause names neither
    ("A text field **First** and a text field **Last**. Typing `Ada` shows `Hi Ada`.", ["expect: {text: Hi Ada}"],
     "the requirement says to type 'Ada' before 'Hi Ada' shows, and the check does not"),
])
def test_a_check_that_leaves_out_what_the_spec_does_not_settle_is_refused(spec, steps, reason):
    text = _spec(spec.name) if isinstance(spec, Path) else spec
    reviewed = _held(text, *steps)
    assert reviewed.check is None and reason in reviewed.problem


@pytest.mark.parametrize("spec, steps", [
    # alternatives are not judged
    ("A **New task** text field and an **Add** button. Pressing Enter or clicking Add puts the item `Milk` in the "
     "list.", ["fill: {role: textbox, name: New task, value: Milk}", "press: Enter", "expect: {text: Milk}"]),
    # an -ing word that is no button's name is no action
    ("A **Save** button and a text field **Note**. Showing `Saved` after saving is all.",
     ["fill: {role: textbox, name: Note, value: x}", "click: {role: button, name: Save}", "expect: {text: Saved}"]),
    # a reload the spec speaks of stays
    ("A **Like** button and a status `1 like` after a press; the count persists after a reload.",
     ["click: {role: button, name: Like}", "goto: /", "expect: {role: status, exact_text: 1 like}"]),
    # a key the spec names stays
    ("A **Search** text field. Typing `tea` and pressing Enter shows `3 results`.",
     ["fill: {role: textbox, name: Search, value: tea}", "press: Enter", "expect: {text: 3 results}"]),
    # "On load" is no action; a check acting before a text the clause says comes after something stays
    ("A status line. On load it shows `Ready`.", ["expect: {text: Ready}"]),
    ("A **Roll** button. After a roll the line starts with `You rolled`.",
     ["click: {role: button, name: Roll}", "expect: {text: You rolled}"]),
    # the start state: no action named before it
    ("A **Like** button and a status that starts as `0 likes`.", ["expect: {role: status, text: 0 likes}"]),
    # a count the check meets, across two expectations
    ("A **Like** button. After one press it reads `1 like`, after two `2 likes`.",
     ["click: {role: button, name: Like}", "expect: {exact_text: 1 like, role: status}",
      "click: {role: button, name: Like}", "expect: {role: status, text: 2 likes}"]),
])
def test_a_check_that_does_what_its_requirement_names_stays_as_it_is(spec, steps):
    checks, _ = parse_derived("checks:\n  - name: c\n    steps:\n" + "".join(f"      - {s}\n" for s in steps))
    reviewed = _held(spec, *steps)
    assert reviewed.check is not None and reviewed.check.steps == checks[0].steps, reviewed.problem


def test_the_labelled_set_s_reference_checks_are_held_as_they_are():
    cases = sorted(p for p in LABELLED.iterdir() if (p / "reference.yaml").is_file())
    for case in cases:
        text = _spec(case.name)
        covers = tuple(r.text for r in split_requirements(text))
        for check in parse_checks(yaml.safe_load((case / "reference.yaml").read_text()), case.name):
            reviewed = held(dataclasses.replace(check, covers=covers), text)
            assert reviewed.check is not None and reviewed.check.steps == check.steps, (case.name, reviewed.problem)


def test_the_clause_that_quotes_a_text_names_its_actions_in_order():
    text = _spec("temperature")
    acts = clause_acts("", "212 °F", text)  # a press's name is the words after it, grounded later
    assert [(a.kind, a.value) for a in acts] == [("type", "100"), ("press", "")] and acts[1].name.startswith("Convert")
    assert [a.times for a in clause_acts("", "Cart (2)", _spec("cart"))] == [2]
    assert clause_acts("", "not quoted anywhere", text) is None


@pytest.mark.parametrize("text, quoted, result", [
    ("1 like", ["0 likes", "1 like", "2 likes"], True),
    ("2 likes", ["0 likes", "1 like", "2 likes"], False),
    ("Cart (2)", ["Cart (0)", "Cart (2)"], False),
    ("Count: 1", ["Count: 0", "Count: 1"], False),
    ("1 item", ["1 item", "3 items"], True),
    ("Saved", ["Saved", "Saved 2 files"], False),  # no number: not judged
])
def test_a_text_is_ambiguous_when_another_quoted_form_holds_it_followed_by_a_letter(text, quoted, result):
    assert ambiguous(text, quoted) is result


def test_a_field_value_expected_on_load_must_be_one_the_spec_says_it_holds_at_start():
    size = _spec("size-price")  # "A **Size** dropdown with the options Small, Medium and Large, …"
    reviewed = _held(size, "expect: {role: combobox, name: Size, value: Small}")
    assert reviewed.check is None and "the spec does not say the field holds 'Small' at start" in reviewed.problem
    tip = 'A select labelled "Tip" with the options "10%", "15%" and "20%" (15% selected at start).'
    assert _held(tip, "expect: {label: Tip, value: 15%}").check is not None
    # after an action the value may be anything the steps made it
    assert _held(size, "select: {label: Size, value: Large}", "expect: {label: Size, value: Large}").check is not None


def test_a_text_expected_inside_a_button_that_is_not_its_name_is_expected_on_the_page():
    reviewed = _held(_spec("greeter"), "fill: {label: Your name, value: Ada}", "click: {role: button, name: Greet}",
                     "expect: {role: button, name: Greet, text: 'Hello, Ada!'}")
    assert reviewed.check.steps[-1].args == {"text": "Hello, Ada!"}
    assert "button 'Greet' -> the element showing 'Hello, Ada!'" in reviewed.problem
    kept = _held("A **Save 2 files** button.", "expect: {role: button, name: Save 2 files, text: 2 files}")
    assert kept.check.steps[-1].args == {"role": "button", "name": "Save 2 files", "text": "2 files"}
