"""Findings made easier for a small model to act on, before they go into a repair prompt.

* Ordered by what unblocks most: a page that does not build, load or run comes first (nothing else can be judged
  while it throws), then the spec's acceptance checks, then accessibility, then every other error, then warnings.
  Each check declares its rank (`runshot.rules.Check.rank`); the caller passes them in as a plain mapping from the
  check name a finding carries to its rank (the registry's `repair_ranks()`), and this module ranks its own
  findings (the answer's format, its paths) and the build's.
* Capped per round: a short list of the most blocking problems is fixed more often than a long one.
* Enriched: a `where` (or stack) pointing at `file.js:LINE` gets a code frame, the line and two either side from
  the project's files; a "Cannot read/set properties of null" error names the lookup on that line that found
  nothing (getElementById('x'), querySelector('.y')) and lists the ids and classes the HTML does have; a
  contrast failure names the CSS declarations that set its colours and colours that would pass (see contrast).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Mapping

from runshot.generator import contrast
from runshot.generator.prompts import file_of
from runshot.rules import BLOCKING, OTHER, WARNINGS_LAST
from runshot.values import Finding, dedupe, truncate

# What the generator itself reports (the answer's format, its paths) and a failed build: nothing can be judged.
OWN_RANKS: Mapping[str, int] = {"format": BLOCKING, "path": BLOCKING, "build": BLOCKING}
Ranks = Mapping[str, int]  # check name a finding carries -> rank (runshot.rules: BLOCKING first ... OTHER)
FRAME_RADIUS = 2
MAX_NAMES = 30

_LINE_REF = re.compile(r"(?P<file>[\w./-]+\.(?:m?js|cjs|html?|css)):(?P<line>\d+)(?::\d+)?")
_NULL = re.compile(r"Cannot (?:read|set) propert(?:y|ies) of null", re.I)
_LOOKUP = re.compile(
    r"""(?P<call>getElementById|querySelector(?:All)?|getElementsByClassName)\(\s*(?P<q>['"`])(?P<arg>[^'"`]+)(?P=q)\s*\)"""
)
_USED = re.compile(r"\b([A-Za-z_$][\w$]*)\s*(?:\?\.|\.)\s*[A-Za-z_$]")


def rank(f: Finding, ranks: Ranks | None = None) -> int:
    """0 first: what blocks the page, then acceptance, then accessibility, then other errors (by `ranks`, the
    checks' declared ranks, and this module's own); warnings last."""
    if not f.is_error:
        return WARNINGS_LAST
    if f.check in OWN_RANKS:
        return OWN_RANKS[f.check]
    return (ranks or {}).get(f.check, OTHER)


def order_and_cap(findings: list[Finding], cap: int | None, ranks: Ranks | None = None) -> list[Finding]:
    """Deduplicated, most blocking first (stable within a rank), at most `cap` of them (None: all)."""
    unique = dedupe(list(findings))
    ordered = sorted(unique, key=lambda f: rank(f, ranks))
    return ordered if cap is None or cap <= 0 else ordered[:cap]


def for_prompt(findings: list[Finding], files: dict[str, str], cap: int | None, entry: str = "index.html",
               ranks: Ranks | None = None) -> list[Finding]:
    """The findings a repair round shows: ordered by `ranks` (see the module docstring), capped and enriched."""
    return [enrich(f, files, entry) for f in order_and_cap(findings, cap, ranks)]


def enrich(f: Finding, files: dict[str, str], entry: str = "index.html") -> Finding:
    """The finding with a code frame and, for a null lookup, what the HTML has instead; for a contrast failure,
    where its colours are set and which would pass."""
    if f.rule == "color-contrast":
        where = contrast.explain(f.hint, f.evidence, files)
        return dataclasses.replace(f, hint=truncate(f"{where} {f.hint}", 900)) if where else f
    ref = _line_ref(f, files, entry)
    if ref is None:
        return f
    path, number = ref
    lines = files[path].split("\n")
    if not 1 <= number <= len(lines):
        return f
    frame = code_frame(lines, number)
    hint = f.hint
    if _NULL.search(f.message + " " + f.evidence):
        lookup = _null_lookup(lines, number, files)
        if lookup:
            hint = lookup + (" " + hint if hint else "")
    evidence = f"{path} around line {number}:\n{frame}" + (f"\n\n{f.evidence}" if f.evidence else "")
    return dataclasses.replace(f, evidence=truncate(evidence, 1500), hint=hint)


def code_frame(lines: list[str], number: int, radius: int = FRAME_RADIUS) -> str:
    """Lines number-radius … number+radius, numbered, the line itself marked with '>'."""
    lo, hi = max(1, number - radius), min(len(lines), number + radius)
    width = len(str(hi))
    return "\n".join(
        f"{'>' if n == number else ' '} {n:>{width}} | {truncate(lines[n - 1], 200)}" for n in range(lo, hi + 1)
    )


def _line_ref(f: Finding, files: dict[str, str], entry: str) -> tuple[str, int] | None:
    """The first `file:LINE` of the where, message or evidence that names a project file."""
    for text in (f.where, f.message, f.evidence):
        for m in _LINE_REF.finditer(text or ""):
            path = file_of(m.group(0), files, entry) or file_of(m.group("file"), files, entry)
            if path is None:
                tail = m.group("file").rsplit("/", 1)[-1]
                matches = [p for p in files if p == tail or p.endswith("/" + tail)]
                path = matches[0] if len(matches) == 1 else None
            if path is not None:
                return path, int(m.group("line"))
    return None


def _null_lookup(lines: list[str], number: int, files: dict[str, str]) -> str:
    """The lookup that found nothing: on the failing line, or where the variable used there was assigned."""
    source_line = lines[number - 1]
    lookups = list(_LOOKUP.finditer(source_line))
    where = "on that line"
    if not lookups:
        for name in dict.fromkeys(_USED.findall(source_line)):
            assign = re.compile(rf"\b{re.escape(name)}\s*=\s*[\w.]*?" + _LOOKUP.pattern)
            for n in range(number - 1, 0, -1):
                m = assign.search(lines[n - 1])
                if m:
                    lookups = list(_LOOKUP.finditer(lines[n - 1][m.start():]))[:1]
                    where = f"(line {n}, where {name} was set)"
                    break
            if lookups:
                break
    if not lookups:
        return ""
    ids, classes = html_names(files)
    said = []
    for m in lookups:
        call, arg = m.group("call"), m.group("arg")
        said.append(f"{call}('{arg}') found nothing")
    have = f"the HTML has ids: {', '.join(ids[:MAX_NAMES]) or '(none)'}"
    have += f"; classes: {', '.join(classes[:MAX_NAMES]) or '(none)'}"
    return "; ".join(said) + f" {where}: {have}."


def html_names(files: dict[str, str]) -> tuple[list[str], list[str]]:
    """The ids and classes written in the project's HTML files, in order of first appearance."""
    ids: dict[str, None] = {}
    classes: dict[str, None] = {}
    for path, text in files.items():
        if not path.lower().endswith((".html", ".htm")):
            continue
        for m in contrast.ID_ATTR.finditer(text):
            ids.setdefault(m.group(1).strip(), None)
        for m in contrast.CLASS_ATTR.finditer(text):
            for name in m.group(1).split():
                classes.setdefault(name, None)
    return list(ids), list(classes)
