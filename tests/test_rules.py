"""Rules are declared once: findings take their severity from their rule, `runshot rules` lists them all, and
axe-core's rules are read from the axe-core runshot injects (checked against axe's own getRules in Chromium)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from runshot.rules import Rule, Rules
from runshot.values import ERROR, WARNING, Finding
from runshot.validators.checks import a11y
from runshot.validators.browser.chromium import find_chromium
from runshot.validators.checks.axerules import axe_rule_severity, wcag_criteria
from runshot.validators.runner.registry import load_registry
from runshot.validators.runner.rulebook import catalogue, lookup, own_rules

ROOT = Path(__file__).resolve().parents[1]


def test_a_finding_takes_its_severity_and_check_from_its_rule():
    rule = Rule("keyboard/trap", ERROR, "Tab cannot leave.", wcag=("2.1.2",), act=("80af7b",))
    f = rule.finding("trapped in #editor", where="#editor", hint="let Tab out")
    assert f == Finding("keyboard", ERROR, "trapped in #editor", where="#editor", hint="let Tab out",
                        rule="keyboard/trap")
    assert rule.finding("maybe trapped", review=True).severity == WARNING  # needs review: never an error
    assert Rule("a/b", WARNING, "").finding("x", review=False).severity == WARNING
    assert rule.finding("x", check="dialog").check == "dialog"
    assert Rule("check/timeout", ERROR, "").of_check("sweep").finding("x").rule == "sweep/timeout"


def test_rules_refuse_a_bad_severity_and_a_second_declaration():
    with pytest.raises(ValueError):
        Rule("a/b", "fatal", "")
    with pytest.raises(ValueError):
        Rules(Rule("a/b", ERROR, ""), Rule("a/b", WARNING, ""))


def _severity_literals(path: Path) -> list[str]:
    """Places in a module that build a Finding with a severity of their own rather than from a rule."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Finding":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_check_makes_a_finding_with_a_severity_of_its_own():
    paths = [p for folder in ("validators", "generator", "runshot") for p in sorted((ROOT / folder).rglob("*.py"))]
    made_by_hand = [where for path in paths if path.name != "rules.py" for where in _severity_literals(path)]
    assert made_by_hand == []


def test_every_own_rule_is_declared_once_with_a_reason():
    rules = own_rules()
    assert len(rules) > 40
    for rule in rules.values():
        assert rule.severity in (ERROR, WARNING) and rule.why, rule.id
        assert "/" in rule.id, rule.id
    assert rules["keyboard/trap"].wcag == ("2.1.2",) and "80af7b" in rules["keyboard/trap"].act
    assert lookup("semantics/unnamed").check == "semantics"
    assert lookup("color-contrast").source == "axe-core"
    assert lookup("no-such/rule") is None


def test_axe_policy_errors_only_for_rules_axe_trusts_and_enables():
    assert axe_rule_severity(["cat.color", "wcag2aa", "wcag143"]) == ERROR
    assert axe_rule_severity(["wcag22aa", "wcag258"], enabled=False) == WARNING  # target-size ships off
    assert axe_rule_severity(["wcag2a", "wcag412"], review_on_fail=True) == WARNING
    assert axe_rule_severity(["wcag2a", "experimental"]) == WARNING
    assert axe_rule_severity(["best-practice"]) == WARNING
    assert wcag_criteria(["wcag2aa", "wcag1410", "wcag143"]) == ("1.4.10", "1.4.3")
    rules = a11y.axe_rules()
    assert rules["target-size"].severity == WARNING
    assert rules["color-contrast"].severity == ERROR and rules["color-contrast"].wcag == ("1.4.3",)
    assert rules["region"].severity == WARNING
    assert rules["image-alt"].act == ("23a2a8",)


def test_axe_rules_read_from_the_source_match_axe_get_rules():
    """What runshot reads out of axe-core's source is what axe-core itself says of its rules."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--disable-gpu", "--disable-quic"])
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><title>t</title><p>x</p>")
            page.evaluate(a11y.axe_source())
            live = {r["ruleId"]: r for r in page.evaluate(
                "() => axe.getRules().map(r => ({ruleId: r.ruleId, tags: r.tags, actIds: r.actIds || []}))")}
        finally:
            browser.close()
    parsed = a11y.axe_rules()
    assert set(parsed) == set(live)
    for rule_id, rule in parsed.items():
        assert rule.act == tuple(live[rule_id]["actIds"]), rule_id
        assert rule.wcag == wcag_criteria(live[rule_id]["tags"]), rule_id


def _runshot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runshot", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


def test_runshot_rules_lists_every_rule_once():
    out = _runshot("rules")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    ids = [line.split()[0] for line in lines]
    assert len(ids) == len(set(ids)) == len(catalogue(load_registry(warn=None), *_generator_rules()))
    trap = next(line for line in lines if line.startswith("keyboard/trap "))
    assert trap.split() == ["keyboard/trap", "keyboard", "error", "2.1.2", "80af7b,a1b64e"]
    assert next(line for line in lines if line.startswith("target-size ")).split()[2] == "warning"
    assert any(line.startswith("format/cut-off ") for line in lines)

    listed = json.loads(_runshot("rules", "--json", "--check", "keyboard").stdout)
    assert listed and {r["check"] for r in listed} == {"keyboard"}
    assert all(r["why"] for r in listed)


def _generator_rules():
    from runshot.generator.formatfindings import RULES as FORMAT_RULES
    from runshot.generator.safepaths import RULES as PATH_RULES

    return FORMAT_RULES, PATH_RULES
