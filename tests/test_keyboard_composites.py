"""The keyboard check against composite widgets, traps and focus indicators, in real headless Chromium.

Correct widgets built the way the WAI-ARIA Authoring Practices describe (one Tab stop per composite, arrow keys
within, pointer shortcuts beside a combobox or spinbutton, a menu button opened from its keydown handler) give no
keyboard error; each broken twin still gives its finding. The fixtures live in the labelled corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runshot.spec import Spec
from runshot.validators.checks.keyboard.trap import documented_keys
from runshot.validators.runner.project import Validator
from runshot.values import ERROR, WARNING

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

GOOD = [
    "good-composite-toolbar",
    "good-composite-grid",
    "good-composite-tree",
    "good-composite-listbox",
    "good-composite-menubutton",
    "good-composite-combobox",
    "good-composite-spinbutton",
    "good-composite-datepicker",
    "good-trap-documented-escape",
    "good-media-controls",
]

# fixture, rule, words in the message, where
BAD = [
    ("bad-refocus-trap", "keyboard/trap", "puts it back a moment later", "#email"),
    ("bad-trap-escape-broken", "keyboard/trap", "the page says to press Escape to leave", "#code"),
    ("bad-composite-dead-arrows", "keyboard/unreachable", "the arrow keys (and Home/End) do nothing in its toolbar",
     "#main > div > button:nth-of-type(2)"),
    ("bad-counter-focus-invisible", "keyboard/focus-invisible", "not one pixel changes when it is focused", "#dec"),
]


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


@pytest.fixture(scope="module")
def validated():
    return {}


@pytest.fixture
def keyboard_findings(validator, validated):
    """The keyboard check's findings on a corpus app (each app validated once per module)."""
    def run(name: str):
        if name not in validated:
            spec = Spec(title=name, body="A small web app.", source="corpus", entry="index.html")
            result = validator.validate(CORPUS / name, spec, checks=["keyboard"])
            assert "keyboard" in result.checks_run
            validated[name] = [f for f in result.findings if f.check == "keyboard"]
        return validated[name]

    return run


@pytest.mark.parametrize("name", GOOD)
def test_correct_widget_gives_no_keyboard_error(keyboard_findings, name):
    found = keyboard_findings(name)
    assert [f.to_dict() for f in found if f.severity == ERROR] == []


@pytest.mark.parametrize("name, rule, words, where", BAD, ids=[b[0] for b in BAD])
def test_broken_twin_is_caught(keyboard_findings, name, rule, words, where):
    found = keyboard_findings(name)
    hits = [f for f in found if f.rule == rule and f.severity == ERROR and words in f.message]
    assert hits, [f.to_dict() for f in found]
    assert hits[0].where == where


def test_pointer_shortcuts_and_composite_parts_are_not_reported(keyboard_findings):
    # The combobox's open button and the spinbutton's -/+ buttons have tabindex=-1 on purpose.
    for name in ("good-composite-combobox", "good-composite-spinbutton", "good-composite-toolbar"):
        found = keyboard_findings(name)
        assert [f.to_dict() for f in found if f.rule == "keyboard/unreachable"] == [], name


def test_menu_button_opened_by_its_keydown_handler_is_not_a_cancelled_key(keyboard_findings):
    found = keyboard_findings("good-composite-menubutton")
    assert [f.to_dict() for f in found if f.rule == "keyboard/key-cancelled"] == []


def test_focus_invisible_is_an_error_only_where_pixels_prove_it(keyboard_findings):
    # Every outline removed: the controls screenshotted with no pixel changing are errors; past the screenshot
    # budget, or for a text field (its caret may be its indicator), the same symptom is left for review.
    found = keyboard_findings("bad-settings-focus-invisible")
    invisible = [f for f in found if f.rule == "keyboard/focus-invisible"]
    certain = [f for f in invisible if f.severity == ERROR]
    assert certain and all("not one pixel changes" in f.message for f in certain)
    review = [f for f in invisible if f.severity == WARNING]
    assert any(f.where == "#quiet" for f in review), [f.to_dict() for f in invisible]
    assert all("check it by eye" in f.message for f in review)


@pytest.mark.parametrize("text, keys", [
    ("Press Ctrl+M to Exit", ["Control+m"]),
    ("Tab inserts a tab. Press Escape to leave the editor, then Tab to move on.", ["Escape"]),
    ("Hit the Esc key", ["Escape"]),
    ("Esc to close the editor", ["Escape"]),
    ("Press Alt + F6 to move on", ["Alt+F6"]),
    ("Press Tab to move on", []),
    ("Press a button to start", []),
    ("Go to the next element", []),
])
def test_documented_keys_are_read_from_the_page_text(text, keys):
    assert documented_keys(text) == keys
