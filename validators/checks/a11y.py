"""Accessibility rules from axe-core, run inside the loaded entry page.

axe is injected with ``page.evaluate(source)`` rather than a script tag, so a page's Content-Security-Policy
cannot block it. The source is the ``axe.min.js`` bundled with the ``axe_playwright_python`` package, or the
file named by ``RUNSHOT_AXE_JS``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import os
import re
from pathlib import Path

from playwright.async_api import Error as PlaywrightError

from runshot.errors import EnvironmentProblem
from runshot.rules import ACCESSIBILITY, AXE, PAGE, Check, Rule, Rules
from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.checks.axe_recheck import recheck
from runshot.validators.checks.axerules import axe_rule_severity, parse_axe_rules
from runshot.validators.browser.context import CheckContext
from runshot.validators.runner.policy import WCAG_TAGS, axe_kind, axe_severity

CHECK = "a11y"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
NODES_PER_RULE = 5
MAX_RECORDED = 25  # elements per rule kept in ctx.info["axe_failures"] for other checks
MAX_REVIEW = 20  # axe rules whose "needs review" results the report lists
RUNSHOT_URLS = "runshot_urls"  # ctx.shared: URLs only axe-core asked for, on any page of this validation

# Findings of axe's rules carry the axe rule id; each is declared by axe-core itself and rated by one policy
# (validators/checks/axerules.py, listed by `runshot rules`). These are the check's own:
RULES = Rules(
    Rule("a11y/not-run", WARNING, "The page broke window.axe: nothing was checked, nothing is known broken."),
)
DECLARED = Check(CHECK, "check_a11y", needs=PAGE, rules=RULES, rank=ACCESSIBILITY)

# Runs axe on the whole document, or only on the elements the given selectors find (a state that changed).
# What axe-core itself fetches while it runs (it reads a stylesheet's @import by XHR, resolving it against the page
# URL, so it may ask for a file no plain load asks for) is noted: a request whose stack runs through runshot's own
# scripts (axe-core as injected, or a script runshot evaluates) and that the page did not make before.
_RUN_AXE = importlib.resources.files("runshot.validators").joinpath("page_scripts", "axe_run.js").read_text(
    encoding="utf-8")


def axe_source_path() -> Path:
    """Where axe.min.js comes from: RUNSHOT_AXE_JS, else the copy bundled with axe_playwright_python."""
    override = os.environ.get("RUNSHOT_AXE_JS")
    if override:
        return Path(override)
    try:
        resource = importlib.resources.files("axe_playwright_python").joinpath("axe.min.js")
    except ModuleNotFoundError:
        raise EnvironmentProblem(
            "axe-core is not available: install axe-playwright-python or set RUNSHOT_AXE_JS to an axe.min.js"
        ) from None
    return Path(str(resource))


@functools.lru_cache(maxsize=4)
def _read_source(path: str) -> tuple[str, str]:
    """axe-core's source (read once per process and path) and the version its banner names ("" if none)."""
    try:
        source = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read axe-core from {path}: {exc.strerror or exc}") from None
    found = re.search(r"axe v(\d[\w.+-]*)", source[:300])
    return source, found.group(1) if found else ""


def axe_source() -> str:
    return _read_source(str(axe_source_path()))[0]


def axe_version() -> str:
    """The version of the axe-core runshot injects ("" when its banner does not say)."""
    return _read_source(str(axe_source_path()))[1]


@functools.lru_cache(maxsize=4)
def _axe_rules_of(path: str) -> Rules:
    return parse_axe_rules(_read_source(path)[0])


def axe_rules() -> Rules:
    """axe-core's rules, as declared in the axe-core source runshot injects, with runshot's severities."""
    return _axe_rules_of(str(axe_source_path()))


def axe_rule(result: dict) -> Rule:
    """The declared rule of one axe result; a rule the source did not show (another axe build) is rated by its
    tags alone."""
    declared = axe_rules().get(result.get("id", ""))
    if declared is not None:
        return declared
    tags = result.get("tags") or ()
    severity = axe_rule_severity(tags) if tags else axe_severity((), result.get("impact") or "")
    return Rule(result.get("id", "axe"), severity, result.get("help", ""), check=CHECK, source=AXE)


# True when this very axe-core already sits in the page (injected earlier): no need to send and compile it again.
_HAS_AXE = "(v) => !!(v && window.axe && typeof window.axe.run === 'function' && window.axe.version === v)"


async def inject_axe(ctx: CheckContext, page, seconds: float) -> None:
    """Put axe-core into `page` with evaluate (a page's CSP cannot block it), unless it is there already."""
    source, version = _read_source(str(axe_source_path()))
    if version and await ctx.within(page.evaluate(_HAS_AXE, version), "looking for axe-core", seconds):
        return
    # Named, so that what axe-core does shows as runshot's in a stack (see _RUN_AXE).
    await ctx.within(evaluate_script(page, source + "\n//# sourceURL=runshot-axe-core.js\n"), "injecting axe-core",
                     seconds)


