"""Keyboard traps the Tab walk alone cannot judge.

- A trap the page documents: WCAG 2.1.2 allows focus to be held when the user is told how to leave by another key
  ("Press Escape to leave the editor"). The instruction is read from the page's text (and the trapped element's
  description), its keys are pressed, and the trap stands only when they do not let focus move on.
- A trap made late: leaving an element with Tab, focus comes back a moment later (a `setTimeout` refocus in a blur
  handler). Focus changes a key press did not make are recorded during the walk; each element that got such a
  focus is tried again (focus it, press Tab, wait) and is a trap when focus keeps coming back to it.
"""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Error as PlaywrightError

from runshot.validators.browser.context import CheckContext
from runshot.validators.browser.domtools import js

REFOCUS_WAIT = 0.35  # seconds to wait for a delayed refocus after Tab
LATE_FOCUS_WAIT = 0.2  # seconds to wait after the walk for a refocus still to come
MAX_CANDIDATES = 3
MAX_DOC_KEYS = 3

# Installed once per page by the keyboard check before the walk: the elements that receive focus not as the one
# focus change a key press makes (a second change after the same press, or one with no key press since the last).
RECORD_LATE_FOCUS = r"""
if (!window.__runshotLateFocus) {
  const log = [];
  window.__runshotLateFocus = log;
  let sinceKey = 0;
  document.addEventListener('keydown', () => { sinceKey = 0; }, true);
  document.addEventListener('focusin', (e) => {
    sinceKey += 1;
    if (sinceKey > 1 && log.length < 50) log.push(RS.sel(e.composedPath()[0] || e.target));
  }, true);
}
"""

# Read right after the walk, before the check focuses anything itself.
LATE_FOCUS = "() => { const l = window.__runshotLateFocus || []; return Array.from(new Set(l)); }"

_FOCUS = r"""
const el = document.querySelector(arg);
if (!el) return false;
el.focus();
return RS.active() === el;
"""

# Note whether focus ever goes from `arg` (focused) to another element (outside an open modal dialog).
_WATCH_LEAVE = r"""
const el = document.querySelector(arg);
if (!el || RS.active() !== el) return false;
window.__runshotLeft = false;
const note = (e) => {
  const t = e.composedPath()[0] || e.target;
  if (t !== el && !(t.closest && t.closest('dialog:modal,[aria-modal=true]'))) window.__runshotLeft = true;
};
document.addEventListener('focusin', note, true);
setTimeout(() => document.removeEventListener('focusin', note, true), 2000);
return true;
"""

_ACTIVE = r"""
const a = RS.active();
const modal = !!(a && a.closest && a.closest('dialog:modal,[aria-modal=true]'));
return {sel: a && a !== document.body ? RS.sel(a) : 'body', modal};
"""

# The words that may tell a user how to leave: the page's text and the trapped element's own description.
_HELP = r"""
const el = document.querySelector(arg);
const parts = [(document.body && document.body.innerText || '').slice(0, 6000)];
if (el) {
  for (const id of (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)) {
    const d = document.getElementById(id);
    if (d) parts.push(d.textContent || '');
  }
  parts.push(el.getAttribute('title') || '', el.getAttribute('aria-keyshortcuts') || '');
}
return parts.join('\n');
"""

_MOD = r"(?:ctrl|control|alt|option|shift|meta|cmd|command)"
_NAMED = r"(?:escape|esc|f1[0-2]|f[1-9]|enter|return|tab)"
_COMBO = rf"((?:{_MOD}\s*[+-]\s*)+(?:{_NAMED}|[a-z0-9])|{_NAMED})\b"
_INSTRUCTION = re.compile(rf"\b(?:press(?:ing)?|hit|use|type|push)\s+(?:the\s+)?{_COMBO}", re.IGNORECASE)
_BARE_ESCAPE = re.compile(r"\b(esc|escape)\b(?:\s+key)?\s+(?:to|will|lets you)\s+(?:leave|exit|close|quit|get out)",
                          re.IGNORECASE)
_HELP_NAME = re.compile(r"\b(help|how to|instructions?|keyboard)\b", re.IGNORECASE)
_KEY_NAMES = {"ctrl": "Control", "control": "Control", "alt": "Alt", "option": "Alt", "shift": "Shift",
              "meta": "Meta", "cmd": "Meta", "command": "Meta", "esc": "Escape", "escape": "Escape",
              "enter": "Enter", "return": "Enter", "tab": "Tab"}


