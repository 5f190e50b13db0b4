"""Acceptance checks from specs, run in real Chromium: every action and expectation, passing and failing."""

from __future__ import annotations

import asyncio
import textwrap
import time
from pathlib import Path

import pytest

from runshot.errors import UsageError
from runshot.spec import parse_spec_file, parse_spec_text
from runshot.validators.acceptance.check import pytest_files, run_check
from runshot.validators.browser.context import Timeouts
from runshot.validators.runner.project import Validator
from runshot.validators.serve.server import serve
from runshot.values import Finding

FIXTURES = Path(__file__).parent / "fixtures"
PROJECTS = FIXTURES / "projects"
SPECS = FIXTURES / "specs"
TIMEOUTS = Timeouts(load=4.0, action=2.0, check=60.0, settle=0.2)
FAST = Timeouts(load=4.0, action=1.5, check=30.0, settle=0.2)  # for steps meant to fail


@pytest.fixture(scope="module")
def validator():
    with Validator(timeouts=TIMEOUTS) as v:
        yield v


@pytest.fixture(scope="module")
def good_server():
    with serve(PROJECTS / "good") as server:
        yield server


def steps_spec(steps: str, name: str = "case"):
    body = textwrap.indent(textwrap.dedent(steps).strip(), " " * 6)
    return parse_spec_text(f"---\nchecks:\n  - name: {name}\n    steps:\n{body}\n---\nA page.\n")


def run_steps(validator: Validator, server, steps: str, timeouts: Timeouts = FAST) -> Finding | None:
    """Run one acceptance check on a freshly opened page; its failure finding, or None."""
    check = steps_spec(steps).checks[0]
    host = validator.host

    async def go():
        async with host.open_session(server.base_url, "index.html", timeouts=timeouts) as session:
            return await run_check(check, session, server.base_url, timeouts)

    return host.run(go, 30)


def test_every_action_and_expectation_passes_on_the_good_app(validator: Validator) -> None:
    spec = parse_spec_file(SPECS / "counter.md")
    used = {step.action for check in spec.checks for step in check.steps}
    assert used == {"click", "fill", "press", "check", "select", "hover", "wait", "goto", "expect"}
    kinds = {key for check in spec.checks for step in check.steps if step.action == "expect" for key in step.args}
    assert {"visible", "hidden", "text", "value", "count", "attribute", "focused", "url"} <= kinds
    result = validator.validate(PROJECTS / "good", spec, checks=["acceptance"])
    assert result.findings == []
    assert result.passed and result.checks_run == ["acceptance"]
    # test_counter.py beside counter.md ran too, with runshot's Chromium and isolation.
    assert result.info["acceptance_tests"] == {"files": ["test_counter.py"], "tests": 2, "failed": 0}


def test_pytest_acceptance_failures_become_findings(validator: Validator) -> None:
    spec = parse_spec_file(SPECS / "broken.md")
    assert [p.name for p in pytest_files(spec)] == ["test_broken.py", "extra_checks.py"]
    result = validator.validate(PROJECTS / "good", spec, checks=["acceptance"])
    assert not result.passed
    messages = sorted(f.message for f in result.findings)
    assert len(messages) == 2, messages
    assert messages[0].startswith("extra_checks.py::test_has_a_save_button[chromium] failed: AssertionError: no Save")
    assert messages[1].startswith("test_broken.py::test_counter_starts_at_five[chromium] failed: AssertionError")
    broken = [f for f in result.findings if "starts_at_five" in f.message][0]
    assert "Count: 5" in broken.evidence and "Count: 0" in broken.evidence
    assert result.info["acceptance_tests"] == {"files": ["test_broken.py", "extra_checks.py"], "tests": 3, "failed": 2}


PASSING = {
    "role and name, substring and case-insensitive": """
        - click: {role: button, name: incre}
        - expect: {role: status, text: "Count: 1"}
    """,
    "press on whatever has focus": """
        - click: {label: New task}
        - press: {key: Tab}
        - expect: {role: button, name: Add, exact: true, focused: true}
    """,
    "text beside a target filters an action": """
        - click: {role: button, text: Increment}
        - expect: {css: "#count", text: "Count: 1"}
    """,
    "visible false means hidden": """
        - expect: {role: tooltip, visible: false}
        - expect: {css: "#help-tip", count: 1}
    """,
    "checked and disabled: the state now, as the user changed it": """
        - expect: {role: checkbox, name: Dark mode, checked: false}
        - check: {role: checkbox, name: Dark mode}
        - expect: {role: checkbox, name: Dark mode, checked: true, disabled: false}
        - expect: {role: button, name: Increment, disabled: false}
    """,
    "an element that appears later is waited for": """
        - fill: {label: New task, value: Later}
        - press: {label: New task, key: Enter}
        - expect: {role: listitem, text: Later, visible: true}
    """,
}


