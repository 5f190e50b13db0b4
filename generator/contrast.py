"""Where a contrast failure's colours are set, and colours that would pass.

axe-core's hint for `color-contrast` says "insufficient color contrast of 3.97 (foreground color: #ffffff,
background color: #007bff, …). Expected contrast ratio of 4.5:1". Told only that, a small model rarely finds
what to change. `explain` finds the declarations in the project's CSS that set those colours (stylesheets,
`<style>` blocks and `style` attributes, parsed with tinycss2; colour names and forms normalised with webcolors),
those whose selector names the failing element first, and works out the nearest colours that pass: the
background made darker or lighter (away from the text), or the text made so, keeping their hue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tinycss2
import webcolors

COLOUR_PROPERTIES = ("color", "background-color", "background")
MAX_PLACES = 3
MARGIN = 0.2  # proposed colours clear the threshold by this much (axe rounds, browsers blend)

_HINT = re.compile(
    r"contrast of (?P<ratio>[\d.]+) \(foreground color: (?P<fg>#[0-9a-f]{3,8}), background color: "
    r"(?P<bg>#[0-9a-f]{3,8}).*?Expected contrast ratio of (?P<want>[\d.]+):1",
    re.I | re.S,
)
_STYLE_BLOCK = re.compile(r"(<style\b[^>]*>)(?P<css>.*?)</style>", re.I | re.S)
_STYLE_ATTR = re.compile(r"""<(?P<tag>[a-z][\w-]*)(?P<before>[^>]*?)\sstyle\s*=\s*(?P<q>["'])(?P<css>.*?)(?P=q)""",
                         re.I | re.S)
# An element's id and class attributes in HTML source (feedback reads the names a whole page has with them).
ID_ATTR = re.compile(r"""\bid\s*=\s*["']([^"']+)["']""", re.I)
CLASS_ATTR = re.compile(r"""\bclass\s*=\s*["']([^"']+)["']""", re.I)
_TAG = re.compile(r"<\s*([a-z][\w-]*)", re.I)


@dataclass(frozen=True)
class Failure:
    ratio: float
    fg: str  # "#rrggbb"
    bg: str
    want: float


@dataclass(frozen=True)
class Place:
    """A declaration that sets one of the failing colours."""

    path: str
    line: int
    selector: str  # "button", or "style attribute of <p>"
    prop: str
    value: str
    names_element: bool  # the selector mentions the element's tag, id or a class


def parse_hint(hint: str) -> Failure | None:
    m = _HINT.search(hint or "")
    if not m:
        return None
    try:
        return Failure(float(m.group("ratio")), _hex(m.group("fg")), _hex(m.group("bg")), float(m.group("want")))
    except ValueError:
        return None


def explain(hint: str, evidence: str, files: dict[str, str]) -> str:
    """One paragraph for the finding's hint: where the colours are set and colours that pass ("" if unknown)."""
    failure = parse_hint(hint)
    if failure is None:
        return ""
    places = sorted(find_places(files, failure, _element_names(evidence)), key=lambda p: not p.names_element)
    parts = []
    if places:
        shown = " and ".join(f"{p.path} line {p.line} ({p.selector} {{ {p.prop}: {p.value} }})"
                             for p in places[:MAX_PLACES])
        parts.append(f"Its colours are set at {shown}.")
    else:
        parts.append(f"No rule in the project sets {failure.fg} or {failure.bg} directly (inherited or default "
                     "colours): set both color and background-color on the element.")
    proposals = []
    bg = passing(failure.bg, failure.fg, failure.want + MARGIN)
    if bg:
        proposals.append(f"background {bg} with text {failure.fg} gives {contrast(bg, failure.fg):.2f}:1")
    fg = passing(failure.fg, failure.bg, failure.want + MARGIN)
    if fg:
        proposals.append(f"text {fg} on background {failure.bg} gives {contrast(fg, failure.bg):.2f}:1")
    if proposals:
        parts.append(f"To reach {failure.want:g}:1 (now {failure.ratio:g}:1): " + "; or ".join(proposals) + ".")
    return " ".join(parts)


def find_places(files: dict[str, str], failure: Failure, names: set[str]) -> list[Place]:
    """Declarations of color/background that set the failing foreground or background colour."""
    wanted = {"color": {failure.fg}, "background-color": {failure.bg}, "background": {failure.bg}}
    found: list[Place] = []
    for path, text in files.items():
        lower = path.lower()
        if lower.endswith(".css"):
            found += _in_stylesheet(path, text, 0, wanted, names)
        elif lower.endswith((".html", ".htm")):
            for m in _STYLE_BLOCK.finditer(text):
                offset = text.count("\n", 0, m.start("css"))
                found += _in_stylesheet(path, m.group("css"), offset, wanted, names)
            for m in _STYLE_ATTR.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                element = f"<{m.group('tag').lower()}>"
                attrs = m.group("before")
                mine = {m.group("tag").lower()} | set(ID_ATTR.findall(attrs)) | {
                    c for group in CLASS_ATTR.findall(attrs) for c in group.split()}
                for prop, value, _ in _declarations(m.group("css")):
                    if _matches(prop, value, wanted):
                        found.append(Place(path, line, f"style attribute of {element}", prop, value,
                                           bool(mine & names)))
    return found


def _in_stylesheet(path: str, css: str, offset: int, wanted: dict, names: set[str]) -> list[Place]:
    rules = tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True)
    return _in_rules(path, rules, offset, wanted, names)


