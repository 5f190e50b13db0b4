"""Running the steps of one acceptance check on a page, and the finding a failing step becomes.

The actions are those of runshot.vocab.ACTIONS; each has a handler here (`expect` is in acceptance_expect).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Protocol
from urllib.parse import urljoin, urlsplit

from playwright.async_api import Error as PlaywrightError

from runshot.rules import Rule, Rules
from runshot.spec import AcceptanceCheck, Step
from runshot.validators.acceptance.expect import expect_step
from runshot.validators.acceptance.targets import (
    EVIDENCE_LIMIT,
    StepFailed,
    Target,
    as_text,
    find_one,
    first_line,
    parse_target,
    target_forms,
)
from runshot.validators.browser.context import CheckTimeout, PageSession, Timeouts, responds, within
from runshot.validators.browser.context import settle as dom_settle
from runshot.values import ERROR, Finding, truncate
from runshot.vocab import ACTION_NAMES

RULES = Rules(
    Rule("acceptance/step-failed", ERROR, "The spec says what the app must do: an unmet step is broken behaviour."),
)

MAX_WAIT_MS = 10_000


class StepObserver(Protocol):
    """Told about each step as it runs (see acceptance_states); it must never raise."""

    async def before(self, number: int, step: Step) -> None: ...

    async def passed(self, number: int, step: Step) -> None: ...

    async def finished(self) -> None: ...  # every step passed


async def run_check(
    check: AcceptanceCheck,
    session: PageSession,
    base_url: str,
    timeouts: Timeouts,
    observer: StepObserver | None = None,
) -> Finding | None:
    """Run the steps in order on `session`; the first failing step becomes a finding."""
    page = session.page
    errors_before = len(session.events.page_errors)
    for number, step in enumerate(check.steps, 1):
        if observer is not None:
            await observer.before(number, step)
        try:
            await run_step(step, page, base_url, timeouts)
        except StepFailed as failure:
            return await _failure_finding(check, number, step, failure, session, errors_before, timeouts)
        except CheckTimeout as exc:
            failure = StepFailed(
                "the page to respond", f"no answer: {exc} (a script may be stuck in a loop)", "look for endless loops"
            )
            return await _failure_finding(check, number, step, failure, session, errors_before, timeouts)
        except PlaywrightError as exc:  # e.g. an invalid CSS selector or role in the step, a closed page
            failure = StepFailed(
                "the step to run",
                f"an error: {first_line(exc)}",
                "a target needs a valid ARIA role or CSS selector; the page must stay open",
            )
            return await _failure_finding(check, number, step, failure, session, errors_before, timeouts)
        if observer is not None:
            await observer.passed(number, step)
    if observer is not None:
        await observer.finished()
    return None


async def _failure_finding(
    check: AcceptanceCheck,
    number: int,
    step: Step,
    failure: StepFailed,
    session: PageSession,
    errors_before: int,
    timeouts: Timeouts,
) -> Finding:
    message = (
        f"{check.name}: step {number} `{step.describe()}` failed: "
        f"expected {failure.expected}, page showed {failure.shown}"
    )
    thrown = session.events.page_errors[errors_before:]
    if thrown:
        message += f" (meanwhile the page threw: {truncate(thrown[0].get('message', ''), 200)})"
    target = parse_target(step.args, step.action == "expect")
    evidence = await aria_evidence(session.page, target, timeouts)
    return RULES["acceptance/step-failed"].finding(
        message, where=f"{check.name} / step {number}",
        hint=failure.hint or "make the page behave as the step says; acceptance checks run exactly as written",
        evidence=evidence)


async def aria_evidence(page: Any, target: Target | None, timeouts: Timeouts) -> str:
    """The part of the page's accessibility tree around the target's words (or its beginning)."""
    try:
        snapshot = await within(
            page.locator("body").aria_snapshot(timeout=timeouts.action * 1000), timeouts.action + 1, "aria snapshot"
        )
    except Exception:
        return ""
    lines = snapshot.splitlines()
    if len(snapshot) > EVIDENCE_LIMIT and target is not None:
        words = [w.lower() for w in target.words()]
        for i, line in enumerate(lines):
            if any(w in line.lower() for w in words):
                start = max(0, i - 12)
                snapshot = ("…\n" if start else "") + "\n".join(lines[start:])
                break
    return truncate(snapshot, EVIDENCE_LIMIT)


async def run_step(step: Step, page: Any, base_url: str, timeouts: Timeouts) -> None:
    action, args = step.action, step.args
    if action == "wait":
        await asyncio.sleep(min(float(args.get("ms", 0)), MAX_WAIT_MS) / 1000)
        return
    if action == "goto":
        await _goto(page, urljoin(base_url, str(args.get("path", "")).lstrip("/")), timeouts)
        return
    if action == "expect":
        await expect_step(page, args, timeouts)
        return
    target = parse_target(args, for_expect=False)
    if action == "press" and target is None:
        await _do(page.keyboard.press(as_text(args["key"])), "pressing " + as_text(args["key"]), timeouts, page)
        return
    if target is None:
        raise StepFailed(
            "a target such as " + target_forms(),
            "nothing to act on",
            "write the step with a target, e.g. click: {role: button, name: Save}",
        )
    element = await find_one(page, target, timeouts)
    act = _ON_TARGET.get(action)
    if act is None:
        raise StepFailed(f"a known action ({', '.join(ACTION_NAMES)})", f"unknown action {action!r}")
    awaitable, what = act(element, target, args, timeouts.action * 1000)
    await _do(awaitable, what, timeouts, page)


def _click(element: Any, target: Target, args: dict, ms: float) -> tuple[Awaitable[Any], str]:
    return element.click(timeout=ms), f"clicking {target.describe()}"


def _fill(element: Any, target: Target, args: dict, ms: float) -> tuple[Awaitable[Any], str]:
    return element.fill(as_text(args["value"]), timeout=ms), f"filling {target.describe()}"


def _press(element: Any, target: Target, args: dict, ms: float) -> tuple[Awaitable[Any], str]:
    return element.press(as_text(args["key"]), timeout=ms), f"pressing {args['key']}"


def _check(element: Any, target: Target, args: dict, ms: float) -> tuple[Awaitable[Any], str]:
    if args.get("value") is False or args.get("checked") is False:
        return element.uncheck(timeout=ms), f"unchecking {target.describe()}"
    return element.check(timeout=ms), f"checking {target.describe()}"


def _select(element: Any, target: Target, args: dict, ms: float) -> tuple[Awaitable[Any], str]:
    return element.select_option(as_text(args["value"]), timeout=ms), f"selecting in {target.describe()}"


def _hover(element: Any, target: Target, args: dict, ms: float) -> tuple[Awaitable[Any], str]:
    return element.hover(timeout=ms), f"hovering {target.describe()}"


# The actions of runshot.vocab that work on a target element (wait, goto and expect are handled above).
_ON_TARGET = {"click": _click, "fill": _fill, "press": _press, "check": _check, "select": _select, "hover": _hover}


async def _goto(page: Any, url: str, timeouts: Timeouts) -> None:
    try:
        response = await within(
            page.goto(url, wait_until="load", timeout=timeouts.load * 1000), timeouts.load + 2, f"loading {url}"
        )
    except PlaywrightError as exc:
        raise StepFailed(f"{urlsplit(url).path} to load", first_line(exc)) from None
    if response is not None and response.status >= 400:
        raise StepFailed(
            f"{urlsplit(url).path} to load",
            f"HTTP {response.status}",
            f"add the page {urlsplit(url).path.lstrip('/')} to the project",
        )
    await dom_settle(page, 0.08, timeouts.settle, timeouts.action)


async def _do(awaitable: Awaitable[Any], what: str, timeouts: Timeouts, page: Any) -> None:
    try:
        await within(awaitable, timeouts.action + 1, what)
    except (PlaywrightError, CheckTimeout) as exc:
        if not await responds(page, 1.0):
            raise StepFailed(
                "the page to respond",
                f"no answer after {what} (a script is stuck, e.g. an endless loop in an event handler)",
                "make every loop end; never block the page with while(true) or long synchronous work",
            ) from None
        if isinstance(exc, CheckTimeout):
            raise
        log = _call_log(exc)
        raise StepFailed(
            f"{what} to work",
            f"it could not be done within {timeouts.action:g} s" + (f" ({log})" if log else ""),
            "the element must be visible, enabled, not covered by another element, and of the right kind "
            "(fill needs an input, select a <select>, check a checkbox or radio)",
        ) from None


def _call_log(exc: BaseException) -> str:
    """The most telling lines of Playwright's call log (e.g. '<div> intercepts pointer events')."""
    lines = [ln.strip(" -") for ln in str(exc).splitlines() if ln.strip().startswith("-")]
    useful = [ln for ln in lines if ln and not ln.startswith(("waiting for", "attempting", "retrying", "Expect"))]
    picked = (useful or lines)[-2:]
    return truncate("; ".join(dict.fromkeys(picked)), 300)
