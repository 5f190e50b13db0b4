"""Read a model's answer and take the files out of it.

Accepted ways of writing a file (models mix them; all are read in one pass):

* a path line, then a fenced block::

      ### src/app.js            (also ## path, **path**, File: path, path:, `path`)
      ```js
      ...
      ```

  Fences are ``` or ~~~ of any length >= 3; a block closes only at a fence of the same
  character that is at least as long, so a README.md inside a ```` block may hold ``` fences.
  Inside a Markdown file's block, ```lang lines open nested blocks (a common model mistake
  with equal-length fences) and their bare ``` lines close them.
* ``<file path="src/app.js"> ... </file>`` tags: content taken verbatim (one leading and one
  trailing newline removed). A non-Markdown file whose whole content is one fenced block is unwrapped.
* the path in the fence's info string: ```js app.js, ```html path=index.html,
  ```tsx{path=src/App.tsx}, ```js:app.js, ```index.html.
* ``<delete path="old.js"/>`` asks for a file to be removed.

Nothing here judges whether a path is safe (see safepaths); a leading ``./`` is the only change made.
Every problem becomes a Finding with check "format" whose message says exactly what to re-send.
Which path a line or an info string names is read in `pathlines`; the findings are worded in `formatfindings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runshot.generator.formatfindings import CHECK, RULES, finding, no_files, placeholders, unclosed_fence, unlabeled_block
from runshot.generator.pathlines import (
    MARKDOWN_EXTS,
    clean_path,
    info_path,
    is_markdown,
    line_path,
    read_info,
    read_path_line,
)
from runshot.values import Finding

__all__ = ["CHECK", "FENCE_OPEN", "ParseResult", "info_path", "line_path", "parse_files"]

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
FENCE_OPEN = _FENCE_OPEN
_FILE_OPEN = re.compile(
    r"""<file\s+(?:path|name|filename)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+))[^>]*?(?P<selfclose>/)?>""",
    re.I,
)
_FILE_CLOSE = re.compile(r"</file\s*>", re.I)
_DELETE = re.compile(
    r"""<delete\s+(?:path|name|filename)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s/>]+))[^>]*?/?>(?:\s*</delete\s*>)?""",
    re.I,
)


@dataclass
class ParseResult:
    files: dict[str, str]
    findings: list[Finding]
    format: str  # which way of writing files was seen: heading, tags, info, prose, mixed, none
    deleted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


@dataclass
class _Taken:
    path: str
    content: str
    style: str
    line: int  # 1-based line of the answer where the file began


def parse_files(text: str, expect_files: bool = True) -> ParseResult:
    """Take every file out of a model's answer; say exactly what was wrong with the rest.

    With expect_files=False (the answer also held edit blocks), an answer without whole files is no finding.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    taken, findings, deleted, unlabeled = _scan(text, depth=0)

    files: dict[str, str] = {}
    seen_count: dict[str, int] = {}
    styles: set[str] = set()
    for item in taken:
        path = clean_path(item.path)
        if not path:
            continue
        seen_count[path] = seen_count.get(path, 0) + 1
        files.pop(path, None)  # a repeat moves to the end: the last one sent is kept
        files[path] = item.content
        styles.add(item.style)
    for path, count in seen_count.items():
        if count > 1:
            findings.append(
                RULES["format/repeated-file"].finding(
                    f"{path} was sent {count} times in one answer; only the last copy was kept. "
                    "Send each file once, whole.",
                    where=path, hint=f"Send {path} once, with all of its content in a single block.")
            )
    deleted = [p for p in dict.fromkeys(deleted) if p]
    for path, content in files.items():
        findings.extend(placeholders(path, content))

    if not files and not deleted and expect_files:
        findings.insert(0, no_files(text, unlabeled))
    return ParseResult(files=files, findings=findings, format=_format_name(styles, bool(files)), deleted=deleted)


