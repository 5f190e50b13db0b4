"""The spec's acceptance checks: steps run as written, each check on a freshly loaded page.

A target is `{role, name}` (+ `exact`), `{label}`, `{testid}`, `{css}`, or `{text}` alone. Actions:
click, fill (value), press (key; on the target if given, else on whatever has focus), check, select
(value), hover, wait (ms), goto (path). `expect` names a target the same way plus expectations:
visible (default), hidden, text (contains), value, count, attribute {name: value}, focused, url.

Acceptance tests may also be pytest files beside the spec (pytest-playwright's `page` fixture); they
run in a subprocess against the served app, see `run_pytest_files`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urljoin, urlsplit

from runshot.spec import AcceptanceCheck, Spec, Step
from runshot.vocab import ACTION_NAMES as ACTIONS
from runshot.vocab import EXPECTATIONS, TARGET_KINDS
from runshot.validators.browser import PageLoadError
from runshot.validators.context import CheckContext, CheckTimeout, PageSession, Timeouts, within
from runshot.validators.runtime import findings_from_events
from runshot.values import ERROR, Finding, truncate

CHECK = "acceptance"
EVIDENCE_LIMIT = 1500
MAX_WAIT_MS = 10_000
_TARGET_KINDS = TARGET_KINDS
_EXPECTATIONS = tuple(EXPECTATIONS)
_POLL = 0.1


class StepFailed(Exception):
    """A step did not do what it says; `expected` and `shown` complete the finding's message."""

    def __init__(self, expected: str, shown: str, hint: str = ""):
        super().__init__(f"expected {expected}, page showed {shown}")
        self.expected = expected
        self.shown = shown
        self.hint = hint


@dataclass(frozen=True)
class Target:
    """A step's target, resolved from its arguments."""

    kind: str  # role | label | testid | css | text
    value: str
    name: str | None = None
    exact: bool = False
    has_text: str | None = None  # `text` beside another target key on an action step

    def describe(self) -> str:
        if self.kind == "role":
            out = f"role={self.value}" + (f' name="{self.name}"' if self.name is not None else "")
        else:
            out = f'{self.kind}="{self.value}"'
        if self.has_text is not None:
            out += f' with text "{self.has_text}"'
        return out

    def locator(self, page: Any) -> Any:
        if self.kind == "role":
            if self.name is not None:
                loc = page.get_by_role(self.value, name=self.name, exact=self.exact)
            else:
                loc = page.get_by_role(self.value)
        elif self.kind == "label":
            loc = page.get_by_label(self.value, exact=self.exact)
        elif self.kind == "testid":
            loc = page.get_by_test_id(self.value)
        elif self.kind == "css":
            loc = page.locator(self.value)
        else:
            loc = page.get_by_text(self.value, exact=self.exact)
        if self.has_text is not None:
            loc = loc.filter(has_text=self.has_text)
        return loc

    def words(self) -> list[str]:
        """Words worth finding in an accessibility snapshot."""
        return [w for w in (self.name, self.value if self.kind in ("label", "text") else None, self.has_text) if w]


def parse_target(args: dict, for_expect: bool) -> Target | None:
    exact = bool(args.get("exact", False))
    text = args.get("text")
    for kind in _TARGET_KINDS:
        if kind in args:
            name = args.get("name") if kind == "role" else None
            has_text = None if for_expect or text is None else _s(text)
            return Target(kind, _s(args[kind]), None if name is None else _s(name), exact, has_text)
    if text is not None:
        return Target("text", _s(text), exact=exact)
    return None