async def evaluate_script(page, script: str) -> None:
    """Run `script` (a whole script, not a function) in `page`'s main world, as `page.evaluate(script)` does, over
    the DevTools protocol: Playwright's evaluate parses a script in its driver first and hands it on wrapped, which
    for axe-core's half a megabyte was about a quarter of each injection's time. Where the protocol is not
    available, `page.evaluate`. An exception the script throws is a PlaywrightError, as from `page.evaluate`."""
    try:
        session = await page.context.new_cdp_session(page)
    except PlaywrightError:
        await page.evaluate(script)
        return
    try:
        result = await session.send("Runtime.evaluate", {"expression": script, "silent": True})
    finally:
        with contextlib.suppress(PlaywrightError):
            await session.detach()
    thrown = result.get("exceptionDetails")
    if thrown:
        what = (thrown.get("exception") or {}).get("description") or thrown.get("text") or "an exception"
        raise PlaywrightError(f"the script threw: {str(what).splitlines()[0]}")


def target_text(target) -> str:
    """axe gives a list of selectors (a nested list for shadow DOM); make one string of it."""
    parts = []
    for item in target or []:
        parts.append(" >> ".join(item) if isinstance(item, list) else str(item))
    return " >> ".join(parts)


def _fix_line(summary: str) -> str:
    """The first actionable line of axe's failureSummary (skipping 'Fix any of the following:')."""
    lines = [line.strip() for line in (summary or "").splitlines() if line.strip()]
    for line in lines:
        if not line.lower().startswith("fix "):
            return line
    return lines[0] if lines else ""


def fix_hint(rule: dict, node: dict) -> str:
    """What a finding's hint says for one failing element: axe's first fix line and the rule's help page."""
    hint = _fix_line(node.get("summary", ""))
    if rule.get("helpUrl"):
        hint = f"{hint} — {rule['helpUrl']}" if hint else rule["helpUrl"]
    return truncate(hint, 300)


async def run_axe(ctx: CheckContext, page, include: list[str] | None = None) -> dict:
    """axe-core's violations (this check's rule tags) on the whole page, or within the elements `include` names."""
    seconds = max(ctx.timeouts.action * 4, 10.0)
    await inject_axe(ctx, page, seconds)
    options = {
        "runOnly": {"type": "tag", "values": list(TAGS)},
        "resultTypes": ["violations"],
        "iframes": False,
    }
    result = await ctx.within(page.evaluate(_RUN_AXE, [list(include or []), options]), "running axe-core", seconds)
    _attribute(ctx, page, result)
    return await recheck(ctx, page, result, seconds)


def _attribute(ctx: CheckContext, page, result) -> None:
    """Note the URLs axe-core itself requested: what they cause is runshot's doing, never the page's (the runtime
    check and the sweep leave them out)."""
    own = result.get("own") if isinstance(result, dict) else None
    if not own:
        return
    ctx.shared.setdefault(RUNSHOT_URLS, set()).update(own)
    ctx.info["requests_by_runshot"] = sorted(ctx.shared[RUNSHOT_URLS])  # for the report: judged as nobody's
    if page is ctx.page:
        ctx.session.events.runshot_urls.update(own)


def needs_review(result: dict) -> dict[str, dict]:
    """axe-core's "incomplete" results (it could not decide: a human should look) for WCAG A/AA rules, by rule id:
    the rule's help and the first element's selector and HTML. Never findings: axe itself does not fail a page
    on them, and runshot does not either; the report lists them (``info["axe_needs_review"]``)."""
    out: dict[str, dict] = {}
    for rule in result.get("incomplete") or []:
        if not set(rule.get("tags") or ()) & WCAG_TAGS or len(out) >= MAX_REVIEW:
            continue
        node = (rule.get("nodes") or [{}])[0]
        out[rule.get("id", "")] = {"help": rule.get("help", ""), "where": target_text(node.get("target")),
                                   "html": truncate(node.get("html", ""), 200)}
    return out


async def check_a11y(ctx: CheckContext) -> list[Finding]:
    result = await run_axe(ctx, ctx.page)
    if not isinstance(result, dict) or result.get("missing"):
        # The page replaced or broke window.axe: that is the page's doing, not ours.
        return [RULES["a11y/not-run"].finding(
            "axe-core could not run in this page (window.axe was overwritten?)", where=ctx.spec.entry,
            hint="Do not define a global named 'axe'.")]
    ctx.info["axe_version"] = result.get("version", "")
    findings: list[Finding] = []
    failed: dict[str, list[str]] = {}
    reported: dict[str, str] = {}
    for rule in result.get("violations", []):
        nodes = rule.get("nodes") or []
        shown = nodes[:NODES_PER_RULE]
        more = len(nodes) - len(shown)
        tags = rule.get("tags") or []
        kind = axe_kind(tags) if tags else ""
        declared = axe_rule(rule)
        reported[rule["id"]] = declared.severity
        if declared.severity == ERROR:
            failed[rule["id"]] = [target_text(node.get("target")) for node in nodes[:MAX_RECORDED]]
        for i, node in enumerate(shown):
            impact = node.get("impact") or rule.get("impact") or ""
            where = target_text(node.get("target"))
            rating = ", ".join(x for x in (impact or "unrated", kind) if x)
            message = f"axe rule '{rule['id']}' ({rating}): {rule.get('help', '')}"
            if more and i == len(shown) - 1:
                message += f" (and {more} more element{'s' if more > 1 else ''} with the same problem)"
            findings.append(declared.finding(
                message, where=where, hint=fix_hint(rule, node), evidence=truncate(node.get("html", ""), 300)))
    review = needs_review(result)
    if review:
        ctx.info["axe_needs_review"] = review
    # Other checks (semantics) use these to avoid reporting the same problem twice.
    ctx.info["axe_failures"] = failed
    ctx.info["axe_rules"] = reported
    return findings
