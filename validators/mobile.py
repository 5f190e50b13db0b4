"""A phone-sized viewport (375×667): no sideways scrolling, and the main content shows on the first screen."""

from __future__ import annotations

from runshot.values import ERROR, WARNING, Finding, truncate
from runshot.validators.context import CheckContext
from runshot.validators.domtools import js, label

CHECK = "mobile"
VIEWPORT = (375, 667)

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
  const set = new Set(over.map((o) => o.el));
  // The outermost elements that stick out: their parent does not stick out as far.
  const outer = over.filter((o) => !(o.el.parentElement && set.has(o.el.parentElement)
      && o.el.parentElement.getBoundingClientRect().right + scrollX >= o.right - 1));
  outer.sort((a, b) => b.right - a.right);
  out.culprits = outer.slice(0, 3).map((o) => Object.assign(RS.desc(o.el), {right: Math.round(o.right), w: Math.round(o.width)}));
}
let main = Array.from(document.querySelectorAll('main,[role=main]')).find(RS.shown) || null;
let chosen = 'main';
if (!main && document.body) {
  chosen = 'first content';
  main = Array.from(document.body.querySelectorAll('h1,h2,p,form,canvas,section,article,ul,ol,table,img,button,input'))
    .find(RS.shown) || null;
}
out.main = main ? RS.desc(main) : null;
out.chosen = chosen;
if (main) {
  const r = main.getBoundingClientRect();
  const w = Math.max(0, Math.min(r.right, W) - Math.max(r.left, 0));
  const h = Math.max(0, Math.min(r.bottom, H) - Math.max(r.top, 0));
  out.visibleArea = w * h;
  out.rect = [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)];
  out.inView = w >= 1 && h >= 1;
}
return out;
"""


async def check_mobile(ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    async with ctx.open_session(viewport=VIEWPORT) as s:
        m = await ctx.within(s.page.evaluate(js(_MEASURE)), "measuring the page at phone width")
    if m["width"] > m["inner"] + 1:
        culprits = m["culprits"]
        names = "; ".join(f"{label(c)} reaches {c['right']}px" for c in culprits) or "an unknown element"
        findings.append(Finding(
            CHECK, ERROR,
            f"At {VIEWPORT[0]}px wide the page is {m['width']}px wide and scrolls sideways. Widest: {names}",
            where=culprits[0]["sel"] if culprits else "body",
            hint="Avoid fixed widths wider than the screen: use max-width: 100%, flex-wrap, relative units or a "
                 "media query for narrow screens.",
            evidence=truncate(culprits[0].get("html", "") if culprits else "", 300)))
    main = m.get("main")
    if main is None:
        findings.append(Finding(
            CHECK, ERROR, f"At {VIEWPORT[0]}×{VIEWPORT[1]} no content is visible on the page",
            where="body", hint="Make sure the page's content is not hidden on narrow screens."))
    elif not m.get("inView"):
        what = "The <main> content" if m.get("chosen") == "main" else f"The first content ({label(main)})"
        findings.append(Finding(
            CHECK, ERROR,
            f"{what} is outside the first screen at {VIEWPORT[0]}×{VIEWPORT[1]} (box at {m.get('rect')})",
            where=main.get("sel", ""),
            hint="Lay the page out so the main content starts on the first screen of a phone.",
            evidence=truncate(main.get("html", ""), 300)))
    if not m.get("viewportMeta"):
        findings.append(Finding(
            CHECK, WARNING, "The page has no <meta name=\"viewport\">, so phones render it zoomed out",
            where="head",
            hint='Add <meta name="viewport" content="width=device-width, initial-scale=1"> to <head>.'))
    return findings
