"""mobile/zoom-blocked (WCAG 1.4.4, ACT rule b4f0c3): viewport values that stop zooming, read as the ACT rule reads
them, and the rule through the real Validator (axe-core's meta-viewport reports the common cases first)."""

from __future__ import annotations

import pytest

from runshot.spec import Spec
from runshot.validators.checks.viewport import blocks_zoom, properties
from runshot.validators.runner.project import Validator
from runshot.values import ERROR


@pytest.mark.parametrize("content", [
    "user-scalable=yes", "user-scalable=5", "user-scalable=device-width", "maximum-scale=2.0", "maximum-scale=-1",
    "maximum-scale=device-width", "width=device-width, initial-scale=1", "", "width=device-width; maximum-scale=5",
])
def test_values_that_let_users_zoom(content):
    assert blocks_zoom(content) == ""


@pytest.mark.parametrize("content, why", [
    ("user-scalable=no", "user-scalable=no"), ("user-scalable=0.5", "user-scalable=0.5"),
    ("user-scalable=invalid", "user-scalable=invalid"), ("USER-SCALABLE = False", "user-scalable=false"),
    ("maximum-scale=1.0", "maximum-scale=1.0"), ("maximum-scale=yes", "maximum-scale=yes"),
    ("maximum-scale=invalid", "maximum-scale=invalid"),
    ("user-scalable=yes, initial-scale=0.8, maximum-scale=1.5", "maximum-scale=1.5"),
])
def test_values_that_block_zooming(content, why):
    assert blocks_zoom(content).startswith(why)


def test_properties_are_split_on_commas_semicolons_and_spaces():
    assert properties("width=device-width,initial-scale=1; user-scalable = no") == {
        "width": "device-width", "initial-scale": "1", "user-scalable": "no"}


def _page(folder, content: str) -> None:
    folder.mkdir()
    (folder / "index.html").write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="{content}">'
        '<title>Notes</title></head><body><main><h1>Notes</h1><p>Nothing due today.</p></main></body></html>',
        encoding="utf-8")


def test_the_rule_through_the_validator(tmp_path):
    _page(tmp_path / "word", "width=device-width, user-scalable=invalid")
    _page(tmp_path / "fine", "width=device-width, initial-scale=1, maximum-scale=5")
    with Validator() as validator:
        word = validator.validate(tmp_path / "word", Spec(title="t", body="t", source="test"), checks=["mobile"])
        fine = validator.validate(tmp_path / "fine", Spec(title="t", body="t", source="test"), checks=["mobile"])
    blocked = [f for f in word.findings if f.rule == "mobile/zoom-blocked"]
    assert [(f.severity, f.where) for f in blocked] == [(ERROR, 'meta[name="viewport"]')], word.findings
    assert "user-scalable=invalid" in blocked[0].message and "user-scalable=invalid" in blocked[0].evidence
    assert not [f for f in fine.findings if f.rule == "mobile/zoom-blocked"], fine.findings
