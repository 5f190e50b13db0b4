"""The check registry: one list of checks, built-ins first (runtime leading), then plugins; every consumer uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from runshot.reporting import regress
from runshot.errors import UsageError
from runshot.generator.feedback import order_and_cap
from runshot.rules import ACCESSIBILITY, OTHER, Check
from runshot.spec import Spec
from runshot.validators.runner.registry import (
    BUILT_IN,
    BUILT_IN_MODULES,
    BUILT_INS,
    CheckLoadError,
    Registry,
    built_in_registry,
    function_check,
    load_check,
    load_registry,
    plugin_checks,
)
from runshot.validators.runner.project import Validator
from runshot.validators.runner.rulebook import own_rules, plugin_rules
from runshot.values import ERROR, WARNING, Finding

GOOD = Path(__file__).parent / "fixtures" / "ci" / "good_app"
NAMES = ["runtime", "a11y", "semantics", "acceptance", "keyboard", "dialog", "motion", "mobile", "sweep", "forms"]


def test_built_ins_in_order_with_what_they_need():
    reg = built_in_registry()
    assert reg.names() == NAMES and len(BUILT_IN_MODULES) == len(NAMES)
    assert all(c.source == BUILT_IN and c.built_in for c in reg)
    needs = {c.name: c.needs for c in reg}
    assert needs["runtime"] == "page" and needs["acceptance"] == "isolated" and needs["mobile"] == "viewport"
    for c in reg:
        fn = c.load()
        assert fn is not None and callable(fn), c.name
        assert c.module in BUILT_IN_MODULES and fn.__module__ == c.module, c.name
        assert c.rules and all(rule.severity in ("error", "warning") for rule in c.rules.values()), c.name
    assert [c.name for c in BUILT_INS] == NAMES  # the old name: the built-ins as loaded


def test_a_check_without_a_declaration_or_function_is_refused(tmp_path: Path, monkeypatch):
    (tmp_path / "runshot_undeclared_check.py").write_text("async def check_plain(ctx):\n    return []\n")
    (tmp_path / "runshot_wrong_entry_check.py").write_text(
        "from runshot.rules import Check\nDECLARED = Check('wrong', 'check_missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("runshot_undeclared_check", "runshot_wrong_entry_check"):
        with pytest.raises(CheckLoadError):
            load_check(module)
    with pytest.raises(ValueError):
        Check("x", "check_x", needs="everything")
    with pytest.raises(ValueError):
        Check("x", "check_x", rank=7)


EXTRA = """
from runshot.rules import ACCESSIBILITY, ISOLATED, Check, Rule, Rules
from runshot.values import ERROR, WARNING

CHECK = "extra"
RULES = Rules(
    Rule("extra/broken", ERROR, "Something the extra check looks for is broken.", wcag=("4.1.2",)),
    Rule("extra/odd", WARNING, "Something looks odd."),
)
DECLARED = Check(CHECK, "check_extra", needs=ISOLATED, rules=RULES, rank=ACCESSIBILITY)


async def check_extra(ctx):
    async with ctx.new_page() as page:
        return [RULES["extra/broken"].finding(f"extra saw {await page.title()!r}", where=ctx.spec.entry)]
