"""Click every visible button and in-app link once (each in a fresh page): none may throw or log an error.

Links that leave the app (another origin) are never clicked. Repeated controls (same kind and name, e.g. twenty
"Delete" buttons) are tried once.
"""

from __future__ import annotations

import asyncio

from playwright.async_api import Error as PlaywrightError

from runshot.values import ERROR, Finding, truncate
from runshot.validators.context import CheckContext, CheckTimeout
from runshot.validators.domtools import budget_for, js, label, run_limited, short_url

CHECK = "sweep"
MAX_CONTROLS = 12
PARALLEL = 3  # fresh pages clicked at the same time

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
      // A plain jump to an element on this page only scrolls; hash routes (#/…, #!…) still run code.
      if (u.pathname === location.pathname && u.search === location.search && u.hash.length > 1
          && !/^#[!/]/.test(u.hash) && document.getElementById(decodeURIComponent(u.hash.slice(1)))) continue;
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


async def _try(ctx: CheckContext, control: dict) -> list[Finding]:
    froze: CheckTimeout | None = None
    async with ctx.open_session() as s:
        page = s.page
        loc = page.locator(control["sel"]).first
        if await ctx.within(loc.count(), "finding the control") == 0:
            return []
        mark = s.events.mark()
        clicked = True
        try:
            await ctx.within(loc.click(timeout=ctx.timeouts.action * 800), "clicking the control")
        except CheckTimeout as exc:
            froze = exc
        except PlaywrightError:
            clicked = False  # not clickable (covered, detached), or the click handler never returned
        if froze is None:
            try:
                await asyncio.sleep(ctx.timeouts.settle)
                await ctx.within(page.evaluate("() => 0"), "answering after the click")
            except CheckTimeout as exc:
                froze = exc
            except PlaywrightError:
                pass  # a navigation replaced the page: its events still arrive
        new = s.events.since(mark)
        if not clicked and froze is None and not new.page_errors and not new.console_errors:
            return []  # the keyboard check judges whether controls can be reached
    findings: list[Finding] = []
    who = label(control)
    if froze is not None:
        findings.append(Finding(
            CHECK, ERROR, f"Clicking {who} froze the page ({froze.what} took over {froze.seconds:g} s)",
            where=control["sel"], hint="Look for an endless loop in this control's click handler.",
            evidence=truncate(control.get("html", ""), 300)))
    seen: set[str] = set()
    for err in new.page_errors:
        msg = _first_line(err.get("message", "")) or "unknown error"
        if msg in seen:
            continue
        seen.add(msg)
        findings.append(Finding(
            CHECK, ERROR, f"Clicking {who} throws an uncaught exception: {truncate(msg, 200)}",
            where=control["sel"], hint="Fix the exception in this control's click handler (see the stack).",
            evidence=truncate((err.get("stack") or msg), 400)))
    for err in new.console_errors:
        text = err.get("text", "")
        if text in seen:
            continue
        seen.add(text)
        at = f" at {short_url(err['url'], ctx.base_url)}:{int(err.get('line', 0)) + 1}" if err.get("url") else ""
        findings.append(Finding(
            CHECK, ERROR, f"Clicking {who} logs a console error{at}: {truncate(_first_line(text), 200)}",
            where=control["sel"], hint="Fix what this control's click handler does wrong.",
            evidence=truncate(text, 400)))
    if new.crashed:
        findings.append(Finding(CHECK, ERROR, f"Clicking {who} crashes the page", where=control["sel"],
                                hint="Look for runaway memory use in this control's click handler."))
    return findings


async def _try_guarded(ctx: CheckContext, control: dict) -> list[Finding]:
    try:
        return await _try(ctx, control)
    except (CheckTimeout, PlaywrightError):
        return []  # a fresh page could not be opened or the control not found: nothing learnt about the click


async def check_sweep(ctx: CheckContext) -> list[Finding]:
    budget = budget_for(ctx)
    controls = await ctx.within(ctx.page.evaluate(js(_CONTROLS)), "listing buttons and links")
    # Buttons first: within the cap they matter more than links, which mostly just navigate.
    controls.sort(key=lambda c: c.get("tag") == "a")
    chosen = controls[:MAX_CONTROLS]
    results = await run_limited([lambda c=c: _try_guarded(ctx, c) for c in chosen], PARALLEL, budget)
    ctx.info["sweep_clicked"] = sum(1 for r in results if r is not None)
    if len(controls) > ctx.info["sweep_clicked"]:
        ctx.info["sweep_not_clicked"] = len(controls) - ctx.info["sweep_clicked"]
    return [f for r in results if r for f in r]
