"""Composite widgets and their keyboard models (WAI-ARIA Authoring Practices).

A toolbar, grid, listbox, tree, menu, tablist or radio group is one Tab stop: the arrow keys (and Home/End) move
focus within it (a roving tabindex), or move `aria-activedescendant` while focus stays on the container. So a part
of a composite that Tab skips is reachable when the composite's keys really move there. This module presses them
and records where focus (or the active descendant) goes.

Some buttons are pointer shortcuts for a key the widget already has: a combobox's open button does what Alt+Down
does, a spinbutton's -/+ buttons what Down/Up do. Such a button (tabindex=-1, beside the widget or naming it in
aria-controls) needs no Tab stop of its own when the widget answers that key.

Used by the keyboard check, in its own session, after the Tab walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from playwright.async_api import Error as PlaywrightError

from runshot.validators.browser.context import CheckContext
from runshot.validators.browser.domtools import js

# Keys that move within a composite (both axes: a grid needs both, the others ignore one), in rounds.
KEY_ROUNDS = (("ArrowRight", "ArrowDown"), ("End", "Home", "ArrowLeft", "ArrowUp"))
OWN_ARROWS = {"spinbutton", "slider", "combobox", "textbox", "searchbox"}  # widgets whose arrows are their own

# Records, while a composite is explored, which listed elements get focus or become the active descendant, and
# whether anything inside the composite changed at all. `arg` is the composite's selector.
_WATCH = resources.files("runshot.validators").joinpath("page_scripts", "keyboard_composite.js").read_text(
    encoding="utf-8")

_MOVED = "() => !!(window.__runshotComposite && window.__runshotComposite.moved)"

_TAKE = r"""
const rec = window.__runshotComposite;
if (!rec) return null;
rec.stop && rec.stop();
window.__runshotComposite = null;
return {reached: Array.from(rec.reached), moved: rec.moved, mutated: rec.mutated};
"""

# The state a pointer shortcut's partner shows: expanded, its value, its active descendant.
_PARTNER_STATE = r"""
const el = document.querySelector(arg);
if (!el) return null;
const popup = (el.getAttribute('aria-controls') || '').split(/\s+/).filter(Boolean)
  .map((id) => document.getElementById(id)).filter(Boolean);
return [el.getAttribute('aria-expanded'), el.getAttribute('aria-valuenow'),
  el.value === undefined ? '' : String(el.value), el.getAttribute('aria-activedescendant'),
  popup.map((p) => RS.shown(p)).join(','), RS.active() === el].join('|');
"""


@dataclass
class Composite:
    """What pressing a composite's keys did: the listed elements reached, whether focus (or the active
    descendant) moved, whether anything inside it changed."""

    selector: str
    reached: set[int] = field(default_factory=set)
    moved: bool = False
    mutated: bool = False
    explored: bool = False


def tab_stop(group: str, items: list[dict], reached: set[int]) -> dict | None:
    """The element through which Tab entered a composite: a reached part of it, or the container itself."""
    for i in sorted(reached):
        if items[i].get("group") == group or items[i]["sel"] == group:
            return items[i]
    return None


async def explore(ctx: CheckContext, page, group: str, stop: dict) -> Composite:
    """Focus the composite's Tab stop, press its keys, and record where focus went (the first move is enough:
    parts not seen are taken as reachable by the same keys)."""
    result = Composite(group)
    if stop.get("tag") in ("input", "select", "textarea") or (stop.get("role") or "") in OWN_ARROWS:
        return result  # the Tab stop uses the arrow keys itself: no verdict from pressing them
    try:
        await ctx.within(page.locator(stop["sel"]).first.focus(), "focusing a composite widget")
        if not await ctx.within(page.evaluate(js(_WATCH), group), "watching a composite widget"):
            await ctx.within(page.evaluate(js(_TAKE)), "reading a composite widget")
            return result
        for keys in KEY_ROUNDS:  # a working widget moves at the first round: stop as soon as focus moved
            for key in keys:
                await ctx.within(page.keyboard.press(key), f"pressing {key}")
            if await ctx.within(page.evaluate(_MOVED), "reading a composite widget"):
                break
            await ctx.settle(page)
            if await ctx.within(page.evaluate(_MOVED), "reading a composite widget"):
                break
        taken = await ctx.within(page.evaluate(js(_TAKE)), "reading a composite widget")
    except PlaywrightError:
        return result
    if taken:
        result.reached = set(taken["reached"])
        result.moved = bool(taken["moved"])
        result.mutated = bool(taken["mutated"])
        result.explored = True
    try:
        await ctx.within(page.keyboard.press("Escape"), "pressing Escape")
    except PlaywrightError:
        pass
    return result


def partner_key(partner: dict) -> str:
    """The key a pointer shortcut's partner answers with the shortcut's action."""
    role = partner.get("role") or ""
    if role == "combobox" or partner.get("tag") == "select":
        return "Alt+ArrowDown"
    return "ArrowUp"


async def partner_answers(ctx: CheckContext, page, partner: dict) -> bool:
    """Whether the widget a pointer shortcut belongs to answers the key that does the shortcut's action."""
    sel = partner["sel"]
    try:
        await ctx.within(page.locator(sel).first.focus(), "focusing a widget")
        before = await ctx.within(page.evaluate(js(_PARTNER_STATE), sel), "reading a widget")
        key = partner_key(partner)
        await ctx.within(page.keyboard.press(key), f"pressing {key}")
        await ctx.settle(page)
        after = await ctx.within(page.evaluate(js(_PARTNER_STATE), sel), "reading a widget")
        await ctx.within(page.keyboard.press("Escape"), "pressing Escape")
    except PlaywrightError:
        return False
    return before is not None and after is not None and before != after


async def explore_all(ctx: CheckContext, page, items: list[dict], reached: set[int], budget) -> dict[str, Composite]:
    """Explore each composite that Tab entered and that has parts Tab did not reach."""
    groups: dict[str, dict] = {}  # composite selector -> its Tab stop
    for i, item in enumerate(items):
        group = item.get("group") or ""
        if not group or group.startswith("radio:") or i in reached or item.get("tabIndex", 0) >= 0:
            continue
        stop = tab_stop(group, items, reached)
        if stop is not None:
            groups.setdefault(group, stop)
    out: dict[str, Composite] = {}
    for group, stop in groups.items():
        if budget.spent:
            break
        out[group] = await explore(ctx, page, group, stop)
    return out


async def shortcuts_answered(ctx: CheckContext, page, items: list[dict], reached: set[int],
                             budget) -> dict[str, bool]:
    """For each pointer-shortcut candidate Tab skipped: whether its reachable partner answers the key."""
    by_sel = {item["sel"]: i for i, item in enumerate(items)}
    out: dict[str, bool] = {}
    for i, item in enumerate(items):
        partner = item.get("partner") or ""
        if i in reached or not partner or partner in out or budget.spent:
            continue
        j = by_sel.get(partner)
        if j is None or j not in reached:
            continue
        out[partner] = await partner_answers(ctx, page, items[j])
    return out
