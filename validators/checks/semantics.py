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
from importlib import resources

from playwright.async_api import Error as PlaywrightError

from runshot.rules import ACCESSIBILITY, PAGE, Check, Rule, Rules
from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.browser.axtree import ax_facts
from runshot.validators.browser.context import CheckContext, CheckTimeout
from runshot.validators.browser.domtools import JS_LIB, js, label
from runshot.validators.checks import labelname

CHECK = "semantics"
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
DECLARED = Check(CHECK, "check_semantics", needs=PAGE, rules=RULES, rank=ACCESSIBILITY)

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

_CLICKABLES_BODY = resources.files("runshot.validators").joinpath("page_scripts", "semantics_clickables.js").read_text(
    encoding="utf-8")

_SCAN_BODY = resources.files("runshot.validators").joinpath("page_scripts", "semantics_scan.js").read_text(
    encoding="utf-8")


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
