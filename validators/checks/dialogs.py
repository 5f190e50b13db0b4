"""Modal dialogs as the WAI-ARIA Authoring Practices describe them, and overlays that should be dialogs.

Openers are discovered on the page: elements declaring ``aria-haspopup="dialog"`` or ``aria-controls`` pointing
at a dialog, then buttons (those whose name hints at a dialog first). Disclosure buttons (``aria-expanded`` with
``aria-controls`` naming in-flow content that holds no dialog, as in an accordion) and links that only jump to a
visible in-flow part of the page are not tried: neither can open a modal. One isolated page is walked: each opener
is clicked, what it opened is checked, closed (Escape, else its close button) and the next opener tried; the
page is reloaded only when closing did not bring it back to its loaded state. A modal dialog open at load is
checked too. What opened is either a dialog (``<dialog>``, ``role=dialog``, ``role=alertdialog``) or an overlay
that acts as one without saying so: an element that appears after the click, is position fixed or absolute over
at least half of the viewport (or marks itself ``aria-modal``), sits on top and holds focusable content.
Dropdown menus, tooltips, toasts and small popovers stay below that size and are left alone.

Each opened dialog is checked for: being modal (``showModal()``, or ``aria-modal="true"``), an accessible name,
focus moving inside on open, Tab and Shift+Tab staying inside, the page behind being unclickable and hidden from
assistive technology, Escape closing it, a way to close it, and focus returning to the opener. Its content is
run through axe-core as a state of its own (see ``states.check_state``): findings say "After clicking …".

Severities: a dialog that traps nobody (focus not moved in, Tab escapes), cannot be closed, is not modal, or an
overlay without a dialog role is an error; a missing name, focus returned somewhere other than the opener, and
DOM evidence that the background is still exposed are warnings (focus lost to the page body is an error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from playwright.async_api import Error as PlaywrightError

from runshot.rules import ACCESSIBILITY, ISOLATED, Check, Rule, Rules
from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.browser.chromium import PageLoadError
from runshot.validators.browser.context import CheckContext, CheckTimeout
from runshot.validators.browser.domtools import budget_for, clickable, js, label
from runshot.validators.browser.states import Walk, check_state, not_reported_on_load, seen_keys

CHECK = "dialog"
RULES = Rules(
    Rule("dialog/overlay-no-role", ERROR,
         "A button opens an overlay that is not a dialog to assistive technology.", wcag=("4.1.2",)),
    Rule("dialog/not-modal", ERROR,
         "A <dialog> opened with show() or the open attribute: the page behind stays live."),
    Rule("dialog/no-aria-modal", ERROR,
         "A custom dialog without aria-modal=\"true\" is announced as non-modal.", wcag=("4.1.2",)),
    Rule("dialog/no-name", WARNING, "No accessible name: a best practice (axe's aria-dialog-name)."),
    Rule("dialog/focus-not-moved", ERROR, "Focus stays outside on open: the dialog traps nobody.", wcag=("2.4.3",)),
    Rule("dialog/tab-escapes", ERROR, "Tab or Shift+Tab leaves the open modal.", wcag=("2.4.3",)),
    Rule("dialog/background-clickable", ERROR,
         "Controls behind the open modal still take clicks (seen by hit-testing)."),
    Rule("dialog/background-not-inert", WARNING,
         "Nothing in the DOM hides the page behind from assistive technology."),
    Rule("dialog/no-escape", ERROR, "Escape does not close it (the APG keyboard interaction).", wcag=("2.1.1",)),
    Rule("dialog/cannot-close", ERROR, "Neither Escape nor a close button in it closes it.", wcag=("2.1.1",)),
    Rule("dialog/no-close-button", WARNING, "No button at all inside: closing relies on the keyboard."),
    Rule("dialog/focus-not-returned", WARNING, "On close focus goes elsewhere than the opener (APG: should return)."),
    Rule("dialog/focus-lost", ERROR, "On close focus falls to the page body: keyboard users lose their place."),
    Rule("dialog/frozen", ERROR, "The page stopped responding while its dialog was checked."),
)
DECLARED = Check(CHECK, "check_dialogs", needs=ISOLATED, rules=RULES, rank=ACCESSIBILITY)
# Findings for the opened dialog's content carry axe rule ids (e.g. "label", "color-contrast").

MAX_OPENERS = 6
MAX_STATES = 4  # opened dialogs whose content is run through axe-core
COVERAGE = 0.5  # share of the viewport an overlay must cover to be taken for a modal
HINT_WORDS = ("open", "show", "add", "new", "create", "edit", "settings", "options", "help", "about", "info",
              "details", "more", "login", "log in", "sign", "delete", "remove", "confirm", "share", "menu",
              "preferences", "rules", "how to", "contact", "view", "?")

_DIALOGS = "dialog,[role=dialog],[role=alertdialog]"

_DISCOVER = resources.files("runshot.validators").joinpath("page_scripts", "dialog_discover.js").read_text(
    encoding="utf-8")

# Visible dialogs, and overlays acting as modals: fixed/absolute, on top, over COVERAGE of the viewport
# (or aria-modal, or over an empty backdrop), holding something focusable, neither a dialog nor around one.
_SHOWN = resources.files("runshot.validators").joinpath("page_scripts", "dialog_shown.js").read_text(
    encoding="utf-8")

_INSPECT = resources.files("runshot.validators").joinpath("page_scripts", "dialog_inspect.js").read_text(
    encoding="utf-8")

# Whether the opener (a light-DOM selector, as _DISCOVER gives) can take focus; null when it is no longer there.
_OPENER = "const e = document.querySelector(arg); return e ? RS.tabbable(e) : null;"

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
return {open: !!(d && RS.shown(d)), returned: !!(op && a === op), body, focused: body ? null : RS.desc(a)};
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


async def _shown(ctx: CheckContext, page) -> dict:
    return await ctx.within(page.evaluate(js(_SHOWN), COVERAGE), "looking for dialogs and overlays")


async def _wait_for_new(ctx: CheckContext, page, before: set[str]) -> tuple[list[dict], list[dict]]:
    for _ in range(2):
        shown = await ctx.settle_then(page, js(_SHOWN), COVERAGE)
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


async def _click(ctx: CheckContext, page, sel: str, what: str) -> bool:
    """Click `sel`; False when it cannot be clicked (covered, detached). A hang raises CheckTimeout."""
    try:
        if not await clickable(ctx, page, sel):
            return False
        await ctx.within(page.locator(sel).first.click(timeout=ctx.timeouts.action * 800), what)
        return True
    except CheckTimeout:
        raise
    except PlaywrightError:
        return False


async def _close(ctx: CheckContext, page, dsel: str, osel: str | None) -> tuple[bool, bool, dict]:
    """Close the open dialog: Escape first, then its close button. (closed by Escape, closed at all, state)."""
    await ctx.within(page.evaluate(js(_FOCUS_INSIDE), dsel), "focusing inside the dialog")
    await ctx.within(page.keyboard.press("Escape"), "pressing Escape")
    state = await ctx.settle_then(page, js(_STATE), [dsel, osel])
    if not state["open"]:
        return True, True, state
    close_sel = await ctx.within(page.evaluate(js(_CLOSE_BUTTON), dsel), "finding a close button")
    if close_sel and await _click(ctx, page, close_sel, "clicking the dialog's close button"):
        state = await ctx.settle_then(page, js(_STATE), [dsel, osel])
    return False, not state["open"], state


@dataclass
class _Report:
    """The findings about one open dialog (or overlay): each message starts with `head`."""

    head: str
    where: str
    evidence: str
    findings: list[Finding] = field(default_factory=list)

    def add(self, rule: str, problem: str, hint: str, review: bool = False, sep: str = ": ") -> None:
        self.findings.append(RULES[rule].finding(
            f"{self.head}{sep}{problem}", where=self.where, hint=hint, evidence=self.evidence, review=review))


def _head(dlg: dict, opener: dict | None, overlay: bool) -> str:
    who = label(opener) if opener else ""
    if overlay:
        return f"Clicking {who} shows {label(dlg)}"
    if opener:
        return f"Dialog {label(dlg)} opened by {who}"
    return f"Dialog {label(dlg)} (open when the page loads)"


def _judge_role(report: _Report, info: dict, overlay: bool) -> None:
    """An overlay without a dialog role; a dialog that is not modal or has no name."""
    add = report.add
    if overlay:
        add("dialog/overlay-no-role",
            "which covers the page like a modal dialog but is not a dialog to assistive technology "
            "(it has no dialog role)",
            'Use <dialog> opened with showModal(), or give the overlay\'s box role="dialog", aria-modal="true" '
            "and aria-labelledby pointing at its heading.", sep=", ")
        return
    if info["native"] and not info["modalNative"]:
        add("dialog/not-modal", "the <dialog> is not modal (opened with show() or the open attribute), so the "
            "page behind it stays usable", "Open it with dialog.showModal().")
    if not info["native"] and not info["ariaModal"]:
        add("dialog/no-aria-modal", 'it lacks aria-modal="true"',
            'Add aria-modal="true" to the element with role="dialog".')
    if not info["name"]:
        add("dialog/no-name", "it has no accessible name",
            'Point aria-labelledby at the dialog\'s heading (or add aria-label="…").')


def _judge_opened(report: _Report, info: dict, noun: str, opener: dict | None) -> None:
    """Focus moved inside on open; the page behind neither clickable nor exposed to assistive technology."""
    add = report.add
    if not info["focusInside"]:
        now = label(info["focused"]) if info["focused"] else "the page body"
        add("dialog/focus-not-moved", f"focus did not move into the {noun} when it opened (it stayed on {now})",
            f"On open, move focus to the first focusable element in the {noun} (or the {noun} itself).",
            review=not opener)
    if info["exposed"]:
        names = ", ".join(label(e) for e in info["exposed"])
        add("dialog/background-clickable", f"the page behind it can still be clicked while it is open ({names})",
            "Make the background inert: use showModal(), or set the inert attribute on the rest of the page and "
            "cover it with a backdrop.")
    if info["unhidden"]:
        names = ", ".join(label(e) for e in info["unhidden"])
        add("dialog/background-not-inert",
            f"nothing hides the page behind it from assistive technology while it is open ({names} stay exposed: "
            "no showModal(), no aria-modal on a dialog role, no inert or aria-hidden)",
            'Use showModal(), or role="dialog" with aria-modal="true", or set inert on the rest of the page.')


async def _judge_tab(ctx: CheckContext, page, report: _Report, noun: str, presses: int) -> None:
    """Tab and Shift+Tab, pressed from inside, stay inside."""
    dsel = report.where
    await ctx.within(page.evaluate(js(_FOCUS_INSIDE), dsel), "focusing inside the dialog")
    escaped = await _cycle(ctx, page, dsel, "Tab", presses)
    if escaped:
        report.add("dialog/tab-escapes", f"pressing Tab moves focus out of the open {noun} (to {label(escaped)})",
                   "Trap focus: from the last focusable element, Tab must go to the first one (and Shift+Tab back).")
    await ctx.within(page.evaluate(js(_FOCUS_INSIDE), dsel), "focusing inside the dialog")
    escaped_back = await _cycle(ctx, page, dsel, "Shift+Tab", presses)
    if escaped_back and not escaped:
        report.add("dialog/tab-escapes",
                   f"pressing Shift+Tab moves focus out of the open {noun} (to {label(escaped_back)})",
                   "Trap focus: from the first focusable element, Shift+Tab must go to the last one.")


async def _judge_close(ctx: CheckContext, page, report: _Report, noun: str, opener: dict | None,
                       opener_focusable: bool, buttons: int) -> None:
    """Escape (else a close button) closes it, and focus goes back to the opener."""
    add = report.add
    who = label(opener) if opener else ""
    by_escape, closed, state = await _close(ctx, page, report.where, opener["sel"] if opener else None)
    if closed and not by_escape:
        add("dialog/no-escape", "pressing Escape does not close it",
            f"Close the {noun} on the Escape key (keydown 'Escape').")
    elif not closed:
        add("dialog/cannot-close", "pressing Escape does not close it, and no close button in it does",
            f"Close the {noun} on the Escape key, and give it a visible Close button.")
    elif not buttons:
        add("dialog/no-close-button", "it has no button, so only the Escape key closes it",
            f'Add a visible <button type="button">Close</button> to the {noun}.')
    if closed and opener and opener_focusable and not state["returned"]:
        if state["body"]:
            add("dialog/focus-lost", f"when it closes, focus does not return to {who}; it is lost to the page body",
                "Remember the opener and call opener.focus() after closing the dialog.")
        else:
            add("dialog/focus-not-returned",
                f"when it closes, focus does not return to {who} (it goes to {label(state['focused'])})",
                "Remember the opener and call opener.focus() after closing the dialog.")


async def _examine(walk: Walk, dlg: dict, opener: dict | None, opener_focusable: bool, overlay: bool,
                   states: dict) -> list[Finding]:
    """Every finding for one open dialog (or overlay); leaves it closed when it can be closed."""
    ctx, page = walk.ctx, walk.page
    dsel = dlg["sel"]
    noun = "overlay" if overlay else "dialog"
    report = _Report(_head(dlg, opener, overlay), dsel, truncate(dlg.get("html", ""), 300))
    info = await ctx.within(page.evaluate(js(_INSPECT), [dsel, opener["sel"] if opener else None]),
                            "inspecting the dialog")
    if info is None:
        return report.findings
    _judge_role(report, info, overlay)
    _judge_opened(report, info, noun, opener)
    if states["left"] > 0:
        states["left"] -= 1
        where = f"after clicking {label(opener)}" if opener else f"with {label(dlg)} open at load"
        report.findings += await check_state(ctx, page, where, [dsel], states["seen"], check=CHECK,
                                             skip_rules=("aria-dialog-name",))
    await _judge_tab(ctx, page, report, noun, info["count"] + 2)
    await _judge_close(ctx, page, report, noun, opener, opener_focusable, info["buttons"])
    return report.findings


async def _probe(walk: Walk, opener: dict, checked: set[str], states: dict, opened: list) -> list[Finding]:
    """Click `opener` on the page in its loaded state; check what it opened. `opened` gets the dialog's selector."""
    ctx = walk.ctx
    await walk.restore()
    page = walk.page
    focusable = await ctx.within(page.evaluate(js(_OPENER), opener["sel"]), "inspecting the opener")
    if focusable is None:
        return []  # not there any more
    shown = await _shown(ctx, page)
    before = {d["sel"] for d in shown["dialogs"]} | {d["sel"] for d in shown["overlays"]}
    if not await _click(ctx, page, opener["sel"], "clicking a possible dialog opener"):
        await walk.settled()
        return []  # not clickable here (covered, detached): not ours to judge
    dialogs, overlays = await _wait_for_new(ctx, page, before)
    target = (dialogs or overlays or [None])[0]
    if target is None:
        await walk.settled()
        return []
    opened.append(target["sel"])
    if target["sel"] in checked:  # another opener already showed it: close it and go on
        await _close(ctx, page, target["sel"], opener["sel"])
        await walk.settled()
        return []
    checked.add(target["sel"])
    findings = await _examine(walk, target, opener, focusable, not dialogs, states)
    await walk.settled()
    return findings


