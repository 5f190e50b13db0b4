"""semantics/label-not-in-name (WCAG 2.5.3, ACT rule 2ee8b8): the label-in-name comparison itself, and the rule
through the real Validator on pages where the visible text is plain, hidden, drawn as an icon or named elsewhere."""

from __future__ import annotations

import pytest

from runshot.spec import Spec
from runshot.validators.checks.labelname import contained, verdict, words
from runshot.validators.runner.project import Validator
from runshot.values import ERROR, WARNING

RULE = "semantics/label-not-in-name"


def _plain(*texts: str) -> list[dict]:
    return [{"text": t, "doubt": ""} for t in texts]


def test_words_as_the_label_in_name_algorithm_splits_them():
    assert words("  ACT   rules  ") == ["act", "rules"]
    assert words(">>> ** Submit ** <<<") == ["submit"]
    assert words("Search by date (YYYY-MM-DD)") == ["search", "by", "date"]
    assert words("Proof of 2\u00d72=4") == ["proof", "of", "2", "2", "4"]
    assert words("compose \u00a0\u00a0\nemail") == ["compose", "email"]
    assert words("Caf\u00e9 \U0001F4A1 n\u00ba 5") == ["caf\u00e9", "n\u00ba", "5"]
    assert contained([], ["anything"]) and contained(["next", "page"], ["next", "page", "in", "the", "list"])
    assert not contained(["download", "specification"], ["download", "the", "specification"])
    assert not contained(["you", "how", "are"], ["how", "are", "you"])


@pytest.mark.parametrize("shown, name", [
    ("ACT rules", "act Rules"), ("Next Page", "Next Page in the list"), ("Next\u2026", "Next"),
    ("Hello world", "Hello world"), ("2", "Go to page 2 of 9"),
])
def test_visible_words_inside_the_name_pass(shown, name):
    assert verdict(_plain(shown), name, False) == "pass"


@pytest.mark.parametrize("shown, name", [
    ("ACT rules", "WCAG"), ("The full label", "the full"), ("Discover It", "Discover Italy"),
    ("justice", "just ice"), ("W C A G", "WCAG"), ("11\u00d73=33", "11 times 3 equals 33"), ("1", "1a"),
    ("2021", "20 21"), ("Download specification", "Download the specification"),
])
def test_visible_words_missing_from_the_name_fail(shown, name):
    assert verdict(_plain(shown), name, False) == "fail"


def test_what_the_rule_cannot_judge_is_left_alone_or_reviewed():
    assert verdict(_plain("X"), "Close the dialog", False) == "skip"  # a letter used as a symbol
    assert verdict(_plain("University Ave."), "University Avenue", False) == "skip"  # an abbreviation
    assert verdict(_plain("nonstandard"), "non-standard", False) == "skip"
    assert verdict(_plain("Read more"), "Opening hours", True) == "review"  # named by aria-labelledby
    # Text that may be hidden by clipping is tried both ways: a failure only if both readings fail.
    hidden = [{"text": "Download ", "doubt": ""}, {"text": "gizmo", "doubt": "clipped by clip-path"},
              {"text": " specification", "doubt": ""}]
    assert verdict(hidden, "Download specification", False) == "pass"
    assert verdict(hidden, "Download gizmo specification", False) == "pass"
    assert verdict(hidden, "Get the gizmo", False) == "fail"
    # Pieces drawn side by side run together; on another line, after a <br> or with a gap they are other words.
    a = {"text": "A", "doubt": "", "size": 16, "first": [0, 0, 10, 20], "last": [0, 0, 10, 20]}
    ct = {"text": "CT", "doubt": "", "size": 16, "first": [10, 0, 30, 20], "last": [10, 0, 30, 20]}
    assert verdict([a, ct], "ACT", False) == "pass"
    assert verdict([a, {**ct, "br": True}], "ACT", False) == "fail"
    assert verdict([a, {**ct, "first": [0, 24, 20, 44]}], "ACT", False) == "fail"
    assert verdict([a, {**ct, "first": [20, 0, 40, 20]}], "ACT", False) == "fail"


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title><style>
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.icons { font-family: 'Material Icons', sans-serif; }
</style></head><body><main><h1>Shop</h1>
<button type="button" id="plain" aria-label="Add to basket">Buy now</button>
<a href="#more" id="hidden-word" aria-label="Read specification">Read <span class="sr">the gizmo</span> specification</a>
<a href="#more" id="aria-hidden-word" aria-label="Read specification">Read <span aria-hidden="true">the</span> specification</a>
<button type="button" id="icon" class="icons" aria-label="Find">search</button>
<button type="button" id="close" aria-label="Dismiss">X</button>
<button type="button" id="elsewhere" aria-labelledby="hours">Open</button> <span id="hours">Opening hours</span>
<button type="button" id="hidden-all" aria-label="Checkout" style="visibility: hidden">Pay</button>
<button type="button" id="flex" style="display: flex; gap: 6px" aria-label="Save draft"><span>&#x2713;</span><span>Save</span></button>
<ul role="listbox" aria-label="Fruit"><li role="option" id="row" tabindex="-1" aria-label="Apple, 3 in basket">Apple
  <button type="button" tabindex="-1">Remove</button></li></ul>
<a href="#more" id="cut" aria-label="Download specification" style="display: inline-block; width: 7em; overflow: hidden;
  white-space: nowrap; text-overflow: ellipsis">Download specification</a>
<p id="more">Details.</p>
</main></body></html>"""


def test_the_rule_on_a_page_errors_only_where_certain(validator, tmp_path):
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    result = validator.validate(tmp_path, Spec(title="t", body="t", source="test"), checks=["semantics"])
    said = {(f.where, f.severity) for f in result.findings if f.rule == RULE}
    assert said == {("#plain", ERROR), ("#aria-hidden-word", ERROR), ("#elsewhere", WARNING)}, result.findings
    plain = next(f for f in result.findings if f.where == "#plain")
    assert '"Buy now"' in plain.message and '"Add to basket"' in plain.message
    assert 'aria-label="Add to basket"' in plain.evidence
