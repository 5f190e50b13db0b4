"""Focus visible (WCAG 2.4.7), made certain by pixels.

The Tab walk compares computed styles of each control (and its neighbours) unfocused and focused; a control whose
styles do not change is a candidate. The candidate is then shown unfocused and focused, and the viewport is
screenshotted both times (CSS animations stopped, caret hidden): when not one pixel differs, nothing visible marks
focus, and that is certain. Anything less certain stays a finding for a person to judge: pixels that differ
somewhere though no style changed (a clock, a canvas, a focus ring drawn by a script), a focus the browser did not
mark as :focus-visible, and text fields, whose blinking caret may be all the indicator they need.
"""

from __future__ import annotations

from playwright.async_api import Error as PlaywrightError

from runshot.validators.browser.context import CheckContext
from runshot.validators.browser.domtools import js

MAX_SHOTS = 6  # candidates made certain by screenshots; the rest stay "needs review"
TEXT_ENTRY_TYPES = {"", "text", "search", "email", "url", "tel", "password", "number", "date", "time",
                    "datetime-local", "month", "week"}

_UNFOCUS = r"""
const el = document.querySelector(arg);
if (!el) return false;
try { el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'}); } catch (e) {}
const a = RS.active();
if (a && a !== document.body && a.blur) a.blur();
return RS.active() !== el;
"""

_FOCUS = r"""
const el = document.querySelector(arg);
if (!el) return null;
el.focus({preventScroll: true});
return {active: RS.active() === el, visible: el.matches(':focus-visible')};
"""


def text_entry(item: dict) -> bool:
    """A field that shows a caret when focused."""
    tag = item.get("tag")
    if tag == "textarea" or (item.get("role") or "") in ("textbox", "searchbox", "combobox"):
        return True
    if tag == "input" and item.get("type", "") in TEXT_ENTRY_TYPES:
        return True
    return "contenteditable" in (item.get("html") or "")[:200].lower()


async def certain_invisible(ctx: CheckContext, page, item: dict) -> bool:
    """True when focusing the control changes not one pixel of the viewport."""
    sel = item["sel"]
    try:
        if not await ctx.within(page.evaluate(js(_UNFOCUS), sel), "unfocusing a control"):
            return False
        await ctx.settle(page)  # what a blur or focus handler changes a moment later counts too
        before = await ctx.within(page.screenshot(animations="disabled", caret="hide"), "taking a screenshot")
        state = await ctx.within(page.evaluate(js(_FOCUS), sel), "focusing a control")
        if not state or not state["active"] or not state["visible"]:
            return False
        await ctx.settle(page)
        after = await ctx.within(page.screenshot(animations="disabled", caret="hide"), "taking a screenshot")
    except PlaywrightError:
        return False
    return before == after


async def judge_invisible(ctx: CheckContext, page, candidates: list[dict], budget) -> list[tuple[dict, bool]]:
    """(candidate, certain) for each control whose styles did not change on focus."""
    out = []
    shots = 0
    for item in candidates:
        certain = False
        if not text_entry(item) and shots < MAX_SHOTS and not budget.spent:
            shots += 1
            certain = await certain_invisible(ctx, page, item)
        out.append((item, certain))
    return out
