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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runshot.values import ERROR, WARNING, Finding

CHECK = "format"

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

# A path-like token: an extension, a folder, or a well-known extensionless file name.
_EXT = re.compile(r"\.[A-Za-z0-9][A-Za-z0-9_+-]{0,11}$")
_BARE_NAMES = {"dockerfile", "makefile", "license", "readme", "procfile", "gemfile", "caddyfile"}
_PATH_KEYS = re.compile(r"""(?:^|[\s{,])(?:path|file|filename|title|name)\s*[=:]\s*(?:"([^"]+)"|'([^']+)'|([^\s},]+))""", re.I)
_HEADING_PREFIX = re.compile(
    r"^(?:#{1,6}\s*)?(?:[-*+]\s+|\d+[.)]\s+)?(?:(?:file(?:name)?|path|create|update|new file)\s*[:\-]\s*)?",
    re.I,
)
_HEADING_PREFIX_INNER = re.compile(r"^(?:file(?:name)?|path)\s*[:\-]\s*", re.I)
_BACKTICKED = re.compile(r"`([^`\s]+)`")
_SHELL_LANGS = {
    "bash", "sh", "shell", "zsh", "console", "terminal", "powershell", "ps1", "cmd", "bat",
    "text", "txt", "plaintext", "output", "log", "diff",
}
_MARKDOWN_LANGS = {"md", "markdown", "gfm"}
_MARKDOWN_EXTS = (".md", ".markdown", ".mdx")
_PROSE_EXTS = _MARKDOWN_EXTS + (".txt", ".rst")

_LINE_LIMIT = 80  # characters of a line quoted in a message

