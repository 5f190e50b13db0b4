"""What a page did at run time, as findings; the blank-page check; screenshots."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from runshot.validators.browser.chromium import DIALOG_CAP
from runshot.validators.browser.context import CheckContext, PageEvents, Timeouts, within
from runshot.rules import BLOCKING, PAGE, Check, Rule, Rules
from runshot.values import ERROR, WARNING, Finding, truncate

CHECK = "runtime"
MAX_PER_KIND = 10  # findings of one kind from one page; the rest are summarised

# The page's own run-time record. Findings keep their historical check names (exception, request, network,
# console, crash, blank); every one carries a runtime/* rule.
RULES = Rules(
    Rule("runtime/exception", ERROR, "An uncaught exception stops the rest of that script.", check="exception"),
    Rule("runtime/request-failed", ERROR, "A file the app asks for is missing or failing.", check="request"),
    Rule("runtime/blocked-request", ERROR, "The app reaches outside itself; it must work offline.", check="network"),
    Rule("runtime/console-error", ERROR, "The app itself reports that something went wrong.", check="console"),
    Rule("runtime/crash", ERROR, "The renderer died.", check="crash"),
    Rule("runtime/blank", ERROR, "Nothing at all is rendered.", check="blank"),
    Rule("runtime/alert", WARNING, "Alert/confirm/prompt work, but block the page: a usability problem."),
    Rule("runtime/more", ERROR, "The summary line for more problems of an error kind than are listed."),
    Rule("runtime/outside-blocked", WARNING, "An existing app loads from a host the check may not reach: the page "
         "was judged without it, which is the environment's doing, not the app's defect.", check="network"),
)
DECLARED = Check(CHECK, "check_blank", needs=PAGE, rules=RULES, rank=BLOCKING)
_IGNORED_FAILURES = ("net::ERR_ABORTED",)  # navigation away, AbortController, a closed page
_FRAME = re.compile(r"\(?((?:https?|blob):[^\s()]+?):(\d+):(\d+)\)?\s*$")


def where_for(url: str, line: int | None, base_url: str, project_dir: Path | None = None) -> str:
    """`file:line` relative to the project for the app's own URLs; other URLs as they are."""
    if not url:
        return ""
    own = _own_path(url, base_url, project_dir)
    place = own if own is not None else url
    return f"{place}:{line}" if line else place


def _own_path(url: str, base_url: str, project_dir: Path | None) -> str | None:
    base = urlsplit(base_url)
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return None
    path = unquote(parts.path) or "/"
    prefix = unquote(base.path) or "/"
    rel = path[len(prefix):] if path.startswith(prefix) else path.lstrip("/")
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    elif project_dir is not None and (project_dir / rel).is_dir():
        rel += "/index.html"
    return rel


def _first_frame(stack: str, base_url: str, project_dir: Path | None) -> str:
    """The innermost stack frame in the app's own files, as `file:line`."""
    fallback = ""
    for line in (stack or "").splitlines()[1:]:
        m = _FRAME.search(line.strip())
        if not m:
            continue
        url, lineno = m.group(1), int(m.group(2))
        own = _own_path(url, base_url, project_dir)
        if own is not None:
            return f"{own}:{lineno}"
        fallback = fallback or f"{url}:{lineno}"
    return fallback


def about_runshot_requests(entry: dict, urls: set[str]) -> bool:
    """Whether a console line only reports a request runshot's own scripts made (see PageEvents.runshot_urls)."""
    return bool(urls) and entry.get("url") in urls and entry.get("text", "").startswith("Failed to load resource")


def without_runshot_activity(events: PageEvents) -> PageEvents:
    """`events` without what runshot itself caused: requests only its own scripts made, and their console lines."""
    urls = events.runshot_urls
    if not urls:
        return events
    out = events.since({})
    out.failed_requests = [f for f in events.failed_requests if f.get("url") not in urls]
    out.console_errors = [c for c in events.console_errors if not about_runshot_requests(c, urls)]
    return out


