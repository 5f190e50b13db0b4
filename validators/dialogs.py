"""Modal dialogs as the WAI-ARIA Authoring Practices describe them.

Openers are discovered on the page: elements declaring ``aria-haspopup="dialog"`` or ``aria-controls`` pointing
at a dialog, then buttons whose click makes a dialog (``<dialog>``, ``role=dialog``, ``role=alertdialog``)
visible. Each opener is tried in a fresh session and its dialog checked for: a dialog role (or ``<dialog>``
opened with ``showModal()``), ``aria-modal="true"`` on custom dialogs, an accessible name, focus moving inside
on open, Tab and Shift+Tab staying inside, an inert background, Escape closing it, and focus returning to the
opener. Each failure is its own finding.
"""

from __future__ import annotations

import asyncio

from playwright.async_api import Error as PlaywrightError

from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.context import CheckContext, CheckTimeout
from runshot.validators.domtools import budget_for, js, label, run_limited

CHECK = "dialog"
MAX_OPENERS = 6
PARALLEL = 3  # fresh pages probed at the same time
HINT_WORDS = ("open", "show", "add", "new", "create", "edit", "settings", "options", "help", "about", "info",
              "details", "more", "login", "log in", "sign", "delete", "remove", "confirm", "share", "menu",
              "preferences", "rules", "how to", "contact", "view", "?")

_DIALOGS = "dialog,[role=dialog],[role=alertdialog]"

_DISCOVER = r"""
const DLG = 'dialog,[role=dialog],[role=alertdialog]';
const isDialog = (e) => !!(e && e.matches(DLG));
const declared = [];
for (const el of document.querySelectorAll('[aria-haspopup],[aria-controls]')) {
  if (!RS.shown(el) || RS.inert(el)) continue;
  const pop = (el.getAttribute('aria-haspopup') || '').toLowerCase();
  const ids = (el.getAttribute('aria-controls') || '').split(/\s+/).filter(Boolean);
  if (pop === 'dialog' || ids.some((id) => isDialog(document.getElementById(id)))) declared.push(RS.desc(el));
}
const buttons = Array.from(document.querySelectorAll('button,[role=button],input[type=button],a[href^="#"]'))
  .filter((e) => RS.shown(e) && !RS.inert(e) && !e.closest(DLG)).slice(0, 300).map(RS.desc);
const open = Array.from(document.querySelectorAll(DLG)).filter(RS.shown).map(RS.desc);
return {declared, buttons, open, dialogs: document.querySelectorAll(DLG).length};
"""

# Visible dialogs and large fixed overlays, by selector.
_SHOWN = r"""
const DLG = 'dialog,[role=dialog],[role=alertdialog]';
const dialogs = Array.from(document.querySelectorAll(DLG)).filter(RS.shown).map(RS.desc);
const W = innerWidth, H = innerHeight;
const overlays = [];
for (const el of document.body ? Array.from(document.body.querySelectorAll('*')).slice(0, 3000) : []) {
  if (overlays.length > 20) break;
  const pos = getComputedStyle(el).position;
  if (pos !== 'fixed') continue;
  if (!RS.shown(el) || el.closest(DLG)) continue;
  const r = el.getBoundingClientRect();
  const w = Math.max(0, Math.min(r.right, W) - Math.max(r.left, 0));
  const h = Math.max(0, Math.min(r.bottom, H) - Math.max(r.top, 0));
  if (w * h >= 0.4 * W * H && el.localName !== 'canvas' && el.querySelector('*')) overlays.push(RS.desc(el));
}
let moving = 0;
try { moving = document.getAnimations().filter((a) => a.playState === 'running').length; } catch (e) {}
return {dialogs, overlays, moving};
"""

