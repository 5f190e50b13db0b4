"""Keyboard activation: native controls whose Enter/Space a page handler cancels, and custom controls
(role=button and the like) that answer a click but not the keys their role promises.

Used by the keyboard check; everything runs in the keyboard check's own session. Between tries the page is put
back cheaply: Escape closes what a try opened, and the page is reloaded only when that did not restore it.
"""

from __future__ import annotations

from importlib import resources

from playwright.async_api import Error as PlaywrightError

from runshot.rules import Rule, Rules
from runshot.values import ERROR, Finding, truncate
from runshot.validators.browser.context import CheckContext, CheckTimeout
from runshot.validators.browser.domtools import clickable, js, label

RULES = Rules(
    Rule("keyboard/custom-keys", ERROR, "A custom control answers the mouse but not its keys.", wcag=("2.1.1",)),
    Rule("keyboard/unresponsive", ERROR, "The page hung while a control was tried."),
)

CHECK = "keyboard"
MAX_NATIVE = 10  # native controls whose Enter/Space activation is tried

# Keys a custom control of each role must answer (APG). "any" means one of them is enough.
ROLE_KEYS = {
    "button": ("all", ("Enter", "Space")),
    "link": ("all", ("Enter",)),
    "checkbox": ("all", ("Space",)),
    "switch": ("all", ("Space",)),
    "radio": ("all", ("Space",)),
    "menuitemcheckbox": ("all", ("Space",)),
    "menuitemradio": ("all", ("Space",)),
    "tab": ("any", ("Enter", "Space")),
    "menuitem": ("any", ("Enter", "Space")),
    "option": ("any", ("Enter", "Space")),
    "treeitem": ("any", ("Enter", "Space")),
}
# Roles whose widgets commonly act on focus (automatic activation): count focus effects as keyboard effects.
ACT_ON_FOCUS = {"tab", "option", "treeitem", "menuitem", "menuitemradio", "radio"}

# Records which parts of the page change (target selector | kind | attribute), and the page's form state.
_WATCH = r"""
const seen = new Set();
window.__runshotChanges = seen;
const mo = new MutationObserver((records) => {
  for (const m of records) {
    if (seen.size > 300) return;
    const t = m.target.nodeType === 1 ? m.target : m.target.parentElement;
    seen.add(RS.sel(t) + '|' + m.type + '|' + (m.attributeName || ''));
  }
});
mo.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
return true;
"""

_TAKE = r"""
const seen = window.__runshotChanges;
const out = seen ? Array.from(seen) : null;
if (seen) seen.clear();
const form = Array.from(document.querySelectorAll('input,select,textarea')).slice(0, 200)
  .map((e) => (e.type === 'checkbox' || e.type === 'radio') ? String(e.checked) : String(e.value)).join('\u0001');
return {changes: out, form, url: location.href};
"""



_SNAPSHOT = r"""
const body = document.body ? document.body.innerHTML : '';
let h = 0;
for (let i = 0; i < body.length; i += 3) h = (h * 31 + body.charCodeAt(i)) | 0;
const form = Array.from(document.querySelectorAll('input,select,textarea')).slice(0, 200)
  .map((e) => (e.type === 'checkbox' || e.type === 'radio') ? String(e.checked) : String(e.value)).join('\u0001');
const open = document.querySelectorAll('dialog[open],[aria-expanded=true]').length;
return [body.length, h, form, open, location.href].join('|');
"""


async def snapshot(ctx: CheckContext, page) -> str:
    """A short fingerprint of the page's state (DOM, form values, open things, URL)."""
    try:
        return await ctx.within(page.evaluate(_SNAPSHOT), "reading the page state")
    except PlaywrightError:
        return ""


async def reload(ctx: CheckContext, page) -> None:
    await ctx.within(page.goto(ctx.entry_url, wait_until="load"), "reloading the page", ctx.timeouts.load)
    await ctx.settle(page)