async def _guarded(walk: Walk, what: dict, job) -> list[Finding]:
    """Run one probe; a hang becomes a finding once a dialog was open (else the sweep check's), then a fresh page."""
    opened: list[str] = []
    try:
        return await job(opened)
    except CheckTimeout as exc:
        await walk.fresh()
        if not opened:
            return []  # a click that freezes the page is the sweep check's finding
        return [RULES["dialog/frozen"].finding(
            f"The page stopped responding ({exc.what}) while its dialog {label(what)} was being checked",
            where=opened[0], hint="Look for an endless loop in the dialog's key or focus handlers.",
            evidence=truncate(what.get("html", ""), 300))]
    except PlaywrightError:  # the page navigated or replaced the element mid-probe: nothing to judge
        walk.dirty = True
        return []


async def check_dialogs(ctx: CheckContext) -> list[Finding]:
    budget = budget_for(ctx)
    findings: list[Finding] = []
    checked: set[str] = set()
    states = {"left": MAX_STATES, "seen": seen_keys(ctx)}
    tried = 0
    walk = Walk(ctx)
    async with walk:
        found = await ctx.within(walk.page.evaluate(js(_DISCOVER)), "looking for dialog openers")
        try:
            for dlg in found["modal"][:1]:  # a modal dialog open at load
                checked.add(dlg["sel"])

                async def at_load(opened, dlg=dlg):
                    opened.append(dlg["sel"])
                    out = await _examine(walk, dlg, None, False, False, states)
                    state = await ctx.within(walk.page.evaluate(js(_STATE), [dlg["sel"], None]), "reading the dialog")
                    if not state["open"]:  # it can be dismissed: dismiss it after every reload, then probe the page
                        walk.prelude = lambda page, sel=dlg["sel"]: _close(ctx, page, sel, None)
                        await walk.rebase()
                    return out

                findings += await _guarded(walk, dlg, at_load)
                if walk.prelude is not None:  # dismissed: the page behind it is live now, look again
                    found = await ctx.within(walk.page.evaluate(js(_DISCOVER)), "looking for dialog openers")
            openers = _ordered(found)[:MAX_OPENERS]
            for opener in openers:
                if budget.spent:
                    break
                tried += 1
                findings += await _guarded(walk, opener, lambda opened, o=opener: _probe(walk, o, checked, states,
                                                                                        opened))
        except (CheckTimeout, PageLoadError):
            pass  # not even a fresh page answers: report what was found so far
    ctx.info["dialogs_checked"] = len(checked)
    ctx.info["dialog_openers_tried"] = tried
    ctx.info["dialog_reloads"] = walk.reloads
    if tried < len(_ordered(found)[:MAX_OPENERS]):
        ctx.info["dialog_openers_skipped"] = len(_ordered(found)[:MAX_OPENERS]) - tried
    return not_reported_on_load(ctx, findings)