_INSPECT = r"""
const [dsel, osel] = arg;
const d = document.querySelector(dsel);
if (!d) return null;
const op = osel ? document.querySelector(osel) : null;
const native = d.localName === 'dialog';
const a = RS.active();
const out = {
  native, modalNative: native && d.matches(':modal'), role: d.getAttribute('role') || '',
  ariaModal: (d.getAttribute('aria-modal') || '').toLowerCase() === 'true', name: '',
  focusInside: !!(a && (d === a || d.contains(a))), focused: a && a !== document.body ? RS.desc(a) : null,
  count: RS.focusables(d).length, exposed: [],
};
const lb = (d.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
  .map((id) => document.getElementById(id)).filter(Boolean).map(RS.text).join(' ').trim();
out.name = lb || (d.getAttribute('aria-label') || '').trim();
if (!out.modalNative) {
  const outside = RS.focusables(document).filter((e) => !d.contains(e) && !e.contains(d));
  if (op && !outside.includes(op) && RS.shown(op) && !d.contains(op)) outside.unshift(op);
  for (const el of outside.slice(0, 12)) {
    if (RS.inert(el) || el.closest('[aria-hidden=true]')) continue;
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
    const hit = document.elementFromPoint(x, y);
    if (hit && (hit === el || el.contains(hit))) { out.exposed.push(RS.desc(el)); if (out.exposed.length >= 3) break; }
  }
}
return out;
"""

_WHERE_FOCUS = r"""
const d = document.querySelector(arg);
const a = RS.active();
const body = !a || a === document.body || a === document.documentElement;
return {inside: !!(d && a && (d === a || d.contains(a))), body, d: body ? null : RS.desc(a)};
"""

_FOCUS_INSIDE = r"""
const d = document.querySelector(arg);
if (!d) return false;
const a = RS.active();
if (a && d.contains(a)) return true;
const f = RS.focusables(d)[0];
if (f) { f.focus(); return true; }
if (!d.hasAttribute('tabindex')) d.setAttribute('tabindex', '-1');
d.focus();
return d.contains(RS.active()) || RS.active() === d;
"""

_CLOSE_BUTTON = r"""
const d = document.querySelector(arg);
if (!d) return '';
const words = /^(close|cancel|dismiss|done|ok|okay|got it|back|no)\b/i;
for (const b of d.querySelectorAll('button,[role=button],input[type=button],a[href]')) {
  if (!RS.shown(b)) continue;
  const n = RS.name(b).trim();
  if (words.test(n) || /^[×✕✖xX]$/.test(n) || /close/i.test(String(b.className || ''))) return RS.sel(b);
}
return '';
"""

_STATE = r"""
const [dsel, osel] = arg;
const d = document.querySelector(dsel);
const a = RS.active();
const op = osel ? document.querySelector(osel) : null;
const body = !a || a === document.body || a === document.documentElement;
return {open: !!(d && RS.shown(d)), returned: !!(op && a === op), focused: body ? null : RS.desc(a)};
"""


def _ordered(found: dict) -> list[dict]:
    out, seen = [], set()

    def add(d, declared=False):
        key = d["sel"] if declared else (d.get("tag"), d.get("role"), (d.get("name") or "").lower())
        if key in seen or d["sel"] in seen:
            return
        seen.add(key)
        seen.add(d["sel"])
        out.append(d)

    for d in found["declared"]:
        add(d, True)
    hinted = [d for d in found["buttons"] if any(w in (d.get("name") or "").lower() for w in HINT_WORDS)]
    for d in hinted + found["buttons"]:
        add(d)
    return out


async def _wait_for_new(ctx: CheckContext, page, before: set[str]) -> tuple[list[dict], list[dict]]:
    for _ in range(2):
        await asyncio.sleep(ctx.timeouts.settle)
        shown = await ctx.within(page.evaluate(js(_SHOWN)), "looking for an opened dialog")
        dialogs = [d for d in shown["dialogs"] if d["sel"] not in before]
        overlays = [d for d in shown["overlays"] if d["sel"] not in before]
        if dialogs:
            return dialogs, []
        if overlays:
            return [], overlays
        if not shown["moving"]:
            break  # nothing is still animating in: no dialog is on its way
    return [], []


