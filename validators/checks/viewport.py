"""Zoom blocked by the viewport meta element (WCAG 1.4.4, ACT rule b4f0c3), read as the ACT rule reads it.

A ``<meta name="viewport">`` whose ``content`` has ``user-scalable`` or ``maximum-scale`` blocks zooming when
``user-scalable`` is anything but ``yes``, ``device-width``, ``device-height`` or a number outside -1..1 (so "no",
"0.5" and an unknown word such as "false" all block it: browsers translate them to a fixed zoom), or when
``maximum-scale`` is anything but ``device-width``, ``device-height``, a negative number or a number of 2 or more
(an unknown word caps it at 0.1, "yes" at 1). axe-core's ``meta-viewport`` judges the common cases; the values it
reads as numbers only (an unknown word) are caught here, and an element axe-core already failed is not reported
twice.
"""

from __future__ import annotations

import re

from runshot.rules import Rule, Rules
from runshot.values import ERROR, Finding, truncate
from runshot.validators.browser.context import CheckContext

RULES = Rules(
    Rule("mobile/zoom-blocked", ERROR,
         "WCAG 1.4.4: the viewport meta element stops users zooming the page to 200 %.",
         wcag=("1.4.4",), act=("b4f0c3",)),
)
AXE_SAME = "meta-viewport"
SCALABLE_WORDS = ("yes", "device-width", "device-height")
MAX_SCALE_WORDS = ("device-width", "device-height")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

# Every <meta name="viewport"> with a content attribute: its content and markup, in document order.
_METAS = """() => Array.from(document.querySelectorAll('meta[name]'))
  .filter((m) => m.name.trim().toLowerCase() === 'viewport' && m.hasAttribute('content'))
  .map((m) => ({content: m.getAttribute('content'), html: m.outerHTML}))"""


def properties(content: str) -> dict[str, str]:
    """The content attribute's key=value pairs (keys lower-cased; separators: commas, semicolons, spaces)."""
    out: dict[str, str] = {}
    for key, value in re.findall(r"([^\s,;=]+)\s*=\s*([^\s,;=]*)", content):
        out[key.lower()] = value.strip().lower()
    return out


def _number(value: str) -> float | None:
    match = _NUMBER.match(value)
    return float(match.group(0)) if match else None


def blocks_zoom(content: str) -> str:
    """Why this viewport content blocks zooming, or "" when it does not."""
    props = properties(content)
    if "user-scalable" in props:
        value = props["user-scalable"]
        number = _number(value)
        if value not in SCALABLE_WORDS and (number is None or -1 < number < 1):
            return f"user-scalable={value or '(empty)'} turns zooming off"
    if "maximum-scale" in props:
        value = props["maximum-scale"]
        number = _number(value)
        if value not in MAX_SCALE_WORDS and (number is None or 0 <= number < 2):
            return f"maximum-scale={value or '(empty)'} caps zoom below 200 %"
    return ""


async def zoom_findings(ctx: CheckContext, page) -> list[Finding]:
    """A finding for each viewport meta element that blocks zooming (unless axe-core already failed it)."""
    if (ctx.info.get("axe_failures") or {}).get(AXE_SAME):
        return []
    metas = await ctx.within(page.evaluate(_METAS), "reading the viewport meta element")
    findings = []
    for meta in metas[:3]:
        why = blocks_zoom(str(meta.get("content", "")))
        if why:
            findings.append(RULES["mobile/zoom-blocked"].finding(
                f"<meta name=\"viewport\">: {why}, so users who need larger text cannot zoom on a phone",
                where='meta[name="viewport"]',
                hint='Remove user-scalable and maximum-scale (or use user-scalable=yes, maximum-scale=5).',
                evidence=truncate(str(meta.get("html", "")), 300)))
    return findings
