"""Semantic HTML a careful reviewer expects: real controls instead of clickable divs, a main landmark,
one h1, a page language, labelled form controls, named buttons and links, images with alt text.

Click listeners are found with Chromium's DevTools ``getEventListeners`` (through a CDP session, nothing
injected before the page loads). Where CDP is not available, ``onclick`` attributes and properties are used.
If the a11y check already reported the same element for the equivalent axe rule (as an error), or the same
page-level problem (no main landmark, no h1), the finding is not repeated here; run alone, this check reports
everything itself.

A missing ``<main>`` or ``<h1>`` is a best practice (axe files them so), not a failure: a correct widget shown on
its own has neither. They are warnings; the generator still asks for both.
"""

from __future__ import annotations

import dataclasses

from playwright.async_api import Error as PlaywrightError

from runshot.rules import Rule, Rules
from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.browser.axtree import ax_facts
from runshot.validators.browser.context import CheckContext, CheckTimeout
from runshot.validators.browser.domtools import JS_LIB, js, label
from runshot.validators.checks import labelname

CHECK = "semantics"
NEEDS = "page"
MAX_PER_KIND = 8
MAX_ASKED = 40  # suspects per kind whose name is asked of Chromium's accessibility tree

RULES = Rules(
    Rule("semantics/clickable-div", ERROR,
         "WCAG 2.1.1/4.1.2: a mouse-only control with no role, often unfocusable.", wcag=("2.1.1", "4.1.2")),
    Rule("semantics/clickable-card", WARNING,
         "A clickable card holding only links: its own action may be mouse-only."),
    Rule("semantics/no-lang", ERROR,
         "WCAG 3.1.1: the page language cannot be determined.", wcag=("3.1.1",), act=("b5c3f8",)),
    Rule("semantics/img-alt", ERROR,
         "WCAG 1.1.1: an image without a text alternative.", wcag=("1.1.1",), act=("23a2a8",)),
    Rule("semantics/unlabeled", ERROR,
         "WCAG 1.3.1/4.1.2: a form control without any accessible name.", wcag=("1.3.1", "4.1.2"), act=("e086e5",)),
    Rule("semantics/unnamed", ERROR,
         "WCAG 4.1.2: a button or link without an accessible name.",
         wcag=("4.1.2", "2.4.4"), act=("97a4e1", "c487ae")),
    Rule("semantics/placeholder-label", WARNING, "Named, but only by a placeholder that vanishes while typing."),
    Rule("semantics/no-main", WARNING, "Best practice (axe landmark-one-main): a lone widget needs none."),
    Rule("semantics/many-mains", WARNING, "Best practice (axe landmark-no-duplicate-main)."),
    Rule("semantics/no-h1", WARNING, "Best practice (axe page-has-heading-one)."),
    Rule("semantics/many-h1", WARNING, "Best practice: one page title."),
    *labelname.RULES.values(),
)

# Page-level axe rules (any severity) that report the same thing as one of ours.
AXE_SAME_PAGE_RULE = {
    "semantics/no-main": "landmark-one-main",
    "semantics/many-mains": "landmark-no-duplicate-main",
    "semantics/no-h1": "page-has-heading-one",
}

# axe rules (reported as errors by the a11y check) that cover the same problem as ours.
AXE_EQUIVALENT = {
    "lang": ("html-has-lang", "html-lang-valid"),
    "alt": ("image-alt", "input-image-alt", "role-img-alt"),
    "label": ("label", "select-name", "aria-input-field-name", "aria-toggle-field-name"),
    "name": ("button-name", "link-name", "input-button-name"),
}

