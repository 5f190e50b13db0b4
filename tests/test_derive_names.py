"""Derived checks that act on what the spec gives no control's name (runshot.derivation.names), and texts the spec
gives as an example or after a condition (runshot.derivation.acts): refused before they can fail a correct app.
The cases are the false alarms the held-out sets (benchmarks/derive_holdout2, derive_holdout3) and a fresh run of
the labelled set showed."""

from __future__ import annotations

from pathlib import Path

import pytest

from runshot.spec import parse_spec_file
from test_derive_acts import _held

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _text(case: str) -> str:
    folder = next(f for f in ("derive_holdout2", "derive_holdout3", "derive") if (BENCHMARKS / f / case).is_dir())
    spec = parse_spec_file(BENCHMARKS / folder / case / "spec.md")
    return spec.title + "\n" + spec.body


@pytest.mark.parametrize("case, steps, reason", [
    # a part of a text the page shows, taken for a button's name
    ("accordion", ["click: {role: button, name: Monday to Saturday}", "expect: {text: 'Monday to Saturday, 7 am'}"],
     "'Monday to Saturday' only inside a longer text it quotes"),
    ("star-rating", ["click: {role: button, name: 4 out of 5}", "expect: {text: You rated this 4 out of 5}"],
     "'4 out of 5' only inside a longer text it quotes"),
    # an attribute's name as a field's label
    ("tea-timer", ["click: {role: button, name: 2 minutes}", "check: {label: aria-pressed}",
                   "expect: {role: status, text: '02:00'}"], "'aria-pressed' is an attribute's name"),
    # what the spec calls a field, clicked as a button
    ("price-format", ["click: {role: button, name: Amount}", "expect: {text: '$1,234.50'}"],
     "calls 'Amount' a field"),
    # a text given as an example ("like …"), and one after a condition ("With all four ticked …"), on load
    ("packing-list", ["expect: {text: 2 of 4 packed}"], "act first ('like')"),
    ("packing-list", ["expect: {role: status, text: All packed!}"], "act first ('With all four ticked"),
    # a field's label pressed as a button; a field expected by a label found only inside a shown text
    ("book-search", ["click: {role: button, name: Search books}", "expect: {text: Showing 6 of 6 books}"],
     "calls 'Search books' a field (or its label)"),
    ("inbox-badge", ["click: {role: button, name: Mark all as read}", "expect: {label: Unread, count: 1}"],
     "'Unread' only inside a longer text it quotes"),
    # an option of a dropdown expected as a button
    ("size-price", ["expect: {role: button, name: Small}"], "only beside select controls, never as 'button'"),
    # a text after sending, on load (a list item is a clause of its own, and a quote's "!" ends none)
    ("rsvp", ["expect: {role: status, text: \"Thanks, Sam! We've saved 2 seats.\"}"], "act first ('after sending"),
    # the same target visible and hidden with nothing done in between
    ("rsvp", ["fill: {label: Your name, value: Sam}", "expect: {text: Send RSVP}",
              "expect: {text: Send RSVP, hidden: true}"], "and the opposite with nothing done in between"),
])
def test_a_check_acting_on_what_the_spec_names_no_control_or_reading_an_example_on_load_is_refused(case, steps,
                                                                                                     reason):
    reviewed = _held(_text(case), *steps)
    assert reviewed.check is None and reason in reviewed.problem, reviewed.problem


@pytest.mark.parametrize("case, steps", [
    # the same controls by the names the spec gives them
    ("accordion", ["click: {role: button, name: Opening hours}", "expect: {text: 'Monday to Saturday, 7 am to 6 pm'}"]),
    ("price-format", ["fill: {label: Amount, value: '1234.5'}", "expect: {text: '$1,234.50'}"]),
    ("coupon", ["fill: {label: Coupon code, value: SAVE10}", "click: {role: button, name: Apply}",
                "expect: {text: 'Total: $36.00'}"]),
    ("capital-quiz", ["check: {role: radio, name: Canberra}", "click: {role: button, name: Check answer}",
                      "expect: {text: 'Correct! Canberra is the capital.'}"]),
    ("size-price", ["select: {role: combobox, name: Size, value: Small}", "expect: {text: 'Price: $8'}"]),
])
def test_a_check_acting_on_the_spec_s_own_controls_is_kept(case, steps):
    reviewed = _held(_text(case), *steps)
    assert reviewed.check is not None, reviewed.problem


def test_a_press_the_clause_names_by_a_word_of_its_button_is_put_in():
    # "Picking Canberra and checking shows …": two things done; "checking" is the **Check answer** button
    reviewed = _held(_text("capital-quiz"), "click: {role: radio, name: Canberra}",
                     "expect: {text: 'Correct! Canberra is the capital.'}")
    assert [s.describe() for s in reviewed.check.steps] == [
        "click: {role: 'radio', name: 'Canberra'}", "click: {role: 'button', name: 'Check answer'}",
        "expect: {text: 'Correct! Canberra is the capital.'}"]
    # without the radio button picked first, the check does one of the two things: refused
    reviewed = _held(_text("capital-quiz"), "expect: {text: 'Correct! Canberra is the capital.'}")
    assert reviewed.check is None and "act first ('Picking')" in reviewed.problem
