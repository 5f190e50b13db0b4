"""The reviewer's checks (a11y, semantics, keyboard, dialog, motion, mobile, sweep, forms) against real pages.

Each fixture folder under fixtures/checks is served and opened in headless Chromium by the real Validator.
Good fixtures must give no finding of any of these checks; each bad fixture is broken in one way and must
give a finding of the check that looks for it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runshot.errors import EnvironmentProblem
from runshot.spec import Spec
from runshot.validators.checks import a11y
from runshot.validators.runner.project import ValidationRequest, Validator
from runshot.values import ERROR, WARNING

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
CHECKS = ("a11y", "semantics", "keyboard", "dialog", "motion", "mobile", "sweep", "forms")

# Correct projects, and whether their spec says "animated".
GOOD = {"good_app": False, "good_dialog": False, "good_canvas": True, "good_css_anim": True}

# fixture, check, severity, words in the message, where (selector), how many findings of that check (None: any)
BAD = [
    ("bad_clickable_div", "semantics", ERROR, "is not a button or link", "#like", 1),
    ("bad_no_main", "semantics", WARNING, "no <main> landmark", "body", 1),
    ("bad_missing_alt", "semantics", ERROR, "has no alt attribute", "body > main > img", 1),
    ("bad_unlabeled_input", "semantics", ERROR, "has no label", "#note", 1),
    ("bad_no_lang", "semantics", ERROR, "no lang attribute", "html", 1),
    ("bad_missing_alt", "a11y", ERROR, "'image-alt'", "img", None),
    ("bad_unlabeled_input", "a11y", ERROR, "'label'", "#note", None),
    ("bad_low_contrast", "a11y", ERROR, "'color-contrast'", "p", None),
    ("bad_unreachable", "keyboard", ERROR, "cannot be reached with the Tab key", "#delete", 1),
    ("bad_focus_invisible", "keyboard", ERROR, "no visible focus indicator", "#save", 1),
    ("bad_role_button_keys", "keyboard", ERROR, "not to the Enter and Space keys", "#toggle", 1),
    ("bad_keyboard_trap", "keyboard", ERROR, "Keyboard trap", "#code", None),
    ("bad_tab_blocked", "keyboard", ERROR, "Pressing Tab never moves focus", "body", 1),
    ("bad_space_cancelled", "keyboard", ERROR, "does not respond to the Space key", "#start", 1),
    ("bad_dialog_unnamed", "dialog", ERROR, 'lacks aria-modal="true"', "#dlg", 2),
    ("bad_dialog_focus", "dialog", ERROR, "focus did not move into the dialog", "#dlg", 1),
    ("bad_dialog_escape", "dialog", ERROR, "Escape does not close it", "#dlg", 1),
    ("bad_dialog_return", "dialog", ERROR, 'focus does not return to button "Settings"', "#dlg", 1),
    ("bad_dialog_trap", "dialog", ERROR, "Tab moves focus out of the open dialog", "#dlg", 1),
    ("bad_dialog_nonmodal", "dialog", ERROR, "is not modal", "#help", None),
    ("bad_static_canvas", "motion", ERROR, "nothing moved", "#stage", 1),
    ("bad_anim_errors", "motion", ERROR, "threw an uncaught exception", None, 1),
    ("bad_overflow", "mobile", ERROR, "scrolls sideways", "body > main > table", 1),
    ("bad_offscreen_main", "mobile", WARNING, "below the first screen", "body > main", 1),
    ("bad_button_throws", "sweep", ERROR, 'Clicking button "Reset" (#reset) throws', "#reset", 1),
    ("bad_button_freezes", "sweep", ERROR, "froze the page", "#find", 1),
]


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


# Broken dialogs: the correct APG dialog of good_dialog with single behaviours switched off by
# data attributes on <body> (its dialog.js reads them), so each variant differs in exactly one way.
DIALOG_VARIANTS = {
    "bad_dialog_unnamed": "data-no-modal data-no-name",
    "bad_dialog_focus": "data-no-focus",
    "bad_dialog_escape": "data-no-escape",
    "bad_dialog_return": "data-no-return",
    "bad_dialog_trap": "data-no-trap",
}


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in DIALOG_VARIANTS:
            return FIXTURES / name
        if name not in made:
            target = tmp_path_factory.mktemp("checks") / name
            shutil.copytree(FIXTURES / "good_dialog", target)
            page = target / "index.html"
            page.write_text(page.read_text().replace("<body>", f"<body {DIALOG_VARIANTS[name]}>", 1))
            made[name] = target
        return made[name]

    return get


@pytest.fixture(scope="module")
def validate(validator, fixture_dir):
    """Validate a fixture with some checks; each (fixture, checks, animated) runs once per module."""
    cache: dict = {}

    def run(name: str, checks: tuple[str, ...], animated: bool = False):
        key = (name, checks, animated)
        if key not in cache:
            spec = Spec(title=name, body="A test fixture.", source="test", animated=animated)
            cache[key] = validator.validate(fixture_dir(name), spec, checks=list(checks))
        return cache[key]

    return run


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("fixture", sorted(GOOD))
def test_good_fixture_gives_no_finding(validate, fixture, check):
    result = validate(fixture, CHECKS, GOOD[fixture])
    assert check in result.checks_run
    found = [f.to_dict() for f in result.findings if f.check == check]
    assert found == []


@pytest.mark.parametrize(
    "fixture, check, severity, words, where, count",
    BAD,
    ids=[f"{b[0]}-{b[1]}-{i}" for i, b in enumerate(BAD)],
)
def test_bad_fixture_is_caught(validate, fixture, check, severity, words, where, count):
    result = validate(fixture, (check,), check == "motion")
    mine = [f for f in result.findings if f.check == check]
    hits = [f for f in mine if words in f.message and f.severity == severity]
    assert hits, [f.to_dict() for f in result.findings]
    f = hits[0]
    if where is not None:
        assert f.where == where
    else:
        assert f.where
    assert f.hint and len(f.hint.splitlines()) == 1
    if count is not None:  # broken exactly one way: nothing else of this check fires
        assert len(mine) == count, [x.to_dict() for x in mine]
    assert result.passed is (severity != ERROR)


def test_evidence_is_a_short_html_excerpt(validate):
    result = validate("bad_clickable_div", ("semantics",))
    (f,) = [f for f in result.findings if f.check == "semantics"]
    assert f.evidence.startswith('<div class="pill" id="like">')
    assert len(f.evidence) <= 400


def test_semantics_defers_to_axe_but_works_alone(validate):
    both = validate("bad_no_lang", ("a11y", "semantics"))
    assert [f.where for f in both.findings if f.check == "a11y" and "'html-has-lang'" in f.message] == ["html"]
    assert [f for f in both.findings if f.check == "semantics"] == []
    alone = validate("bad_no_lang", ("semantics",))
    assert [f.where for f in alone.findings if f.check == "semantics"] == ["html"]


def test_a11y_records_axe_version(validate):
    result = validate("bad_missing_alt", ("a11y",))
    assert result.info["axe_version"].startswith("4.")


def test_motion_only_runs_for_animated_specs(validate):
    result = validate("bad_static_canvas", ("motion",), False)
    assert "motion" in result.checks_run
    assert result.findings == []


def test_axe_source_can_be_replaced(validator, tmp_path, monkeypatch):
    fake = tmp_path / "axe.min.js"
    fake.write_text(
        "window.axe = {version: '0.0-test', run: async () => ({violations: [{id: 'fake-rule', impact: 'critical',"
        " tags: ['wcag2a', 'wcag111'],"
        " help: 'Fake help', helpUrl: 'https://example.invalid/fake', nodes: [{target: ['h1'],"
        " html: '<h1>Notes</h1>', failureSummary: 'Fix any of the following:\\n  Do the fake thing'}]}]})};"
    )
    monkeypatch.setenv("RUNSHOT_AXE_JS", str(fake))
    spec = Spec(title="t", body="A test fixture.", source="test")
    result = validator.validate(FIXTURES / "bad_no_main", spec, checks=["a11y"])
    assert result.info["axe_version"] == "0.0-test"
    (f,) = result.findings
    assert (f.check, f.severity, f.where, f.rule) == ("a11y", ERROR, "h1", "fake-rule")
    assert "fake-rule" in f.message and "Fake help" in f.message
    assert f.hint == "Do the fake thing — https://example.invalid/fake"


def test_missing_axe_source_is_an_environment_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNSHOT_AXE_JS", str(tmp_path / "nowhere.js"))
    with pytest.raises(EnvironmentProblem):
        a11y.axe_source()


# Broken pages run through every check (runtime included): a failing script, a missing file, a broken dialog,
# an animation that throws, a page too wide for a phone. Each finding they give must name its rule.
RULED = [("bad_clickable_div", False), ("bad_dialog_trap", False), ("bad_anim_errors", True), ("bad_overflow", False)]


@pytest.fixture(scope="module")
def ruled(validator, fixture_dir) -> dict:
    """Each RULED fixture validated with every check once, three at a time (validate_many, which judges as one by
    one does): fixture -> result."""
    requests = [ValidationRequest(fixture_dir(fixture), Spec(title=fixture, body="A test fixture.", source="test",
                                                             animated=animated)) for fixture, animated in RULED]
    return dict(zip((fixture for fixture, _ in RULED), validator.validate_many(requests, jobs=3)))


@pytest.mark.parametrize("fixture, animated", RULED)
def test_every_finding_carries_a_rule_id(ruled, fixture, animated):
    result = ruled[fixture]
    assert result.findings, "a broken fixture gives findings"
    unruled = [f.to_dict() for f in result.findings if not f.rule.strip()]
    assert unruled == []
    assert all(f.rule == f.rule.strip() and " " not in f.rule for f in result.findings), result.findings


def test_runtime_findings_of_a_broken_corpus_app_carry_rule_ids(validator):
    folder = FIXTURES.parent / "corpus" / "bad-tabs-missing-script"
    result = validator.validate(folder, Spec(title="tabs", body="Tabs.", source="test"), checks=["runtime"])
    runtime = [f for f in result.findings if f.severity == ERROR]
    assert runtime and all(f.rule.startswith("runtime/") for f in runtime), [f.to_dict() for f in runtime]
