"""What a requirement says the page shows at start, and derived checks that act before they expect it.

"a cart line that starts as `Cart (0)`": a check written for that requirement that clicks Add to cart and then
expects `Cart (0)` tests the start state after leaving it. The rule judges only what the words settle: the text is
quoted once in the whole spec, right after a start phrase (starts as, initially shows, … at first) that no "after",
"when" or "once" comes before in its clause ("After a roll the line starts with …" is no start state), and the
requirement has no words for coming back to it (reset, back, again, clear, undo).

A field's value expected on load must be one the spec says it holds at start ("holding 1 at start", "15% selected
at start", "defaults to Medium"): "A **Size** dropdown with the options Small, Medium and Large" says which options
there are, not which is chosen.
"""

from __future__ import annotations

import re

from runshot.derivation.coverage import QUOTED, fold, quoted, quotes
from runshot.spec import AcceptanceCheck, Step

_QUOTE = rf"(?:{QUOTED})"
_BEFORE = re.compile(rf"\b(?:starts?|starting|begins?|beginning)\s+(?:out\s+)?(?:as|at|with|showing|reading)\s+"
                     rf"{_QUOTE}|\b(?:initially|at first|at start|on load)\s+(?:shows?|reads?|is|says)?\s*{_QUOTE}",
                     re.I)
_AFTER = re.compile(rf"{_QUOTE}\s+(?:at first|initially|at start|on load)\b", re.I)
_LATER = re.compile(r"\b(?:after|when|whenever|once|upon)\b", re.I)  # "After a roll the line starts with …"
_RETURNS = re.compile(r"\b(?:reset\w*|back|again|clear\w*|undo\w*|restor\w*|return\w*)\b", re.I)


def start_texts(requirement: str, spec_text: str) -> tuple[str, ...]:
    """The texts `requirement` says the page shows at start and nothing in it comes back to, each quoted once in
    the spec."""
    if _RETURNS.search(requirement):
        return ()
    found = [quoted(m) for pattern in (_BEFORE, _AFTER)
             for m in pattern.finditer(requirement)
             if not _LATER.search(re.split(r"[.;!?]\s", requirement[:m.start()])[-1])]
    every = [fold(q) for q in quotes(spec_text)]
    return tuple(dict.fromkeys(t for t in found if every.count(fold(t)) == 1))


def acts_before_start(check: AcceptanceCheck, spec_text: str) -> str | None:
    """Why `check` is wrong if it expects a start text of a requirement it covers after a step that acts."""
    starts = {fold(t): t for req in check.covers for t in start_texts(req, spec_text)}
    acted = None
    for step in check.steps:
        if step.action not in ("expect", "wait"):
            acted = acted or step
            continue
        for key in ("text", "exact_text"):
            text = starts.get(fold(step.args.get(key) or ""))
            if acted is not None and text is not None:
                return (f"the spec says {text!r} shows at start, and a step before the expectation acts "
                        f"(`{acted.describe()}`)")
    return None


_HOLDS = re.compile(r"\b(?:at start|at first|initially|on load|by default|defaults?|pre-?selected|pre-?filled|"
                    r"selected|checked|holding|holds|starts?|starting|empty)\b", re.I)


def unstated_start_value(steps: tuple[Step, ...], spec_text: str) -> str | None:
    """Why the steps are wrong if they expect, before any action, a field's value the spec never says it holds at
    start (the value named within a few words of a start phrase)."""
    flat = " ".join(spec_text.split())
    for step in steps:
        if step.action not in ("expect", "wait"):
            return None
        value = step.args.get("value") if step.action == "expect" else None
        if not isinstance(value, str) or not value.strip():
            continue
        near = [flat[max(0, m.start() - 40):m.end() + 40]
                for m in re.finditer(rf"(?<!\w){re.escape(value.strip())}(?!\w)", flat, re.I)]
        if not any(_HOLDS.search(around) for around in near):
            return f"the spec does not say the field holds {value!r} at start"
    return None
