"""Which file path a line of a model's answer names: a line above a block, or a fence's info string.

    ### src/app.js   **app.js**   File: app.js   `app.js`:   Here is `app.js`:     (path lines)
    ```js app.js   ```html path=index.html   ```tsx{path=src/App.tsx}   ```js:app.js   (info strings)

Nothing here judges whether a path is safe (see safepaths); a leading ``./`` is the only change made.
"""

from __future__ import annotations

import re

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
_MARKDOWN_LANGS = {"md", "markdown", "gfm"}
MARKDOWN_EXTS = (".md", ".markdown", ".mdx")


def clean_path(path: str) -> str:
    path = path.strip().strip("`'\"*").strip()
    while path.startswith("./"):
        path = path[2:]
    return path


def looks_like_path(token: str) -> bool:
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
    found = read_path_line(line.strip()) if line.strip() else None
    return found[0] if found else None


def info_path(info: str) -> str:
    """The file path a fence's info string names (```js app.js, ```html path=index.html), or ""."""
    return read_info(info.strip())[1]


def read_path_line(stripped: str) -> tuple[str, str] | None:
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
    if looks_like_path(candidate):
        return clean_path(candidate), "heading"
    # A prose line ending in ":" that names exactly one path in backticks: "Here is `app.js`:".
    if stripped.endswith(":") and not heading:
        names = [t for t in _BACKTICKED.findall(stripped) if looks_like_path(t)]
        if len(names) == 1:
            return clean_path(names[0]), "prose"
    return None


def read_info(info: str) -> tuple[str, str, bool]:
    """(language, path, explicit) from a fence's info string."""
    if not info:
        return "", "", False
    m = _PATH_KEYS.search(info)
    if m:
        lang = re.split(r"[\s{:,]", info, maxsplit=1)[0].lower()
        return lang, clean_path(m.group(1) or m.group(2) or m.group(3)), True
    head = re.split(r"[\s{]", info, maxsplit=1)[0]
    if ":" in head:  # ```js:app.js
        lang, _, rest = head.partition(":")
        if looks_like_path(rest):
            return lang.lower(), clean_path(rest), True
    tokens = info.replace("{", " ").replace("}", " ").split()
    if len(tokens) >= 2 and looks_like_path(tokens[1].strip("`\"'")):
        return tokens[0].lower(), clean_path(tokens[1]), True
    if looks_like_path(tokens[0].strip("`\"'")):
        token = clean_path(tokens[0])
        ext = token.rsplit(".", 1)[-1].lower() if "." in token else ""
        return ext, token, False
    return tokens[0].lower(), "", False


def is_markdown(path: str, lang: str) -> bool:
    return path.lower().endswith(MARKDOWN_EXTS) or lang in _MARKDOWN_LANGS