def _scan(text: str, depth: int) -> tuple[list[_Taken], list[Finding], list[str], int]:
    """One pass over the answer: (files in order, findings, deletions, how many blocks had no path)."""
    lines = text.split("\n")
    taken: list[_Taken] = []
    deleted: list[str] = []
    findings: list[Finding] = []
    unlabeled = 0
    pending: tuple[str, str] | None = None  # (path, style) from a path line above a fence
    pending_gap = 0
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()

        tag = _FILE_OPEN.search(line) if "<" in line else None
        if tag and not line[: tag.start()].strip().strip("`"):
            i, item, problem = _read_tag(lines, i, tag)
            if item is not None:
                taken.append(item)
            if problem is not None:
                findings.append(problem)
            pending = None
            continue

        if "<delete" in line.lower():
            for m in _DELETE.finditer(line):
                deleted.append(clean_path(m.group("dq") or m.group("sq") or m.group("bare") or ""))
            if _DELETE.search(line):
                i += 1
                continue

        fence = _FENCE_OPEN.match(line)
        if fence and (fence.group("fence")[0] == "~" or "`" not in fence.group("info")):
            info = fence.group("info").strip()
            lang, info_path, explicit = read_info(info)
            if explicit and info_path:
                path, style = info_path, "info"
            elif pending:
                path, style = pending
            elif info_path:
                path, style = info_path, "info"
            else:
                path, style = "", ""
            nested = is_markdown(path, lang)
            end, body = _read_fence(lines, i, fence.group("indent"), fence.group("fence"), nested)
            pending = None
            if end is None:
                findings.append(unclosed_fence(path, i + 1, body))
                break
            content = "\n".join(body) + ("\n" if body else "")
            if path:
                taken.append(_Taken(path, content, style, i + 1))
            else:
                inner = _scan(content, depth + 1) if depth < 2 and _may_hold_files(content) else None
                if inner is not None and inner[0]:
                    taken.extend(_Taken(t.path, t.content, "nested", i + 1 + t.line) for t in inner[0])
                    findings.extend(inner[1])
                    deleted.extend(inner[2])
                else:
                    unlabeled += 1
                    findings.append(unlabeled_block(lang, body, i + 1))
            i = end + 1
            continue

        if stripped:
            found = read_path_line(stripped)
            if found:
                pending, pending_gap = found, 0
            elif pending is not None:
                pending_gap += 1
                if pending_gap > 2:
                    pending = None
        i += 1

    return taken, findings, deleted, unlabeled


# ----------------------------------------------------------------------------------------------
# Blocks


def _read_fence(lines: list[str], start: int, indent: str, fence: str, nested: bool) -> tuple[int | None, list[str]]:
    """Lines of a fenced block opened at `start`; (index of the closing line or None, body lines)."""
    char, length = fence[0], len(fence)
    body: list[str] = []
    depth = 0
    cut = len(indent)
    for j in range(start + 1, len(lines)):
        line = lines[j]
        m = _FENCE_OPEN.match(line)
        if m and m.group("fence")[0] == char:
            run = len(m.group("fence"))
            info = m.group("info").strip()
            if not info and run >= length:
                if depth == 0:
                    return j, body
                depth -= 1
            elif nested and info and run == length:
                depth += 1
        body.append(line[cut:] if cut and line[:cut].strip() == "" else line)
    return None, body


def _read_tag(lines: list[str], i: int, m: re.Match) -> tuple[int, _Taken | None, Finding | None]:
    """A <file path=...> tag opened on line i: (next line to read, the file or None, a finding or None)."""
    path = m.group("dq") or m.group("sq") or m.group("bare") or ""
    name = clean_path(path) or "(no path)"
    if m.group("selfclose"):
        return i + 1, None, finding(
            f'<file path="{path}"/> has no content; send the file between <file path="{path}"> and </file>.', name
        )
    chunk: list[str] = []
    segment = lines[i][m.end():]
    j = i
    while True:
        close = _FILE_CLOSE.search(segment)
        if close:
            chunk.append(segment[: close.start()])
            content = _unwrap_fenced(path, _strip_one_newline("\n".join(chunk)))
            return j + 1, _Taken(path, content, "tags", i + 1), None
        chunk.append(segment)
        j += 1
        if j >= len(lines):
            break
        segment = lines[j]
    return len(lines), None, finding(
        f'<file path="{path}"> (answer line {i + 1}) has no closing </file> tag, so {name} was not taken: '
        f"the answer looks cut off. Send {name} again, whole, ending with </file>.",
        name,
        hint="Keep answers short enough to finish: send only the files that are needed.",
    )


def _strip_one_newline(content: str) -> str:
    if content.startswith("\n"):
        content = content[1:]
    elif content.startswith(" \n") or content.startswith("\t\n"):
        content = content[2:]
    if content.endswith("\n"):
        content = content[:-1]
    return content + "\n" if content else content


def _unwrap_fenced(path: str, content: str) -> str:
    """A tag whose whole content is one fenced block (models do this) holds the block's content."""
    if path.lower().endswith(MARKDOWN_EXTS):
        return content
    body_lines = content.strip("\n").split("\n")
    if len(body_lines) < 2:
        return content
    first = _FENCE_OPEN.match(body_lines[0])
    last = _FENCE_OPEN.match(body_lines[-1])
    if not first or not last or last.group("info").strip():
        return content
    if first.group("fence")[0] != last.group("fence")[0] or len(last.group("fence")) < len(first.group("fence")):
        return content
    inner = body_lines[1:-1]
    return "\n".join(inner) + ("\n" if inner else "")


def _may_hold_files(content: str) -> bool:
    """An unlabeled block that wraps the whole answer (```markdown around '### path' blocks, or tags)."""
    return "```" in content or "~~~" in content or "<file" in content.lower()


def _format_name(styles: set[str], any_files: bool) -> str:
    if not any_files:
        return "none"
    styles = {("heading" if s in ("nested",) else s) for s in styles}
    if len(styles) == 1:
        return next(iter(styles))
    return "mixed"
