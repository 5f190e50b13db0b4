"""Verdict trust: correct pages that used to fail give no error, broken ones give their rule, one cause gives one
finding, and motion is judged from frames and from the spec's words.

Every fixture under fixtures/checks is served and opened in headless Chromium by the real Validator.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from runshot.spec import Spec, parse_spec_text
from runshot.validators.checks import a11y, mobile, motion, runtime, semantics
from runshot.validators.checks.keyboard import walk as keyboard
from runshot.validators.runner import policy
from runshot.validators.runner.project import Validator
from runshot.values import ERROR, STATE_DIR, WARNING

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
PAGE_CHECKS = ("a11y", "semantics", "keyboard", "mobile")


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


@pytest.fixture(scope="module")
def validate(validator):
    cache: dict = {}

    def run(name: str, checks: tuple[str, ...], spec: Spec | None = None, folder: Path | None = None):
        key = (name, checks, repr(spec), folder)
        if key not in cache:
            spec = spec or Spec(title=name, body="A test fixture.", source="test")
            cache[key] = validator.validate(folder or FIXTURES / name, spec, checks=list(checks))
        return cache[key]

    return run


def errors(result, check=None):
    return [f.to_dict() | {"rule": f.rule} for f in result.findings
            if f.severity == ERROR and (check is None or f.check == check)]


def animated(title: str = "Fixture") -> Spec:
    return Spec(title=title, body="A test fixture.", source="test", animated=True, animated_explicit=True)


# --- correct pages that the old heuristics failed -----------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["good_date_inputs", "good_fullscreen_layout", "good_widget_fragment",
                                     "good_delegated_clicks"])
def test_correct_pages_give_no_error(validate, fixture):
    result = validate(fixture, PAGE_CHECKS)
    assert errors(result) == []
    assert result.passed
    for f in result.findings:
        assert f.rule, f.to_dict()


def test_date_and_time_fields_are_no_keyboard_trap(validate):
    result = validate("good_date_inputs", PAGE_CHECKS)
    rules = {f.rule for f in result.findings if f.check == "keyboard"}
    assert not rules & {"keyboard/trap", "keyboard/unreachable", "keyboard/key-cancelled"}, result.findings


def test_widget_fragment_gets_best_practice_warnings_only(validate):
    result = validate("good_widget_fragment", PAGE_CHECKS)
    warned = {f.rule: f for f in result.findings if f.severity == WARNING}
    # axe files a missing main landmark and h1 as best practices: warnings, reported once (by axe).
    assert {"landmark-one-main", "page-has-heading-one"} <= set(warned)
    assert "best practice" in warned["landmark-one-main"].message
    assert not [f for f in result.findings if f.rule in ("semantics/no-main", "semantics/no-h1")]


def test_semantics_alone_warns_about_main_and_h1(validate):
    result = validate("good_widget_fragment", ("semantics",))
    assert sorted((f.rule, f.severity) for f in result.findings) == [
        ("semantics/no-h1", WARNING), ("semantics/no-main", WARNING)]
    assert result.passed


def test_fullscreen_layout_is_visible_on_a_phone(validate):
    result = validate("good_fullscreen_layout", ("mobile",))
    assert result.findings == []


def test_strict_still_turns_warnings_into_errors(validator):
    spec = Spec(title="t", body="A test fixture.", source="test")
    result = validator.validate(FIXTURES / "good_widget_fragment", spec, checks=["semantics"], strict=True)
    assert not result.passed
    assert {f.severity for f in result.findings} == {ERROR}


# --- one cause, one finding -----------------------------------------------------------------------------------------

def test_keyboard_trap_includes_the_controls_behind_it(validate):
    result = validate("bad_keyboard_trap", ("keyboard",))
    mine = [f for f in result.findings if f.check == "keyboard"]
    assert [f.rule for f in mine] == ["keyboard/trap"], [f.to_dict() for f in mine]
    assert mine[0].severity == ERROR and mine[0].where == "#code"
    assert "1 later control could not be reached because of it" in mine[0].message
    assert 'button "Check"' in mine[0].message


def test_missing_main_is_reported_once(validate):
    result = validate("bad_no_main", ("a11y", "semantics"))
    about_main = [f for f in result.findings if "main" in f.rule]
    assert [(f.rule, f.severity) for f in about_main] == [("landmark-one-main", WARNING)]
    assert result.passed


def test_wcag_rules_are_errors(validate):
    result = validate("bad_low_contrast", ("a11y",))
    (f,) = [f for f in result.findings if f.rule == "color-contrast"][:1]
    assert f.severity == ERROR and "WCAG 2 AA" in f.message


# --- motion from frames ---------------------------------------------------------------------------------------------

def test_never_cleared_canvas_is_caught_with_its_frames(validate, tmp_path):
    project = tmp_path / "tesseract"
    shutil.copytree(FIXTURES / "bad_never_cleared_canvas", project)
    (project / STATE_DIR).mkdir()
    result = validate("bad_never_cleared_canvas", ("motion",), animated("Tesseract"), project)
    (f,) = [f for f in result.findings if f.check == "motion"]
    assert (f.rule, f.severity, f.where) == ("motion/never-cleared", WARNING, "#stage")
    assert "covered share per frame" in f.evidence
    saved = sorted((project / STATE_DIR / "motion").glob("never-cleared-*.png"))
    assert len(saved) == 2 and f"{STATE_DIR}/motion/never-cleared-2.png" in f.evidence
    first, last = (_ink_share(p) for p in saved)
    assert last > first and last > 0.15  # the saved frames really show the growing tangle


def test_blank_canvas_is_an_error(validate):
    result = validate("bad_blank_canvas", ("motion",), animated())
    mine = [f for f in result.findings if f.check == "motion"]
    assert [(f.rule, f.severity) for f in mine] == [("motion/blank", ERROR)], [f.to_dict() for f in mine]
    assert not result.passed


def test_drawing_that_leaves_the_canvas_is_caught(validate):
    result = validate("bad_offcanvas_drawing", ("motion",), animated())
    mine = [f for f in result.findings if f.check == "motion"]
    assert [(f.rule, f.severity) for f in mine] == [("motion/off-canvas", WARNING)], [f.to_dict() for f in mine]


def test_a_correct_canvas_animation_shows_no_sign(validate):
    result = validate("good_canvas", ("motion",), animated())
    assert result.findings == []


# --- motion from the spec's words -----------------------------------------------------------------------------------

def test_motion_is_inferred_from_the_spec_words(validate):
    spec = parse_spec_text("# Bouncing ball\n\nA red ball bouncing inside a box, drawn on a canvas.\n")
    assert not spec.animated and not spec.animated_explicit
    result = validate("bad_static_canvas", ("motion",), spec)
    (f,) = [f for f in result.findings if f.check == "motion"]
    assert (f.rule, f.severity) == ("motion/static", ERROR)
    assert 'inferred from the spec\'s words "bouncing"' in f.message
    assert {k: result.info["motion"][k] for k in ("animated", "source", "words")} == {
        "animated": True, "source": "inferred", "words": ["bouncing"]}
    assert result.info["motion"]["frames"].endswith("pixels cleared between frames: 0, 0, 0, 0, 0")  # still


def test_animated_false_turns_inferred_motion_off(validate):
    spec = parse_spec_text("---\nanimated: false\n---\nA bouncing ball, shown as a still picture.\n")
    assert spec.animated_explicit and not spec.animated
    result = validate("bad_static_canvas", ("motion",), spec)
    assert result.findings == []
    assert motion.wants_motion(spec) == (False, "front matter", [])


@pytest.mark.parametrize("text, words", [
    ("A rotating tesseract drawn in 4D", ["rotating"]),
    ("Starfield runs at 60 fps with a game loop", ["starfield", "game loop"]),
    ("A to-do list without animation", []),
    ("A contact form. No animations please.", []),
    ("A tip calculator", []),
])
def test_motion_words(text, words):
    assert motion.motion_words(Spec(title="t", body=text, source="test")) == words


# --- the written policy ---------------------------------------------------------------------------------------------

def test_axe_severity_follows_the_rule_tags():
    assert policy.axe_severity(["cat.color", "wcag2aa", "wcag143"], "serious") == ERROR
    assert policy.axe_severity(["wcag2a"], "minor") == ERROR
    assert policy.axe_severity(["cat.semantics", "best-practice"], "moderate") == WARNING
    assert policy.axe_severity(["wcag2a", "experimental"], "critical") == WARNING
    assert policy.axe_severity(["cat.other"], "critical") == WARNING
    assert policy.axe_severity([], "critical") == ERROR  # no tags at all: the impact decides


@pytest.mark.parametrize("module", [a11y, semantics, keyboard, mobile, motion, runtime])
def test_check_modules_declare_rules_and_needs(module):
    assert module.DECLARED.needs in ("page", "isolated", "viewport") and module.DECLARED.rules is module.RULES
    assert module.RULES and {r.severity for r in module.RULES.values()} <= {ERROR, WARNING}
    prefix = getattr(module, "CHECK", "")
    for rule in module.RULES:
        assert rule.startswith(prefix + "/"), rule


def _ink_share(path: Path) -> float:
    """Share of non-transparent pixels in one of runshot's saved RGBA frames (read back with zlib)."""
    data = path.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    row = width * 4 + 1
    inked = sum(1 for y in range(height) for x in range(width) if raw[y * row + 1 + x * 4 + 3] > 8)
    return inked / (width * height)