async def _cycle(ctx: CheckContext, page, dsel: str, key: str, presses: int) -> dict | None:
    """Press key repeatedly; the first element outside the dialog that receives focus, or None."""
    for _ in range(presses):
        await ctx.within(page.keyboard.press(key), f"pressing {key} in the dialog")
        where = await ctx.within(page.evaluate(js(_WHERE_FOCUS), dsel), "reading the focused element")
        if not where["inside"] and not where["body"]:
            return where["d"]
    return None


async def _probe(ctx: CheckContext, opener: dict, skip: set[str], opened: list) -> tuple[str, list[Finding]]:
    """(the selector of what opened, its findings); ('', []) when the click opened nothing.

    `opened` receives the dialog's selector as soon as one is found (so a caller knows the phase on timeout).
    """
    findings: list[Finding] = []
    async with ctx.open_session() as s:
        page = s.page
        before = await ctx.within(page.evaluate(js(_SHOWN)), "listing visible dialogs")
        shown_before = {d["sel"] for d in before["dialogs"]} | {d["sel"] for d in before["overlays"]}
        loc = page.locator(opener["sel"]).first
        if await ctx.within(loc.count(), "finding the opener") == 0:
            return "", []
        opener_focusable = await ctx.within(page.evaluate(js("return RS.tabbable(document.querySelector(arg));"),
                                                          opener["sel"]), "inspecting the opener")
        try:
            await ctx.within(loc.click(timeout=ctx.timeouts.action * 800), "clicking a possible dialog opener")
        except CheckTimeout:
            raise
        except PlaywrightError:
            return "", []  # not clickable here (covered, detached): not ours to judge
        dialogs, overlays = await _wait_for_new(ctx, page, shown_before)
        who = label(opener)
        if not dialogs:
            if overlays and overlays[0]["sel"] not in skip:
                o = overlays[0]
                findings.append(Finding(
                    CHECK, WARNING,
                    f"Clicking {who} shows {label(o)}, which looks like a modal dialog but has no dialog role",
                    where=o["sel"],
                    hint="Use <dialog> opened with showModal(), or give the overlay's box role=\"dialog\", "
                         "aria-modal=\"true\" and aria-labelledby.",
                    evidence=truncate(o.get("html", ""), 300)))
                return o["sel"], findings
            return "", []
        dlg = dialogs[0]
        dsel = dlg["sel"]
        if dsel in skip:
            return "", []
        opened.append(dsel)
        evidence = truncate(dlg.get("html", ""), 300)
        head = f"Dialog {label(dlg)} opened by {who}"

        def fail(problem: str, hint: str) -> None:
            findings.append(Finding(CHECK, ERROR, f"{head}: {problem}", where=dsel, hint=hint, evidence=evidence))

        info = await ctx.within(page.evaluate(js(_INSPECT), [dsel, opener["sel"]]), "inspecting the dialog")
        if info is None:
            return dsel, findings
        if info["native"] and not info["modalNative"]:
            fail("the <dialog> is not modal (opened with show() or the open attribute), so the page behind it "
                 "stays usable", "Open it with dialog.showModal().")
        if not info["native"]:
            if not info["ariaModal"]:
                fail('it lacks aria-modal="true"', 'Add aria-modal="true" to the element with role="dialog".')
        if not info["name"]:
            fail("it has no accessible name",
                 'Point aria-labelledby at the dialog\'s heading (or add aria-label="…").')
        if not info["focusInside"]:
            now = label(info["focused"]) if info["focused"] else "the page body"
            fail(f"focus did not move into the dialog when it opened (it stayed on {now})",
                 "On open, move focus to the first focusable element in the dialog (or the dialog itself).")
        if info["exposed"]:
            names = ", ".join(label(e) for e in info["exposed"])
            fail(f"the page behind it can still be clicked while it is open ({names})",
                 "Make the background inert: use showModal(), or set the inert attribute on the rest of the page "
                 "and cover it with a backdrop.")

        presses = info["count"] + 2
        await ctx.within(page.evaluate(js(_FOCUS_INSIDE), dsel), "focusing inside the dialog")
        escaped = await _cycle(ctx, page, dsel, "Tab", presses)
        if escaped:
            fail(f"pressing Tab moves focus out of the open dialog (to {label(escaped)})",
                 "Trap focus: from the last focusable element, Tab must go to the first one (and Shift+Tab back).")
        await ctx.within(page.evaluate(js(_FOCUS_INSIDE), dsel), "focusing inside the dialog")
        escaped_back = await _cycle(ctx, page, dsel, "Shift+Tab", presses)
        if escaped_back and not escaped:
            fail(f"pressing Shift+Tab moves focus out of the open dialog (to {label(escaped_back)})",
                 "Trap focus: from the first focusable element, Shift+Tab must go to the last one.")

        await ctx.within(page.evaluate(js(_FOCUS_INSIDE), dsel), "focusing inside the dialog")
        await ctx.within(page.keyboard.press("Escape"), "pressing Escape")
        await asyncio.sleep(ctx.timeouts.settle)
        state = await ctx.within(page.evaluate(js(_STATE), [dsel, opener["sel"]]), "reading the dialog state")
        closed = not state["open"]
        if not closed:
            fail("pressing Escape does not close it", "Close the dialog on the Escape key (keydown 'Escape').")
            close_sel = await ctx.within(page.evaluate(js(_CLOSE_BUTTON), dsel), "finding a close button")
            if close_sel:
                try:
                    await ctx.within(page.locator(close_sel).first.click(timeout=ctx.timeouts.action * 800),
                                     "clicking the dialog's close button")
                except CheckTimeout:
                    raise
                except PlaywrightError:
                    pass
                await asyncio.sleep(ctx.timeouts.settle)
                state = await ctx.within(page.evaluate(js(_STATE), [dsel, opener["sel"]]), "reading the dialog state")
                closed = not state["open"]
        if closed and opener_focusable and not state["returned"]:
            now = label(state["focused"]) if state["focused"] else "the page body"
            fail(f"when it closes, focus does not return to {who} (it goes to {now})",
                 "Remember the opener and call opener.focus() after closing the dialog.")
    return dsel, findings