@pytest.mark.parametrize("steps", PASSING.values(), ids=PASSING.keys())
def test_passing_steps(validator: Validator, good_server, steps: str) -> None:
    assert run_steps(validator, good_server, steps, TIMEOUTS) is None


FAILING = {
    "click on a missing element": (
        "- click: {role: button, name: Launch}",
        "case: step 1 `click: {role: 'button', name: 'Launch'}` failed: expected an element matching "
        'role=button name="Launch", page showed no such element',
    ),
    "exact name": (
        "- click: {role: button, name: Incr, exact: true}",
        'expected an element matching role=button name="Incr", page showed no such element',
    ),
    "fill on a button": (
        "- fill: {role: button, name: Increment, value: x}",
        'expected filling role=button name="Increment" to work, page showed it could not be done within 1.5 s',
    ),
    "press on a missing target": (
        "- press: {label: Search, key: Enter}",
        'expected an element matching label="Search", page showed no such element',
    ),
    "check on a button": (
        "- check: {role: button, name: Help}",
        'expected checking role=button name="Help" to work, page showed it could not be done',
    ),
    "select a missing option": (
        "- select: {label: Color, value: purple}",
        'expected selecting in label="Color" to work, page showed it could not be done',
    ),
    "hover on a missing test id": (
        "- hover: {testid: nothing}",
        'expected an element matching testid="nothing", page showed no such element',
    ),
    "goto a missing page": (
        "- goto: {path: missing.html}",
        "expected /missing.html to load, page showed HTTP 404",
    ),
    "visible text that is not there": (
        "- expect: {text: Game over}",
        'expected text="Game over" to be visible, page showed no element matches text="Game over"',
    ),
    "visible but hidden": (
        '- expect: {css: "#help-tip"}',
        'expected css="#help-tip" to be visible, page showed 1 matching element(s), none of them visible',
    ),
    "hidden but visible": (
        "- expect: {role: button, name: Increment, hidden: true}",
        'to be hidden, page showed 1 visible matching element(s): "Increment"',
    ),
    "text after an action": (
        "- click: {role: button, name: Increment}\n- expect: {role: status, text: 'Count: 5'}",
        "case: step 2 `expect: {role: 'status', text: 'Count: 5'}` failed: expected role=status to contain "
        'the text "Count: 5", page showed the text "Count: 1"',
    ),
    "text in other letter case": (
        "- click: {role: button, name: Increment}\n- expect: {role: status, text: 'count: 1'}",
        'the text "count: 1", page showed the text "Count: 1" (the same words in other letter case: the case must '
        'match)',
    ),
    "value": (
        "- fill: {label: New task, value: Buy milk}\n- expect: {label: New task, value: Buy bread}",
        'expected label="New task" to have the value "Buy bread", page showed the value "Buy milk"',
    ),
    "count": (
        "- expect: {role: listitem, count: 2}",
        'expected 2 element(s) matching role=listitem, page showed 3 matching element(s): "Apple", "Banana", "Cherry"',
    ),
    "attribute value": (
        "- expect: {role: button, name: Reset, attribute: {aria-pressed: true}}",
        'expected role=button name="Reset" to have aria-pressed="true", page showed aria-pressed="false"',
    ),
    "attribute absent": (
        "- expect: {role: button, name: Increment, attribute: {aria-expanded: 'false'}}",
        "page showed aria-expanded=(absent)",
    ),
    "checked, not checked": (
        "- expect: {role: checkbox, name: Dark mode, checked: true}",
        'expected role=checkbox name="Dark mode" to be checked, page showed not checked',
    ),
    "checked, no checkbox": (
        "- expect: {role: button, name: Increment, checked: false}",
        'expected role=button name="Increment" to be not checked, page showed an element that cannot be checked',
    ),
    "disabled, enabled": (
        "- expect: {role: button, name: Increment, disabled: true}",
        'expected role=button name="Increment" to be disabled, page showed enabled',
    ),
    "focused, nothing focused": (
        "- expect: {label: New task, focused: true}",
        'expected label="New task" to have keyboard focus, page showed focus on the page itself (nothing focused)',
    ),
    "focused, something else focused": (
        "- click: {role: button, name: Increment}\n- expect: {label: New task, focused: true}",
        'page showed focus on <button id=increment> "Increment"',
    ),
    "url": (
        "- expect: {url: about.html}",
        'expected the address to contain "about.html", page showed the address http://127.0.0.1:',
    ),
    "invalid css selector": (
        '- expect: {css: "li[[", count: 1}',
        "expected the step to run, page showed an error: ",
    ),
}


