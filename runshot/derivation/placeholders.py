"""The placeholders of a template the spec quotes ("Each person pays X", "Hello, …", "{name} joined").

A quoted text is a template when it holds `{…}`, a free-standing ellipsis, or a capital letter the spec uses as a
variable ("where X is …", "N = …") or that another quoted text fills in with a number ("Total: T" beside
"Total: 0.00"; not "X wins" beside "O wins"). The review (runshot.derivation.review) refuses a derived check that
expects such a text word for word.
"""

from __future__ import annotations

import re


def placeholders(span: str, bare: str, spans: list[str]) -> tuple[str, ...]:
    """The placeholders of a quoted template ("Each person pays X", "Hello, …", "{name} joined"): `{…}`, a
    free-standing ellipsis, and a capital letter the spec uses as a variable (where X is …, N = …) or that another
    quoted text fills in with a number ("Total: T" beside "Total: 0.00"; not "X wins" beside "O wins")."""
    marks = re.findall(r"\{[^{}]*\}|(?:(?<=\s)|^)(?:\.\.\.|…)(?=\s|$)", span)
    for letter in dict.fromkeys(re.findall(r"(?<![\w'’])([A-Z])(?![\w'’])", span)):
        if letter != "I" and (_variable(letter, bare) or _filled(span, letter, spans)):
            marks.append(letter)
    rest = span
    for mark in marks:
        rest = rest.replace(mark, " ")
    return tuple(dict.fromkeys(marks)) if marks and re.search(r"\w", rest) else ()


def _variable(letter: str, bare: str) -> bool:
    """The spec's own words (outside quotes) use the capital letter as a variable: "where X is", "N = 140 minus"."""
    after = rf"(?<![\w'’]){letter}(?=\s*(?:=|is\b|are\b|stands for\b|means\b))"
    for m in re.finditer(after, bare):
        before = bare[:m.start()]
        if letter == "A" and not re.search(r"\b[a-z]+\s+$", before):
            continue  # "A form is …" starts a sentence
        if not re.search(r"\b[A-Z][a-z]*\s+$", before):  # not "Plan B is", "Vitamin C is"
            return True
    return bool(letter != "A" and re.search(rf"(?:\bwhere|[=×÷+−*/])\s*{letter}(?![\w'’])", bare))


def _filled(span: str, letter: str, spans: list[str]) -> bool:
    parts = re.split(rf"(?<![\w'’]){letter}(?![\w'’])", span)
    pattern = "(.+?)".join(re.escape(p) for p in parts)
    filled = (re.fullmatch(pattern, other) for other in spans if other != span)
    return any(m and any(re.search(r"\d", g) for g in m.groups()) for m in filled)