_CLICKABLES_BODY = r"""
const CLICKY = ['click', 'mousedown', 'mouseup', 'pointerdown', 'pointerup', 'touchstart', 'touchend'];
const NATIVE = 'a[href],button,input,select,textarea,summary,label,option,details,audio,video,iframe,canvas,[contenteditable]:not([contenteditable=false])';
const ROLES = new Set(['button', 'link', 'checkbox', 'radio', 'switch', 'tab', 'menuitem', 'menuitemcheckbox',
  'menuitemradio', 'option', 'treeitem', 'slider', 'spinbutton', 'textbox', 'combobox', 'searchbox', 'gridcell',
  'row', 'columnheader', 'rowheader', 'scrollbar', 'listbox', 'menu', 'menubar', 'tree', 'grid', 'treegrid',
  'tablist', 'radiogroup', 'toolbar', 'dialog', 'alertdialog', 'application', 'separator']);
const hasListener = (typeof getEventListeners === 'function')
  ? (t) => { try { const l = getEventListeners(t); return CLICKY.some((k) => l[k] && l[k].length); } catch (e) { return false; } }
  : (t) => !!(t && (t.onclick || t.onmousedown || t.onpointerdown || t.onmouseup || t.onpointerup
        || (t.getAttribute && (t.hasAttribute('onclick') || t.hasAttribute('onmousedown') || t.hasAttribute('onpointerdown')))));
const all = document.body ? Array.from(document.body.querySelectorAll('*')).slice(0, 6000) : [];
const listened = new Set(all.filter(hasListener));
const globalListener = hasListener(document) || hasListener(window) || hasListener(document.body) || hasListener(document.documentElement);
const CONTAINERS = new Set(['listbox', 'menu', 'menubar', 'tree', 'grid', 'treegrid', 'tablist', 'radiogroup',
  'toolbar', 'dialog', 'alertdialog', 'application', 'separator', 'scrollbar']);
// A role given, or the one a grid gives its table's cells and rows (a role=grid table's <td> is a grid cell).
const implicitRole = (el) => {
  const t = el.localName;
  if (t !== 'td' && t !== 'th' && t !== 'tr') return '';
  const table = el.closest('table');
  const r = table ? (table.getAttribute('role') || '').trim().split(/\s+/)[0] : '';
  if (r !== 'grid' && r !== 'treegrid') return '';
  return t === 'tr' ? 'row' : t === 'td' ? 'gridcell' : el.scope === 'row' ? 'rowheader' : 'columnheader';
};
const roleOf = (e) => (e.getAttribute('role') || '').trim().split(/\s+/)[0] || implicitRole(e);
// Composite widgets whose keyboard model is the container's: one Tab stop, arrow keys within (a roving tabindex
// or aria-activedescendant). What their items do on click, the keys do too; the keyboard check judges them.
const COMPOSITES = new Set(['grid', 'treegrid', 'listbox', 'tree', 'menu', 'menubar', 'tablist', 'radiogroup',
  'toolbar']);
const managesFocus = (c) => c.hasAttribute('aria-activedescendant') || c.hasAttribute('tabindex')
  || !!c.querySelector('[tabindex],[aria-activedescendant]');
const withRole = (el) => {
  if (ROLES.has(roleOf(el))) return true;
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const r = roleOf(a);
    if (ROLES.has(r) && !CONTAINERS.has(r)) return true;  // part of a widget that has a role
    if (COMPOSITES.has(r) && managesFocus(a)) return true;
  }
  return false;
};
// Labels of form fields given by aria-labelledby: clicking one focuses its field, as a <label> does (a pointer
// shortcut; keyboard users reach the field itself).
const FIELDS = 'input,select,textarea,[role=combobox],[role=textbox],[role=searchbox],[role=listbox],[role=slider],' +
  '[role=spinbutton],[role=checkbox],[role=radio],[role=switch],[role=radiogroup]';
const fieldLabels = new Set();
for (const f of Array.from(document.querySelectorAll('[aria-labelledby]')).slice(0, 500)) {
  if (!f.matches(FIELDS)) continue;
  for (const id of (f.getAttribute('aria-labelledby') || '').split(/\s+/)) {
    const l = id && document.getElementById(id);
    if (l) fieldLabels.add(l);
  }
}
const labelLike = (el) => {
  for (let a = el; a && a !== document.body; a = a.parentElement) if (fieldLabels.has(a)) return true;
  return false;
};
const pointerTop = (el) => {
  if (getComputedStyle(el).cursor !== 'pointer') return false;
  const p = el.parentElement;
  return !(p && getComputedStyle(p).cursor === 'pointer');
};
// An empty layer over the whole viewport that closes an overlay when clicked (a modal's backdrop): a mouse
// shortcut beside Escape and the overlay's own close button, which the dialog check asks for.
const backdrop = (el) => {
  const pos = getComputedStyle(el).position;
  if (pos !== 'fixed' && pos !== 'absolute') return false;
  if (RS.text(el) || el.querySelector('img,svg,canvas,video,input,select,textarea,button,a[href]')) return false;
  const r = el.getBoundingClientRect();
  return r.width >= innerWidth * 0.9 && r.height >= innerHeight * 0.9;
};
const out = [];
for (const el of all) {
  if (out.length >= 60) break;
  if (el.closest(NATIVE) || el.closest('svg') && el.localName !== 'svg') continue;
  if (withRole(el) || labelLike(el)) continue;
  if (!RS.shown(el)) continue;
  const own = listened.has(el);
  if (own && backdrop(el)) continue;
  let delegated = false;
  if (!own) {
    if (!pointerTop(el)) continue;
    for (let a = el.parentElement; a; a = a.parentElement) if (listened.has(a)) { delegated = true; break; }
    if (!delegated && !globalListener) continue;
    // A row or card around real controls: the container's handler serves them (keyboard users use them).
    if (el.querySelector(NATIVE)) continue;
  } else {
    const inner = Array.from(el.querySelectorAll(NATIVE)).slice(0, 50);
    // A card that looks clickable as a whole (its own pointer cursor) but holds only links: its own action (pick,
    // expand) may have no keyboard way, or it may only forward to its link. Cannot tell which: a warning.
    if (inner.length && inner.every((k) => k.matches('a[href]')) && pointerTop(el) && out.length < 60) {
      const d = RS.desc(el);
      d.card = true; d.own = true; d.links = inner.length;
      out.push(d);
      continue;
    }
    if (inner.length) continue;  // a wrapper that delegates to real controls inside it
    const kids = Array.from(el.querySelectorAll('*')).slice(0, 400);
    if (kids.some((k) => !k.closest(NATIVE) && getComputedStyle(k).cursor === 'pointer' && k !== el && pointerTop(k))) continue;
  }
  const d = RS.desc(el);
  d.tabindex = el.getAttribute('tabindex');
  d.own = own;
  out.push(d);
}
return out;
"""

