"""The "format" findings of reading a model's answer, each saying exactly what to re-send.

A block never closed, a block without a path, an answer without files, placeholder lines that stand for code
not written ('// ... rest of code', '<!-- unchanged -->', '...'), and an answer whose stream broke off.
"""

from __future__ import annotations

import re

from runshot.generator.pathlines import MARKDOWN_EXTS, clean_path, info_path, line_path
from runshot.rules import Rule, Rules
from runshot.values import ERROR, WARNING, Finding

CHECK = "format"

# What reading a model's answer can find wrong with it (also reported by the repair loop: cut-off, repeating,
# no-files, and the loop's own notes under "repair"); the unsafe paths are safepaths.RULES.
RULES = Rules(
    Rule("format/malformed", ERROR, "A block of the answer cannot be taken as a file as it stands."),
    Rule("format/unlabeled-shell", WARNING, "A block without a path that looks like a shell command or output."),
    Rule("format/repeated-file", ERROR, "The answer sends one file twice; neither copy can be trusted."),
    Rule("format/no-files", ERROR, "The answer held no files."),
    Rule("format/cut-off", ERROR, "The answer was cut off at the token limit; unclosed files were dropped."),
    Rule("format/repeating", ERROR, "The answer was stopped because it started repeating itself."),
    Rule("format/broken-off", ERROR, "The answer's stream broke off mid-answer: a file still open was not taken."),
    Rule("format/edit-broken", ERROR, "An edit block cannot be read."),
    Rule("format/edit-no-path", ERROR, "An edit block names no file."),
    Rule("format/edit-missing-file", ERROR, "An edit block names a file the project does not have."),
    Rule("format/edit-empty-search", ERROR, "An edit block's SEARCH part is empty for an existing file."),
    Rule("format/edit-no-match", ERROR, "An edit block's SEARCH lines are not in the file."),
    Rule("format/edit-ambiguous", ERROR, "An edit block's SEARCH lines are in the file more than once."),
    Rule("repair/discarded", WARNING, "A repair made things worse and was set aside for the best iteration so far."),
    Rule("fix/files-left-out", WARNING, "Files of the project were not shown to the model.", check="repair"),
)

_SHELL_LANGS = {
    "bash", "sh", "shell", "zsh", "console", "terminal", "powershell", "ps1", "cmd", "bat",
    "text", "txt", "plaintext", "output", "log", "diff",
}
_PROSE_EXTS = MARKDOWN_EXTS + (".txt", ".rst")

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


def finding(message: str, where: str = "", hint: str = "", rule: str = "format/malformed") -> Finding:
    return RULES[rule].finding(message, where=where, hint=hint)


def _quote(line: str) -> str:
    line = line.strip()
    return line if len(line) <= _LINE_LIMIT else line[: _LINE_LIMIT - 1] + "…"


def unclosed_fence(path: str, line_no: int, body: list[str]) -> Finding:
    name = clean_path(path)
    if name:
        return finding(
            f"The fenced block for {name} (opened at answer line {line_no}) was never closed: the answer looks cut "
            f"off, so {name} was not taken. Send {name} again, whole, and close its block.",
            name,
            hint="Keep answers short enough to finish: send only the files that are needed.",
        )
    first = next((l for l in body if l.strip()), "")
    return finding(
        f'A fenced block opened at answer line {line_no} (first line: "{_quote(first)}") was never closed and has '
        'no path: it was not taken. Send it again, whole, with a "### path" line right above its opening fence.',
        hint="Keep answers short enough to finish: send only the files that are needed.",
    )


def unlabeled_block(lang: str, body: list[str], line_no: int) -> Finding:
    first = next((l for l in body if l.strip()), "")
    shell = lang in _SHELL_LANGS
    message = (
        f'A fenced block at answer line {line_no}{f" ({lang})" if lang else ""} has no file path '
        f'(first line: "{_quote(first)}"), so it was not taken. '
        'If it is a project file, send it again with a "### path" line (for example "### app.js") '
        "right above its opening fence."
    )
    return finding(
        message,
        hint="Write the file's path on its own line as '### path', then the fenced block.",
        rule="format/unlabeled-shell" if shell else "format/malformed",
    )


def no_files(text: str, unlabeled: int) -> Finding:
    if not text.strip():
        message = "The answer was empty: no files were found."
    elif unlabeled:
        message = (
            f"No files were found: the answer has {unlabeled} fenced block(s) but none of them is labelled with "
            "a file path."
        )
    else:
        message = "No files were found: the answer is prose only, with no fenced code blocks."
    return finding(
        message + ' Write each file as a "### path" line followed by the whole file in a fenced block.',
        hint="Example: a line '### index.html', then ```html, the full file, and a closing ```.",
    )


def broken_off(text: str, problem: str, tokens: int | None = None) -> Finding:
    """The answer's stream broke off (connection lost, an error mid-answer, a stall): where, and what was kept."""
    lines = text.split("\n")
    open_path = open_block(lines)
    size = f"{tokens} tokens, " if tokens else ""
    at = f"after {size}{len(lines)} line(s)" + (f", inside the block for {open_path}" if open_path else "")
    return finding(
        f"The answer broke off {at}: {problem}. What arrived was kept; a file whose block was not closed was "
        "not taken.",
        open_path,
        hint="Keep answers short enough to finish: send only the files that are needed, each once.",
        rule="format/broken-off",
    )


def open_block(lines: list[str]) -> str:
    """The path of the fenced block still open at the end of these answer lines ("" when none is, or no path)."""
    fence: str | None = None
    path, above = "", ""
    for line in lines:
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, path = match.group(1), info_path(match.group(2)) or above
            elif line.strip():
                above = line_path(line) or ""
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                and not match.group(2).strip():
            fence, above = None, ""
    return clean_path(path) if fence is not None else ""


_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")


def placeholders(path: str, content: str) -> list[Finding]:
    if path.lower().endswith(_PROSE_EXTS):
        return []
    out: list[Finding] = []
    for number, line in enumerate(content.split("\n"), 1):
        if not _is_placeholder(line):
            continue
        out.append(
            finding(
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