def findings_from_events(events: PageEvents, base_url: str, project_dir: Path | None = None,
                         outside: str = ERROR) -> list[Finding]:
    """Console errors, uncaught exceptions, failed and blocked requests, dialogs and crashes as findings.

    `outside`: ERROR for an app that must be self-contained (a generated one); WARNING for an existing app,
    whose blocked outside hosts are then said once per host (`runtime/outside-blocked`)."""
    events = without_runshot_activity(events)
    blocked_urls = {b["url"] for b in events.blocked_requests}
    failed_urls = {f["url"] for f in events.failed_requests}
    findings = _exception_findings(events, base_url, project_dir)
    findings += _request_findings(events, blocked_urls, base_url, project_dir)
    findings += _blocked_findings(events, outside)
    findings += _console_findings(events, failed_urls | blocked_urls, base_url, project_dir)
    findings += _dialog_findings(events)
    if events.crashed:
        findings.append(
            RULES["runtime/crash"].finding(
                "the page crashed (the renderer ran out of memory or failed)",
                hint="look for runaway loops that allocate memory, or huge arrays/strings built at start-up")
        )
    return findings


def _exception_findings(events: PageEvents, base_url: str, project_dir: Path | None) -> list[Finding]:
    """Uncaught exceptions and unhandled rejections."""
    findings: list[Finding] = []
    for err in events.page_errors[:MAX_PER_KIND]:
        message = err.get("message") or "an uncaught error"
        stack = err.get("stack") or ""
        findings.append(
            RULES["runtime/exception"].finding(
                f"uncaught {message}" if not message.lower().startswith("uncaught") else message,
                where=_first_frame(stack, base_url, project_dir),
                hint="fix the code that throws; an uncaught error stops the rest of that script",
                evidence=truncate(stack, 800) if stack else "")
        )
    return findings + _overflow("exception", len(events.page_errors))


def _request_findings(events: PageEvents, blocked_urls: set[str], base_url: str,
                      project_dir: Path | None) -> list[Finding]:
    """Requests that reached our server (or tried to) and failed."""
    failed = [
        f for f in events.failed_requests
        if f["url"] not in blocked_urls
        and ("status" in f or not str(f.get("failure", "")).startswith(_IGNORED_FAILURES))
    ]
    findings: list[Finding] = []
    for req in failed[:MAX_PER_KIND]:
        own = _own_path(req["url"], base_url, project_dir)
        shown = own if own is not None else req["url"]
        if "status" in req:
            reason = f"{req['status']} {req.get('status_text') or ''}".strip()
        else:
            reason = str(req.get("failure") or "failed")
        if own is not None and req.get("status") == 404:
            hint = f"the project has no file {own}: add it or fix the reference"
        else:
            hint = "make sure the file exists in the project and the URL is right"
        findings.append(
            RULES["runtime/request-failed"].finding(
                f"{req.get('method', 'GET')} {shown} failed: {reason}", where=shown, hint=hint)
        )
    return findings + _overflow("request", len(failed))


def _blocked_findings(events: PageEvents, outside: str) -> list[Finding]:
    """Attempts to reach anything outside the app (once per URL; once per host for an existing app)."""
    seen: set[str] = set()
    blocked = []
    for b in events.blocked_requests:
        if b["url"] not in seen:
            seen.add(b["url"])
            blocked.append(b)
    findings: list[Finding] = []
    if outside == WARNING:
        blocked, findings = [], outside_blocked(blocked)
    for b in blocked[:MAX_PER_KIND]:
        kind = b.get("kind") or "request"
        findings.append(
            RULES["runtime/blocked-request"].finding(
                f"blocked {kind} to {b['url']}: the app must be self-contained and work offline", where=b["url"],
                hint="ship the file inside the project (no CDN, no external API, no tracking); "
                "use relative paths such as ./data.json")
        )
    return findings + _overflow("network", len(blocked))


