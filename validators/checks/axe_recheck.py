"""A second look at the failures of axe-core rules known to fail elements the rule's W3C ACT rule does not.

axe-core's `avoid-inline-spacing` fails every element whose style attribute sets letter-spacing, word-spacing or
line-height with `!important` below the WCAG 1.4.12 minimum, measured against that element's own font size. The ACT
rules (24afc2, 9e45ec, 78fd32) judge the text the declaration actually styles: an element with no text of its own
styled by it (empty, or whose text sits in children that declare the property themselves) fails nothing, and text
in a child with another font size is measured against that size (2px word spacing is 0.2em of 10px text). Each
failing element is looked at again that way; one whose styled text all meets the minimum is dropped.
"""

from __future__ import annotations

from typing import Any

from runshot.validators.browser.context import CheckContext

# For each selector: true when the element still fails (or cannot be looked at: axe's verdict stands).
_INLINE_SPACING = r"""(targets) => targets.map((sel) => {
  let el = null;
  try { el = typeof sel === 'string' ? document.querySelector(sel) : null; } catch (err) { return true; }
  if (!el || !el.style) return true;
  const MIN = { 'letter-spacing': 0.12, 'word-spacing': 0.16, 'line-height': 1.5 };
  const measure = (style, prop) => {
    const value = style.getPropertyValue(prop);
    if (value === 'normal') return prop === 'line-height' ? NaN : 0;
    return parseFloat(value);
  };
  for (const prop of Object.keys(MIN)) {
    if (el.style.getPropertyPriority(prop) !== 'important') continue;
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim() || !node.parentElement) continue;
      let owner = node.parentElement;  // the nearest element declaring the property in its style attribute
      while (owner !== el && !owner.style.getPropertyValue(prop)) owner = owner.parentElement;
      if (owner !== el) continue;
      const style = getComputedStyle(node.parentElement);
      const value = measure(style, prop), size = parseFloat(style.fontSize);
      if (!(value >= MIN[prop] * size - 0.01)) return true;
    }
  }
  return false;
})"""

RECHECKS = {"avoid-inline-spacing": _INLINE_SPACING}


async def recheck(ctx: CheckContext, page: Any, result: Any, seconds: float) -> Any:
    """axe's `result` with the elements a second look clears removed (a rule left with none is dropped)."""
    if not isinstance(result, dict):
        return result
    kept = []
    for rule in result.get("violations") or []:
        script = RECHECKS.get(rule.get("id", ""))
        nodes = rule.get("nodes") or []
        if script and nodes:
            targets = [n.get("target", [None])[0] if len(n.get("target") or []) == 1 else None for n in nodes]
            still = await ctx.within(page.evaluate(script, targets), f"looking again at {rule['id']}", seconds)
            nodes = [n for n, failing in zip(nodes, still) if failing]
            if not nodes:
                continue
            rule = {**rule, "nodes": nodes}
        kept.append(rule)
    return {**result, "violations": kept}