def _in_rules(path: str, rules: list, offset: int, wanted: dict, names: set[str]) -> list[Place]:
    out = []
    for rule in rules:
        if rule.type == "at-rule" and rule.content is not None and rule.lower_at_keyword in ("media", "supports",
                                                                                            "layer", "container"):
            nested = tinycss2.parse_rule_list(rule.content, skip_whitespace=True, skip_comments=True)
            out += _in_rules(path, nested, offset, wanted, names)
        if rule.type != "qualified-rule":
            continue
        selector = " ".join(tinycss2.serialize(rule.prelude).split())
        for prop, value, line in _declarations(rule.content):
            if _matches(prop, value, wanted):
                out.append(Place(path, offset + (line or rule.source_line), selector, prop, value,
                                 bool(_selector_names(selector) & names)))
    return out


def _declarations(css) -> list[tuple[str, str, int]]:
    """(property, value, line) of the colour declarations in a block (a string or tinycss2's tokens)."""
    out = []
    for d in tinycss2.parse_blocks_contents(css, skip_whitespace=True, skip_comments=True):
        if d.type == "declaration" and d.lower_name in COLOUR_PROPERTIES:
            out.append((d.lower_name, " ".join(tinycss2.serialize(d.value).split()), d.source_line))
    return out


def _matches(prop: str, value: str, wanted: dict) -> bool:
    return any(c in wanted[prop] for c in _colours_in(value))


def _colours_in(value: str) -> list[str]:
    """The colours a declaration's value names, as #rrggbb (alpha dropped)."""
    out = []
    for token in tinycss2.parse_component_value_list(value):
        try:
            if token.type == "hash":
                out.append(_hex("#" + token.value))
            elif token.type == "ident":
                out.append(webcolors.name_to_hex(token.value.lower()))
            elif token.type == "function" and token.lower_name in ("rgb", "rgba"):
                nums = [t for t in token.arguments if t.type in ("number", "percentage")]
                if len(nums) >= 3:
                    rgb = [round(n.value * 2.55) if n.type == "percentage" else int(n.value) for n in nums[:3]]
                    out.append(webcolors.rgb_to_hex(tuple(max(0, min(255, c)) for c in rgb)))
        except ValueError:
            continue
    return out


def _hex(value: str) -> str:
    value = value.strip().lower()
    if len(value) in (5, 9):  # #rgba, #rrggbbaa: the colour without its alpha
        value = value[:4] if len(value) == 5 else value[:7]
    return webcolors.normalize_hex(value)


def _element_names(evidence: str) -> set[str]:
    """Tag, id and classes of the failing element, from axe's HTML snippet."""
    first = (evidence or "").split(">", 1)[0]
    names: set[str] = set()
    tag = _TAG.search(first)
    if tag:
        names.add(tag.group(1).lower())
    names.update(ID_ATTR.findall(first))
    for group in CLASS_ATTR.findall(first):
        names.update(group.split())
    return names


def _selector_names(selector: str) -> set[str]:
    return set(re.findall(r"(?:^|[\s>+~,(])([a-z][\w-]*)", selector.lower())) | set(
        re.findall(r"[#.]([\w-]+)", selector))


# ------------------------------------------------------------------ colour arithmetic (WCAG 2 relative luminance)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    c = webcolors.hex_to_rgb(hex_colour)
    return c.red, c.green, c.blue


def luminance(hex_colour: str) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def passing(change: str, keep: str, want: float) -> str | None:
    """The colour nearest `change`, moved away from `keep` in lightness (towards black or white, hue kept),
    that reaches `want`:1 against `keep`; None when even black or white does not."""
    darker = luminance(change) <= luminance(keep)
    r, g, b = _rgb(change)
    for step in range(1, 101):
        k = step / 100
        if darker:
            c = (r * (1 - k), g * (1 - k), b * (1 - k))
        else:
            c = (r + (255 - r) * k, g + (255 - g) * k, b + (255 - b) * k)
        candidate = webcolors.rgb_to_hex(tuple(int(round(v)) for v in c))
        if contrast(candidate, keep) >= want:
            return candidate
    return None
