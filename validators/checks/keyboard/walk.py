"""Keyboard use: every visible control reachable with Tab, focus visible, no keyboard trap, native controls
that still activate with Enter/Space (no page handler cancelling those keys), and custom controls
(role=button and the like) that answer Enter/Space the way they answer a click.

All probing happens in one session of its own; the entry page shared by the read-only checks is not touched.
Tab is walked once. Custom controls are then compared by what changes in the page (a MutationObserver plus form
state and URL) after a click and after each key; changes seen while idle are ignored. Between tries the page is
put back cheaply: Escape closes what was opened, and the page is reloaded only when that did not restore it.

Native controls are judged by what the platform does: an already checked radio button does nothing on Space, a
date or time field (and a media player's controls) keeps focus while Tab walks its inner fields, and a key only
counts as cancelled when a page handler really cancelled it and the key had no other effect on the control.

After the walk (each in a module of its own): focus visibility made certain by screenshots (keyboard_focus),
traps a timer makes or the page documents a way out of (keyboard_trap), composite widgets whose arrow keys reach
the parts Tab skips and pointer shortcuts beside a combobox or spinbutton (keyboard_composite).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from importlib import resources

from runshot.rules import ACCESSIBILITY, ISOLATED, Check, Rule, Rules
from runshot.values import ERROR, Finding, truncate
from runshot.validators.browser.context import CheckContext
from runshot.validators.browser.domtools import budget_for, js, label
from runshot.validators.checks.keyboard.keys import RULES as KEY_RULES
from runshot.validators.checks.keyboard.composite import explore_all, shortcuts_answered
from runshot.validators.checks.keyboard.focus import judge_invisible
from runshot.validators.checks.keyboard.keys import native_activation, probe_guarded, reload
from runshot.validators.checks.keyboard.trap import (LATE_FOCUS, LATE_FOCUS_WAIT, RECORD_LATE_FOCUS, escape_documented,
                                              refocus_trap)

CHECK = "keyboard"
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
    Rule("keyboard/focus-invisible", ERROR,
         "WCAG 2.4.7: focusing the control with Tab changes not one pixel of the page (less certain cases are "
         "findings for review).", wcag=("2.4.7",), act=("oj04fd",)),
) + KEY_RULES
DECLARED = Check(CHECK, "check_keyboard", needs=ISOLATED, rules=RULES, rank=ACCESSIBILITY)

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

_COLLECT = _SNAP + RECORD_LATE_FOCUS + resources.files("runshot.validators").joinpath(
    "page_scripts", "keyboard_collect.js").read_text(encoding="utf-8")

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


@dataclass
class Seen:
    """What the keyboard check saw beyond the Tab walk."""

    trap: tuple[list[dict], str] | None = None  # (trapped elements, how: "stuck", "cycle", "refocus")
    escape_keys: list[str] = field(default_factory=list)  # keys the page says leave the trap (which did not)
    invisible: list[tuple[dict, bool]] = field(default_factory=list)  # (control, certain)
    dead_keys: list = field(default_factory=list)
    composites: dict = field(default_factory=dict)
    shortcuts: dict = field(default_factory=dict)
    results: list = field(default_factory=list)


def _invisible_candidates(steps: list[dict], items: list[dict]) -> list[dict]:
    """Controls reached with Tab whose styles (and their neighbours') did not change when focused."""
    out = []
    checked = set()
    for st in steps:
        i = st["idx"]
        if i < 0 or i in checked:
            continue
        checked.add(i)
        if st["snap"] and st["snap"] == items[i]["snap"]:
            out.append(items[i])
    return out


async def _judge_trap(ctx: CheckContext, page, steps: list[dict], items: list[dict], completed: bool,
                      late: list[str], budget) -> tuple[tuple[list[dict], str] | None, list[str]]:
    """The trap the page really has, if any (a documented, working way out clears it), and the documented keys."""
    trap = None
    found = None if completed else _trap(steps, items)
    if found and not all(st.get("inModal") for st in found[0]):  # an open modal dialog keeps focus on purpose
        elems, stuck = found
        descs = [items[st["idx"]] if st["idx"] >= 0 else (st["d"] or {}) for st in elems]
        trap = (descs, "stuck" if stuck else "cycle")
    refocus = await refocus_trap(ctx, page, late, budget, reload)
    if refocus:
        by_sel = {item["sel"]: item for item in items}
        trap = ([by_sel.get(refocus, {"sel": refocus, "tag": "element"})], "refocus")
    if not trap:
        return None, []
    keys, escaped = await escape_documented(ctx, page, trap[0])
    return (None if escaped else trap), keys


async def _probe(ctx: CheckContext, session, items: list[dict], steps: list[dict], completed: bool,
                 budget) -> Seen:
    """Everything tried after the Tab walk, in an order that keeps each try from disturbing the next."""
    page = session.page
    reached = {st["idx"] for st in steps if st["idx"] >= 0}
    seen = Seen()
    await asyncio.sleep(LATE_FOCUS_WAIT)  # a focus a timer gives back after the last Tab press comes in this time
    late = await ctx.within(page.evaluate(LATE_FOCUS), "reading late focus changes")
    seen.invisible = await judge_invisible(ctx, page, _invisible_candidates(steps, items), budget)
    seen.trap, seen.escape_keys = await _judge_trap(ctx, page, steps, items, completed, late, budget)
    seen.dead_keys = await native_activation(ctx, page, [items[i] for i in sorted(reached)], budget)
    seen.composites = await explore_all(ctx, page, items, reached, budget)
    seen.shortcuts = await shortcuts_answered(ctx, page, items, reached, budget)
    probes = [items[i] for i in sorted(reached) if items[i]["custom"]][:MAX_PROBES]
    if probes and not budget.spent:
        await reload(ctx, page)  # the walk and the key tries above left focus and guards behind
        for item in probes:
            if budget.spent:
                break
            seen.results.append(await probe_guarded(ctx, session, item))
    return seen


async def check_keyboard(ctx: CheckContext) -> list[Finding]:
    budget = budget_for(ctx)
    async with ctx.open_session() as s:
        page = s.page
        collected = await ctx.within(page.evaluate(js(_COLLECT)), "listing keyboard controls")
        items: list[dict] = collected["items"]
        if not items:
            return []
        steps, completed = await _tab_walk(ctx, page, items, budget)
        seen = await _probe(ctx, s, items, steps, completed, budget)
    ctx.info["keyboard_probes"] = len(seen.results)
    return _report(items, steps, completed, seen)


def _unreachable_why(item: dict, seen: Seen, reached_groups: set) -> tuple[str, bool] | None:
    """Why Tab and the widget's own keys cannot reach a control (and whether only a person can tell); None when
    they can."""
    group = item.get("group") or ""
    if group.startswith("radio:") and group in reached_groups:
        return None  # native radio buttons: arrow keys move within the group
    comp = seen.composites.get(group)
    if group and not group.startswith("radio:") and group in reached_groups:
        if comp is None or not comp.explored or comp.moved or item["index"] in comp.reached:
            return None  # its composite's keys move within it (or could not be tried: no verdict)
        role = item.get("groupRole") or "composite"
        if comp.mutated:
            return f"Tab skips it, and the arrow keys change its {role} but never move focus to it", True
        return f"Tab skips it, and the arrow keys (and Home/End) do nothing in its {role}", False
    partner = item.get("partner") or ""
    if partner in seen.shortcuts:
        if seen.shortcuts[partner]:
            return None  # a pointer shortcut for a key the widget beside it answers
        return f"it is a pointer shortcut for {partner}, which did not answer the key that does the same", True
    return "", False


def _report(items: list[dict], steps: list[dict], completed: bool, seen: Seen) -> list[Finding]:
    findings: list[Finding] = []
    reached = {st["idx"] for st in steps if st["idx"] >= 0}
    reached_groups = {items[i]["group"] for i in reached if items[i]["group"]} | {items[i]["sel"] for i in reached}
    unreachable: list[tuple[dict, str, bool]] = []
    behind_trap = []
    for item in items:
        if item["index"] in reached:
            continue
        verdict = _unreachable_why(item, seen, reached_groups)
        if verdict is None:
            continue
        why, review = verdict
        if item["tabIndex"] < 0 or why:
            unreachable.append((item, why, review))  # its own cause, whatever else happens
        elif seen.trap:
            behind_trap.append(item)  # one cause: the trap; reported as part of it
        elif completed:
            unreachable.append((item, why, review))

    if seen.trap:
        findings.append(_trap_finding(seen.trap, behind_trap, seen.escape_keys))

    if steps and all(st["body"] for st in steps) and any(item["tabIndex"] >= 0 for item in items):
        findings.append(RULES["keyboard/tab-blocked"].finding(
            f"Pressing Tab never moves focus to any control ({len(steps)} presses tried)", where="body",
            hint="Do not cancel Tab in a keydown handler (call preventDefault only for the keys you use).",
            evidence=truncate(items[0].get("html", ""), 300)))
        unreachable = [u for u in unreachable if u[0]["tabIndex"] < 0]

    findings += _capped(unreachable, _unreachable_finding)
    findings += _capped(seen.dead_keys, lambda pair: RULES["keyboard/key-cancelled"].finding(
        f"{label(pair[0])} does not respond to the {' and '.join(pair[1])} key"
        f"{'s' if len(pair[1]) > 1 else ''}: a keydown handler cancels it and nothing else happens",
        where=pair[0]["sel"],
        hint="Call preventDefault() only for the keys your handler uses, and not while focus is on a button, "
        "link or form field.",
        evidence=truncate(pair[0].get("html", ""), 300)))
    findings += _capped(seen.invisible, _invisible_finding)
    findings += [f for f in seen.results if isinstance(f, Finding)]
    return findings


def _trap_finding(trap: tuple[list[dict], str], behind: list[dict], keys: list[str]) -> Finding:
    descs, how = trap
    if how == "stuck":
        msg = f"Keyboard trap: pressing Tab leaves focus stuck on {label(descs[0])}"
    elif how == "refocus":
        msg = f"Keyboard trap: Tab moves focus away from {label(descs[0])}, but the page puts it back a moment later"
    else:
        msg = "Keyboard trap: Tab keeps cycling through " + ", ".join(label(d) for d in descs[:4]) + \
              " and never reaches the rest of the page"
    if keys:
        msg += f"; the page says to press {' or '.join(keys)} to leave, but that does not let focus move on"
    if behind:
        n = len(behind)
        names = ", ".join(label(d) for d in behind[:3]) + (", …" if n > 3 else "")
        msg += f"; {n} later control{'s' if n > 1 else ''} could not be reached because of it ({names})"
    return RULES["keyboard/trap"].finding(
        msg, where=descs[0].get("sel", ""),
        hint="Do not cancel or redirect Tab outside an open modal dialog; let focus move on (or tell the user which "
        "key leaves, and make that key work).",
        evidence=truncate(descs[0].get("html", ""), 300))


def _unreachable_finding(entry: tuple[dict, str, bool]) -> Finding:
    item, why, review = entry
    if why:
        hint = ("Move focus within the widget with the arrow keys (roving tabindex or aria-activedescendant), "
                "as the WAI-ARIA Authoring Practices describe.")
    elif item["tabIndex"] < 0 and item.get("tabindex") is not None:
        why = f'it has tabindex="{item["tabindex"]}"'
        hint = 'Remove the negative tabindex (or use tabindex="0") so Tab reaches it.'
    elif item["tabIndex"] < 0:
        why = "it is not focusable"
        hint = 'Use a native <button>/<a href>, or add tabindex="0" to the custom control.'
    else:
        why = "Tab skips it"
        hint = "Do not intercept Tab; keep the control in the normal tab order."
    means = "the keyboard" if entry[1] else "the Tab key"
    return RULES["keyboard/unreachable"].finding(
        f"{label(item)} cannot be reached with {means}: {why}", where=item["sel"], hint=hint,
        evidence=truncate(item.get("html", ""), 300), review=review)


def _invisible_finding(entry: tuple[dict, bool]) -> Finding:
    item, certain = entry
    how = "not one pixel changes when it is focused" if certain else \
        "its styles (and its neighbours') do not change when it is focused; check it by eye"
    return RULES["keyboard/focus-invisible"].finding(
        f"{label(item)} shows no visible focus indicator when reached with Tab: {how}", where=item["sel"],
        hint="Do not remove the outline without a replacement: add a :focus-visible style (outline or box-shadow).",
        evidence=truncate(item.get("html", ""), 300), review=not certain)
