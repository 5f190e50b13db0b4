"""A phone-sized viewport (375×667): no sideways scrolling, something painted on the first screen, and the
main content reachable there.

Whether anything shows is judged from what is painted inside the viewport (element boxes meeting it, rendered,
with text of their own or a replaced/graphic element), never from document scroll sizes: a full-screen layout
(``html, body {height: 100vh; overflow: hidden}``) shows its content although the document does not scroll.
"""

from __future__ import annotations

from importlib import resources

from runshot.rules import Check, Rule, Rules
from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.browser.context import CheckContext
from runshot.validators.browser.domtools import js, label
from runshot.validators.checks import viewport

CHECK = "mobile"
VIEWPORT = (375, 667)

RULES = Rules(
    Rule("mobile/overflow", ERROR,
         "WCAG 1.4.10 Reflow: content needs sideways scrolling at 320-375 CSS px.", wcag=("1.4.10",)),
    Rule("mobile/overflow-exempt", WARNING,
         "Only content WCAG 1.4.10 lets scroll in two dimensions (data tables, images, video, maps, code listings) "
         "is wider than the screen: allowed, worth a look.", wcag=("1.4.10",)),
    Rule("mobile/blank", ERROR, "Nothing at all is painted on a phone's screen."),
    Rule("mobile/main-unreachable", ERROR,
         "Main lies where scrolling cannot bring it (beside/above, or scroll locked)."),
    Rule("mobile/main-offscreen", WARNING,
         "Main starts below the first screen: reachable by scrolling, a layout choice."),
    Rule("mobile/no-viewport-meta", WARNING, "Phones zoom out; usable, but a best practice is missed."),
    Rule("mobile/unnamed", ERROR,
         "WCAG 4.1.2: a control shown only on narrow screens has no accessible name.",
         wcag=("4.1.2",), act=("97a4e1", "c487ae")),
    *viewport.RULES.values(),
)
DECLARED = Check(CHECK, "check_mobile", needs="viewport", rules=RULES)  # a browser context of its own size
DESKTOP = (1280, 800)  # the viewport the other checks see the page in

# Buttons and links painted at phone width without an accessible name. The a11y and semantics checks look at the
# page in a desktop viewport, so a control that only narrow screens show (a menu button) is judged here.
_UNNAMED = r"""
const pick = 'button,a[href],[role=button],[role=link],input[type=button],input[type=submit],input[type=reset]';
const hidden = (el) => !!el.closest('[aria-hidden=true]') || (el.closest('[inert]') !== null);
return Array.from(document.querySelectorAll(pick))
  .filter((e) => RS.shown(e) && !hidden(e) && !RS.name(e)).slice(0, 20).map(RS.desc);
"""
_SHOWN = r"""
return arg.map((sel) => { try { const e = document.querySelector(sel); return !!e && RS.shown(e); } catch (err) { return true; } });
"""

_MEASURE = resources.files("runshot.validators").joinpath("page_scripts", "mobile_measure.js").read_text(
    encoding="utf-8")


async def check_mobile(ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    async with ctx.open_session(viewport=VIEWPORT) as s:
        m = await ctx.within(s.page.evaluate(js(_MEASURE)), "measuring the page at phone width")
        unnamed = await ctx.within(s.page.evaluate(js(_UNNAMED)), "looking for unnamed controls at phone width")
        if unnamed:  # only those the desktop layout hides: the others are the desktop checks' to report
            await ctx.within(s.page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]}),
                             "widening the page")
            shown = await ctx.within(s.page.evaluate(js(_SHOWN), [d["sel"] for d in unnamed]),
                                     "looking at those controls at desktop width")
            unnamed = [d for d, wide in zip(unnamed, shown) if not wide]
        findings += await viewport.zoom_findings(ctx, s.page)
    for d in unnamed[:5]:
        findings.append(RULES["mobile/unnamed"].finding(
            f"At {VIEWPORT[0]}px wide {label(d)} shows, but it has no accessible name "
            "(no text, aria-label or alt on its icon); wider screens hide it",
            where=d.get("sel", ""),
            hint="Give it visible text, or aria-label=\"…\" when it shows only an icon (e.g. aria-label=\"Menu\").",
            evidence=truncate(d.get("html", ""), 300)))
    findings += _overflow(m)
    main = m.get("main")
    if not m.get("painted"):
        findings.append(RULES["mobile/blank"].finding(
            f"At {VIEWPORT[0]}×{VIEWPORT[1]} nothing is painted on the first screen "
            "(no visible text, image, canvas or control meets the viewport)",
            where="body",
            hint="Make sure the page's content is not hidden, transparent or placed off-screen on "
               "narrow screens.",
            evidence=truncate(m.get("bodyStart", ""), 300)))
    elif main is not None and not m.get("inView"):
        unreachable = m.get("sideways") or not m.get("canScroll")
        where_to = ("outside the screen where scrolling cannot bring it" if unreachable
                    else "below the first screen")
        rule = RULES["mobile/main-unreachable" if unreachable else "mobile/main-offscreen"]
        findings.append(rule.finding(
            f"The <main> content is {where_to} at {VIEWPORT[0]}×{VIEWPORT[1]} (box at {m.get('rect')})",
            where=main.get("sel", ""),
            hint="Lay the page out so the main content starts on the first screen of a phone.",
            evidence=truncate(main.get("html", ""), 300)))
    if not m.get("viewportMeta"):
        findings.append(RULES["mobile/no-viewport-meta"].finding(
            "The page has no <meta name=\"viewport\">, so phones render it zoomed out", where="head",
            hint='Add <meta name="viewport" content="width=device-width, initial-scale=1"> to <head>.'))
    return findings


def _overflow(m: dict) -> list[Finding]:
    """Sideways scrolling at phone width: an error, unless only content 1.4.10 exempts sticks out (a warning)."""
    if m["width"] <= m["inner"] + 1:
        return []
    culprits, exempt = m.get("culprits") or [], m.get("exempt") or []
    if exempt and not culprits:
        names = "; ".join(f"{label(c)} reaches {c['right']}px" for c in exempt)
        return [RULES["mobile/overflow-exempt"].finding(
            f"At {VIEWPORT[0]}px wide the page is {m['width']}px wide, only because of content that WCAG 1.4.10 "
            f"lets scroll in two dimensions: {names}",
            where=exempt[0]["sel"],
            hint="Allowed for data tables, images, video, maps and code; a scrolling wrapper "
            "(overflow-x: auto) keeps the rest of the page from scrolling sideways with it.",
            evidence=truncate(exempt[0].get("html", ""), 300))]
    names = "; ".join(f"{label(c)} reaches {c['right']}px" for c in culprits) or "an unknown element"
    return [RULES["mobile/overflow"].finding(
        f"At {VIEWPORT[0]}px wide the page is {m['width']}px wide and scrolls sideways. Widest: {names}",
        where=culprits[0]["sel"] if culprits else "body",
        hint="Avoid fixed widths wider than the screen: use max-width: 100%, flex-wrap, relative units or a "
        "media query for narrow screens.",
        evidence=truncate(culprits[0].get("html", "") if culprits else "", 300))]
