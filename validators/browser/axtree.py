"""Chromium's own accessibility tree, asked about a few elements: their computed role and accessible name.

A hand-written name computation misses cases the browser gets right (an image named by ``title`` or
``aria-labelledby`` inside a link, a ``role="none"`` that applies because the element is disabled), so a check
that is about to say "this control has no name" asks Chromium first (DevTools ``Accessibility.getPartialAXTree``
for each element, one call each: only the few elements a check suspects are asked about).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError

from runshot.validators.browser.context import CheckContext, CheckTimeout

# Roles under which an element is no control and no image: its own role was removed (role="none" on a disabled
# button applies, the browser says so), so a rule about named controls or images does not apply to it.
PRESENTATIONAL = frozenset({"none", "presentation", "generic"})

# The elements the selectors name (RS.sel's form: "host-selector >> inner-selector" crosses a shadow root), or null.
_RESOLVE = r"""(sels) => sels.map((sel) => {
  let root = document, el = null;
  for (const part of String(sel).split(' >> ')) {
    if (!root) return null;
    try { el = root.querySelector(part); } catch (e) { return null; }
    if (!el) return null;
    root = el.shadowRoot;
  }
  return el;
})"""


@dataclass(frozen=True)
class AXFacts:
    role: str  # Chromium's computed role ("button", "link", "image", "none", ...)
    name: str  # the accessible name it computed
    ignored: bool  # not in the accessibility tree at all (hidden from assistive technology)
    source: str = ""  # where the name came from: "attribute", "relatedElement" (a label), "contents", "placeholder"

    @property
    def presentational(self) -> bool:
        return self.ignored or self.role in PRESENTATIONAL


async def ax_facts(ctx: CheckContext, page, selectors: list[str]) -> list[AXFacts | None]:
    """Chromium's role and name for each selector's element, in order; None where the element is gone or the
    browser cannot say (no DevTools protocol: not Chromium)."""
    if not selectors:
        return []
    try:
        cdp = await ctx.within(page.context.new_cdp_session(page), "opening a DevTools session")
    except PlaywrightError:
        return [None] * len(selectors)
    try:
        return await _ask(ctx, cdp, selectors)
    except (PlaywrightError, KeyError, TypeError, ValueError):
        return [None] * len(selectors)
    finally:
        try:
            await ctx.within(cdp.detach(), "closing the DevTools session")
        except (PlaywrightError, CheckTimeout):
            pass


async def _ask(ctx: CheckContext, cdp, selectors: list[str]) -> list[AXFacts | None]:
    reply = await ctx.within(cdp.send("Runtime.evaluate", {
        "expression": f"({_RESOLVE})({json.dumps(selectors)})", "returnByValue": False}), "finding elements")
    array = reply.get("result", {}).get("objectId")
    if not array or "exceptionDetails" in reply:
        return [None] * len(selectors)
    props = await ctx.within(cdp.send("Runtime.getProperties", {"objectId": array, "ownProperties": True}),
                             "listing elements")
    ids = {int(p["name"]): (p.get("value") or {}).get("objectId") for p in props.get("result", [])
           if p.get("name", "").isdigit()}
    out: list[AXFacts | None] = []
    for i in range(len(selectors)):
        object_id = ids.get(i)
        if not object_id:
            out.append(None)
            continue
        tree = await ctx.within(cdp.send("Accessibility.getPartialAXTree", {
            "objectId": object_id, "fetchRelatives": False}), "reading the accessibility tree")
        nodes = tree.get("nodes") or []
        node = nodes[0] if nodes else None
        if node is None:
            out.append(None)
            continue
        name = node.get("name") or {}
        used = [src for src in name.get("sources") or [] if src.get("value") and not src.get("superseded")]
        out.append(AXFacts(role=str((node.get("role") or {}).get("value") or ""),
                           name=str(name.get("value") or "").strip(), ignored=bool(node.get("ignored")),
                           source=str(used[0].get("type", "")) if used else ""))
    await ctx.within(cdp.send("Runtime.releaseObject", {"objectId": array}), "releasing elements")
    return out
