"""What counts as visible content and as sideways scrolling, judged on labelled corpus twins.

- "nothing visible" (runtime/blank, mobile/blank): text in a shadow root, a CSS background image and text directly
  in <body> are content; the broken twin of each (hidden host, collapsed box, zero font size) is still blank.
- mobile/overflow: content WCAG 1.4.10 lets scroll in two dimensions (a data table, a code listing) is only a
  warning; the same width in an ordinary layout (rows of spans, a paragraph kept on one line) is an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runshot.spec import Spec
from runshot.validators.runner.project import ValidationRequest, Validator
from runshot.values import ERROR, WARNING

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

BLANK_TWINS = [
    ("good-shadow-greeting", "bad-shadow-greeting-hidden"),
    ("good-poster-background", "bad-poster-background-collapsed"),
    ("good-body-text", "bad-body-text-zero-size"),
]
OVERFLOW_TWINS = [
    ("good-wide-data-table", "bad-wide-timetable-rows"),
    ("good-code-listing", "bad-long-line-paragraph"),
]


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


def _request(name: str) -> ValidationRequest:
    folder = CORPUS / name
    label = yaml.safe_load((folder / "label.yaml").read_text(encoding="utf-8"))
    spec = Spec(title=name, body="A small web app.", source="corpus", entry=label.get("entry", "index.html"))
    return ValidationRequest(folder, spec)


@pytest.fixture(scope="module")
def judged(validator):
    """Every twin validated once, three at a time (validate_many, which judges as one by one does): the blank twins
    with runtime and mobile, the overflow twins with mobile. name -> (result, its findings as lines)."""
    out = {}
    for twins, checks in ((BLANK_TWINS, ["runtime", "mobile"]), (OVERFLOW_TWINS, ["mobile"])):
        names = [name for pair in twins for name in pair]
        results = validator.validate_many([_request(name) for name in names], checks=checks, jobs=3)
        for name, result in zip(names, results):
            assert result.checks_run == checks, (name, result.checks_run)
            out[name] = result, [f"{f.severity} {f.rule}: {f.message}" for f in result.findings]
    return out


@pytest.mark.parametrize("good, bad", BLANK_TWINS, ids=[g for g, _ in BLANK_TWINS])
def test_visible_content_is_not_blank_and_its_broken_twin_is(judged, good, bad):
    result, shown = judged[good]
    assert not [f for f in result.findings if f.rule in ("runtime/blank", "mobile/blank")], shown
    result, shown = judged[bad]
    blank = {f.rule: f.severity for f in result.findings if f.rule in ("runtime/blank", "mobile/blank")}
    assert blank == {"runtime/blank": ERROR, "mobile/blank": ERROR}, shown


@pytest.mark.parametrize("good, bad", OVERFLOW_TWINS, ids=[g for g, _ in OVERFLOW_TWINS])
def test_exempt_content_wider_than_a_phone_is_a_warning_and_layout_is_an_error(judged, good, bad):
    result, shown = judged[good]
    wide = [f for f in result.findings if f.rule.startswith("mobile/overflow")]
    assert [(f.rule, f.severity) for f in wide] == [("mobile/overflow-exempt", WARNING)], shown
    assert "WCAG 1.4.10" in wide[0].message and "reaches" in wide[0].message, shown
    result, shown = judged[bad]
    wide = [f for f in result.findings if f.rule.startswith("mobile/overflow")]
    assert [(f.rule, f.severity) for f in wide] == [("mobile/overflow", ERROR)], shown