_SCAN_BODY = r"""
const axe = arg || {};
const skipSet = (rules) => {
  const s = new Set();
  for (const r of rules) for (const t of (axe[r] || [])) { try { const e = document.querySelector(t); if (e) s.add(e); } catch (err) {} }
  return s;
};
const rendered = (el) => !el.checkVisibility || el.checkVisibility({checkVisibilityCSS: true});
const ariaHidden = (el) => !!el.closest('[aria-hidden=true]');
const out = {};
const root = document.documentElement;
out.lang = root.getAttribute('lang');
out.htmlTag = (root.outerHTML || '').slice(0, (root.outerHTML || '').indexOf('>') + 1);
out.langCovered = skipSet(arg.__lang || []).has(root);
out.mains = Array.from(document.querySelectorAll('main,[role=main]')).filter(rendered).map(RS.desc);
out.h1s = Array.from(document.querySelectorAll('h1,[role=heading][aria-level="1"]'))
  .filter((e) => rendered(e) && !(e.localName === 'h1' && e.getAttribute('role') && e.getAttribute('role') !== 'heading')).map(RS.desc);
out.bodyStart = RS.html(document.body, 300);
const altSkip = skipSet(arg.__alt || []);
// Images without a text alternative: no alt (or an alt of spaces only, which is no empty alt), and elements given
// role="img" without a name. Whether a role="none" applies (not on a focusable image) is Chromium's to say.
const blankAlt = (e) => e.hasAttribute('alt') && e.getAttribute('alt') !== '' && !e.getAttribute('alt').trim();
out.images = Array.from(document.querySelectorAll('img,input[type=image],[role=img]'))
  .filter((e) => e.localName === 'img' || e.localName === 'input' ? !e.hasAttribute('alt') || blankAlt(e) : true)
  .filter((e) => rendered(e) && !ariaHidden(e) && !altSkip.has(e))
  .filter((e) => blankAlt(e) || !RS.name(e))
  .map((e) => Object.assign(RS.desc(e), {alt: e.getAttribute('alt')}));
const labelSkip = skipSet(arg.__label || []);
const controls = Array.from(document.querySelectorAll(
  'input:not([type=hidden]):not([type=button]):not([type=submit]):not([type=reset]):not([type=image]),select,textarea,' +
  '[role=textbox],[role=combobox],[role=searchbox],[role=listbox],[role=slider],[role=spinbutton],[role=checkbox],[role=radio],[role=switch]'))
  .filter((e) => rendered(e) && !ariaHidden(e) && !labelSkip.has(e));
out.unlabeled = [];
for (const el of controls) {
  if (RS.name(el)) continue;
  if (el.localName !== 'input' && el.localName !== 'select' && el.localName !== 'textarea' && RS.text(el)) continue;
  const d = RS.desc(el);
  d.placeholder = el.getAttribute('placeholder') || '';
  d.type = el.getAttribute('type') || '';
  out.unlabeled.push(d);
}
const nameSkip = skipSet(arg.__name || []);
// Rendered, even with no size (an empty link is still announced as one).
out.unnamed = Array.from(document.querySelectorAll('button,a[href],[role=button],[role=link],input[type=button],input[type=submit],input[type=reset]'))
  .filter((e) => rendered(e) && !ariaHidden(e) && !nameSkip.has(e) && !RS.name(e))
  .map(RS.desc);
return out;
"""


