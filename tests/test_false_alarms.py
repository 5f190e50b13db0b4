"""No false alarm on correct pages, and the broken twin of each still caught, through the real Validator.

Each case is a labelled corpus app (tests/fixtures/corpus) run with the checks that once raised a false alarm on
it: runshot's own axe-core run fetching a file the page never asks for; the sweep blaming a link for what the page
it leads to does; composite widgets (a grid, a listbox, a combobox's label) taken for clickable divs; names the
browser computes taken for missing ones; axe-core's "needs review" results.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runshot.spec import Spec
from runshot.validators.browser.context import PageEvents
from runshot.validators.checks.runtime import findings_from_events
from runshot.validators.runner.project import Validator
from runshot.values import ERROR

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
CHECK_OF = {"request": "runtime", "console": "runtime", "network": "runtime", "exception": "runtime"}

CASES = [
    ("good-stylesheet-import", ("runtime", "a11y")),
    ("bad-stylesheet-import-missing", ("runtime", "a11y")),
    ("good-two-page-outside-font", ("sweep",)),
    ("bad-two-page-button-logs-error", ("sweep",)),
    ("good-grid-and-combobox", ("semantics", "sweep", "dialog")),
    ("bad-grid-div-cells", ("semantics",)),
    ("good-gradient-hero", ("a11y",)),
    ("bad-gradient-hero-faint-text", ("a11y",)),
    ("good-named-by-image-title", ("semantics", "a11y")),
    ("bad-image-link-unnamed", ("semantics", "a11y")),
    ("good-label-in-name", ("semantics", "a11y")),
    ("bad-label-not-in-name", ("semantics",)),
]


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


def _label(folder: Path) -> dict:
    return yaml.safe_load((folder / "label.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name, checks", CASES, ids=[c[0] for c in CASES])
def test_labelled_verdict(validator, name, checks):
    folder = CORPUS / name
    label = _label(folder)
    spec = Spec(title=name, body="A small web app.", source="corpus", entry=label.get("entry", "index.html"))
    result = validator.validate(folder, spec, checks=list(checks))
    errors = [f for f in result.findings if f.severity == ERROR]
    shown = [f"{f.severity} {f.rule}: {f.message}" for f in result.findings]
    if label["verdict"] == "good":
        assert errors == [], shown
        return
    for expect in label["expect"]:
        hits = [f for f in result.findings if CHECK_OF.get(f.check, f.check) == expect["check"]
                and f.rule == expect.get("rule", f.rule) and f.severity == expect.get("severity", ERROR)]
        assert hits, f"expected {expect}, got {shown}"


def test_the_request_axe_core_makes_is_not_the_apps(validator):
    """axe-core reads css/site.css's @import "base.css" against the page (base.css at the root, a 404 only it
    asks for): the request is noted as runshot's own, and no finding blames the app for it."""
    folder = CORPUS / "good-stylesheet-import"
    spec = Spec(title="import", body="A small web app.", source="corpus")
    result = validator.validate(folder, spec, checks=["runtime", "a11y"])
    assert [u.rsplit("/", 1)[-1] for u in result.info["requests_by_runshot"]] == ["base.css"]
    assert not [f for f in result.findings if "base.css" in f.message], result.findings
    assert result.passed


def test_the_sweep_blames_no_link_for_the_page_it_opens(validator):
    folder = CORPUS / "good-two-page-outside-font"
    spec = Spec(title="two pages", body="A small web app.", source="corpus")
    result = validator.validate(folder, spec, checks=["sweep"])
    assert [f for f in result.findings if f.check == "sweep"] == []
    assert result.info.get("sweep_navigations", 0) >= 1  # the links were followed, and judged as navigations


def test_what_axe_core_cannot_decide_is_listed_for_review_not_failed(validator):
    """Contrast over a gradient is axe-core's "incomplete": the report lists it with its first element; no finding."""
    folder = CORPUS / "good-gradient-hero"
    result = validator.validate(folder, Spec(title="hero", body="A small web app.", source="corpus"), checks=["a11y"])
    assert result.findings == []
    review = result.info["axe_needs_review"]["color-contrast"]
    assert review["where"] and review["html"].startswith("<")


def test_semantics_catches_unnamed_controls_the_browser_announces(validator, tmp_path):
    """An empty link has no size but is still announced as a link; a role="img" and an alt of spaces are images
    without a text alternative. Chromium's accessibility tree confirms each."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body><main>'
        '<h1>Shapes</h1><a href="other.html"></a>'
        '<div role="img" style="width:40px;height:40px;background:#c00"></div>'
        '<img src="dot.svg" alt=" " width="20" height="20">'
        '<a href="other.html"><img src="dot.svg" width="20" height="20" title="Other page"></a>'
        '</main></body></html>', encoding="utf-8")
    (tmp_path / "other.html").write_text("<!doctype html><title>o</title>", encoding="utf-8")
    (tmp_path / "dot.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
                                      '<circle cx="10" cy="10" r="9"/></svg>', encoding="utf-8")
    result = validator.validate(tmp_path, Spec(title="t", body="t", source="test"), checks=["semantics"])
    found = {(f.rule, f.where) for f in result.findings if f.severity == ERROR}
    assert found == {("semantics/unnamed", "body > main > a:nth-of-type(1)"),
                     ("semantics/img-alt", "body > main > div"),
                     ("semantics/img-alt", "body > main > img")}, found


def test_a_file_field_is_not_labelled_by_its_own_button_text(validator, tmp_path):
    """Chromium names an unlabelled file field by its inner button ("Choose File"): that labels nothing."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body><main>'
        '<h1>Upload</h1><input type="file" id="photo"><label>Caption <input id="caption"></label>'
        '</main></body></html>', encoding="utf-8")
    result = validator.validate(tmp_path, Spec(title="t", body="t", source="test"), checks=["semantics"])
    assert [(f.rule, f.where) for f in result.findings if f.severity == ERROR] == [("semantics/unlabeled", "#photo")]


def test_the_runtime_findings_leave_out_what_runshot_requested():
    events = PageEvents()
    events.failed_requests += [{"url": "http://127.0.0.1:1/base.css", "status": 404, "method": "GET"},
                               {"url": "http://127.0.0.1:1/css/theme.css", "status": 404, "method": "GET"}]
    events.console_errors += [
        {"text": "Failed to load resource: the server responded with a status of 404", "url": u}
        for u in ("http://127.0.0.1:1/base.css", "http://127.0.0.1:1/css/theme.css")]
    events.runshot_urls.add("http://127.0.0.1:1/base.css")
    found = findings_from_events(events, "http://127.0.0.1:1/")
    assert [(f.rule, f.where) for f in found] == [("runtime/request-failed", "css/theme.css")]
    assert events.since(events.mark()).runshot_urls == {"http://127.0.0.1:1/base.css"}


def test_semantics_alone_names_the_unnamed_image_link(validator):
    folder = CORPUS / "bad-image-link-unnamed"
    result = validator.validate(folder, Spec(title="t", body="t", source="corpus"), checks=["semantics"])
    link = "body > main > ul > li:nth-of-type(1) > a"
    assert {(f.rule, f.where) for f in result.findings if f.severity == ERROR} == {
        ("semantics/unnamed", link), ("semantics/img-alt", link + " > img")}