# Lazy or placeholder lines: a short comment whose words say "the rest is elsewhere".
_COMMENT_START = re.compile(r"(?:^|(?<=\s)|(?<=[;{}()]))(?://+|/\*+|<!--|\{/\*|#+(?![0-9A-Fa-f]{3,8}\b))|^\s*\*+")
_PLACEHOLDER_WORDS = re.compile(
    r"^\s*(?:"
    r"(?:\.\.\.|…)\s*\(?\s*(?:the\s+)?(?:rest|remaining|existing|previous|other|more|same|unchanged|omitted|etc|code|styles?|content|implementation|logic|functions?|methods?)\b[\w\s,'()-]{0,40}?"
    r"|(?:\.\.\.|…)?\s*(?:the\s+)?rest\s+(?:of\s+(?:the\s+)?\w+(?:\s+\w+)?|(?:is\s+|remains\s+|stays\s+)?(?:unchanged|the\s+same|as\s+before))"
    r"|(?:\.\.\.|…)?\s*(?:keep\s+)?(?:the\s+)?(?:existing|previous|original|same)\s+(?:code|styles?|css|html|markup|content|logic|implementation|functions?)(?:\s+(?:here|as\s+before|unchanged))?\s*(?:\.\.\.|…)?"
    r"|.{0,30}\b(?:remains?|stays?|is|are|left)\s+(?:the\s+)?(?:same|unchanged)\b"
    r"|(?:\.\.\.|…)?\s*unchanged\b"
    r"|.{0,30}\bsame\s+as\s+(?:before|above|previous(?:ly)?|the\s+original)\b"
    r"|(?:todo|fixme)\s*:?\s*implement\b"
    r"|(?:\w+\s+)?implement(?:ation)?\s+(?:goes\s+)?here\b"
    r"|(?:\w+\s+)?your\s+(?:code|logic|implementation|styles?|content)\s+(?:goes\s+)?here\b"
    r"|(?:\.\.\.|…)"
    r")\s*(?:\.\.\.|…)?\s*(?:-->|\*/\}?|\})?\s*$",
    re.I,
)
_TODO_IMPLEMENT = re.compile(r"\btodo\s*:?\s*implement\b", re.I)
_ELLIPSIS_LINE = re.compile(r"^\s*(?:\.\.\.|…)\s*$")


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
        path = _clean_path(item.path)
        if not path:
            continue
        seen_count[path] = seen_count.get(path, 0) + 1
        files.pop(path, None)  # a repeat moves to the end: the last one sent is kept
        files[path] = item.content
        styles.add(item.style)
    for path, count in seen_count.items():
        if count > 1:
            findings.append(
                Finding(
                    CHECK,
                    ERROR,
                    f"{path} was sent {count} times in one answer; only the last copy was kept. "
                    "Send each file once, whole.",
                    where=path,
                    hint=f"Send {path} once, with all of its content in a single block.",
                    rule="format/repeated-file",
                )
            )
    deleted = [p for p in dict.fromkeys(deleted) if p]
    for path, content in files.items():
        findings.extend(_placeholders(path, content))

    if not files and not deleted and expect_files:
        findings.insert(0, _no_files(text, unlabeled))
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
                deleted.append(_clean_path(m.group("dq") or m.group("sq") or m.group("bare") or ""))
            if _DELETE.search(line):
                i += 1
                continue

        fence = _FENCE_OPEN.match(line)
        if fence and (fence.group("fence")[0] == "~" or "`" not in fence.group("info")):
            info = fence.group("info").strip()
            lang, info_path, explicit = _info_path(info)
            if explicit and info_path:
                path, style = info_path, "info"
            elif pending:
                path, style = pending
            elif info_path:
                path, style = info_path, "info"
            else:
                path, style = "", ""
            nested = _is_markdown(path, lang)
            end, body = _read_fence(lines, i, fence.group("indent"), fence.group("fence"), nested)
            pending = None
            if end is None:
                findings.append(_unclosed_fence(path, i + 1, body))
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
                    findings.append(_unlabeled(lang, body, i + 1))
            i = end + 1
            continue

        if stripped:
            found = _line_path(stripped)
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
    name = _clean_path(path) or "(no path)"
    if m.group("selfclose"):
        return i + 1, None, _finding(
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
    return len(lines), None, _finding(
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
    if path.lower().endswith(_MARKDOWN_EXTS):
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


# ----------------------------------------------------------------------------------------------
# Paths


def _clean_path(path: str) -> str:
    path = path.strip().strip("`'\"*").strip()
    while path.startswith("./"):
        path = path[2:]
    return path


def _looks_like_path(token: str) -> bool:
    if not token or len(token) > 400 or any(c.isspace() for c in token):
        return False
    if token.startswith(("http://", "https://", "//")) or token.endswith("/"):
        return False
    name = token.replace("\\", "/").rsplit("/", 1)[-1]
    if not name or name in (".", ".."):
        return False
    if _EXT.search(name) and not re.fullmatch(r"[\d.]+", name):
        return True
    if name.lower() in _BARE_NAMES:
        return True
    if "/" in token.replace("\\", "/") and re.fullmatch(r"[\w.@+-]+", name):
        return True  # a nested file without an extension (scripts/build, .git/hooks/pre-commit)
    return name.startswith(".") and len(name) > 1 and name[1:].replace("-", "").replace("_", "").isalnum()


def line_path(line: str) -> str | None:
    """The file path a line written above a block names ("### app.js", "**app.js**", "File: app.js"), if any."""
    found = _line_path(line.strip()) if line.strip() else None
    return found[0] if found else None


def info_path(info: str) -> str:
    """The file path a fence's info string names (```js app.js, ```html path=index.html), or ""."""
    return _info_path(info.strip())[1]


def _line_path(stripped: str) -> tuple[str, str] | None:
    """A path from a line written just above a fenced block, with the style it was written in."""
    heading = stripped.startswith("#")
    s = _HEADING_PREFIX.sub("", stripped, count=1).strip()
    # Unwrap **path**, __path__, `path`, "path", and a trailing colon, in any nesting.
    for _ in range(3):
        before = s
        s = s.rstrip(":").strip()
        for a, b in (("**", "**"), ("__", "__"), ("`", "`"), ("*", "*"), ('"', '"'), ("'", "'")):
            if len(s) > len(a) + len(b) and s.startswith(a) and s.endswith(b):
                s = s[len(a): -len(b)].strip()
        s = _HEADING_PREFIX_INNER.sub("", s, count=1)
        if s == before:
            break
    candidate = s
    # "index.html (the page)" or "app.js - logic": a path followed by a short description.
    m = re.match(r"^(\S+)\s+(?:\(.*\)|[-–—:].*)$", s)
    if m and (heading or stripped.startswith(("**", "`"))):
        candidate = m.group(1).strip("`*:")
    if _looks_like_path(candidate):
        return _clean_path(candidate), "heading"
    # A prose line ending in ":" that names exactly one path in backticks: "Here is `app.js`:".
    if stripped.endswith(":") and not heading:
        names = [t for t in _BACKTICKED.findall(stripped) if _looks_like_path(t)]
        if len(names) == 1:
            return _clean_path(names[0]), "prose"
    return None


def _info_path(info: str) -> tuple[str, str, bool]:
    """(language, path, explicit) from a fence's info string."""
    if not info:
        return "", "", False
    m = _PATH_KEYS.search(info)
    if m:
        lang = re.split(r"[\s{:,]", info, maxsplit=1)[0].lower()
        return lang, _clean_path(m.group(1) or m.group(2) or m.group(3)), True
    head = re.split(r"[\s{]", info, maxsplit=1)[0]
    if ":" in head:  # ```js:app.js
        lang, _, rest = head.partition(":")
        if _looks_like_path(rest):
            return lang.lower(), _clean_path(rest), True
    tokens = info.replace("{", " ").replace("}", " ").split()
    if len(tokens) >= 2 and _looks_like_path(tokens[1].strip("`\"'")):
        return tokens[0].lower(), _clean_path(tokens[1]), True
    if _looks_like_path(tokens[0].strip("`\"'")):
        token = _clean_path(tokens[0])
        ext = token.rsplit(".", 1)[-1].lower() if "." in token else ""
        return ext, token, False
    return tokens[0].lower(), "", False


def _may_hold_files(content: str) -> bool:
    """An unlabeled block that wraps the whole answer (```markdown around '### path' blocks, or tags)."""
    return "```" in content or "~~~" in content or "<file" in content.lower()


def _is_markdown(path: str, lang: str) -> bool:
    return path.lower().endswith(_MARKDOWN_EXTS) or lang in _MARKDOWN_LANGS


# ----------------------------------------------------------------------------------------------
# Findings


def _finding(message: str, where: str = "", hint: str = "", severity: str = ERROR,
             rule: str = "format/malformed") -> Finding:
    return Finding(CHECK, severity, message, where=where, hint=hint, rule=rule)


def _quote(line: str) -> str:
    line = line.strip()
    return line if len(line) <= _LINE_LIMIT else line[: _LINE_LIMIT - 1] + "…"


def _unclosed_fence(path: str, line_no: int, body: list[str]) -> Finding:
    name = _clean_path(path)
    if name:
        return _finding(
            f"The fenced block for {name} (opened at answer line {line_no}) was never closed: the answer looks cut "
            f"off, so {name} was not taken. Send {name} again, whole, and close its block.",
            name,
            hint="Keep answers short enough to finish: send only the files that are needed.",
        )
    first = next((l for l in body if l.strip()), "")
    return _finding(
        f'A fenced block opened at answer line {line_no} (first line: "{_quote(first)}") was never closed and has '
        'no path: it was not taken. Send it again, whole, with a "### path" line right above its opening fence.',
        hint="Keep answers short enough to finish: send only the files that are needed.",
    )


def _unlabeled(lang: str, body: list[str], line_no: int) -> Finding:
    first = next((l for l in body if l.strip()), "")
    shell = lang in _SHELL_LANGS
    message = (
        f'A fenced block at answer line {line_no}{f" ({lang})" if lang else ""} has no file path '
        f'(first line: "{_quote(first)}"), so it was not taken. '
        'If it is a project file, send it again with a "### path" line (for example "### app.js") '
        "right above its opening fence."
    )
    return _finding(
        message,
        hint="Write the file's path on its own line as '### path', then the fenced block.",
        severity=WARNING if shell else ERROR,
    )


def _no_files(text: str, unlabeled: int) -> Finding:
    if not text.strip():
        message = "The answer was empty: no files were found."
    elif unlabeled:
        message = (
            f"No files were found: the answer has {unlabeled} fenced block(s) but none of them is labelled with "
            "a file path."
        )
    else:
        message = "No files were found: the answer is prose only, with no fenced code blocks."
    return _finding(
        message + ' Write each file as a "### path" line followed by the whole file in a fenced block.',
        hint="Example: a line '### index.html', then ```html, the full file, and a closing ```.",
    )


def _placeholders(path: str, content: str) -> list[Finding]:
    if path.lower().endswith(_PROSE_EXTS):
        return []
    out: list[Finding] = []
    for number, line in enumerate(content.split("\n"), 1):
        if not _is_placeholder(line):
            continue
        out.append(
            _finding(
                f'{path} line {number} is a placeholder ("{_quote(line)}"), not code: the file is incomplete. '
                f"Send {path} again with every line written out.",
                f"{path}:{number}",
                hint="Never abbreviate: write whole files, no '...' or 'rest of code' comments.",
            )
        )
        if len(out) >= 5:
            break
    return out


def _is_placeholder(line: str) -> bool:
    """A line that stands for code not written: '// ... rest of code', '<!-- rest unchanged -->', '...'."""
    if len(line) > 300:
        return False
    if _ELLIPSIS_LINE.match(line) or _TODO_IMPLEMENT.search(line):
        return True
    if not ("..." in line or "…" in line or _PLACEHOLDER_HINT.search(line)):
        return False
    for m in _COMMENT_START.finditer(line):
        words = line[m.end():]
        if len(words.strip()) <= 70 and _PLACEHOLDER_WORDS.match(words):
            return True
    return False


_PLACEHOLDER_HINT = re.compile(r"rest|existing|unchanged|same|implement|here|previous|original", re.I)


def _format_name(styles: set[str], any_files: bool) -> str:
    if not any_files:
        return "none"
    styles = {("heading" if s in ("nested",) else s) for s in styles}
    if len(styles) == 1:
        return next(iter(styles))
    return "mixed"
