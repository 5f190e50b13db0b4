"""The expectations spec sentences need, run in real Chromium: box sizes (min_height, min_width), exact text on load,
and the parser's refusal of steps with keys the step language does not know."""

from __future__ import annotations

import asyncio
import textwrap

import pytest

from runshot.errors import UsageError
from runshot.spec import parse_spec_text
from runshot.validators.acceptance.check import run_check
from runshot.validators.browser.context import Timeouts
from runshot.validators.runner.project import Validator
from runshot.validators.serve.server import serve

FAST = Timeouts(load=4.0, action=1.5, check=30.0, settle=0.2)
PAGE = """<!doctype html><html lang="en"><head><title>Sizes</title><style>
  .big { height: 48px; width: 120px; } .small { height: 30px; width: 60px; }
</style></head><body><main>
  <button class="big">Start</button> <button class="big">Stop</button> <button class="small">Tiny</button>
  <p role="status" id="count">0</p>
  <button id="inc" class="big" onclick="document.getElementById('count').textContent = 'Count: 1'">Increment</button>
</main></body></html>"""


def _spec(steps: str):
    body = textwrap.indent(textwrap.dedent(steps).strip(), " " * 6)
    return parse_spec_text(f"---\nchecks:\n  - name: case\n    steps:\n{body}\n---\nA page.\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("sizes")
    (root / "index.html").write_text(PAGE)
    with Validator(timeouts=FAST) as validator, serve(root) as server:
        yield validator, server


def _run(site, steps: str):
    validator, server = site
    check = _spec(steps).checks[0]

    async def go():
        async with validator.host.open_session(server.base_url, "index.html", timeouts=FAST) as session:
            return await run_check(check, session, server.base_url, FAST)

    return validator.host.run(go, 30)


@pytest.mark.parametrize("steps", [
    "- expect: {role: button, name: Start, min_height: 44, min_width: 100}",
    "- expect: {css: .big, min_height: 48}",
    "- expect: {role: status, exact_text: '0'}",
    "- click: {role: button, name: Increment}\n- expect: {role: status, exact_text: 'Count: 1'}",
])
def test_sizes_and_exact_text_that_hold(site, steps):
    assert _run(site, steps) is None


FAILING = {
    "min_height": ("- expect: {role: button, min_height: 44}",
                   'expected role=button to be at least 44 px tall, page showed a box 30 px tall (1 of 4 too small)'),
    "min_width": ("- expect: {role: button, name: Tiny, min_width: 61}",
                  "to be at least 61 px wide, page showed a box 60 px wide"),
    "no element": ("- expect: {role: button, name: Launch, min_height: 44}", 'page showed no visible element matches'),
    "exact_text": ("- expect: {role: status, exact_text: 'Count: 0'}",
                   'expected role=status to show exactly the text "Count: 0", page showed the text "0"'),
}


@pytest.fixture(scope="module")
def failing(site) -> dict:
    """Every FAILING case run once, side by side, each on a freshly opened page as _run does (they poll until the
    action deadline): name -> its finding, or what it raised."""
    validator, server = site

    async def one(steps: str):
        check = _spec(steps).checks[0]
        async with validator.host.open_session(server.base_url, "index.html", timeouts=FAST) as session:
            return await run_check(check, session, server.base_url, FAST)

    async def every():
        return await asyncio.gather(*(one(steps) for steps, _ in FAILING.values()), return_exceptions=True)

    return dict(zip(FAILING, validator.host.run(every, 30)))


@pytest.mark.parametrize("name", FAILING)
def test_sizes_and_exact_text_that_fail_say_what_the_page_showed(failing, name):
    finding = failing[name]
    if isinstance(finding, BaseException):
        raise finding
    assert finding is not None and finding.rule == "acceptance/step-failed"
    assert FAILING[name][1] in finding.message


@pytest.mark.parametrize("step, words", [
    ("- expect: {role: status, text: Hello, World!: null}", "'expect' has an unknown key 'World!'"),
    ("- click: {role: button, name: Go, value: 3}", "'click' has an unknown key 'value'"),
    ("- wait: {ms: 300, role: button}", "'wait' has an unknown key 'role'"),
    ("- expect: {role: button, min_height: 44px}", "'min_height' needs a number of CSS px"),
])
def test_steps_with_unknown_keys_or_bad_sizes_are_spec_errors_that_name_the_key(step, words):
    with pytest.raises(UsageError) as caught:
        _spec(step)
    assert words in caught.value.message and "step 1" in caught.value.message
