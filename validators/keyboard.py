"""Keyboard use: every visible control reachable with Tab, focus visible, no keyboard trap, native controls
that still activate with Enter/Space (no page handler cancelling those keys), and custom controls
(role=button and the like) that answer Enter/Space the way they answer a click.

All probing happens in fresh sessions; the entry page shared by the read-only checks is not touched.
Custom controls are compared by what changes in the page (a MutationObserver plus form state and URL) after
a click and after each key, each in its own fresh page; changes seen while idle are ignored.
"""

from __future__ import annotations

import asyncio
import dataclasses

from playwright.async_api import Error as PlaywrightError

from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.context import CheckContext, CheckTimeout
from runshot.validators.domtools import budget_for, js, label, run_limited

CHECK = "keyboard"
MAX_PRESSES = 150
MAX_PROBES = 6
MAX_NATIVE = 10  # native controls whose Enter/Space activation is tried
PARALLEL = 3  # fresh pages probed at the same time
MAX_PER_KIND = 8
STUCK_PRESSES = 3

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

_SNAP = r"""
const SNAP = (el) => {
  const S = (e, p) => {
    const c = getComputedStyle(e, p);
    const outline = (c.outlineStyle === 'none' || parseFloat(c.outlineWidth) === 0) ? 'none'
      : [c.outlineStyle, c.outlineWidth, c.outlineColor, c.outlineOffset].join(' ');
    return [outline, c.boxShadow, c.borderTopColor,
      c.borderRightColor, c.borderBottomColor, c.borderLeftColor, c.borderTopWidth, c.borderBottomWidth,
      c.backgroundColor, (c.backgroundImage || '').slice(0, 200), c.color, c.textDecorationLine, c.opacity,
      c.transform, c.filter, p ? c.content : ''].join('|');
  };
  const near = [el.parentElement, el.nextElementSibling, el.labels && el.labels[0]].filter(Boolean);
  return [S(el), S(el, '::before'), S(el, '::after'), ...near.map((e) => S(e))].join('#');
};
"""

_COLLECT = _SNAP + r"""
try {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync('*,*::before,*::after{transition-duration:0s!important;transition-delay:0s!important}');
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
} catch (e) {}
if (document.activeElement && document.activeElement !== document.body && document.activeElement.blur) document.activeElement.blur();
const modal = Array.from(document.querySelectorAll('dialog,[role=dialog],[role=alertdialog]'))
  .find((d) => RS.shown(d) && (d.matches('dialog:modal') || d.getAttribute('aria-modal') === 'true'));
const scope = modal || document;
const ROLES = ['button', 'link', 'checkbox', 'radio', 'switch', 'tab', 'menuitem', 'menuitemcheckbox', 'menuitemradio',
  'option', 'treeitem', 'slider', 'spinbutton', 'textbox', 'combobox', 'searchbox', 'gridcell'];
const COMPOSITE = '[role=tablist],[role=menu],[role=menubar],[role=listbox],[role=tree],[role=treegrid],[role=grid],[role=radiogroup],[role=toolbar]';
const SEL = 'button,a[href],input:not([type=hidden]),select,textarea,summary,[tabindex],[contenteditable]:not([contenteditable=false]),'
  + ROLES.map((r) => '[role=' + r + ']').join(',');
const NATIVE = (el) => el.matches('button,a[href],input,select,textarea,summary,[contenteditable]:not([contenteditable=false])');
const list = [];
const out = [];
for (const el of scope.querySelectorAll(SEL)) {
  if (!RS.shown(el) || RS.inert(el) || el.closest('[aria-disabled=true],[aria-hidden=true]')) continue;
  const role = (el.getAttribute('role') || '').trim().split(/\s+/)[0];
  const native = NATIVE(el);
  if (!native && !ROLES.includes(role) && el.tabIndex < 0) continue;  // a programmatic focus target, not a control
  if (el.closest('[contenteditable]:not([contenteditable=false])') && el !== el.closest('[contenteditable]')) continue;
  let group = '';
  const comp = el.parentElement && el.parentElement.closest(COMPOSITE);
  if (comp) group = RS.sel(comp);
  else if (el.localName === 'input' && el.type === 'radio' && el.name) group = 'radio:' + (el.form ? RS.sel(el.form) : '') + ':' + el.name;
  const d = RS.desc(el);
  d.index = list.length;
  d.group = group;
  d.tabindex = el.getAttribute('tabindex');
  d.tabIndex = el.tabIndex;
  d.native = native;
  d.type = String(el.type || '').toLowerCase();
  d.custom = !native && ROLES.includes(role);
  d.snap = SNAP(el);
  list.push(el);
  out.push(d);
  if (list.length >= 400) break;
}
window.__runshotKeyboard = list;
return {items: out, modal: modal ? RS.desc(modal) : null};
"""

