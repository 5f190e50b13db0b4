"""Edit blocks in repair answers: change part of an existing file instead of re-sending it whole.

The format (several blocks per file allowed, inside or outside a fenced block)::

    ### app.js
    <<<<<<< SEARCH
    const out = document.getElementById('output');
    =======
    const out = document.getElementById('out');
    >>>>>>> REPLACE

The path is the last path line above the block (any path line `parse.py` reads: "### app.js", "**app.js**",
"File: app.js", or a fence's info string such as ```js app.js). SEARCH lines are found in the file by, in order:
an exact match; a match line by line ignoring leading and trailing whitespace; and the unique-anchor fallback
(the first and the last non-blank SEARCH lines each match exactly one line of the file, in that order, and
everything between them is replaced). An empty SEARCH creates a file that does not exist yet.
An edit that cannot be applied is a `format` finding naming the file, quoting the first SEARCH line and showing
the closest lines of the file; it is never skipped silently.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from runshot.generator.formatfindings import RULES
from runshot.generator.parse import FENCE_OPEN, ParseResult, info_path, line_path, parse_files
from runshot.values import Finding

CHECK = "format"
_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\b.*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\b.*$")
_QUOTE = 100


@dataclass(frozen=True)
class Edit:
    path: str
    search: tuple[str, ...]
    replace: tuple[str, ...]
    line: int  # answer line of the SEARCH marker (1-based)


@dataclass
class Answer:
    """A model answer read as whole files plus edit blocks."""

    parsed: ParseResult
    edits: list[Edit] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # problems with the edit markers themselves


def split_edits(text: str) -> tuple[str, list[Edit], list[Finding]]:
    """(the answer without its edit blocks, the edits in order, findings about broken markers)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    kept: list[str] = []
    edits: list[Edit] = []
    findings: list[Finding] = []
    path = ""
    fence: tuple[str, int, int] | None = None  # (char, length, index in kept where it opened)
    fence_has_edits = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _SEARCH.match(line):
            block, end, problem = _read_block(lines, i, path)
            if problem is not None:
                findings.append(problem)
                break
            edits.append(block)
            fence_has_edits = fence is not None or fence_has_edits
            i = end + 1
            continue
        m = FENCE_OPEN.match(line)
        if m:
            char, length, info = m.group("fence")[0], len(m.group("fence")), m.group("info").strip()
            if fence is None:
                fence, fence_has_edits = (char, length, len(kept)), False
                named = info_path(info) if info else ""
                if named and _next_is_search(lines, i + 1):
                    path = named
            elif char == fence[0] and length >= fence[1] and not info:
                start = fence[2]
                fence = None
                if fence_has_edits and not any(s.strip() for s in kept[start + 1:]):
                    del kept[start:]  # a block that held only edits: nothing of it is a file
                    i += 1
                    continue
        elif line.strip():
            named = line_path(line)
            if named and (fence is None or _next_is_search(lines, i + 1)):
                path = named
        kept.append(line)
        i += 1
    return "\n".join(kept), edits, findings


def _next_is_search(lines: list[str], start: int, depth: int = 0) -> bool:
    """Is the next non-blank line (within a few, past one fence opening) a SEARCH marker?"""
    for k in range(start, min(len(lines), start + 4)):
        if lines[k].strip():
            if _SEARCH.match(lines[k]):
                return True
            return depth == 0 and bool(FENCE_OPEN.match(lines[k])) and _next_is_search(lines, k + 1, 1)
    return False


def _read_block(lines: list[str], start: int, path: str) -> tuple[Edit | None, int, Finding | None]:
    j = start + 1
    search: list[str] = []
    while j < len(lines) and not _DIVIDER.match(lines[j]):
        if _REPLACE.match(lines[j]) or _SEARCH.match(lines[j]):
            break
        search.append(lines[j])
        j += 1
    if j >= len(lines) or not _DIVIDER.match(lines[j]):
        return None, j, _finding(
            f"an edit block for {path or '(no path)'} (answer line {start + 1}) has <<<<<<< SEARCH but no ======= "
            "line after its SEARCH lines, so it was not applied",
            path, "write <<<<<<< SEARCH, the old lines, =======, the new lines, >>>>>>> REPLACE",
        )
    j += 1
    replace: list[str] = []
    while j < len(lines) and not _REPLACE.match(lines[j]):
        replace.append(lines[j])
        j += 1
    if j >= len(lines):
        return None, j, _finding(
            f"an edit block for {path or '(no path)'} (answer line {start + 1}) was never closed with "
            ">>>>>>> REPLACE: the answer looks cut off, so it was not applied",
            path, "close every edit block with a >>>>>>> REPLACE line",
        )
    return Edit(path, tuple(search), tuple(replace), start + 1), j, None


def parse_answer(text: str, allow_edits: bool = True) -> Answer:
    """Whole files (parse_files) and, when allowed, edit blocks from one answer."""
    if not allow_edits or "<<<<<<<" not in text:
        return Answer(parse_files(text))
    rest, edits, findings = split_edits(text)
    return Answer(parse_files(rest, expect_files=not edits), edits, findings)