def _s(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _norm(text: str) -> str:
    return " ".join((text or "").split())


# ---------------------------------------------------------------- running one check


async def run_check(
    check: AcceptanceCheck, session: PageSession, base_url: str, timeouts: Timeouts
) -> Finding | None:
    """Run the steps in order on `session`; the first failing step becomes a finding."""
    from playwright.async_api import Error as PlaywrightError

    page = session.page
    errors_before = len(session.events.page_errors)
    for number, step in enumerate(check.steps, 1):
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
                f"an error: {_first_line(exc)}",
                "a target needs a valid ARIA role or CSS selector; the page must stay open",
            )
            return await _failure_finding(check, number, step, failure, session, errors_before, timeouts)
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
    return Finding(
        check=CHECK,
        severity=ERROR,
        message=message,
        where=f"{check.name} / step {number}",
        hint=failure.hint or "make the page behave as the step says; acceptance checks run exactly as written",
        evidence=evidence,
    )


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
        await _expect(page, args, timeouts)
        return
    target = parse_target(args, for_expect=False)
    if action == "press" and target is None:
        await _do(page.keyboard.press(_s(args["key"])), "pressing " + _s(args["key"]), timeouts, page)
        return
    if target is None:
        raise StepFailed(
            "a target such as {role, name}, {label}, {testid}, {css} or {text}",
            "nothing to act on",
            "write the step with a target, e.g. click: {role: button, name: Save}",
        )
    element = await _find_one(page, target, timeouts)
    ms = timeouts.action * 1000
    if action == "click":
        await _do(element.click(timeout=ms), f"clicking {target.describe()}", timeouts, page)
    elif action == "fill":
        await _do(element.fill(_s(args["value"]), timeout=ms), f"filling {target.describe()}", timeouts, page)
    elif action == "press":
        await _do(element.press(_s(args["key"]), timeout=ms), f"pressing {args['key']}", timeouts, page)
    elif action == "check":
        if args.get("value") is False or args.get("checked") is False:
            await _do(element.uncheck(timeout=ms), f"unchecking {target.describe()}", timeouts, page)
        else:
            await _do(element.check(timeout=ms), f"checking {target.describe()}", timeouts, page)
    elif action == "select":
        await _do(
            element.select_option(_s(args["value"]), timeout=ms), f"selecting in {target.describe()}", timeouts, page
        )
    elif action == "hover":
        await _do(element.hover(timeout=ms), f"hovering {target.describe()}", timeouts, page)
    else:
        raise StepFailed(f"a known action ({', '.join(ACTIONS)})", f"unknown action {action!r}")


async def _goto(page: Any, url: str, timeouts: Timeouts) -> None:
    from playwright.async_api import Error as PlaywrightError

    try:
        response = await within(
            page.goto(url, wait_until="load", timeout=timeouts.load * 1000), timeouts.load + 2, f"loading {url}"
        )
    except PlaywrightError as exc:
        raise StepFailed(f"{urlsplit(url).path} to load", _first_line(exc)) from None
    if response is not None and response.status >= 400:
        raise StepFailed(
            f"{urlsplit(url).path} to load",
            f"HTTP {response.status}",
            f"add the page {urlsplit(url).path.lstrip('/')} to the project",
        )
    await asyncio.sleep(timeouts.settle)


async def _do(awaitable: Awaitable[Any], what: str, timeouts: Timeouts, page: Any) -> None:
    from playwright.async_api import Error as PlaywrightError

    try:
        await within(awaitable, timeouts.action + 1, what)
    except (PlaywrightError, CheckTimeout) as exc:
        if not await _responds(page):
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


async def _responds(page: Any) -> bool:
    try:
        await within(page.evaluate("() => 1"), 1.0, "a liveness probe")
        return True
    except Exception:  # noqa: BLE001 (stuck, crashed or closed: all mean no)
        return False


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _call_log(exc: BaseException) -> str:
    """The most telling lines of Playwright's call log (e.g. '<div> intercepts pointer events')."""
    lines = [ln.strip(" -") for ln in str(exc).splitlines() if ln.strip().startswith("-")]
    useful = [ln for ln in lines if ln and not ln.startswith(("waiting for", "attempting", "retrying", "Expect"))]
    picked = (useful or lines)[-2:]
    return truncate("; ".join(dict.fromkeys(picked)), 300)