_STEP = _SNAP + r"""
const a = RS.active();
const list = window.__runshotKeyboard || [];
const body = !a || a === document.body || a === document.documentElement;
const idx = body ? -1 : list.indexOf(a);
const inModal = !!(a && a.closest && a.closest('dialog:modal,[aria-modal=true]'));
// Focus inside an embedded frame moves on while the page's activeElement stays the frame.
const frame = !!(a && ['iframe', 'frame', 'object', 'embed'].includes(a.localName));
return {idx, body, inModal, frame, d: (body || idx >= 0) ? null : RS.desc(a), snap: body || frame ? '' : SNAP(a)};
"""

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


async def _settle(ctx: CheckContext) -> None:
    await asyncio.sleep(ctx.timeouts.settle)


async def _tab_walk(ctx: CheckContext, page, count: int, budget) -> tuple[list[dict], bool]:
    """Press Tab until focus comes back round to where it started; (the steps, whether it came round)."""
    steps: list[dict] = []
    first_key = None
    presses = min(MAX_PRESSES, count + 5)
    for _ in range(presses):
        if budget.spent:
            break
        await ctx.within(page.keyboard.press("Tab"), "pressing Tab")
        step = await ctx.within(page.evaluate(js(_STEP)), "reading the focused element")
        if step["body"]:
            step["key"] = "body"
        elif step["frame"]:
            step["key"] = f"frame:{len(steps)}"  # cannot see inside: never taken for a repeat
        else:
            step["key"] = step["idx"] if step["idx"] >= 0 else (step["d"] or {}).get("sel", "?")
        previous = steps[-1]["key"] if steps else None
        steps.append(step)
        if first_key is None and not step["body"]:
            first_key = step["key"]
        elif step["key"] == first_key and previous != first_key:
            return steps, True  # the Tab cycle came back to where it started
        tail = steps[-STUCK_PRESSES:]
        if len(tail) == STUCK_PRESSES and not tail[0]["body"] and all(st["key"] == tail[0]["key"] for st in tail):
            break  # stuck on one element
    return steps, False


def _trap(steps: list[dict]) -> tuple[list[dict], bool] | None:
    """(the elements focus stays among, whether it is stuck on one) when Tab cannot leave them; None when fine."""
    first = next((s["key"] for s in steps if not s["body"]), None)
    tail = steps[-STUCK_PRESSES:]
    if len(tail) == STUCK_PRESSES and not tail[0]["body"] and all(s["key"] == tail[0]["key"] for s in tail):
        return ([tail[0]], True)
    seen: dict = {}
    for i, s in enumerate(steps):
        if s["body"]:
            continue
        if s["key"] in seen and s["key"] != first:
            loop = [x for x in steps[seen[s["key"]]:i] if not x["body"]]
            return (loop, False)
        seen.setdefault(s["key"], i)
    return None


async def _changes_after(ctx: CheckContext, session, selector: str, action: str, role: str) -> dict | None:
    """In a fresh session: what changes when `action` ("click", "Enter", "Space") hits the element.

    Returns {"effects": set, "noise": set}, or None when the element is not there.
    """
    page = session.page
    loc = page.locator(selector).first
    if await ctx.within(loc.count(), "finding the control") == 0:
        return None
    watch_first = action != "click" and role in ACT_ON_FOCUS
    if action == "click":
        # Focus and hover first, so that what focus or hover alone changes is not taken for the click's effect.
        await ctx.within(loc.focus(), "focusing the control")
        await ctx.within(loc.hover(timeout=ctx.timeouts.action * 800), "moving the mouse over the control")
    elif not watch_first:
        await ctx.within(loc.focus(), "focusing the control")
    await ctx.within(page.evaluate(js(_WATCH)), "watching the page")
    await _settle(ctx)
    before = await ctx.within(page.evaluate(js(_TAKE)), "reading page changes")
    noise = set(before["changes"] or [])
    dialogs_before = len(session.events.dialogs)
    if action == "click":
        await ctx.within(loc.click(timeout=ctx.timeouts.action * 800), "clicking the control")
    else:
        if watch_first:
            await ctx.within(loc.focus(), "focusing the control")
        await ctx.within(page.keyboard.press(action), f"pressing {action}")
    await _settle(ctx)
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