async def restore(ctx: CheckContext, page, base: str, effects: set) -> None:
    """Put the page back as it was before a try: Escape first, a reload when that is not enough."""
    if "navigation" not in effects and not any(e.startswith("url:") for e in effects):
        try:
            await ctx.within(page.keyboard.press("Escape"), "pressing Escape")
            await ctx.settle(page)
        except PlaywrightError:
            pass
        if await snapshot(ctx, page) == base:
            return
    await reload(ctx, page)


async def _changes_after(ctx: CheckContext, session, selector: str, action: str, role: str) -> dict | None:
    """What changes when `action` ("click", "Enter", "Space") hits the element.

    Returns {"effects": set, "noise": set}, or None when the element is not there.
    """
    page = session.page
    loc = page.locator(selector).first
    if await ctx.within(loc.count(), "finding the control") == 0:
        return None
    watch_first = action != "click" and role in ACT_ON_FOCUS
    if action == "click":
        if not await clickable(ctx, page, selector):
            return None  # off screen or covered: nothing a click can be compared with
        # Focus and hover first, so that what focus or hover alone changes is not taken for the click's effect.
        await ctx.within(loc.focus(), "focusing the control")
        await ctx.within(loc.hover(timeout=ctx.timeouts.action * 800), "moving the mouse over the control")
    elif not watch_first:
        await ctx.within(loc.focus(), "focusing the control")
    await ctx.within(page.evaluate(js(_WATCH)), "watching the page")
    await ctx.settle(page, most=ctx.timeouts.settle)
    before = await ctx.within(page.evaluate(js(_TAKE)), "reading page changes")
    noise = set(before["changes"] or [])
    dialogs_before = len(session.events.dialogs)
    if action == "click":
        await ctx.within(loc.click(timeout=ctx.timeouts.action * 800), "clicking the control")
    else:
        if watch_first:
            await ctx.within(loc.focus(), "focusing the control")
        await ctx.within(page.keyboard.press(action), f"pressing {action}")
    try:
        await ctx.settle(page)
    except PlaywrightError:  # navigated away while waiting
        pass
    effects: set = set()
    try:
        after = await ctx.within(page.evaluate(js(_TAKE)), "reading page changes")
    except CheckTimeout:
        raise
    except PlaywrightError:  # the page navigated away while we read it
        after = {"changes": None, "form": None, "url": page.url}
    if after["changes"] is None:
        effects.add("navigation")
    else:
        effects |= set(after["changes"]) - noise
    if after["url"] != before["url"]:
        effects.add("url:" + after["url"])
    if after["form"] is not None and after["form"] != before["form"]:
        effects.add("form")
    if len(session.events.dialogs) > dialogs_before:
        effects.add("alert")
    return {"effects": effects, "noise": noise}



async def _try(ctx: CheckContext, session, item: dict, action: str) -> dict | None:
    """One action on one control, then the page put back."""
    base = await snapshot(ctx, session.page)
    result = await _changes_after(ctx, session, item["sel"], action, item.get("role") or "")
    if result is not None and result["effects"]:
        await restore(ctx, session.page, base, result["effects"])
    return result


