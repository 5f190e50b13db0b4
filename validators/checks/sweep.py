"""Click every visible button and in-app link once: none may throw, log an error, freeze or crash the page.

One isolated page is walked: each control is clicked on the page in its loaded state; the page is reloaded
(storage cleared) only when a click changed it (a cheap signature of the document and storage differs) and is
replaced when a click froze it. What a click made appear (a panel, the next step, a game-over screen) is run
through axe-core as a state of its own, for the first few clicks that change something (see
``states.check_state``): those findings carry axe rule ids and say "After clicking …".
Links that leave the app (another origin) are never clicked. A click that loads another document (a link to
another page of the site, a form sent) is not an in-page action: nothing that happens there is blamed on the
control. Console lines that only report a request runshot blocked, or one runshot's own scripts made, blame
nothing either. Repeated controls (same kind and name, e.g. twenty "Delete" buttons) are tried once.
"""

from __future__ import annotations

from playwright.async_api import Error as PlaywrightError

from runshot.rules import ISOLATED, Check, Rule, Rules
from runshot.values import ERROR, Finding, truncate
from runshot.validators.checks import a11y
from runshot.validators.browser.chromium import PageLoadError
from runshot.validators.browser.context import CheckContext, CheckTimeout
from runshot.validators.browser.domtools import budget_for, clickable, js, label, short_url
from runshot.validators.browser.states import Walk, check_state, not_reported_on_load, seen_keys

CHECK = "sweep"
RULES = Rules(
    Rule("sweep/freeze", ERROR, "The click handler never gives the page back (an endless loop)."),
    Rule("sweep/exception", ERROR, "The click throws an uncaught exception."),
    Rule("sweep/console-error", ERROR, "The click logs an error to the console."),
    Rule("sweep/crash", ERROR, "The page crashed after the click."),
)
DECLARED = Check(CHECK, "check_sweep", needs=ISOLATED, rules=RULES)
# Findings for what a click made appear carry axe rule ids (e.g. "label", "color-contrast").
MAX_CONTROLS = 12
MAX_STATES = 3  # clicks whose result is run through axe-core

_CONTROLS = r"""
const out = [];
const seen = new Set();
const SEL = 'button,[role=button],input[type=button],input[type=submit],input[type=reset],summary,a[href],[role=link],[role=tab],[role=menuitem]';
for (const el of document.querySelectorAll(SEL)) {
  if (!RS.shown(el) || RS.inert(el) || el.closest('[aria-disabled=true]')) continue;
  if (el.localName === 'a') {
    const href = el.getAttribute('href') || '';
    if (el.hasAttribute('download')) continue;
    if (!/^\s*javascript:/i.test(href)) {
      let u;
      try { u = new URL(href, location.href); } catch (e) { continue; }
      if (u.origin !== location.origin) continue;  // leaves the app: not ours to click
      if (el.target && el.target !== '_self') continue;  // would open another window
      if (RS.jumpTarget(el)) continue;  // a plain jump to an element on this page only scrolls
    }
  }
  const d = RS.desc(el);
  const key = d.tag + '|' + d.role + '|' + d.name.toLowerCase() + '|' + (el.getAttribute('href') || '');
  if (seen.has(key)) continue;
  seen.add(key);
  out.push(d);
}
return out;
"""


def _first_line(text: str) -> str:
    text = (text or "").strip()
    return text.splitlines()[0] if text else ""


def _navigation_recorder(page, into: list[str]):
    """A request listener noting the URLs of navigations of `page`'s main frame (another document loading)."""
    def on_request(request) -> None:
        try:
            if request.is_navigation_request() and request.frame == page.main_frame:
                into.append(request.url)
        except PlaywrightError:
            pass
    return on_request


def _about_request(line: dict, events, ctx: CheckContext) -> bool:
    """A console line that only reports a request runshot blocked (outside the app) or that runshot's own scripts
    made: the runtime check reports the blocked request once; runshot's own are nobody's fault."""
    if not (line.get("text") or "").startswith("Failed to load resource"):
        return False
    url = line.get("url")
    return (any(b.get("url") == url for b in events.blocked_requests) or url in events.runshot_urls
            or url in (ctx.shared.get(a11y.RUNSHOT_URLS) or ()))


async def _click(walk: Walk, control: dict) -> tuple[bool, CheckTimeout | None, bool, bool]:
    """Click `control` and wait for the page to settle: (clicked, what froze or None, page back as loaded,
    another document loaded)."""
    ctx, page = walk.ctx, walk.page
    loc = page.locator(control["sel"]).first  # a control no longer there is not clickable (see clickable)
    froze: CheckTimeout | None = None
    clicked = True
    navigations: list[str] = []
    on_request = _navigation_recorder(page, navigations)
    page.on("request", on_request)
    try:
        try:
            if await clickable(ctx, page, control["sel"]):
                await ctx.within(loc.click(timeout=ctx.timeouts.action * 800), "clicking the control")
            else:
                clicked = False  # off screen or covered: Playwright would wait out its timeout to say so
        except CheckTimeout as exc:
            froze = exc
        except PlaywrightError:
            clicked = False  # not clickable (covered, detached), or the click handler never returned
        same = True
        if froze is None:
            try:
                same = await walk.settle_and_compare()  # a navigation is compared too: its events still arrive
            except CheckTimeout as exc:
                froze = exc
    finally:
        page.remove_listener("request", on_request)
    return clicked, froze, same, bool(navigations)