def _skip_map(ctx: CheckContext) -> dict:
    """Selectors the a11y check already reported as errors, grouped by our kind of problem."""
    failed = ctx.info.get("axe_failures") or {}
    out = {}
    for kind, rules in AXE_EQUIVALENT.items():
        out[f"__{kind}"] = list(rules)
    for rules in AXE_EQUIVALENT.values():
        for rule in rules:
            out[rule] = list(failed.get(rule, []))
    return out


async def find_clickables(ctx: CheckContext, page) -> list[dict]:
    """Elements that react to clicks but are neither native controls nor given an interactive role."""
    expression = "(() => {\n" + JS_LIB + _CLICKABLES_BODY + "\n})()"
    ms = int(ctx.timeouts.action * 1000)
    try:
        cdp = await ctx.within(page.context.new_cdp_session(page), "opening a DevTools session")
    except PlaywrightError:
        cdp = None  # not Chromium
    if cdp is not None:
        try:
            reply = await ctx.within(
                cdp.send("Runtime.evaluate", {"expression": expression, "includeCommandLineAPI": True,
                                              "returnByValue": True, "timeout": ms}),
                "listing click listeners",
            )
            if "exceptionDetails" not in reply:
                return list(reply.get("result", {}).get("value") or [])
        except PlaywrightError:
            pass
        finally:
            try:
                await ctx.within(cdp.detach(), "closing the DevTools session")
            except (PlaywrightError, CheckTimeout):
                pass
    # No DevTools protocol (another browser) or it failed: fall back to onclick attributes/properties.
    return await ctx.within(page.evaluate(js(_CLICKABLES_BODY)), "listing onclick handlers")


def _capped(items: list, make) -> list[Finding]:
    out = [make(item) for item in items[:MAX_PER_KIND]]
    if len(items) > MAX_PER_KIND and out:
        last = out[-1]
        more = len(items) - MAX_PER_KIND
        out[-1] = dataclasses.replace(last, message=f"{last.message} (and {more} more like it)")
    return out


async def confirmed(ctx: CheckContext, page, suspects: list[dict], fields: bool = False) -> list[dict]:
    """Of the elements the scan found without a name, those Chromium's accessibility tree agrees about: it computes
    no name either and the element keeps its role (a role="none" that applies, as on a disabled button, or an
    element hidden from assistive technology, is no unnamed control). What Chromium cannot say about stays. A form
    field's name never comes from its own content (a file field's "Choose File" button text labels nothing)."""
    asked = suspects[:MAX_ASKED]
    facts = await ax_facts(ctx, page, [d.get("sel", "") for d in asked])

    def named(f) -> bool:
        return bool(f.name) and not (fields and f.source == "contents")

    kept = [d for d, f in zip(asked, facts) if f is None or not (named(f) or f.presentational)]
    return kept + suspects[MAX_ASKED:]


def _said_by_axe(ctx: CheckContext, rule: str) -> bool:
    return AXE_SAME_PAGE_RULE.get(rule, "") in (ctx.info.get("axe_rules") or {})