async def _poll(probe: Callable[[], Awaitable[tuple[bool, str]]], timeouts: Timeouts) -> tuple[bool, str]:
    """Call `probe` until it says yes or the action deadline passes; the last answer wins."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeouts.action
    while True:
        ok, shown = await probe()
        if ok or loop.time() >= deadline:
            return ok, shown
        await asyncio.sleep(_POLL)


async def _count(loc: Any, timeouts: Timeouts) -> int:
    return await within(loc.count(), timeouts.action, "counting matching elements")


async def _find_one(page: Any, target: Target, timeouts: Timeouts) -> Any:
    """The element an action works on: waits for a match, prefers visible ones and an exact name."""
    loc = target.locator(page)

    async def present() -> tuple[bool, str]:
        return (await _count(loc, timeouts)) > 0, ""

    found, _ = await _poll(present, timeouts)
    if not found:
        raise StepFailed(f"an element matching {target.describe()}", "no such element", _missing_hint(target))
    visible = loc.filter(visible=True)
    if await _count(visible, timeouts):
        loc = visible
    if not target.exact and target.kind in ("role", "label", "text") and await _count(loc, timeouts) > 1:
        exact = Target(target.kind, target.value, target.name, True, target.has_text).locator(page)
        exact_visible = exact.filter(visible=True)
        if await _count(exact_visible, timeouts):
            loc = exact_visible
    return loc.first


def _missing_hint(target: Target) -> str:
    if target.kind == "role":
        named = f' whose accessible name contains "{target.name}"' if target.name is not None else ""
        return (
            f"the page needs a visible element with role {target.value}{named} "
            f"(a native element such as <button> has its role already; the name comes from its text, "
            f"aria-label or <label>)"
        )
    if target.kind == "label":
        return f'the page needs a form control labelled "{target.value}" (<label for=…> or aria-label)'
    if target.kind == "testid":
        return f'the page needs an element with data-testid="{target.value}"'
    if target.kind == "css":
        return f"the page needs an element matching the CSS selector {target.value}"
    return f'the page needs a visible element showing the text "{target.value}"'


# ---------------------------------------------------------------- expectations


async def _expect(page: Any, args: dict, timeouts: Timeouts) -> None:
    target = parse_target(args, for_expect=True)
    text_is_target = target is not None and target.kind == "text"
    wanted = {k: args[k] for k in _EXPECTATIONS if k in args and not (k == "text" and text_is_target)}
    if "url" in wanted:
        await _expect_url(page, _s(wanted.pop("url")), timeouts)
        if not wanted and target is None:
            return
    if target is None:
        raise StepFailed(
            "a target such as {role, name}, {label}, {testid}, {css} or {text}",
            "nothing to check",
            "write the expectation with a target, e.g. expect: {role: status, text: '1'}",
        )
    if not wanted:
        wanted["visible"] = True
    loc = target.locator(page)
    probes = [_probe_for(key, value, loc, target, page, timeouts) for key, value in wanted.items()]

    async def all_hold() -> tuple[bool, str]:
        for expected, probe in probes:
            ok, shown = await probe()
            if not ok:
                return False, f"{expected}\x00{shown}"
        return True, ""

    ok, detail = await _poll(all_hold, timeouts)
    if not ok:
        expected, shown = detail.split("\x00", 1)
        raise StepFailed(expected, shown, _expect_hint(target, detail))


def _expect_hint(target: Target, detail: str) -> str:
    if "no element matches" in detail:
        return _missing_hint(target)
    return "after the steps before it, the page must show exactly this; update the page's state and text accordingly"


async def _expect_url(page: Any, part: str, timeouts: Timeouts) -> None:
    async def probe() -> tuple[bool, str]:
        return part in page.url, f"the address {page.url}"

    ok, shown = await _poll(probe, timeouts)
    if not ok:
        raise StepFailed(
            f'the address to contain "{part}"', shown, "navigate (a link or location change) as the step says"
        )


def _probe_for(key: str, value: Any, loc: Any, target: Target, page: Any, timeouts: Timeouts):
    desc = target.describe()

    async def count() -> int:
        return await _count(loc, timeouts)

    async def texts(limit: int = 3) -> list[str]:
        found = await within(loc.all_inner_texts(), timeouts.action, "reading text")
        return [_norm(t) for t in found[:limit]]

    async def pick() -> Any | None:
        visible = loc.filter(visible=True)
        if await _count(visible, timeouts):
            return visible.first
        return loc.first if await count() else None

    def none_match() -> tuple[bool, str]:
        return False, f"no element matches {desc}"

    if key == "visible" and value is False:
        key, value = "hidden", True
    if key == "hidden" and value is False:
        key, value = "visible", True

    if key == "visible":
        async def probe() -> tuple[bool, str]:
            n = await count()
            if n == 0:
                return none_match()
            shown = await _count(loc.filter(visible=True), timeouts)
            return shown > 0, f"{n} matching element(s), none of them visible"
        return f"{desc} to be visible", probe

    if key == "hidden":
        async def probe() -> tuple[bool, str]:
            shown = await _count(loc.filter(visible=True), timeouts)
            if shown == 0:
                return True, ""
            return False, f"{shown} visible matching element(s): {_quote_list(await texts())}"
        return f"{desc} to be hidden", probe

    if key == "text":
        want = _norm(_s(value))

        async def probe() -> tuple[bool, str]:
            if await count() == 0:
                return none_match()
            got = await texts(1000)
            if any(want in t for t in got):
                return True, ""
            return False, f"the text {_quote_list(got[:5])}"
        return f'{desc} to contain the text "{want}"', probe

    if key == "value":
        want = _s(value)

        async def probe() -> tuple[bool, str]:
            element = await pick()
            if element is None:
                return none_match()
            try:
                got = await within(element.input_value(timeout=timeouts.action * 1000), timeouts.action + 1, "value")
            except CheckTimeout:
                raise
            except Exception as exc:  # not an input, select or textarea
                return False, f"an element without a value ({_first_line(exc)})"
            return got == want, f'the value "{got}"'
        return f'{desc} to have the value "{want}"', probe

    if key == "count":
        try:
            want_n = int(value)
        except (TypeError, ValueError):
            want_n = -1

        async def probe() -> tuple[bool, str]:
            n = await count()
            return n == want_n, f"{n} matching element(s)" + (f": {_quote_list(await texts())}" if n else "")
        return f"{want_n} element(s) matching {desc}", probe

    if key == "attribute":
        wanted = {str(k): _s(v) for k, v in (value or {}).items()} if isinstance(value, dict) else {}

        async def probe() -> tuple[bool, str]:
            element = await pick()
            if element is None:
                return none_match()
            for name, want in wanted.items():
                got = await within(
                    element.get_attribute(name, timeout=timeouts.action * 1000), timeouts.action + 1, "attribute"
                )
                if got != want:
                    return False, f"{name}=" + ("(absent)" if got is None else f'"{got}"')
            return True, ""
        shown_want = ", ".join(f'{k}="{v}"' for k, v in wanted.items()) or "(no attribute given)"
        return f"{desc} to have {shown_want}", probe

    if key == "focused":
        want_focus = value is not False

        async def probe() -> tuple[bool, str]:
            element = await pick()
            if element is None:
                return none_match()
            focused = await within(
                element.evaluate("el => el === document.activeElement || el.contains(document.activeElement) && "
                                 "document.activeElement !== document.body"),
                timeouts.action,
                "reading focus",
            )
            if focused == want_focus:
                return True, ""
            active = await within(page.evaluate(_ACTIVE_ELEMENT), timeouts.action, "reading focus")
            return False, f"focus on {active}"
        return f"{desc} to {'have' if want_focus else 'not have'} keyboard focus", probe

    async def unknown() -> tuple[bool, str]:
        return False, f"an unknown expectation {key!r}"
    return f"a known expectation ({', '.join(_EXPECTATIONS)})", unknown


_ACTIVE_ELEMENT = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "the page itself (nothing focused)";
  const name = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim().slice(0, 40);
  return "<" + el.tagName.toLowerCase() + (el.id ? " id=" + el.id : "") + ">" + (name ? ' "' + name + '"' : "");
}"""


