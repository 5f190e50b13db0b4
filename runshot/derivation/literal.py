"""Expected texts that a contains-match would also find in another state the spec names.

"after one press it reads `1 like`, after two `2 likes`": `1 like` is also inside `1 likes`, the form the spec
gives the other counts, so a check expecting that the page contains `1 like` passes an app that writes `1 likes`.
Such a text is expected whole (`exact_text` of a role's element, `exact: true` of an element found by its text).
Judged only where the spec's own quoted texts show it: another quoted text, with its numbers replaced by the
expected one's, starts with the expected text and goes on with a letter.
"""

from __future__ import annotations

import dataclasses
import re

from runshot.derivation.coverage import fold, quotes
from runshot.derivation.review import Reviewed
from runshot.spec import Step

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def sharpen(reviewed: Reviewed, spec_text: str) -> Reviewed:
    """The reviewed check with each text expected whole where a contains-match is ambiguous (module docstring)."""
    check = reviewed.check
    if check is None:
        return reviewed
    quoted = quotes(spec_text)
    steps, notes = [], []
    for step in check.steps:
        text = step.args.get("text")
        if step.action == "expect" and isinstance(text, str) and not step.args.get("exact") and \
                ambiguous(text, quoted):
            args = dict(step.args)
            if any(k in args for k in ("role", "label", "testid", "css")):
                args["exact_text"] = args.pop("text")
            else:
                args["exact"] = True
            step = Step("expect", args)
            notes.append(f"{text!r} expected whole (the spec's other texts hold it followed by a letter)")
        steps.append(step)
    if not notes:
        return reviewed
    return dataclasses.replace(reviewed, check=dataclasses.replace(check, steps=tuple(steps)),
                               problem="; ".join(n for n in (reviewed.problem, *notes) if n))


def ambiguous(text: str, quoted: list[str]) -> bool:
    """Whether another of the quoted texts, given `text`'s numbers, starts with `text` and goes on with a letter."""
    numbers = _NUMBER.findall(text)
    want = fold(text)
    if not numbers or not want:
        return False
    for other in quoted:
        if fold(other) == want or len(_NUMBER.findall(other)) != len(numbers):
            continue
        given = iter(numbers)
        filled = fold(_NUMBER.sub(lambda _: next(given), other))
        if filled.startswith(want) and re.match(r"[^\W\d_]", filled[len(want):]):
            return True
    return False