async def _probe_control(ctx: CheckContext, item: dict, budget) -> Finding | None:
    role = item.get("role") or ""
    mode, keys = ROLE_KEYS.get(role, ("any", ("Enter", "Space")))
    selector = item["sel"]

    async def attempt(action: str):
        async with ctx.open_session() as s:
            return await _changes_after(ctx, s, selector, action, role)

    # The click and the keys each get their own fresh page, all at the same time.
    results = await asyncio.gather(*(attempt(a) for a in ("click", *keys)), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    clicked, *pressed = results
    if not clicked or any(p is None for p in pressed):
        return None  # the control is not there in a fresh page
    # What changed by itself in any of the pages (clocks, frame counters) says nothing about the control.
    noise = clicked["noise"].union(*(p["noise"] for p in pressed))
    if not clicked["effects"] - noise:
        return None  # a click shows no effect we can see: nothing to compare against
    works = {key: bool(p["effects"] - noise) for key, p in zip(keys, pressed)}
    failed = [key for key in keys if not works[key]]
    if not failed or (mode == "any" and len(failed) < len(keys)):
        return None
    keys_text = " or ".join(failed) if mode == "any" else " and ".join(failed)
    return Finding(
        CHECK, ERROR,
        f"{label(item)} reacts to a mouse click but not to the {keys_text} key{'s' if len(failed) > 1 else ''}",
        where=selector,
        hint=("Use a native <button>, or handle keydown for "
              + " and ".join(keys) + " and run the same action as the click."),
        evidence=truncate(item.get("html", ""), 300),
    )


# Keys that make the browser itself activate (click) a focused native control.
def _native_keys(item: dict) -> tuple[str, ...]:
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


# While armed, a click on the target is recorded and stopped before the page's own handlers see it.
_ARM = r"""
if (!window.__runshotGuard) {
  window.__runshotGuard = true;
  window.addEventListener('click', (e) => {
    const t = window.__runshotTarget;
    if (t && (e.target === t || t.contains(e.target))) {
      window.__runshotHit = true;
      e.stopImmediatePropagation();
      e.preventDefault();
    }
  }, true);
}
const el = document.querySelector(arg);
window.__runshotTarget = el;
window.__runshotHit = false;
if (!el) return false;
el.focus();
return RS.active() === el;
"""


async def _native_activation(ctx: CheckContext, page, reached: list[dict], budget) -> list[tuple[dict, list[str]]]:
    """Native buttons, links and checkboxes whose browser activation by key is cancelled by the page."""
    out = []
    tried = 0
    for item in reached:
        keys = _native_keys(item) if item.get("native") else ()
        if not keys or tried >= MAX_NATIVE or budget.spent:
            continue
        tried += 1
        dead = []
        for key in keys:
            if not await ctx.within(page.evaluate(js(_ARM), item["sel"]), "focusing a control"):
                break
            await ctx.within(page.keyboard.press(key), f"pressing {key}")
            if not await ctx.within(page.evaluate("() => window.__runshotHit === true"), "reading the activation"):
                dead.append(key)
        if dead:
            out.append((item, dead))
    await ctx.within(page.evaluate("() => { window.__runshotTarget = null; }"), "disarming")
    return out


def _capped(items: list, make) -> list[Finding]:
    out = [make(x) for x in items[:MAX_PER_KIND]]
    if len(items) > MAX_PER_KIND and out:
        f = out[-1]
        out[-1] = dataclasses.replace(f, message=f"{f.message} (and {len(items) - MAX_PER_KIND} more like it)")
    return out


async def check_keyboard(ctx: CheckContext) -> list[Finding]:
    budget = budget_for(ctx)
    findings: list[Finding] = []
    async with ctx.open_session() as s:
        page = s.page
        collected = await ctx.within(page.evaluate(js(_COLLECT)), "listing keyboard controls")
        items: list[dict] = collected["items"]
        if not items:
            return []
        steps, completed = await _tab_walk(ctx, page, len(items), budget)
        reached = {st["idx"] for st in steps if st["idx"] >= 0}
        dead_keys = await _native_activation(ctx, page, [items[i] for i in sorted(reached)], budget)

    # A composite widget (tabs, listbox, grid, radio group) is one tab stop: reaching one part reaches it.
    reached_groups = {items[i]["group"] for i in reached if items[i]["group"]} | {items[i]["sel"] for i in reached}
    trap = None if completed else _trap(steps)

    if trap and not all(st.get("inModal") for st in trap[0]):
        elems, stuck = trap
        descs = [items[st["idx"]] if st["idx"] >= 0 else (st["d"] or {}) for st in elems]
        where = descs[0].get("sel", "")
        if stuck:
            msg = f"Keyboard trap: pressing Tab leaves focus stuck on {label(descs[0])}"
        else:
            msg = "Keyboard trap: Tab keeps cycling through " + ", ".join(label(d) for d in descs[:4]) + \
                  " and never reaches the rest of the page"
        findings.append(Finding(CHECK, ERROR, msg, where=where,
                                hint="Do not cancel or redirect Tab outside an open modal dialog; let focus move on.",
                                evidence=truncate(descs[0].get("html", ""), 300)))

    if steps and all(st["body"] for st in steps) and any(item["tabIndex"] >= 0 for item in items):
        findings.append(Finding(
            CHECK, ERROR, f"Pressing Tab never moves focus to any control ({len(steps)} presses tried)",
            where="body",
            hint="Do not cancel Tab in a keydown handler (call preventDefault only for the keys you use).",
            evidence=truncate(items[0].get("html", ""), 300)))

    unreachable = []
    for item in items:
        if item["index"] in reached or (item["group"] and item["group"] in reached_groups):
            continue
        definitely = item["tabIndex"] < 0
        if definitely or completed or trap:
            unreachable.append(item)

    def unreach(item: dict) -> Finding:
        if item["tabIndex"] < 0 and item.get("tabindex") is not None:
            why = f'it has tabindex="{item["tabindex"]}"'
            hint = 'Remove the negative tabindex (or use tabindex="0") so Tab reaches it.'
        elif item["tabIndex"] < 0:
            why = "it is not focusable"
            hint = 'Use a native <button>/<a href>, or add tabindex="0" to the custom control.'
        elif trap:
            why = "a keyboard trap stops focus before it"
            hint = "Fix the keyboard trap reported above."
        else:
            why = "Tab skips it"
            hint = "Do not intercept Tab; keep the control in the normal tab order."
        return Finding(CHECK, ERROR, f"{label(item)} cannot be reached with the Tab key: {why}",
                       where=item["sel"], hint=hint, evidence=truncate(item.get("html", ""), 300))

    findings += _capped(unreachable, unreach)

    findings += _capped(dead_keys, lambda pair: Finding(
        CHECK, ERROR,
        f"{label(pair[0])} does not respond to the {' and '.join(pair[1])} key"
        f"{'s' if len(pair[1]) > 1 else ''}: a keydown handler cancels it",
        where=pair[0]["sel"],
        hint="Call preventDefault() only for the keys your handler uses, and not while focus is on a button, "
             "link or form field.",
        evidence=truncate(pair[0].get("html", ""), 300)))

    invisible = []
    checked = set()
    for st in steps:
        i = st["idx"]
        if i < 0 or i in checked:
            continue
        checked.add(i)
        if st["snap"] and st["snap"] == items[i]["snap"]:
            invisible.append(items[i])
    findings += _capped(invisible, lambda item: Finding(
        CHECK, WARNING, f"{label(item)} shows no visible focus indicator when reached with Tab",
        where=item["sel"],
        hint="Do not remove the outline without a replacement: add a :focus-visible style (outline or box-shadow).",
        evidence=truncate(item.get("html", ""), 300)))

    probes = [items[i] for i in sorted(reached) if items[i]["custom"]][:MAX_PROBES]
    results = await run_limited([lambda p=p: _probe_guarded(ctx, p, budget) for p in probes], PARALLEL, budget)
    ctx.info["keyboard_probes"] = sum(1 for r in results if r is not None)
    findings += [f for f in results if isinstance(f, Finding)]
    return findings


async def _probe_guarded(ctx: CheckContext, item: dict, budget) -> Finding | bool:
    """A finding, or True when the control was probed without problem."""
    try:
        return await _probe_control(ctx, item, budget) or True
    except CheckTimeout as exc:
        return Finding(CHECK, ERROR, f"The page stopped responding while {exc.what} on {label(item)}",
                       where=item["sel"], hint="Look for an endless loop in this control's handlers.",
                       evidence=truncate(item.get("html", ""), 300))
    except PlaywrightError:  # the control could not be clicked or focused here: nothing to compare
        return True
