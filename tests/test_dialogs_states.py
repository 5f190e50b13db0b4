"""Dialogs, overlays acting as dialogs, and the states a page reaches after a click, against real pages.

Each fixture under fixtures/checks is served and opened in headless Chromium by the real Validator; the dialog
and sweep checks walk one page through their clicks. Findings are matched by rule id and severity, and
findings about a later state must name how it was reached.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runshot.spec import Spec
from runshot.validators.checks import a11y, dialogs, sweep
from runshot.validators.browser import states
from runshot.validators.runner.registry import function_check
from runshot.validators.runner.project import Validator
from runshot.values import ERROR, WARNING

FIXTURES = Path(__file__).parent / "fixtures" / "checks"


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


@pytest.fixture(scope="module")
def validate(validator):
    cache: dict = {}

    def run(name: str | Path, checks: tuple[str, ...] = ("dialog", "sweep")):
        key = (str(name), checks)
        if key not in cache:
            path = name if isinstance(name, Path) else FIXTURES / name
            spec = Spec(title=path.name, body="A test fixture.", source="test")
            cache[key] = validator.validate(path, spec, checks=list(checks))
        return cache[key]

    return run


def rules(result, check=None):
    return {(f.rule, f.severity) for f in result.findings if check is None or f.check == check}


def test_modules_declare_rules_and_needs():
    for mod in (dialogs, sweep):
        assert mod.DECLARED.needs == "isolated"
        assert mod.RULES and {r.severity for r in mod.RULES.values()} <= {ERROR, WARNING}
        assert all(rule.startswith(mod.CHECK + "/") for rule in mod.RULES)
    assert dialogs.RULES["dialog/overlay-no-role"].severity == ERROR
    assert dialogs.RULES["dialog/no-name"].severity == WARNING
    assert dialogs.RULES["dialog/background-not-inert"].severity == WARNING


@pytest.mark.parametrize("name", ["good_dialog_native", "good_dialog_alert", "good_overlay_menu",
                                  "good_overlay_toast", "good_state_steps"])
def test_good_fixtures_give_no_dialog_or_sweep_finding(validate, name):
    result = validate(name)
    assert result.passed
    assert [f.to_dict() for f in result.findings] == []


def test_real_dialogs_are_checked_and_menus_toasts_are_not_dialogs(validate):
    assert validate("good_dialog_native").info["dialogs_checked"] == 1
    assert validate("good_dialog_alert").info["dialogs_checked"] == 1
    assert validate("good_overlay_menu").info["dialogs_checked"] == 0
    assert validate("good_overlay_toast").info["dialogs_checked"] == 0


def test_dialog_without_a_name_passes_with_a_warning(validate):
    result = validate("good_dialog_noname")
    assert result.passed
    assert rules(result) == {("dialog/no-name", WARNING)}
    (f,) = result.findings
    assert f.where == "#rules" and "has no accessible name" in f.message


def test_role_modal_overlay_is_not_a_dialog(validate):
    result = validate("bad_overlay_role_modal", ("dialog",))
    assert not result.passed
    found = rules(result)
    assert ("dialog/overlay-no-role", ERROR) in found
    # The focus, Escape and return checks ran on it too.
    assert {("dialog/focus-not-moved", ERROR), ("dialog/no-escape", ERROR), ("dialog/focus-lost", ERROR),
            ("dialog/background-not-inert", WARNING)} <= found
    (f,) = [f for f in result.findings if f.rule == "dialog/overlay-no-role"]
    assert f.where == "#how-modal" and 'Clicking button "How to play" (#how)' in f.message
    # Its content was checked as a state: the invalid role is axe's finding, naming the click.
    (state,) = [f for f in result.findings if f.rule == "aria-roles"]
    assert state.message.startswith('After clicking button "How to play" (#how): ')


def test_plain_overlay_that_behaves_well_lacks_only_the_role(validate):
    result = validate("bad_overlay_plain", ("dialog",))
    assert not result.passed
    assert [(f.rule, f.severity, f.where) for f in result.findings] == [("dialog/overlay-no-role", ERROR, "#login")]


def test_dialog_open_at_load_is_examined_and_the_page_behind_still_probed(validate):
    result = validate("bad_dialog_atload", ("dialog",))
    assert not result.passed
    assert [(f.rule, f.severity, f.where) for f in result.findings] == [("dialog/no-escape", ERROR, "#welcome")]
    assert "open when the page loads" in result.findings[0].message
    assert result.info["dialogs_checked"] == 2  # the welcome card, then the Help dialog behind it


def test_game_over_screen_is_checked_as_a_named_state(validate):
    result = validate("bad_state_gameover")
    assert not result.passed
    found = {(f.check, f.rule, f.severity, f.where) for f in result.findings}
    assert ("sweep", "label", ERROR, "#initials") in found
    assert ("sweep", "color-contrast", ERROR, ".faint") in found
    for f in result.findings:
        assert f.message.startswith('After clicking button "Finish quiz" (#finish): axe rule ')


def test_state_findings_are_not_repeated_from_the_loaded_page(validate):
    alone = validate("bad_state_rerender", ("sweep",))
    assert [(f.rule, f.where) for f in alone.findings] == [("color-contrast", ".done")]
    both = validate("bad_state_rerender", ("a11y", "sweep"))
    assert [f.where for f in both.findings if f.check == "a11y"] == [".done"]
    assert [f for f in both.findings if f.check == "sweep"] == []


def test_walks_reload_only_after_a_change_that_stays(validate):
    game = Path(__file__).parent / "fixtures" / "samples" / "dialog-game"
    # Rules, Settings and New game leave the page as it was once their dialog closes; only the three board
    # cells tried among the six openers change it for good.
    # One validation, both walks (each on pages of its own); both pass.
    result = validate(game, ("dialog", "sweep"))
    assert result.passed and result.checks_run == ["dialog", "sweep"]
    assert result.info["dialogs_checked"] == 2
    assert result.info["dialog_reloads"] <= 3
    assert 1 <= result.info["sweep_reloads"] < result.info["sweep_clicked"]


def test_unnamed_custom_dialog_warns_for_the_name_and_fails_for_aria_modal(tmp_path, validate):
    target = tmp_path / "bad_dialog_unnamed"
    shutil.copytree(FIXTURES / "good_dialog", target)
    page = target / "index.html"
    page.write_text(page.read_text().replace("<body>", "<body data-no-modal data-no-name>", 1))
    result = validate(target, ("dialog",))
    assert not result.passed
    assert rules(result) == {("dialog/no-aria-modal", ERROR), ("dialog/no-name", WARNING)}


def test_check_state_names_the_state_and_dedupes(validator, monkeypatch):
    """The function acceptance steps call: a click, then check_state twice with one `seen` set."""
    got = {}

    async def probe(ctx):
        async with ctx.new_page() as page:
            await page.click("#finish")
            await ctx.settle(page)
            seen: set = set()
            first = await states.check_state(ctx, page, "after step 1 of 'finishes'", "#over", seen,
                                             check="acceptance")
            again = await states.check_state(ctx, page, "after step 1 of 'finishes'", "#over", seen,
                                             check="acceptance")
            whole = await states.check_state(ctx, page, "after step 2", None, set())
        got.update(first=first, again=again, whole=whole)
        return first

    monkeypatch.setattr(validator, "registry", validator.registry.with_checks(function_check("probe", probe)))
    spec = Spec(title="t", body="A test fixture.", source="test")
    validator.validate(FIXTURES / "bad_state_gameover", spec, checks=["probe"])
    assert {(f.check, f.rule, f.where) for f in got["first"]} == {("acceptance", "label", "#initials"),
                                                                 ("acceptance", "color-contrast", ".faint")}
    assert all(f.message.startswith("After step 1 of 'finishes': ") for f in got["first"])
    assert got["again"] == []
    assert {f.rule for f in got["whole"]} >= {"label", "color-contrast"}
    assert all(f.check == "a11y" for f in got["whole"])


def test_disclosures_and_plain_jumps_are_not_tried_as_openers_but_a_target_overlay_is(validate):
    """An accordion's buttons (aria-expanded, controlling in-flow panels) and links that jump to a visible
    section cannot open a modal and are not clicked; the link that shows a CSS :target overlay still is, and
    the overlay is reported as a modal without a dialog role."""
    result = validate("bad_target_overlay_among_disclosures", ("dialog",))
    assert result.info["dialog_openers_tried"] == 1
    assert ("dialog/overlay-no-role", ERROR) in rules(result, "dialog")
    assert {f.where for f in result.findings} == {"#contact"}


@pytest.mark.parametrize("name", ["bad_dialog_nonmodal", "good_dialog_native"])
def test_a_state_two_checks_reach_is_run_through_axe_once(validator, monkeypatch, name):
    """The dialog check and the sweep open the same dialog with the same click and judge the same part of the
    page: axe-core runs once for that state, and the findings are what two runs of their own give."""
    spec = Spec(title=name, body="A test fixture.", source="test")
    shared = validator.validate(FIXTURES / name, spec, checks=["dialog", "sweep"])

    async def own_run(ctx, page, include):
        return await a11y.run_axe(ctx, page, include)

    monkeypatch.setattr(states, "_axe_for_state", own_run)
    separate = validator.validate(FIXTURES / name, spec, checks=["dialog", "sweep"])
    assert shared.info.get("axe_runs_shared") == 1
    assert "axe_runs_shared" not in separate.info
    assert sorted((f.check, f.rule, f.where, f.message) for f in shared.findings) == \
        sorted((f.check, f.rule, f.where, f.message) for f in separate.findings)
    assert shared.passed == separate.passed