def test_a_step_with_nothing_to_find_is_refused_when_the_spec_is_read():
    # A name alone finds nothing (which role?): the spec is refused with the step, before any page opens.
    with pytest.raises(UsageError, match=r"step 1: 'click' needs a target \({role, name}"):
        steps_spec("- click: {name: Save}")
    with pytest.raises(UsageError, match=r"'expect' needs a target"):
        steps_spec("- expect: {visible: true}")


FAILING_AT_ONCE = 4  # failing steps poll until the action deadline: four of them wait side by side


@pytest.fixture(scope="module")
def failing(validator: Validator, good_server) -> dict:
    """Every FAILING case run once, each on a freshly opened page as run_steps does, FAILING_AT_ONCE at a time:
    name -> (its failure finding or None, the seconds it took from its page opening), or what it raised."""
    host = validator.host

    async def every():
        gate = asyncio.Semaphore(FAILING_AT_ONCE)

        async def one(steps: str):
            check = steps_spec(steps).checks[0]
            async with gate:
                started = time.monotonic()
                async with host.open_session(good_server.base_url, "index.html", timeouts=FAST) as session:
                    finding = await run_check(check, session, good_server.base_url, FAST)
                return finding, time.monotonic() - started

        return await asyncio.gather(*(one(steps) for steps, _ in FAILING.values()), return_exceptions=True)

    return dict(zip(FAILING, host.run(every, 30 * len(FAILING) / FAILING_AT_ONCE)))


def outcome(failing: dict, name: str) -> tuple[Finding | None, float]:
    """A FAILING case's (finding, seconds); what it raised, raised again here."""
    if isinstance(failing[name], BaseException):
        raise failing[name]
    return failing[name]


@pytest.mark.parametrize("name", FAILING)
def test_failing_steps_explain_what_was_expected_and_shown(failing, name) -> None:
    finding, seconds = outcome(failing, name)
    message = FAILING[name][1]
    assert seconds < 15  # polls end at the action deadline (generous: shared CPUs)
    assert finding is not None
    assert finding.check == "acceptance" and finding.severity == "error"
    assert message in finding.message
    assert finding.where.startswith("case / step ")
    assert finding.hint
    assert finding.evidence.startswith("- ") and len(finding.evidence) < 1600  # the page's aria snapshot


def test_missing_role_hint_and_evidence(failing) -> None:
    finding, _ = outcome(failing, "click on a missing element")  # - click: {role: button, name: Launch}
    assert "role button" in finding.hint and '"Launch"' in finding.hint
    assert 'button "Increment"' in finding.evidence


def test_each_check_gets_a_fresh_page_and_page_errors_are_reported(validator: Validator, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(
        textwrap.dedent(
            """\
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Buttons</title></head>
            <body><main><h1>Buttons</h1><p role="status">Ready</p>
            <button type="button" onclick="saveAll()">Save</button>
            <button type="button" onclick="document.title = 'busy'; for (;;) {}">Freeze</button>
            </main></body></html>
            """
        ),
        encoding="utf-8",
    )
    spec = parse_spec_text(
        textwrap.dedent(
            """\
            ---
            checks:
              - name: saves
                steps:
                  - click: {role: button, name: Save}
                  - expect: {role: status, text: Saved}
              - name: freezes
                steps:
                  - click: {role: button, name: Freeze}
                  - expect: {role: status, text: Ready}
              - name: still works afterwards
                steps:
                  - expect: {role: heading, name: Buttons}
                  - expect: {role: status, text: Ready}
            ---
            Buttons.
            """
        )
    )
    started = time.monotonic()
    result = validator.validate(tmp_path, spec, checks=["acceptance"])
    assert time.monotonic() - started < 25
    by_check = {f.message.split(":", 1)[0]: f for f in result.findings if f.check == "acceptance"}
    assert set(by_check) == {"saves", "freezes"}, result.findings
    saves = by_check["saves"].message
    assert 'page showed the text "Ready"' in saves
    assert "(meanwhile the page threw: ReferenceError: saveAll is not defined)" in saves
    assert "page showed no answer" in by_check["freezes"].message
    exception = [f for f in result.findings if f.check == "exception"]
    assert [(f.message, f.where) for f in exception] == [
        ("uncaught ReferenceError: saveAll is not defined", "index.html:3")
    ]


def test_no_checks_and_no_test_files_is_no_findings(validator: Validator) -> None:
    spec = parse_spec_text("Just a prompt.")
    assert pytest_files(spec) == []
    result = validator.validate(PROJECTS / "good", spec, checks=["acceptance"])
    assert result.findings == [] and "acceptance_tests" not in result.info
