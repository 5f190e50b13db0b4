"""Label in name (WCAG 2.5.3, ACT rule 2ee8b8): a control that shows text and is named by ``aria-label`` or
``aria-labelledby`` must have that visible text inside its accessible name, or speech users who say what they
see cannot reach it.

Which elements: those whose role (as Chromium computes it) is a widget that takes its name from its content
(link, button, checkbox, menu item, option, radio, switch, tab, tree item, grid cell) and that carry
``aria-label`` or ``aria-labelledby``. The accessible name is Chromium's own (its accessibility tree).

How the texts are compared, as the ACT rule's label-in-name algorithm says: both lower-cased, text in round
brackets dropped, every character that is not a letter, mark or decimal digit taken for a space (punctuation,
symbols, emoji), then split into words; the visible words must appear, consecutively and in order, among the
name's words. The visible text is the text the page draws: text hidden with ``display: none`` or
``visibility: hidden`` does not count, text hidden only from assistive technology (``aria-hidden``) does.

A failure is an error only when certain. Text that may not be seen as words (clipped to nothing, off screen,
transparent, drawn in an icon font or as a ligature glyph) is tried both ways: the element fails only if every
reading fails. A name from ``aria-labelledby`` (a visible label elsewhere may be what the user reads), a lone
letter such as "X" (a symbol for "close"), and a word the name only spells out (an abbreviation "Ave." for
"Avenue", "nonstandard" for "non-standard", which the ACT rule leaves out) are at most a warning.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from importlib import resources

from runshot.rules import Rule, Rules
from runshot.values import ERROR, Finding, truncate
from runshot.validators.browser.axtree import ax_facts
from runshot.validators.browser.context import CheckContext
from runshot.validators.browser.domtools import JS_LIB, label

RULES = Rules(
    Rule("semantics/label-not-in-name", ERROR,
         "WCAG 2.5.3: the text a control shows is not part of its accessible name, so speech users cannot "
         "say it.", wcag=("2.5.3",), act=("2ee8b8",)),
)
RULE = RULES["semantics/label-not-in-name"]

# Chromium's roles for widgets whose name can come from their content (ACT: "widget that supports name from
# content"); ToggleButton and PopUpButton are Chromium's buttons with aria-pressed or aria-haspopup. The ACT list
# also has searchbox, left out here: the text of an editable search box is what the user typed, not a label.
NAME_FROM_CONTENT = frozenset({
    "button", "togglebutton", "popupbutton", "checkbox", "gridcell", "link", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "radio", "switch", "tab", "treeitem",
})
MAX_TARGETS = 40
MAX_DOUBTS = 4  # doubtful pieces of text tried both ways (2**4 readings at most)
MAX_FINDINGS = 8

_SCRIPT = resources.files("runshot.validators").joinpath("page_scripts", "labelname.js").read_text(encoding="utf-8")
_TARGETS = f"(limit) => {{\n{JS_LIB}\n{_SCRIPT}\nreturn labelTargets(RS, limit);\n}}"
_BRACKETS = re.compile(r"\([^()]*\)")
# Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, kana, CJK ideographs).
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def words(text: str) -> list[str]:
    """The label-in-name algorithm's words of a text: lower case, bracketed text dropped, anything but letters,
    marks and decimal digits a separator."""
    text = text.lower()
    while True:
        dropped = _BRACKETS.sub(" ", text)
        if dropped == text:
            break
        text = dropped
    kept = "".join(c if unicodedata.category(c)[0] in "LM" or unicodedata.category(c) == "Nd" else " " for c in text)
    return kept.split()


def contained(label: list[str], name: list[str]) -> bool:
    """Whether `label` appears in `name` as consecutive words (an empty label always does)."""
    n = len(label)
    return any(name[i:i + n] == label for i in range(len(name) - n + 1)) if n else True


def _loosely(label_text: str, name_text: str) -> bool:
    """Whether the label is in the name once abbreviations ("Ave." for "Avenue", "spec…" for "specification"),
    hyphens and scripts without spaces between words are allowed for: what the ACT rule does not judge."""
    squash = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u00ad")
    label_w, name_w = words(label_text.translate(squash)), words(name_text.translate(squash))
    if contained(label_w, name_w):
        return True
    if _UNSPACED.search(label_text + name_text) and "".join(label_w) in "".join(name_w):
        return True  # a script written without spaces between words: words cannot be told apart
    short = {w.lower() for w in re.findall(r"(\w+)(?:\.|\u2026)", label_text)}
    n = len(label_w)
    return bool(short) and any(
        all(a == b or (a in short and b.startswith(a)) for a, b in zip(label_w, name_w[i:i + n]))
        for i in range(len(name_w) - n + 1))


def _apart(before: list, after: list, size: float) -> bool:
    """Whether two boxes [left, top, right, bottom] are drawn as separate words: on other lines, or with a gap
    wider than a fifth of the font size (pieces that touch run together: "A" "CT" side by side read "ACT")."""
    overlap = min(before[3], after[3]) - max(before[1], after[1])
    if overlap < min(before[3] - before[1], after[3] - after[1]) / 2:
        return True
    return max(after[0] - before[2], before[0] - after[2]) > size * 0.2


def visible_text(parts: list[dict], keep: set[int] = frozenset()) -> str:
    """The visible text from the script's pieces; doubtful pieces count only when their index is in `keep`.
    Pieces drawn apart (another line, a gap) are separated by a line break, as ``innerText`` would."""
    out: list[str] = []
    previous: list | None = None
    br = False
    for i, part in enumerate(parts):
        br = br or bool(part.get("br"))
        if part.get("doubt") and i not in keep:
            continue
        first, last = part.get("first"), part.get("last")
        if out and (br or (previous and first and _apart(previous, first, float(part.get("size") or 16)))):
            out.append("\n")
        out.append(str(part.get("text", "")))
        previous, br = last or previous, False
    return "".join(out)


def readings(parts: list[dict]) -> list[str]:
    """Every visible text the element may show: each doubtful piece read and not read."""
    doubtful = [i for i, p in enumerate(parts) if p.get("doubt")][:MAX_DOUBTS]
    subsets = itertools.chain.from_iterable(itertools.combinations(doubtful, k) for k in range(len(doubtful) + 1))
    return [visible_text(parts, set(s)) for s in subsets]


def verdict(parts: list[dict], name: str, labelledby: bool) -> str:
    """"pass", "fail" (certain), "review" (fails as read, but a person must judge) or "skip" (not judged)."""
    name_w = words(name)
    texts = readings(parts)
    if any(contained(words(t), name_w) for t in texts):
        return "pass"
    seen = words(visible_text(parts, set(range(len(parts)))))
    if len(seen) == 1 and len(seen[0]) == 1 and not seen[0].isdigit():
        return "skip"  # a lone letter is likely a symbol ("X" for close)
    if any(_loosely(t, name) for t in texts):
        return "skip"
    if labelledby or sum(1 for p in parts if p.get("doubt")) > MAX_DOUBTS:
        return "review"
    return "fail"


async def check_label_in_name(ctx: CheckContext, page) -> list[Finding]:
    """Findings of `semantics/label-not-in-name` on the page."""
    targets = await ctx.within(page.evaluate(_TARGETS, MAX_TARGETS), "reading visible labels")
    facts = await ax_facts(ctx, page, [t.get("sel", "") for t in targets])
    findings: list[Finding] = []
    for target, fact in zip(targets, facts):
        if fact is None or fact.ignored or fact.role.lower() not in NAME_FROM_CONTENT:
            continue
        if fact.source not in ("attribute", "relatedElement"):
            continue  # named by its content after all (an empty aria-label)
        parts = target.get("parts") or []
        said = verdict(parts, fact.name, bool(target.get("labelledby")) or fact.source == "relatedElement")
        if said in ("fail", "review") and len(findings) < MAX_FINDINGS:
            findings.append(_finding(target, fact.name, said == "review"))
    return findings


def _finding(target: dict, name: str, review: bool) -> Finding:
    shown = " ".join(visible_text(target.get("parts") or []).split())
    doubts = sorted({p["doubt"] for p in target.get("parts") or [] if p.get("doubt")})
    how = "aria-labelledby" if target.get("labelledby") else "aria-label"
    message = (f"{label(target)} shows \"{truncate(shown, 80)}\" but its accessible name (from {how}) is "
               f"\"{truncate(name, 80)}\": speech users who say the visible words cannot reach it")
    if review:
        why = ("; some of its text may not be seen as words: " + ", ".join(doubts)) if doubts else (
            "; the visible label may be the text aria-labelledby points at")
        message += why + " (check by eye)"
    return RULE.finding(
        message, where=target.get("sel", ""), review=review,
        hint=f"Make the {how} start with the visible text \"{truncate(shown, 60)}\" (or drop it and let the "
        "visible text name the control).",
        evidence=truncate(target.get("html", ""), 300))