async def check_semantics(ctx: CheckContext) -> list[Finding]:
    page = ctx.page
    findings: list[Finding] = []

    clickables = await find_clickables(ctx, page)

    def clickable(d: dict) -> Finding:
        tab = d.get("tabindex")
        focusable = tab is not None and tab.strip().lstrip("-").isdigit() and int(tab) >= 0
        why = "has no role" if focusable else "has no role and cannot be reached with the keyboard"
        how = ("has a click handler" if d.get("own")
               else "looks clickable (cursor: pointer) inside a click-handling parent")
        return RULES["semantics/clickable-div"].finding(
            f"{label(d)} {how} but is not a button or link: it {why}", where=d.get("sel", ""),
            hint="Use a <button type=\"button\"> (or <a href> for navigation) instead of a clickable "
            f"<{d.get('tag') or 'div'}>, or add role=\"button\", tabindex=\"0\" and Enter/Space key handling.",
            evidence=truncate(d.get("html", ""), 300))

    def card(d: dict) -> Finding:
        return RULES["semantics/clickable-card"].finding(
            f"{label(d)} has a click handler and a pointer cursor but is not a button: only the "
            f"{'link' if d.get('links') == 1 else 'links'} inside it can be reached with the keyboard, so what "
            "clicking the card itself does may be mouse-only",
            where=d.get("sel", ""),
            hint="If clicking the card does more than follow its link (select, expand), give that action a "
            "<button type=\"button\"> inside the card.",
            evidence=truncate(d.get("html", ""), 300))

    findings += _capped([d for d in clickables if not d.get("card")], clickable)
    findings += _capped([d for d in clickables if d.get("card")], card)

    skip = _skip_map(ctx)
    scan = await ctx.within(page.evaluate(js(_SCAN_BODY), skip), "scanning page semantics")

    lang = (scan.get("lang") or "").strip()
    if not lang and not scan.get("langCovered"):
        findings.append(RULES["semantics/no-lang"].finding(
            "The <html> element has no lang attribute, so screen readers cannot pick the language", where="html",
            hint='Write <html lang="en"> (or the page\'s language code).',
            evidence=truncate(scan.get("htmlTag", ""), 200)))

    if not scan.get("mains"):
        if not _said_by_axe(ctx, "semantics/no-main"):
            findings.append(RULES["semantics/no-main"].finding(
                "The page has no <main> landmark", where="body",
                hint="Wrap the page's primary content in one <main> element.",
                evidence=truncate(scan.get("bodyStart", ""), 300)))
    elif len(scan["mains"]) > 1 and not _said_by_axe(ctx, "semantics/many-mains"):
        findings.append(RULES["semantics/many-mains"].finding(
            f"The page has {len(scan['mains'])} visible <main> landmarks; it should have one",
            where=scan["mains"][1].get("sel", ""), hint="Keep a single <main>; use <section> for the others.",
            evidence=truncate(scan["mains"][1].get("html", ""), 300)))

    h1s = scan.get("h1s") or []
    if not h1s:
        if not _said_by_axe(ctx, "semantics/no-h1"):
            findings.append(RULES["semantics/no-h1"].finding(
                "The page has no <h1> heading naming it", where="body",
                hint="Add one <h1> with the page or app title at the top of <main> (visually hidden is fine on "
                "full-screen pages).",
                evidence=truncate(scan.get("bodyStart", ""), 300)))
    elif len(h1s) > 1:
        findings.append(RULES["semantics/many-h1"].finding(
            f"The page has {len(h1s)} <h1> headings; it should have exactly one", where=h1s[1].get("sel", ""),
            hint="Keep one <h1> for the page title; make the others <h2>.",
            evidence=truncate(" ".join(h.get("html", "") for h in h1s[:3]), 300)))

    findings += await _names(ctx, page, scan)
    findings += await labelname.check_label_in_name(ctx, page)
    return findings


async def _names(ctx: CheckContext, page, scan: dict) -> list[Finding]:
    """Images, form fields, buttons and links the scan found without a name (and Chromium agrees)."""
    findings: list[Finding] = []

    def no_alt(d: dict) -> str:
        if d.get("alt") is not None:
            return f"{label(d)} has an alt of spaces only, which is neither a description nor an empty alt"
        if d.get("tag") in ("img", "input"):
            return f"{label(d)} has no alt attribute"
        return f"{label(d)} has no accessible name (no aria-label or aria-labelledby)"

    images = await confirmed(ctx, page, scan.get("images") or [])
    findings += _capped(images, lambda d: RULES["semantics/img-alt"].finding(
        no_alt(d), where=d.get("sel", ""),
        hint='Add alt="…" describing the image, or alt="" if it is purely decorative.',
        evidence=truncate(d.get("html", ""), 300)))

    def unlabeled(d: dict) -> Finding:
        if d.get("placeholder"):
            return RULES["semantics/placeholder-label"].finding(
                f"{label(d)} is labelled only by its placeholder \"{d['placeholder']}\"", where=d.get("sel", ""),
                hint="Add a visible <label for=…> (placeholders disappear while typing and are not labels).",
                evidence=truncate(d.get("html", ""), 300))
        return RULES["semantics/unlabeled"].finding(
            f"Form control {label(d)} has no label", where=d.get("sel", ""),
            hint="Add <label for=\"id\">…</label> (or wrap it in a <label>, or give it aria-label).",
            evidence=truncate(d.get("html", ""), 300))

    unnamed_fields = [d for d in scan.get("unlabeled") or [] if not d.get("placeholder")]
    findings += _capped([d for d in scan.get("unlabeled") or [] if d.get("placeholder")]
                        + await confirmed(ctx, page, unnamed_fields, fields=True), unlabeled)

    unnamed = await confirmed(ctx, page, scan.get("unnamed") or [])
    findings += _capped(unnamed, lambda d: RULES["semantics/unnamed"].finding(
        f"{label(d)} has no accessible name (no text, aria-label or alt on its icon)", where=d.get("sel", ""),
        hint="Give it visible text, or aria-label=\"…\" when it shows only an icon.",
        evidence=truncate(d.get("html", ""), 300)))
    return findings
