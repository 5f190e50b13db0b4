"""The severity policy: when a finding is an error and when it is a warning.

An **error** is for what is broken or inaccessible, established with confidence by a machine:

- a WCAG 2.2 level A or AA failure that an automated rule can decide (axe-core rules tagged ``wcag2a``,
  ``wcag2aa``, ``wcag21a``, ``wcag21aa``, ``wcag22aa``; runshot's own rules for the same criteria, such as a control
  that Tab cannot reach, a keyboard trap, a clickable element without a role);
- a run-time failure (an uncaught exception, a console error, a failed or blocked request, a crash, a page that
  stops responding, an animation that throws or never moves when the spec asks for one);
- an acceptance step of the spec that is not met;
- a modal dialog that traps nobody or cannot be closed.

A **warning** is for everything a careful reviewer would still point out but that can be wrong or is a matter of
good practice: axe-core's ``best-practice`` rules (one ``main`` landmark, one ``h1``, content inside landmarks, a
named dialog), ``experimental`` rules, and heuristics that read intent from the page (a missing focus style, an
animation that looks broken, content below the first screen of a phone). Warnings never fail a run, except with
``--strict``, which turns every warning into an error; warnings still go into repair prompts.

Every finding carries a ``rule`` id: the axe-core rule id for axe findings, else ``"<check>/<slug>"``, and is made
from that rule's declaration (``runshot.rules.Rule.finding``), so its severity is the rule's. runshot's own rules are
declared in each check module's ``RULES``; axe-core's rules are read from axe-core and rated by
``validators/checks/axerules.py``. ``runshot rules`` lists them all.
"""

from __future__ import annotations

from runshot.values import ERROR, WARNING

# axe-core tags whose failures are WCAG 2.x level A/AA violations.
WCAG_TAGS = frozenset({"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"})
BEST_PRACTICE = "best-practice"
EXPERIMENTAL = "experimental"
SERIOUS_IMPACTS = ("serious", "critical")


def axe_severity(tags, impact: str = "") -> str:
    """The severity of an axe-core violation from its rule's tags (and, only when it has no tags, its impact).

    best-practice and experimental rules are warnings; WCAG A/AA rules are errors; any other tag is a warning.
    """
    tags = {str(t) for t in (tags or ())}
    if not tags:  # an axe build that does not report tags: fall back to its impact rating
        return ERROR if impact in SERIOUS_IMPACTS else WARNING
    if BEST_PRACTICE in tags or EXPERIMENTAL in tags:
        return WARNING
    if tags & WCAG_TAGS:
        return ERROR
    return WARNING


def axe_kind(tags) -> str:
    """A word for the report: which family of rules an axe result belongs to."""
    tags = {str(t) for t in (tags or ())}
    if BEST_PRACTICE in tags:
        return "best practice"
    if EXPERIMENTAL in tags:
        return "experimental"
    levels = sorted(t for t in tags if t in WCAG_TAGS)
    return "WCAG " + "/".join(_level(t) for t in levels) if levels else "other"


def _level(tag: str) -> str:
    # "wcag21aa" -> "2.1 AA", "wcag2a" -> "2 A"
    rest = tag[len("wcag"):]
    digits = "".join(ch for ch in rest if ch.isdigit())
    letters = rest[len(digits):].upper()
    version = ".".join(digits) if len(digits) > 1 else digits
    return f"{version} {letters}"