def _quote_list(items: list[str]) -> str:
    if not items:
        return "(none)"
    return ", ".join(f'"{truncate(t, 120)}"' for t in items)


# ---------------------------------------------------------------- the check


async def check_acceptance(ctx: CheckContext) -> list[Finding]:
    """Every acceptance check of the spec on a fresh page, then the spec's pytest acceptance files."""
    started = time.monotonic()
    findings: list[Finding] = []
    for check in ctx.spec.checks:
        try:
            async with ctx.open_session() as session:
                failure = await run_check(check, session, ctx.base_url, ctx.timeouts)
                if failure is not None:
                    findings.append(failure)
                findings.extend(findings_from_events(session.events, ctx.base_url, ctx.project_dir))
        except (CheckTimeout, PageLoadError) as exc:
            findings.append(
                Finding(CHECK, ERROR, f"{check.name}: the page could not be loaded for this check ({exc})")
            )
            break
    files = pytest_files(ctx.spec)
    if files:
        budget = ctx.timeouts.check - (time.monotonic() - started) - 1
        findings.extend(
            await run_pytest_files(
                files, ctx.base_url, max(budget, 5.0), ctx.timeouts, chromium=ctx.info.get("chromium"), info=ctx.info
            )
        )
    return findings


# ---------------------------------------------------------------- pytest acceptance files