def _console_findings(events: PageEvents, repeated: set[str], base_url: str,
                      project_dir: Path | None) -> list[Finding]:
    """Console errors, minus the ones that only repeat a failed or blocked request (`repeated`)."""
    console = [
        c for c in events.console_errors
        if not (c.get("text", "").startswith("Failed to load resource") and c.get("url") in repeated)
    ]
    findings: list[Finding] = []
    for c in console[:MAX_PER_KIND]:
        findings.append(
            RULES["runtime/console-error"].finding(
                f"console error: {truncate(c.get('text', ''), 500)}",
                where=where_for(c.get("url", ""), c.get("line"), base_url, project_dir),
                hint="a working app logs no errors; fix the cause rather than removing the log")
        )
    return findings + _overflow("console", len(console))


def _dialog_findings(events: PageEvents) -> list[Finding]:
    """JavaScript dialogs block the page and the user: one warning per kind of dialog."""
    by_type: dict[str, list[dict]] = {}
    for d in events.dialogs:
        by_type.setdefault(d.get("type", "dialog"), []).append(d)
    findings: list[Finding] = []
    for kind, items in by_type.items():
        count = f"{len(items)}" + ("+" if len(events.dialogs) >= DIALOG_CAP else "")
        first = truncate(items[0].get("message", ""), 120)
        findings.append(
            RULES["runtime/alert"].finding(
                f"the page opened {count} {kind}() dialog(s), first: {first!r}",
                hint="show messages inside the page (a status line or a <dialog> element) instead of "
                "alert/confirm/prompt, which block the page")
        )
    return findings


def outside_blocked(blocked: list[dict]) -> list[Finding]:
    """One warning per outside host the browser was kept from (an existing app checked where it may not go)."""
    hosts: dict[str, list[str]] = {}
    for b in blocked:
        host = urlsplit(b["url"]).hostname or b["url"]
        hosts.setdefault(host, []).append(b.get("kind") or "request")
    return [
        RULES["runtime/outside-blocked"].finding(
            f"blocked {len(kinds)} request(s) to {host} ({', '.join(sorted(set(kinds)))}): the page was judged "
            "without them", where=host, hint=f"to judge the page with them, let the host through: --allow-host {host}")
        for host, kinds in hosts.items()
    ]


def _overflow(check: str, total: int) -> list[Finding]:
    if total <= MAX_PER_KIND:
        return []
    return [
        RULES["runtime/more"].finding(
            f"{total - MAX_PER_KIND} more {check} problems of this kind not listed", check=check)
    ]


# Visible content: text whose own boxes have a size on the page (in the document or an open shadow root, wherever
# its parent is, <body> included), a media/form element with a size, or an element showing a CSS background image.
_BLANK_PROBE = resources.files("runshot.validators").joinpath("page_scripts", "blank_probe.js").read_text(
    encoding="utf-8")


async def check_blank(ctx: CheckContext) -> list[Finding]:
    """An error when nothing is visible: no visible text (shadow roots included), no visible
    canvas/svg/img/video/control with a size, and no element showing a background image."""
    result = await ctx.within(ctx.page.evaluate(_BLANK_PROBE), "looking for visible content")
    if result["text"] or result["media"] or result.get("background"):
        return []
    return [
        RULES["runtime/blank"].finding(
            "blank page: nothing visible was rendered (no visible text, image, canvas or control)",
            where=ctx.spec.entry,
            hint="render the interface on load; check that the script runs, targets elements that exist, "
            "and that nothing is hidden with display:none, opacity:0 or zero size",
            evidence=truncate(result.get("html", ""), 1200))
    ]


async def screenshot(page: Any, path: Path, timeouts: Timeouts) -> Path:
    """Save a PNG of the viewport within the action deadline (raises CheckTimeout when the page is stuck)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    await within(
        page.screenshot(path=str(path), animations="disabled", caret="hide", timeout=timeouts.action * 1000),
        timeouts.action + 1,
        "taking a screenshot",
    )
    return path
