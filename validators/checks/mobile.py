"""A phone-sized viewport (375×667): no sideways scrolling, something painted on the first screen, and the
main content reachable there.

Whether anything shows is judged from what is painted inside the viewport (element boxes meeting it, rendered,
with text of their own or a replaced/graphic element), never from document scroll sizes: a full-screen layout
(``html, body {height: 100vh; overflow: hidden}``) shows its content although the document does not scroll.
"""

from __future__ import annotations

from runshot.rules import Rule, Rules
from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.browser.context import CheckContext
from runshot.validators.browser.domtools import js, label
from runshot.validators.checks import viewport

CHECK = "mobile"
NEEDS = "viewport"
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

_MEASURE = r"""
const W = innerWidth, H = innerHeight;
const root = document.documentElement;
const width = Math.max(root.scrollWidth, document.body ? document.body.scrollWidth : 0);
const out = {width, inner: W, culprits: [], viewportMeta: !!document.querySelector('meta[name=viewport]')};
const clips = (el) => {
  for (let a = el.parentElement; a && a !== document.body && a !== root; a = a.parentElement) {
    const ox = getComputedStyle(a).overflowX;
    if (ox !== 'visible') return true;
  }
  return false;
};
// Content WCAG 1.4.10 lets scroll in two dimensions: data tables (with header cells or a caption), images, video,
// maps, diagrams, code listings.
const EXEMPT = 'pre, code, samp, img, picture, video, canvas, svg, map, object, embed, iframe, math, [role=img], '
  + '[role=table], [role=grid], [role=math]';
const dataTable = (t) => !!t && !['presentation', 'none'].includes(t.getAttribute('role'))
  && !!t.querySelector('th, caption, [scope], [headers]');
const exempt = (el) => !!el.closest(EXEMPT) || dataTable(el.closest('table'));
if (width > W + 1 && document.body) {
  const over = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (over.length > 400) break;
    const r = el.getBoundingClientRect();
    if (r.right + scrollX <= W + 1 || r.width === 0 || r.height === 0) continue;
    if (getComputedStyle(el).position === 'fixed' && r.left >= W) continue;  // an off-canvas panel
    if (clips(el)) continue;
    over.push({el, right: r.right + scrollX, width: r.width});
  }
  // Text running out of its box (a long line in <pre>): the element holding the text is what sticks out.
  const range = document.createRange();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(), i = 0; n && i < 5000 && over.length <= 400; n = walker.nextNode(), i++) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim() || over.some((o) => o.el === el)) continue;
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (r.right + scrollX > W + 1 && r.width > 0 && !clips(el)) over.push({el, right: r.right + scrollX, width: r.width});
  }
  const set = new Set(over.map((o) => o.el));
  // The outermost elements that stick out: their parent does not stick out as far.
  const outer = over.filter((o) => !(o.el.parentElement && set.has(o.el.parentElement)
      && o.el.parentElement.getBoundingClientRect().right + scrollX >= o.right - 1));
  outer.sort((a, b) => b.right - a.right);
  const describe = (o) => Object.assign(RS.desc(o.el), {right: Math.round(o.right), w: Math.round(o.width)});
  out.culprits = outer.filter((o) => !exempt(o.el)).slice(0, 3).map(describe);
  out.exempt = outer.filter((o) => exempt(o.el)).slice(0, 3).map(describe);
}
// What is painted on the first screen: element boxes meeting the viewport, rendered (visibility, opacity,
// display, content-visibility), holding their own text or being a replaced/graphic element.
const GRAPHIC = new Set(['img', 'canvas', 'svg', 'video', 'iframe', 'object', 'embed', 'input', 'select', 'textarea',
  'button', 'meter', 'progress', 'picture']);
const painted = [];
const meets = (r) => r.width >= 1 && r.height >= 1 && r.right > 0 && r.bottom > 0 && r.left < W && r.top < H;
const rendered = (el) => !el.checkVisibility
  || el.checkVisibility({checkVisibilityCSS: true, visibilityProperty: true, checkOpacity: true, opacityProperty: true});
const textRange = document.createRange();
const textMeets = (nodes) => Array.from(nodes).some((n) => {
  if (n.nodeType !== 3 || !n.textContent.trim()) return false;
  textRange.selectNodeContents(n);
  return Array.from(textRange.getClientRects()).some(meets);
});
if (document.body) {
  // The body and every element, open shadow roots included; text directly in <body> or a shadow root counts.
  const roots = [document];
  for (let i = 0; i < roots.length && i < 200; i++) {
    for (const el of roots[i].querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  }
  const within = (r) => Array.from(r === document ? document.body.querySelectorAll('*') : r.querySelectorAll('*'));
  const all = [document.body, ...roots.flatMap(within)];
  for (let i = 0; i < all.length && i < 5000 && painted.length < 3; i++) {
    const el = all[i];
    if (['script', 'style', 'noscript', 'template', 'head', 'title'].includes(el.localName)) continue;
    const graphic = GRAPHIC.has(el.localName) || getComputedStyle(el).backgroundImage !== 'none';
    const text = textMeets(el.childNodes) || (!!el.shadowRoot && textMeets(el.shadowRoot.childNodes));
    if (!(graphic && meets(el.getBoundingClientRect())) && !text) continue;
    if (!rendered(el)) continue;
    painted.push(RS.desc(el));
  }
}
out.painted = painted;
out.bodyStart = document.body ? RS.html(document.body, 300) : '';
const main = Array.from(document.querySelectorAll('main,[role=main]')).find(RS.shown) || null;
out.main = main ? RS.desc(main) : null;
if (main) {
  const r = main.getBoundingClientRect();
  out.rect = [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)];
  out.inView = meets(r);
  out.sideways = r.right <= 0 || r.left >= W || r.bottom <= 0;  // not where vertical scrolling goes
  const oy = (e) => e ? getComputedStyle(e).overflowY : 'visible';
  const locked = ['hidden', 'clip'].includes(oy(root)) || ['hidden', 'clip'].includes(oy(document.body));
  out.canScroll = !locked && Math.max(root.scrollHeight, document.body.scrollHeight) > H + 1;
}
return out;
"""


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
