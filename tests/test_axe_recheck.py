"""axe-core's avoid-inline-spacing failures looked at again the way the ACT rules judge them
(validators/checks/axe_recheck.py): only text a declaration styles counts, measured against its own font size."""

from __future__ import annotations

import pytest

from runshot.spec import Spec
from runshot.validators.runner.project import ValidationRequest, Validator
from runshot.values import ERROR

PAGE = '<!doctype html><html lang="en"><head><title>Spacing</title></head><body><main>{}</main></body></html>'
TEXT = "The toy brought back fond memories of being lost in the rain forest."
CLEARED = {
    "empty": '<div style="letter-spacing: 0.1em !important"></div><p>Words.</p>',
    "text-in-a-child-that-declares-its-own": f'<div style="word-spacing: 0.1em !important">'
                                             f'<p style="word-spacing: 0.2em !important">{TEXT}</p></div>',
    "measured-against-the-text-size": f'<div style="font-size: 16px; word-spacing: 2px !important">'
                                      f'<p style="font-size: 10px">{TEXT}</p></div>',
}
FAILING = {
    "own-text-too-tight": f'<p style="letter-spacing: 0.1em !important">{TEXT}</p>',
    "inherited-by-text-too-tight": f'<div style="letter-spacing: 0.05em !important"><p>{TEXT}</p></div>',
}


@pytest.fixture(scope="module")
def validator():
    with Validator() as v:
        yield v


@pytest.fixture(scope="module")
def spacing(validator, tmp_path_factory) -> dict:
    """Every case's page validated with a11y once, three at a time (validate_many, which judges as one by one
    does): name -> its avoid-inline-spacing findings."""
    root = tmp_path_factory.mktemp("spacing")
    cases = {**CLEARED, **FAILING}
    requests = []
    for name, body in cases.items():
        folder = root / name
        folder.mkdir()
        (folder / "index.html").write_text(PAGE.format(body), encoding="utf-8")
        requests.append(ValidationRequest(folder, Spec(title=name, body="", source="(none)")))
    results = validator.validate_many(requests, checks=["a11y"], jobs=3)
    assert [r.checks_run for r in results] == [["a11y"]] * len(cases)
    return {name: [f for f in r.findings if f.rule == "avoid-inline-spacing"] for name, r in zip(cases, results)}


@pytest.mark.parametrize("name", list(CLEARED))
def test_a_declaration_that_styles_no_too_tight_text_is_not_a_failure(spacing, name):
    assert spacing[name] == []


@pytest.mark.parametrize("name", list(FAILING))
def test_too_tight_text_still_fails(spacing, name):
    found = spacing[name]
    assert [f.severity for f in found] == [ERROR], found