"""
# `runshot` with one more registration line, as a new built-in check would have it.
WITH_EXTRA = ("import sys; import runshot.validators.runner.registry as r; "
              "r.BUILT_IN_MODULES += ('runshot_extra_check',); from runshot.cli import main; main()")


def _cli(code: str, *args: str, path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(path)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env)


def test_a_check_declared_once_shows_up_everywhere(tmp_path: Path, monkeypatch):
    """One module declaring its Check plus one registration line: `runshot checks`, `runshot rules`, the plan's
    needs, the rules book, repair ranks and a validation all know it."""
    (tmp_path / "runshot_extra_check.py").write_text(EXTRA)
    rows = [line.split() for line in _cli(WITH_EXTRA, "checks", path=tmp_path).stdout.splitlines()]
    assert [row[0] for row in rows] == NAMES + ["extra"] and rows[-1] == ["extra", "built-in", "isolated"]
    listed = _cli(WITH_EXTRA, "rules", "--check", "extra", path=tmp_path)
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["extra/broken", "extra", "error", "4.1.2", "-"], ["extra/odd", "extra", "warning", "-", "-"]], listed.stderr

    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry(BUILT_INS + (load_check("runshot_extra_check"),))
    assert own_rules(reg)["extra/broken"].why.startswith("Something the extra")
    assert reg.repair_ranks()["extra"] == ACCESSIBILITY
    findings = [Finding("motion", ERROR, "m"), Finding("extra", ERROR, "e"), Finding("acceptance", ERROR, "a")]
    assert [f.check for f in order_and_cap(findings, None, reg.repair_ranks())] == ["acceptance", "extra", "motion"]
    spec = Spec(title="good", body="", source="(none)")
    with Validator(registry=reg) as validator:
        assert validator.needs_of("extra") == ("isolated", True)
        result = validator.validate(GOOD, spec, checks=["runtime", "extra"])
    assert result.checks_run == ["runtime", "extra"]
    assert [(f.rule, f.severity, f.message) for f in result.findings if f.check == "extra"] == [
        ("extra/broken", ERROR, "extra saw 'Counter'")]


def test_a_plugin_may_give_a_declaration_or_a_function_with_plain_rules(tmp_path: Path, monkeypatch):
    (tmp_path / "runshot_extra_check.py").write_text(EXTRA)
    (tmp_path / "runshot_plain_plugin.py").write_text(
        "NEEDS = 'viewport'\nRULES = {'plain/x': 'warning', 'plain/bad': 'fatal'}\n\n"
        "async def check(ctx):\n    return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [EntryPoint("extra", "runshot_extra_check:DECLARED", "runshot.checks"),
           EntryPoint("plain", "runshot_plain_plugin:check", "runshot.checks")]
    reg = load_registry(warn=None, entry_points=eps)
    assert reg.names() == NAMES + ["extra", "plain"] and not reg.warnings
    extra, plain = reg.get("extra"), reg.get("plain")
    assert (extra.needs, extra.rank, extra.built_in, extra.load().__name__) == ("isolated", ACCESSIBILITY, False,
                                                                                "check_extra")
    assert (plain.needs, plain.needs_declared, plain.rank) == ("viewport", True, OTHER)
    assert {r.id: (r.check, r.severity) for r in plugin_rules(reg).values()} == {
        "extra/broken": ("extra", ERROR), "extra/odd": ("extra", WARNING), "plain/x": ("plain", WARNING)}
    assert reg.repair_ranks()["extra"] == ACCESSIBILITY and reg.repair_ranks()["plain"] == OTHER


def test_plugin_entry_points_clashes_and_broken_ones(tmp_path: Path, monkeypatch):
    (tmp_path / "runshot_ep_plugin.py").write_text("async def check(ctx):\n    return []\n")
    (tmp_path / "runshot_ep_broken.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [
        EntryPoint("zeta", "runshot_ep_plugin:check", "runshot.checks"),
        EntryPoint("alpha", "runshot_ep_plugin:check", "runshot.checks"),
        EntryPoint("a11y", "runshot_ep_plugin:check", "runshot.checks"),
        EntryPoint("broken", "runshot_ep_broken:check", "runshot.checks"),
        EntryPoint("nofn", "runshot_ep_plugin", "runshot.checks"),
    ]
    warnings: list[str] = []
    reg = load_registry(warn=warnings.append, entry_points=eps)
    assert reg.names() == NAMES + ["alpha", "zeta"]  # plugins after the built-ins, by name
    assert len(warnings) == 3 and list(reg.warnings) == warnings
    assert any("'a11y'" in w and "already taken" in w for w in warnings)
    assert any("'broken'" in w and "RuntimeError: boom at import" in w for w in warnings)
    assert any("'nofn'" in w and "module:function" in w for w in warnings)
    assert all("\n" not in w for w in warnings)
    checks, more = plugin_checks(eps[:2] + eps[:1])
    assert [c.name for c in checks] == ["alpha", "zeta"] and len(more) == 1  # a second 'zeta' clashes too


def test_regress_keeps_registered_plugin_checks():
    reg = built_in_registry().with_checks(function_check("title", lambda ctx: None, source="runshot-title"))
    base = regress.BaselineProject("p", checks=["runtime", "title", "gone"], failing=set(), reported=set())
    assert regress.checks_to_rerun(base, reg.names()) == ["runtime", "title"]
    assert regress.checks_to_rerun(regress.BaselineProject("p", ["gone"], set(), set()), reg.names()) is None


def test_validator_runs_registry_checks_in_order_and_refuses_unknown_names():
    calls: list[str] = []

    async def first(ctx):
        calls.append("first")
        return []

    async def second(ctx):
        calls.append("second")
        from runshot import Finding

        return [Finding("second", "warning", f"saw {await ctx.page.title()}", rule="second/seen")]

    reg = built_in_registry().with_checks(function_check("first", first), function_check("second", second))
    spec = Spec(title="good", body="", source="(none)")
    with Validator(registry=reg) as validator:
        result = validator.validate(GOOD, spec, checks=["runtime", "second", "first"])
        assert result.checks_run == ["runtime", "second", "first"] and calls == ["second", "first"]
        assert [f.message for f in result.findings if f.check == "second"] == ["saw Counter"]
        with pytest.raises(UsageError) as err:
            validator.validate(GOOD, spec, checks=["runtime", "nonsense"])
        assert "nonsense" in err.value.message and "known: runtime, a11y" in err.value.message