async def _try(walk: Walk, control: dict, states: dict) -> list[Finding]:
    ctx = walk.ctx
    await walk.restore()
    page = walk.page
    session = walk.session
    if states["left"] > 0:  # what the click makes appear is only needed for a state still to be judged
        await walk.watch()
    mark = session.events.mark()
    clicked, froze, same, navigated = await _click(walk, control)
    if navigated:
        # The click loaded another document (a link to another page, a form sent, a reload): not an in-page
        # action. What happens there belongs to that page, not to this control.
        walk.dirty = True
        ctx.info["sweep_navigations"] = ctx.info.get("sweep_navigations", 0) + 1
        return []
    new = session.events.since(mark)
    new.console_errors = [c for c in new.console_errors if not _about_request(c, session.events, ctx)]
    who = label(control)
    findings: list[Finding] = []
    if froze is not None:
        await walk.fresh()
        findings.append(RULES["sweep/freeze"].finding(
            f"Clicking {who} froze the page ({froze.what} took over {froze.seconds:g} s)", where=control["sel"],
            hint="Look for an endless loop in this control's click handler.",
            evidence=truncate(control.get("html", ""), 300)))
    elif not same and clicked and states["left"] > 0:
        changed = await walk.changes()
        if changed and changed["scope"]:  # None: the click loaded another document
            states["left"] -= 1
            findings += await check_state(ctx, page, f"after clicking {who}", changed["scope"], states["seen"],
                                          check=CHECK)
    if not clicked and froze is None and not new.page_errors and not new.console_errors:
        return findings  # the keyboard check judges whether controls can be reached
    seen: set[str] = set()
    for err in new.page_errors:
        msg = _first_line(err.get("message", "")) or "unknown error"
        if msg in seen:
            continue
        seen.add(msg)
        findings.append(RULES["sweep/exception"].finding(
            f"Clicking {who} throws an uncaught exception: {truncate(msg, 200)}", where=control["sel"],
            hint="Fix the exception in this control's click handler (see the stack).",
            evidence=truncate((err.get("stack") or msg), 400)))
    for err in new.console_errors:
        text = err.get("text", "")
        if text in seen:
            continue
        seen.add(text)
        at = f" at {short_url(err['url'], ctx.base_url)}:{int(err.get('line', 0)) + 1}" if err.get("url") else ""
        findings.append(RULES["sweep/console-error"].finding(
            f"Clicking {who} logs a console error{at}: {truncate(_first_line(text), 200)}", where=control["sel"],
            hint="Fix what this control's click handler does wrong.", evidence=truncate(text, 400)))
    if new.crashed:
        findings.append(RULES["sweep/crash"].finding(
            f"Clicking {who} crashes the page", where=control["sel"],
            hint="Look for runaway memory use in this control's click handler."))
        await walk.fresh()
    return findings


async def _try_guarded(walk: Walk, control: dict, states: dict) -> list[Finding]:
    try:
        return await _try(walk, control, states)
    except PlaywrightError:
        walk.dirty = True  # the page navigated or replaced the control mid-way: nothing learnt about the click
        return []
    except CheckTimeout:
        await walk.fresh()  # the page stopped answering outside the click itself: start again
        return []


async def check_sweep(ctx: CheckContext) -> list[Finding]:
    budget = budget_for(ctx)
    findings: list[Finding] = []
    states = {"left": MAX_STATES, "seen": seen_keys(ctx)}
    clicked = 0
    walk = Walk(ctx)
    async with walk:
        controls = await ctx.within(walk.page.evaluate(js(_CONTROLS)), "listing buttons and links")
        # Buttons first: within the cap they matter more than links, which mostly just navigate.
        controls.sort(key=lambda c: c.get("tag") == "a")
        try:
            for control in controls[:MAX_CONTROLS]:
                if budget.spent:
                    break
                clicked += 1
                findings += await _try_guarded(walk, control, states)
        except (CheckTimeout, PageLoadError):
            pass  # not even a fresh page answers: report what was found so far
    ctx.info["sweep_clicked"] = clicked
    ctx.info["sweep_reloads"] = walk.reloads
    if len(controls) > clicked:
        ctx.info["sweep_not_clicked"] = len(controls) - clicked
    return not_reported_on_load(ctx, findings)
