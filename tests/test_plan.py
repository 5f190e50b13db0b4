"""The validation plan on real pages in real Chromium: concurrent checks judge as sequential ones do,
many projects at once give what one by one gives, and hangs stay contained."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from runshot.spec import Spec, load_spec
from runshot.validators.browser.context import Timeouts
from runshot.validators.runner.plan import check_jobs_for
from runshot.validators.runner.registry import function_check
from runshot.validators.runner.project import ValidationRequest, Validator

HERE = Path(__file__).parent
REPO = HERE.parent
CHECK_FIXTURES = sorted(p for p in (HERE / "fixtures" / "checks").iterdir() if (p / "index.html").is_file())
SAMPLES = sorted(p for p in (HERE / "fixtures" / "samples").iterdir() if p.is_dir())
PROJECTS = HERE / "fixtures" / "projects"
ANIMATED = ("anim", "canvas")


def spec_for(folder: Path) -> Spec:
    sample = REPO / "samples" / f"{folder.name}.md"
    if folder.parent.name == "samples" and sample.is_file():
        return load_spec(str(sample))
    return Spec(title=folder.name, body="A test fixture.", source="test",
                animated=any(word in folder.name for word in ANIMATED))


def verdict(result) -> tuple[bool, list[tuple[str, str, str, str]]]:
    """What a validation concluded, whatever order its findings came in."""
    return result.passed, sorted((f.check, f.severity, f.rule, f.where) for f in result.findings)


@pytest.fixture(scope="module")
def validator():
    with Validator(timeouts=Timeouts()) as v:
        yield v


@pytest.fixture(scope="module")
def one_by_one(validator):
    """Each fixture validated with every check, the checks one after another (check_jobs=1); once per module."""
    cache: dict[Path, object] = {}

    def get(folder: Path):
        if folder not in cache:
            validator.check_jobs = 1
            try:
                cache[folder] = validator.validate(folder, spec_for(folder))
            finally:
                validator.check_jobs = None
        return cache[folder]

    return get


def _add(monkeypatch, validator, *checks) -> None:
    monkeypatch.setattr(validator, "registry", validator.registry.with_checks(*checks))


def test_built_in_checks_declare_what_they_need(validator):
    assert validator.needs_of("runtime") == ("page", True)
    assert validator.needs_of("a11y") == ("page", True)
    assert validator.needs_of("keyboard") == ("isolated", True)
    assert validator.needs_of("mobile") == ("viewport", True)
    assert validator.needs_of("acceptance") == ("isolated", True)
    assert check_jobs_for(1) == 1 and check_jobs_for(None) >= 2


# The default run compares one fixture of each kind of interaction (keyboard, dialogs, overlays, sweep, states,
# motion, acceptance); `pytest -m slow` compares every fixture and sample. good_app carries good_dialog's dialog
# (the same dialog.js) and tip-calculator the acceptance steps of a sample, so good_dialog and counter are slow-only.
EVERY_KIND = {"good_app", "bad_dialog_atload", "bad_overlay_plain", "bad_keyboard_trap",
              "bad_button_throws", "bad_button_freezes", "good_delegated_clicks", "bad_state_gameover",
              "good_css_anim", "bad_no_main", "tip-calculator"}
# Validated together by test_many_projects_at_once_give_what_one_by_one_gives: passing and failing ones, a dialog at
# load and a sample with acceptance steps, all of them in EVERY_KIND so that their one-by-one results are at hand.
MANY = ("good_delegated_clicks", "bad_button_throws", "bad_dialog_atload", "bad_no_main", "bad_keyboard_trap",
        "bad_state_gameover", "tip-calculator")
BOTH_WAYS = [pytest.param(p, id=f"{p.parent.name}/{p.name}", marks=() if p.name in EVERY_KIND else pytest.mark.slow)
             for p in CHECK_FIXTURES + SAMPLES]


@pytest.mark.parametrize("folder", BOTH_WAYS)
def test_concurrent_checks_judge_as_sequential_ones(validator, one_by_one, folder):
    sequential = one_by_one(folder)
    validator.check_jobs = 3
    try:
        concurrent = validator.validate(folder, spec_for(folder))
    finally:
        validator.check_jobs = None
    assert verdict(concurrent) == verdict(sequential)
    assert concurrent.checks_run == sequential.checks_run  # in the checks' order, not the order they finished
    assert set(concurrent.info["seconds"]) >= set(concurrent.checks_run)


def test_many_projects_at_once_give_what_one_by_one_gives(validator, one_by_one):
    folders = [f for f in CHECK_FIXTURES + SAMPLES if f.name in MANY]
    assert len(folders) == len(MANY)
    expected = [one_by_one(f) for f in folders]
    requests = [ValidationRequest(f, spec_for(f)) for f in folders]
    finished: list[Path] = []
    results = validator.validate_many(requests, jobs=3, on_done=lambda req, res: finished.append(req.project_dir))
    assert [verdict(r) for r in results] == [verdict(e) for e in expected]
    assert [r.checks_run for r in results] == [e.checks_run for e in expected]
    assert sorted(finished) == sorted(folders)
    assert not all(r.passed for r in results) and any(r.passed for r in results)


def _spec() -> Spec:
    return Spec(title="app", body="An app.", source="prompt")


def test_a_hung_check_is_a_finding_and_the_others_still_report(validator, monkeypatch):
    started: dict[str, float] = {}

    async def check_stuck(ctx):
        started["stuck"] = time.monotonic()
        async with ctx.open_session() as s:
            await s.page.evaluate("setTimeout(() => { for (;;) {} }, 0)")
            await asyncio.sleep(0.2)
            await s.page.evaluate("document.title")  # never answers
        return []

    async def check_calm(ctx):
        started["calm"] = time.monotonic()
        async with ctx.open_session() as s:
            items = await s.page.get_by_role("listitem").count()
        from runshot.values import WARNING, Finding

        return [Finding("calm", WARNING, f"{items} list items", where="ul", rule="calm/items")]

    _add(monkeypatch, validator, *(function_check(name, fn, needs="isolated")
                                   for name, fn in (("stuck", check_stuck), ("calm", check_calm))))
    monkeypatch.setattr(validator, "timeouts", Timeouts(load=8, action=3, check=4, settle=0.3))
    monkeypatch.setattr(validator, "check_jobs", 2)
    began = time.monotonic()
    result = validator.validate(PROJECTS / "good", _spec(), checks=["runtime", "stuck", "calm"])
    assert time.monotonic() - began < 4 + 12
    assert result.checks_run == ["runtime", "stuck", "calm"]
    (stuck,) = [f for f in result.findings if f.check == "stuck"]
    assert stuck.severity == "error" and "did not finish within 4 s" in stuck.message
    assert [(f.check, f.message) for f in result.findings if f.check == "calm"] == [("calm", "3 list items")]
    assert "stopped" not in result.info  # only the stuck check's own page hung
    assert started["calm"] < started["stuck"] + 4  # side by side, not after the stuck one gave up
    monkeypatch.undo()
    assert validator.validate(PROJECTS / "good", _spec(), checks=["runtime"]).passed


def test_a_page_that_hangs_stops_the_rest(validator, monkeypatch):
    async def check_freezer(ctx):
        await asyncio.sleep(1.0)  # let the runtime check read the shared page first, even on a busy machine
        await ctx.page.evaluate("setTimeout(() => { for (;;) {} }, 0)")  # the shared page, against its NEEDS
        await asyncio.sleep(0.2)
        await ctx.page.evaluate("document.title")
        return []

    async def check_quick(ctx):
        await asyncio.sleep(4)  # holds the second place in the pool, so the sleeper starts later than the freezer
        return []

    async def check_sleeper(ctx):
        await asyncio.sleep(60)
        return []

    async def check_later(ctx):
        raise AssertionError("must not start once the page stopped answering")

    _add(monkeypatch, validator, *(function_check(name, fn, needs="isolated") for name, fn in (
        ("freezer", check_freezer), ("quick", check_quick), ("sleeper", check_sleeper), ("later", check_later))))
    monkeypatch.setattr(validator, "timeouts", Timeouts(load=8, action=1, check=6, settle=0.3))
    monkeypatch.setattr(validator, "check_jobs", 2)
    began = time.monotonic()
    result = validator.validate(PROJECTS / "good", _spec(),
                                checks=["runtime", "freezer", "quick", "sleeper", "later"])
    assert time.monotonic() - began < 6 + 12  # the sleeper was cancelled, not waited for
    assert result.checks_run == ["runtime", "freezer", "quick"], (result.info, result.findings)
    assert "freezer" in result.info["stopped"]
    (frozen,) = [f for f in result.findings if f.check == "freezer"]
    assert frozen.severity == "error" and "stopped responding" in frozen.message
    assert not any(f.check in ("sleeper", "later") for f in result.findings)
    monkeypatch.undo()
    assert validator.validate(PROJECTS / "good", _spec(), checks=["runtime"]).passed


def test_undeclared_checks_keep_the_page_to_themselves(validator, monkeypatch):
    """A check that does not say what it needs runs on the shared page, in turn, before isolated checks start."""
    order: list[str] = []

    async def check_plain(ctx):
        order.append("plain:start")
        await asyncio.sleep(0.5)
        order.append("plain:end")
        return []

    async def check_side(ctx):
        order.append("side")
        return []

    _add(monkeypatch, validator, function_check("plain", check_plain), function_check("side", check_side,
                                                                                       needs="isolated"))
    assert validator.needs_of("plain") == ("page", False)
    monkeypatch.setattr(validator, "check_jobs", 3)
    result = validator.validate(PROJECTS / "good", _spec(), checks=["side", "plain"])
    assert order == ["plain:start", "plain:end", "side"]
    assert result.checks_run == ["side", "plain"]


def test_checks_of_their_own_size_start_after_the_other_isolated_ones(validator, monkeypatch):
    """The isolated checks start in the given order, except that a viewport check waits for the ordinary ones (a
    single look at the page, it fills the tail instead of holding a slot a long walk could use); findings still
    merge in the given order."""
    order: list[str] = []

    def recorder(name):
        async def check(ctx):
            order.append(name)
            await asyncio.sleep(0.05)
            return []
        return check

    _add(monkeypatch, validator, function_check("narrow", recorder("narrow"), needs="viewport"),
         function_check("walk1", recorder("walk1"), needs="isolated"),
         function_check("walk2", recorder("walk2"), needs="isolated"))
    monkeypatch.setattr(validator, "check_jobs", 2)
    result = validator.validate(PROJECTS / "good", _spec(), checks=["walk1", "narrow", "walk2"])
    assert order[:2] == ["walk1", "walk2"] and order[2] == "narrow"
    assert result.checks_run == ["walk1", "narrow", "walk2"]