def pytest_files(spec: Spec) -> list[Path]:
    """test_*.py files in the spec's folder named after the spec (test_<stem>.py, test_<stem>_*.py), plus `tests:`."""
    folder = spec.folder
    if folder is None or not Path(folder).is_dir():
        return []
    folder = Path(folder).resolve()
    found: list[Path] = []
    if spec.source != "prompt":
        stem = Path(spec.source).stem
        found += sorted(folder.glob(f"test_{stem}.py")) + sorted(folder.glob(f"test_{stem}_*.py"))
    listed = spec.extra.get("tests") or []
    if isinstance(listed, str):
        listed = [listed]
    for name in listed:
        path = (folder / str(name)).resolve()
        if path.is_file() and path.is_relative_to(folder) and path.suffix == ".py":
            found.append(path)
    return list(dict.fromkeys(found))


async def run_pytest_files(
    files: list[Path],
    base_url: str,
    deadline: float,
    timeouts: Timeouts,
    chromium: str | None = None,
    info: dict | None = None,
) -> list[Finding]:
    """Run pytest on `files` against `base_url` in a subprocess; each failing test is a finding.

    `info`, when given, receives {"acceptance_tests": {"files", "tests", "failed"}}.
    """
    findings: list[Finding] = []
    summary = {"files": [f.name for f in files], "tests": 0, "failed": 0}
    if info is not None:
        info["acceptance_tests"] = summary
    with tempfile.TemporaryDirectory(prefix="runshot-pytest-") as tmp:
        report = Path(tmp) / "report.xml"
        folder = files[0].parent
        command = [
            sys.executable, "-m", "pytest", *map(str, files),
            "-q", "-p", "no:cacheprovider", "-p", "runshot.validators.pytest_page",
            "-c", os.devnull, "--rootdir", str(folder), "-o", "python_files=*.py",
            f"--base-url={base_url}", f"--junitxml={report}", "--tb=short",
        ]  # fmt: skip
        if not _module_exists("runshot.pytest_plugin"):
            command[4:4] = ["-p", "no:runshot"]
        env = dict(os.environ)
        env["RUNSHOT_ACTION_TIMEOUT_MS"] = str(int(timeouts.action * 1000))
        env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        if chromium:
            env["RUNSHOT_CHROMIUM"] = chromium
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(folder),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        names = ", ".join(f.name for f in files)
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), timeout=deadline)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            with _suppress_oserror():
                os.killpg(proc.pid, signal.SIGKILL)
            with _suppress_oserror():
                await asyncio.wait_for(proc.wait(), 5)
            if isinstance(exc, asyncio.CancelledError):
                raise
            message = f"the pytest acceptance tests ({names}) did not finish within {deadline:.0f} s"
            return [Finding(CHECK, ERROR, message)]
        text = output.decode("utf-8", "replace")
        if report.is_file():
            findings += _junit_failures(report, summary)
        if not findings and proc.returncode not in (0, 5):
            findings.append(
                Finding(
                    CHECK,
                    ERROR,
                    f"the pytest acceptance tests ({names}) could not run (exit code {proc.returncode})",
                    evidence=truncate(text[-EVIDENCE_LIMIT:], EVIDENCE_LIMIT),
                )
            )
    return findings


def _junit_failures(report: Path, summary: dict) -> list[Finding]:
    findings = []
    try:
        root = ET.parse(report).getroot()
    except ET.ParseError:
        return []
    for case in root.iter("testcase"):
        summary["tests"] += 1
        if case.find("failure") is not None or case.find("error") is not None:
            summary["failed"] += 1
        for problem in list(case.findall("failure")) + list(case.findall("error")):
            module = case.get("classname", "").rsplit(".", 1)[-1]
            name = case.get("name", "?")
            text = (problem.get("message") or "").strip()
            first = text.splitlines()[0] if text else problem.tag
            findings.append(
                Finding(
                    check=CHECK,
                    severity=ERROR,
                    message=f"{module}.py::{name} failed: {truncate(first, 300)}",
                    where=f"{module}.py::{name}",
                    hint="the page must pass the spec's acceptance tests as written",
                    evidence=truncate(text or (problem.text or ""), EVIDENCE_LIMIT),
                )
            )
    return findings


def _module_exists(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _suppress_oserror() -> contextlib.AbstractContextManager:
    return contextlib.suppress(OSError, asyncio.TimeoutError)
