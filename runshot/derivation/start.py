"""What a requirement says the page shows at start, and derived checks that act before they expect it.

"a cart line that starts as `Cart (0)`": a check written for that requirement that clicks Add to cart and then
expects `Cart (0)` tests the start state after leaving it. The rule judges only what the words settle: the text is
quoted once in the whole spec, right after a start phrase (starts as, initially shows, … at first), and the
requirement has no words for coming back to it (reset, back, again, clear, undo).
"""

from __future__ import annotations

import re

from runshot.derivation.coverage import QUOTED, fold
from runshot.spec import AcceptanceCheck

_QUOTE = rf"(?:{QUOTED})"
_BEFORE = re.compile(rf"\b(?:starts?|starting|begins?|beginning)\s+(?:out\s+)?(?:as|at|with|showing|reading)\s+"
                     rf"{_QUOTE}|\b(?:initially|at first|at start|on load)\s+(?:shows?|reads?|is|says)?\s*{_QUOTE}",
                     re.I)
_AFTER = re.compile(rf"{_QUOTE}\s+(?:at first|initially|at start|on load)\b", re.I)
_RETURNS = re.compile(r"\b(?:reset\w*|back|again|clear\w*|undo\w*|restor\w*|return\w*)\b", re.I)
_QUOTES = re.compile(_QUOTE)


def start_texts(requirement: str, spec_text: str) -> tuple[str, ...]:
    """The texts `requirement` says the page shows at start and nothing in it comes back to, each quoted once in
    the spec."""
    if _RETURNS.search(requirement):
        return ()
    found = [next(g for g in m.groups() if g is not None) for pattern in (_BEFORE, _AFTER)
             for m in pattern.finditer(requirement)]
    quoted = [fold(next(g for g in m.groups() if g is not None)) for m in _QUOTES.finditer(spec_text)]
    return tuple(dict.fromkeys(t for t in found if quoted.count(fold(t)) == 1))


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