async def _probe_guarded(ctx: CheckContext, opener: dict, skip: set[str]) -> tuple[str, list[Finding]]:
    opened: list[str] = []
    try:
        return await _probe(ctx, opener, skip, opened)
    except CheckTimeout as exc:
        if not opened:
            return "", []  # a click that freezes the page is the sweep check's finding
        return opened[0], [Finding(
            CHECK, ERROR, f"The page stopped responding ({exc.what}) while its dialog, opened by "
                          f"{label(opener)}, was being checked",
            where=opened[0], hint="Look for an endless loop in the dialog's key or focus handlers.",
            evidence=truncate(opener.get("html", ""), 300))]
    except PlaywrightError:  # the page navigated or replaced the element mid-probe: nothing to judge
        return "", []


async def check_dialogs(ctx: CheckContext) -> list[Finding]:
    budget = budget_for(ctx)
    found = await ctx.within(ctx.page.evaluate(js(_DISCOVER)), "looking for dialog openers")
    skip = {d["sel"] for d in found["open"]}  # open from the start: not something an opener controls
    openers = _ordered(found)[:MAX_OPENERS]
    results = await run_limited([lambda o=o: _probe_guarded(ctx, o, skip) for o in openers], PARALLEL, budget)
    findings: list[Finding] = []
    checked: set[str] = set()
    for result in results:
        if not result:
            continue
        key, items = result
        if not key or key in checked:
            continue  # opened nothing, or a dialog another opener already showed
        checked.add(key)
        findings += items
    ctx.info["dialogs_checked"] = len(checked)
    if any(r is None for r in results):
        ctx.info["dialog_openers_skipped"] = sum(1 for r in results if r is None)
    return findings