async def probe_control(ctx: CheckContext, session, item: dict) -> Finding | None:
    """A finding when a custom control reacts to a click but not to the keys its role needs."""
    role = item.get("role") or ""
    mode, keys = ROLE_KEYS.get(role, ("any", ("Enter", "Space")))
    selector = item["sel"]
    results = []
    for action in ("click", *keys):
        results.append(await _try(ctx, session, item, action))
    clicked, *pressed = results
    if not clicked or any(p is None for p in pressed):
        return None  # the control is not there
    # What changed by itself (clocks, frame counters) says nothing about the control.
    noise = clicked["noise"].union(*(p["noise"] for p in pressed))
    if not clicked["effects"] - noise:
        return None  # a click shows no effect we can see: nothing to compare against
    failed = [key for key, p in zip(keys, pressed) if not p["effects"] - noise]
    if not failed or (mode == "any" and len(failed) < len(keys)):
        return None
    # A suspected failure is tried once more: the click's effect must repeat, the keys must stay without one.
    again = await _try(ctx, session, item, "click")
    if not again or not (again["effects"] - noise - again["noise"]):
        return None
    for key in list(failed):
        retry = await _try(ctx, session, item, key)
        if retry is None or retry["effects"] - noise - retry["noise"]:
            failed.remove(key)
    if not failed or (mode == "any" and len(failed) < len(keys)):
        return None
    keys_text = " or ".join(failed) if mode == "any" else " and ".join(failed)
    return RULES["keyboard/custom-keys"].finding(
        f"{label(item)} reacts to a mouse click but not to the {keys_text} key{'s' if len(failed) > 1 else ''}",
        where=selector,
        hint="Use a native <button>, or handle keydown for "
        + " and ".join(keys) + " and run the same action as the click.",
        evidence=truncate(item.get("html", ""), 300))


async def probe_guarded(ctx: CheckContext, session, item: dict) -> Finding | bool:
    """A finding, or True when the control was probed without problem."""
    try:
        return await probe_control(ctx, session, item) or True
    except CheckTimeout as exc:
        return RULES["keyboard/unresponsive"].finding(
            f"The page stopped responding while {exc.what} on {label(item)}", where=item["sel"],
            hint="Look for an endless loop in this control's handlers.", evidence=truncate(item.get("html", ""), 300))
    except PlaywrightError:  # the control could not be clicked or focused here: nothing to compare
        try:
            await reload(ctx, session.page)
        except PlaywrightError:
            pass
        return True


# Keys that make the browser itself activate (click) a focused native control.
def native_keys(item: dict) -> tuple[str, ...]:
    tag, kind = item.get("tag"), item.get("type", "")
    if tag == "a":
        return ("Enter",)
    if tag in ("button", "summary"):
        return ("Enter", "Space")
    if tag == "input":
        if kind in ("button", "submit", "reset", "image"):
            return ("Enter", "Space")
        if kind in ("checkbox", "radio"):
            return ("Space",)
    return ()


# While armed, a click on the target is recorded and stopped before the page's own handlers see it, and any
# cancelled key event (preventDefault, returnValue = false, `return false` from an on-handler) is recorded.
_ARM = resources.files("runshot.validators").joinpath("page_scripts", "keyboard_arm.js").read_text(
    encoding="utf-8")

_READ = r"""() => {
  const e = window.__runshotEffect;
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  const effect = !!e && (e.changed || a !== e.el || location.href !== e.url);
  if (e) { e.stop(); window.__runshotEffect = null; }
  return [window.__runshotHit === true, window.__runshotCancelled === true, effect];
}"""


async def native_activation(ctx: CheckContext, page, reached: list[dict], budget) -> list[tuple[dict, list[str]]]:
    """Native buttons, links and checkboxes whose activation by key a page handler cancels, with no other
    effect: a key whose handler opens a menu itself (and cancels the click) does what the key is for."""
    out = []
    tried = 0
    for item in reached:
        keys = native_keys(item) if item.get("native") else ()
        if not keys or tried >= MAX_NATIVE or budget.spent:
            continue
        tried += 1
        dead = []
        for key in keys:
            base = await snapshot(ctx, page)
            if await ctx.within(page.evaluate(js(_ARM), item["sel"]), "focusing a control") != "ok":
                break
            await ctx.within(page.keyboard.press(key), f"pressing {key}")
            hit, cancelled, effect = await ctx.within(page.evaluate(_READ), "reading the activation")
            if effect and not hit:
                await ctx.within(page.evaluate("() => { window.__runshotTarget = null; }"), "disarming")
                await restore(ctx, page, base, {"key"})
            elif not hit and cancelled:
                dead.append(key)
        if dead:
            out.append((item, dead))
    await ctx.within(page.evaluate("() => { window.__runshotTarget = null; }"), "disarming")
    return out
