"""Keyboard use: every visible control reachable with Tab, focus visible, no keyboard trap, native controls
that still activate with Enter/Space (no page handler cancelling those keys), and custom controls
(role=button and the like) that answer Enter/Space the way they answer a click.

All probing happens in one session of its own; the entry page shared by the read-only checks is not touched.
Tab is walked once. Custom controls are then compared by what changes in the page (a MutationObserver plus form
state and URL) after a click and after each key; changes seen while idle are ignored. Between tries the page is
put back cheaply: Escape closes what was opened, and the page is reloaded only when that did not restore it.

Native controls are judged by what the platform does: an already checked radio button does nothing on Space, a
date or time field keeps focus while Tab walks its inner fields, and a key only counts as cancelled when a page
handler really cancelled it.
"""

from __future__ import annotations

import dataclasses

from runshot.rules import Rule, Rules
from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.context import CheckContext
from runshot.validators.domtools import budget_for, js, label
from runshot.validators.keyboard_keys import RULES as KEY_RULES
from runshot.validators.keyboard_keys import native_activation, probe_guarded, reload

CHECK = "keyboard"
NEEDS = "isolated"
MAX_PRESSES = 150
MAX_PROBES = 6
MAX_PER_KIND = 8
STUCK_PRESSES = 3
# Controls whose inner fields take Tab presses while the element itself keeps focus (month/day/year, media
# controls): focus may stay this many presses before it is taken as stuck.
INNER_FIELD_PRESSES = 10
INNER_FIELD_TYPES = {"date", "time", "datetime-local", "month", "week"}
INNER_FIELD_TAGS = {"video", "audio"}

RULES = Rules(
    Rule("keyboard/trap", ERROR,
         "WCAG 2.1.2 No Keyboard Trap (later unreachable controls are part of this finding).",
         wcag=("2.1.2",), act=("80af7b", "a1b64e")),
    Rule("keyboard/tab-blocked", ERROR, "WCAG 2.1.1: Tab moves focus nowhere at all.", wcag=("2.1.1",)),
    Rule("keyboard/unreachable", ERROR,
         "WCAG 2.1.1: a visible control Tab cannot reach (negative tabindex, skipped).", wcag=("2.1.1",)),
    Rule("keyboard/key-cancelled", ERROR,
         "WCAG 2.1.1: a page handler cancels Enter/Space on a native control.", wcag=("2.1.1",)),
    Rule("keyboard/focus-invisible", WARNING,
         "WCAG 2.4.7, but judged from style snapshots: a heuristic.", wcag=("2.4.7",), act=("oj04fd",)),
) + KEY_RULES

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
  d.controls = !!(el.localName === 'video' || el.localName === 'audio') && el.controls;
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

def _stuck_limit(step: dict, items: list[dict]) -> int:
    """Presses focus may stay on one element before it counts as stuck (more for fields with inner parts)."""
    idx = step.get("idx", -1)
    if idx is None or idx < 0 or idx >= len(items):
        return STUCK_PRESSES
    item = items[idx]
    if item.get("tag") == "input" and item.get("type") in INNER_FIELD_TYPES:
        return INNER_FIELD_PRESSES
    if item.get("tag") in INNER_FIELD_TAGS and item.get("controls"):
        return INNER_FIELD_PRESSES
    return STUCK_PRESSES


def _tail_run(steps: list[dict]) -> int:
    """How many of the last steps stayed on the same element."""
    if not steps or steps[-1]["body"]:
        return 0
    key = steps[-1]["key"]
    n = 0
    for st in reversed(steps):
        if st["key"] != key:
            break
        n += 1
    return n


async def _tab_walk(ctx: CheckContext, page, items: list[dict], budget) -> tuple[list[dict], bool]:
    """Press Tab until focus comes back round to where it started; (the steps, whether it came round)."""
    steps: list[dict] = []
    first_key = None
    presses = min(MAX_PRESSES, len(items) + 5 + INNER_FIELD_PRESSES * sum(
        1 for i in range(len(items)) if _stuck_limit({"idx": i}, items) > STUCK_PRESSES))
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
        if _tail_run(steps) >= _stuck_limit(step, items):
            break  # stuck on one element
    return steps, False