def documented_keys(text: str) -> list[str]:
    """Playwright key combinations the text tells the user to press ("Press Ctrl+M to exit" -> "Control+m").
    Plain Tab is left out: it is the key that is trapped."""
    found: list[str] = []
    combos = [m.group(1) for m in _INSTRUCTION.finditer(text)] + [m.group(1) for m in _BARE_ESCAPE.finditer(text)]
    for combo in combos:
        parts = [p.strip().lower() for p in re.split(r"\s*[+-]\s*", combo) if p.strip()]
        keys = [_KEY_NAMES.get(p, p.upper() if re.fullmatch(r"f\d+", p) else p) for p in parts]
        key = "+".join(keys)
        if key != "Tab" and key not in found:
            found.append(key)
    return found[:MAX_DOC_KEYS]


async def _active(ctx: CheckContext, page) -> dict:
    return await ctx.within(page.evaluate(js(_ACTIVE)), "reading the focused element")


async def _focus(ctx: CheckContext, page, sel: str) -> bool:
    return bool(await ctx.within(page.evaluate(js(_FOCUS), sel), "focusing a control"))


async def refocus_trap(ctx: CheckContext, page, late: list[str], budget, reload) -> str | None:
    """Of the elements that got focus late during the walk, the selector of one that pulls focus back after Tab
    leaves it, or None. The page is reloaded first: timers left by the walk may still be moving focus about."""
    if not late:
        return None
    await reload(ctx, page)
    for sel in late[:MAX_CANDIDATES]:
        if budget.spent:
            break
        if await _comes_back(ctx, page, sel) and await _comes_back(ctx, page, sel):
            return sel
    return None


async def _comes_back(ctx: CheckContext, page, sel: str) -> bool:
    """Whether focus returns to `sel` a moment after Tab moved it away (and not inside an open modal dialog).
    Timers the page set before (when focus left another element) run out first, so they are not blamed on it."""
    try:
        if not await _focus(ctx, page, sel):
            return False
        await asyncio.sleep(REFOCUS_WAIT)
        if not await ctx.within(page.evaluate(js(_WATCH_LEAVE), sel), "watching focus"):
            return False
        await ctx.within(page.keyboard.press("Tab"), "pressing Tab")
        await asyncio.sleep(REFOCUS_WAIT)
        back = await _active(ctx, page)
        left = await ctx.within(page.evaluate("() => window.__runshotLeft === true"), "reading focus changes")
    except PlaywrightError:
        return False
    return left and back["sel"] == sel and not back["modal"]


async def escape_documented(ctx: CheckContext, page, trapped: list[dict]) -> tuple[list[str], bool]:
    """(the keys the page documents for leaving, whether one of them lets focus leave the trapped elements).
    Help a trapped control shows when activated ("How to go to the next element") counts as documentation."""
    sels = [d.get("sel", "") for d in trapped if d.get("sel")]
    if not sels:
        return [], False
    keys = await _read_keys(ctx, page, sels[0])
    for helper in [d for d in trapped if _HELP_NAME.search(d.get("name") or "")][:1]:
        if keys:
            break
        try:  # activated without focusing it: the trap's own handlers may pull focus away from it
            await ctx.within(page.evaluate("(s) => { const e = document.querySelector(s); if (e) e.click(); }",
                                           helper["sel"]), "showing the page's help")
            await ctx.settle(page)
        except PlaywrightError:
            continue
        keys = await _read_keys(ctx, page, sels[0])
    for key in keys:
        if await _leaves_with(ctx, page, sels, key):
            return keys, True
    return keys, False


async def _read_keys(ctx: CheckContext, page, sel: str) -> list[str]:
    try:
        text = await ctx.within(page.evaluate(js(_HELP), sel), "reading the page's instructions")
    except PlaywrightError:
        return []
    return documented_keys(text or "")


async def _leaves_with(ctx: CheckContext, page, trapped: list[str], key: str) -> bool:
    """Focus the trap, press `key` (then Tab, as "Escape, then Tab" editors need) and see focus stay outside."""
    try:
        if not await _focus(ctx, page, trapped[0]):
            return False
        for press in (key, "Tab"):
            await ctx.within(page.keyboard.press(press), f"pressing {press}")
            await asyncio.sleep(REFOCUS_WAIT)
            now = await _active(ctx, page)
            if now["sel"] not in trapped:
                return True
    except PlaywrightError:
        return False
    return False