def apply_edits(edits: list[Edit], files: dict[str, str]) -> tuple[dict[str, str], list[Finding]]:
    """Apply edits in order to `files` (path -> text): (changed files, findings for edits that did not apply)."""
    changed: dict[str, str] = {}
    findings: list[Finding] = []
    for edit in edits:
        current = changed.get(edit.path, files.get(edit.path))
        first = next((s for s in edit.search if s.strip()), "")
        if not edit.path:
            findings.append(_finding(
                f'an edit block (answer line {edit.line}, SEARCH starting "{_quote(first)}") names no file',
                "", 'put a "### path" line right above the edit block',
                rule="format/edit-no-path"))
            continue
        if current is None:
            if not any(s.strip() for s in edit.search):
                changed[edit.path] = _text(edit.replace)
                continue
            findings.append(_finding(
                f"an edit block changes {edit.path}, which does not exist; nothing was changed",
                edit.path, f"send {edit.path} whole to create it, or name an existing file (an empty SEARCH creates "
                "a new file)", rule="format/edit-missing-file"))
            continue
        if not any(s.strip() for s in edit.search):
            findings.append(_finding(
                f"an edit block for {edit.path} has an empty SEARCH part, but {edit.path} exists; it was not applied",
                edit.path, "copy the lines to change into the SEARCH part", rule="format/edit-empty-search"))
            continue
        result, problem = apply_one(current, edit)
        if problem:
            findings.append(problem)
        else:
            changed[edit.path] = result
    return changed, findings


def apply_one(content: str, edit: Edit) -> tuple[str, Finding | None]:
    """The file with one edit applied, or (content, finding) when the SEARCH lines are not found."""
    lines = content.split("\n")
    trailing_newline = content.endswith("\n")
    if trailing_newline:
        lines = lines[:-1]
    search, replace = list(edit.search), list(edit.replace)
    while search and not search[-1].strip():  # blank lines at the end of SEARCH do not have to match
        search.pop()
    while search and not search[0].strip():
        search.pop(0)
    spans = _exact(lines, search)
    how = "exact"
    if not spans:
        spans, how = _loose(lines, search), "loose"
    if not spans:
        spans, how = _anchors(lines, search), "anchors"
    if len(spans) > 1:
        return content, _finding(
            f'an edit block for {edit.path} matches {len(spans)} places (SEARCH starts "{_quote(search[0])}"), '
            "so it was not applied",
            edit.path, "include a few more unchanged lines around the change so the SEARCH part is unique",
            rule="format/edit-ambiguous")
    if not spans:
        return content, _no_match(edit, lines, search)
    start, end = spans[0]
    if how != "exact":
        replace = _reindent(replace, search, lines[start])
    out = lines[:start] + replace + lines[end:]
    return "\n".join(out) + ("\n" if trailing_newline or not out else ""), None


def _exact(lines: list[str], search: list[str]) -> list[tuple[int, int]]:
    n = len(search)
    return [(i, i + n) for i in range(len(lines) - n + 1) if lines[i:i + n] == search]


def _loose(lines: list[str], search: list[str]) -> list[tuple[int, int]]:
    """Line by line, leading and trailing whitespace ignored; blank lines in either side skipped."""
    want = [s.strip() for s in search if s.strip()]
    have = [(i, l.strip()) for i, l in enumerate(lines) if l.strip()]
    n = len(want)
    spans = []
    for k in range(len(have) - n + 1):
        if [h for _, h in have[k:k + n]] == want:
            spans.append((have[k][0], have[k + n - 1][0] + 1))
    return spans


def _anchors(lines: list[str], search: list[str]) -> list[tuple[int, int]]:
    """The first and last non-blank SEARCH lines each match exactly one line, the first before the last."""
    body = [s.strip() for s in search if s.strip()]
    if len(body) < 2:
        return []
    firsts = [i for i, l in enumerate(lines) if l.strip() == body[0]]
    lasts = [i for i, l in enumerate(lines) if l.strip() == body[-1]]
    if len(firsts) == 1 and len(lasts) == 1 and firsts[0] < lasts[0]:
        return [(firsts[0], lasts[0] + 1)]
    return []


def _reindent(replace: list[str], search: list[str], matched_first: str) -> list[str]:
    """Shift the replacement by the indentation the file has where SEARCH was written with another."""
    written = _indent(search[0])
    actual = _indent(matched_first)
    if written == actual:
        return replace
    out = []
    for line in replace:
        if line.startswith(written):
            out.append(actual + line[len(written):] if line.strip() else line)
        else:
            out.append(line)
    return out


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _no_match(edit: Edit, lines: list[str], search: list[str]) -> Finding:
    first = search[0] if search else ""
    hint = "copy the SEARCH lines exactly from the current file, or send the whole file"
    evidence = ""
    stripped = [l.strip() for l in lines]
    close = difflib.get_close_matches(first.strip(), [s for s in stripped if s], n=1, cutoff=0.5)
    if close:
        at = stripped.index(close[0])
        lo, hi = max(0, at - 1), min(len(lines), at + max(2, len(search)))
        evidence = "\n".join(f"{n + 1}: {lines[n]}" for n in range(lo, hi))
        hint = f"the closest lines of {edit.path} are shown (from line {lo + 1}); copy SEARCH lines exactly from there"
    return _finding(
        f'an edit block for {edit.path} was not applied: its SEARCH lines (starting "{_quote(first)}") are not '
        f"in {edit.path}",
        edit.path, hint, rule="format/edit-no-match", evidence=evidence)


def _text(lines: tuple[str, ...]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def _quote(line: str) -> str:
    line = line.strip()
    return line if len(line) <= _QUOTE else line[: _QUOTE - 1] + "…"


def _finding(message: str, where: str, hint: str, rule: str = "format/edit-broken", evidence: str = "") -> Finding:
    return RULES[rule].finding(message, where=where, hint=hint, evidence=evidence)