def _trap(steps: list[dict], items: list[dict]) -> tuple[list[dict], bool] | None:
    """(the elements focus stays among, whether it is stuck on one) when Tab cannot leave them; None when fine."""
    if steps and _tail_run(steps) >= _stuck_limit(steps[-1], items):
        return ([steps[-1]], True)
    # Presses that stayed on one element (inner fields of a date input) are one stop of the walk.
    stops = [s for i, s in enumerate(steps) if i == 0 or s["key"] != steps[i - 1]["key"]]
    first = next((s["key"] for s in stops if not s["body"]), None)
    seen: dict = {}
    for i, s in enumerate(stops):
        if s["body"]:
            continue
        if s["key"] in seen and s["key"] != first:
            loop = [x for x in stops[seen[s["key"]]:i] if not x["body"]]
            return (loop, False)
        seen.setdefault(s["key"], i)
    return None


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
        steps, completed = await _tab_walk(ctx, page, items, budget)
        reached = {st["idx"] for st in steps if st["idx"] >= 0}
        dead_keys = await native_activation(ctx, page, [items[i] for i in sorted(reached)], budget)
        probes = [items[i] for i in sorted(reached) if items[i]["custom"]][:MAX_PROBES]
        results = []
        if probes and not budget.spent:
            await reload(ctx, page)  # the walk and the key tries above left focus and guards behind
            for item in probes:
                if budget.spent:
                    break
                results.append(await probe_guarded(ctx, s, item))
    ctx.info["keyboard_probes"] = len(results)

    # A composite widget (tabs, listbox, grid, radio group) is one tab stop: reaching one part reaches it.
    reached_groups = {items[i]["group"] for i in reached if items[i]["group"]} | {items[i]["sel"] for i in reached}
    trap = None if completed else _trap(steps, items)
    if trap and all(st.get("inModal") for st in trap[0]):
        trap = None  # an open modal dialog keeps focus on purpose

    unreachable = []
    behind_trap = []
    for item in items:
        if item["index"] in reached or (item["group"] and item["group"] in reached_groups):
            continue
        if item["tabIndex"] < 0:
            unreachable.append(item)  # its own cause, whatever else happens
        elif trap:
            behind_trap.append(item)  # one cause: the trap; reported as part of it
        elif completed:
            unreachable.append(item)

    if trap:
        elems, stuck = trap
        descs = [items[st["idx"]] if st["idx"] >= 0 else (st["d"] or {}) for st in elems]
        where = descs[0].get("sel", "")
        if stuck:
            msg = f"Keyboard trap: pressing Tab leaves focus stuck on {label(descs[0])}"
        else:
            msg = "Keyboard trap: Tab keeps cycling through " + ", ".join(label(d) for d in descs[:4]) + \
                  " and never reaches the rest of the page"
        if behind_trap:
            n = len(behind_trap)
            names = ", ".join(label(d) for d in behind_trap[:3]) + (", …" if n > 3 else "")
            msg += f"; {n} later control{'s' if n > 1 else ''} could not be reached because of it ({names})"
        findings.append(RULES["keyboard/trap"].finding(
            msg, where=where, hint="Do not cancel or redirect Tab outside an open modal dialog; let focus move on.",
            evidence=truncate(descs[0].get("html", ""), 300)))

    if steps and all(st["body"] for st in steps) and any(item["tabIndex"] >= 0 for item in items):
        findings.append(RULES["keyboard/tab-blocked"].finding(
            f"Pressing Tab never moves focus to any control ({len(steps)} presses tried)", where="body",
            hint="Do not cancel Tab in a keydown handler (call preventDefault only for the keys you use).",
            evidence=truncate(items[0].get("html", ""), 300)))
        unreachable = [item for item in unreachable if item["tabIndex"] < 0]

    def unreach(item: dict) -> Finding:
        if item["tabIndex"] < 0 and item.get("tabindex") is not None:
            why = f'it has tabindex="{item["tabindex"]}"'
            hint = 'Remove the negative tabindex (or use tabindex="0") so Tab reaches it.'
        elif item["tabIndex"] < 0:
            why = "it is not focusable"
            hint = 'Use a native <button>/<a href>, or add tabindex="0" to the custom control.'
        else:
            why = "Tab skips it"
            hint = "Do not intercept Tab; keep the control in the normal tab order."
        return RULES["keyboard/unreachable"].finding(
            f"{label(item)} cannot be reached with the Tab key: {why}", where=item["sel"], hint=hint,
            evidence=truncate(item.get("html", ""), 300))

    findings += _capped(unreachable, unreach)

    findings += _capped(dead_keys, lambda pair: RULES["keyboard/key-cancelled"].finding(
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
    findings += _capped(invisible, lambda item: RULES["keyboard/focus-invisible"].finding(
        f"{label(item)} shows no visible focus indicator when reached with Tab", where=item["sel"],
        hint="Do not remove the outline without a replacement: add a :focus-visible style (outline or box-shadow).",
        evidence=truncate(item.get("html", ""), 300)))

    findings += [f for f in results if isinstance(f, Finding)]
    return findings
