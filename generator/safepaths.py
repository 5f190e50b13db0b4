"""Vet the model's file paths before anything touches disk, then write the files.

A path the model sends is data: an unsafe one is dropped with a Finding (check "path"), never
rewritten into a safe-looking one. `write_files` re-checks everything and raises UnsafeWrite if it is
ever handed a path that vetting should have stopped (a bug in runshot, not a model mistake).

Rejected paths (compared case-insensitively, as on macOS and Windows):
* absolute (``/x``, ``C:\\x``, ``C:/x``, ``\\\\server``, ``~/x``), ``..`` or ``.`` segments, empty segments;
* backslashes, NUL and other control characters, characters Windows cannot store (``<>:"|?*``);
* segments ending in a dot or a space, Windows device names (``con``, ``nul``, ``com1`` ...), names over 255 bytes;
* ``.git`` and ``.runshot`` anywhere (git's and runshot's own data);
* files that configure tools which run code or read secrets when someone works in the folder:
  every ``.git*`` name except ``.gitignore`` (``.gitattributes``, ``.gitmodules``, ``.gitconfig``),
  ``.npmrc``, ``.yarnrc``, ``.yarnrc.yml``, ``.pnpmfile.cjs``, ``.env`` and ``.env.*``/``.envrc``,
  ``.pre-commit-config.yaml``, ``.gitlab-ci.yml``, ``.travis.yml``; and the folders ``.ssh``,
  ``.github`` (workflows run in CI with the owner's secrets once pushed), ``.circleci``, ``.husky``,
  ``.vscode`` (tasks can run on folder open), ``.idea``, ``.devcontainer``.
  A static web app needs none of them.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import unicodedata
from pathlib import Path
from typing import Iterable

from runshot.errors import RunshotError
from runshot.rules import Rule, Rules
from runshot.values import ERROR, WARNING, Finding, Limits

CHECK = "path"
MAX_NAME_BYTES = 255
MAX_PATH_CHARS = 1024

SKIP_DIRS = {".git", ".runshot", "node_modules"}
SENSITIVE_NAMES = {
    ".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs", ".envrc",
    ".pre-commit-config.yaml", ".gitlab-ci.yml", ".travis.yml",
}
SENSITIVE_DIRS = {".ssh", ".github", ".circleci", ".husky", ".vscode", ".idea", ".devcontainer"}
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
_WINDOWS_BAD = re.compile(r'[<>:"|?*]')
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")

RULES = Rules(
    Rule("path/unsafe", ERROR, "A path from the model could reach outside the project or into tool folders."),
    Rule("path/too-many-files", ERROR, "The answer holds more files than a project may have."),
    Rule("path/too-large", ERROR, "A file, or the files together, are larger than allowed."),
    Rule("path/delete-missing", WARNING, "The answer asks to delete a file the project does not have."),
)


class UnsafeWrite(RunshotError):
    """write_files was handed a path that escapes the project or goes through a link (a runshot bug)."""


def path_problem(path: str) -> str | None:
    """Why `path` may not be written into a project, or None when it is fine."""
    if not isinstance(path, str) or not path:
        return "the path is empty"
    if len(path) > MAX_PATH_CHARS:
        return f"the path is longer than {MAX_PATH_CHARS} characters"
    bad = _CONTROL.search(path)
    if bad is not None:
        c = bad.group()
        return "the path contains a NUL byte" if c == "\0" else f"the path contains a control character (U+{ord(c):04X})"
    if _SURROGATE.search(path):
        return "the path contains characters that are not valid Unicode (lone surrogates)"
    if path.startswith(("\\\\", "//")):
        return "the path is a network (UNC) path; give a path relative to the project root"
    if len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        return "the path is absolute (it starts with a drive letter); give a path relative to the project root"
    if "\\" in path:
        return "the path contains a backslash; separate folders with / as in src/app.js"
    if path.startswith("/"):
        return "the path is absolute; give a path relative to the project root, such as index.html"
    if path == "~" or path.startswith("~/"):
        return "the path starts with ~ (a home folder); give a path relative to the project root"
    segments = path.split("/")
    for seg in segments:
        if seg == "":
            return "the path has an empty segment (// or a trailing /)"
        if seg == "..":
            return "the path contains '..' (it would leave the project folder)"
        if seg == ".":
            return "the path contains a '.' segment; write it without ./"
        if seg.endswith((".", " ")):
            return f"the name '{seg}' ends with a dot or a space"
        if len(seg) * 4 > MAX_NAME_BYTES and len(seg.encode("utf-8")) > MAX_NAME_BYTES:
            return f"a name in the path is longer than {MAX_NAME_BYTES} bytes"
        low = seg.casefold()
        if low == ".git":
            return "the path goes into .git (git's own data)"
        if low == ".runshot":
            return "the path goes into .runshot (runshot's own records)"
        hit = _WINDOWS_BAD.search(seg)
        if hit is not None:
            return f"the name '{seg}' contains '{hit.group()}', which cannot be used in file names"
        if low.split(".", 1)[0] in _WINDOWS_DEVICES:
            return f"the name '{seg}' is a reserved device name on Windows"
    for seg in segments[:-1]:
        if seg.casefold() in SENSITIVE_DIRS:
            return f"files under {seg}/ configure tools that run code or hold secrets; a web app does not need them"
    name = segments[-1].casefold()
    if name in SENSITIVE_DIRS:
        return f"{segments[-1]} configures tools that run code or hold secrets; a web app does not need it"
    if name.startswith(".git") and name != ".gitignore":
        return f"{segments[-1]} configures git (it can make git run commands); only .gitignore is allowed"
    if name in SENSITIVE_NAMES:
        return f"{segments[-1]} configures tools that run code or hold credentials; a web app does not need it"
    if name == ".env" or name.startswith(".env."):
        return f"{segments[-1]} is an environment/secrets file; a static web app must not have one"
    return None


def _key(path: str) -> str:
    """Two paths with the same key are the same file on a case-insensitive file system."""
    return unicodedata.normalize("NFC", path).casefold()


def _utf8_size(content: str, cap: int) -> int | None:
    """UTF-8 size of content (exact when it matters against cap); None when it cannot be encoded."""
    if len(content) > cap:
        return len(content)  # at least that many bytes: over the cap whatever the encoding
    try:
        return len(content.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def vet_files(files: dict[str, str], limits: Limits, existing: Iterable[str] = ()) -> tuple[dict[str, str], list[Finding]]:
    """The files that may be written, and one Finding per dropped file (or per cap that was hit)."""
    findings: list[Finding] = []
    kept: dict[str, str] = {}
    file_keys: dict[str, str] = {}  # key -> path as written
    dir_keys: dict[str, str] = {}  # key of every folder that holds a file -> that file's path
    for path in existing:
        _index(path, file_keys, dir_keys)
    existing_keys = dict(file_keys)

    over_count: list[str] = []
    over_total: list[str] = []
    total = 0
    for path, content in files.items():
        reason = path_problem(path)
        if reason is None:
            depth = path.count("/") + 1
            if depth > limits.max_depth:
                reason = f"the path is {depth} levels deep; the limit is {limits.max_depth}"
        if reason is None:
            reason = _collision(path, file_keys, dir_keys, existing_keys)
        if reason is not None:
            findings.append(_drop(path, reason))
            continue
        if not isinstance(content, str):
            findings.append(_drop(path, "its content is not text"))
            continue
        size = _utf8_size(content, limits.max_file_bytes)
        if size is None:
            findings.append(_drop(path, "its content has characters that cannot be stored as UTF-8 (lone surrogates)"))
            continue
        if size > limits.max_file_bytes:
            findings.append(
                _drop(path, f"it is {_human(size)}, over the {_human(limits.max_file_bytes)} limit for one file",
                      hint="Split it into smaller files, or leave out generated or embedded data.")
            )
            continue
        if len(kept) >= limits.max_files:
            over_count.append(path)
            continue
        if total + size > limits.max_total_bytes:
            over_total.append(path)
            continue
        total += size
        kept[path] = content
        _index(path, file_keys, dir_keys)

    if over_count:
        findings.append(
            RULES["path/too-many-files"].finding(
                f"{len(over_count)} file(s) were not written: a project may have at most {limits.max_files} files "
                f"(first left out: {', '.join(over_count[:5])}).",
                where=over_count[0], hint="Use fewer, larger files.")
        )
    if over_total:
        findings.append(
            RULES["path/too-large"].finding(
                f"{len(over_total)} file(s) were not written: together the files would exceed "
                f"{_human(limits.max_total_bytes)} (first left out: {', '.join(over_total[:5])}).",
                where=over_total[0], hint="Keep the project small: no embedded data or generated files.")
        )
    return kept, findings


def vet_deleted(deleted: Iterable[str], existing: Iterable[str] | None = None) -> tuple[list[str], list[Finding]]:
    """Deletion requests that may be carried out; unsafe ones are errors, unknown files are warnings."""
    known = None if existing is None else set(existing)
    out: list[str] = []
    findings: list[Finding] = []
    for path in dict.fromkeys(deleted):
        reason = path_problem(path)
        if reason is not None:
            findings.append(RULES["path/unsafe"].finding(f"{path!r} was not deleted: {reason}.", where=path))
        elif known is not None and path not in known:
            findings.append(RULES["path/delete-missing"].finding(
                f"{path} was asked to be deleted but the project has no such file.", where=path))
        else:
            out.append(path)
    return out, findings


def _index(path: str, file_keys: dict[str, str], dir_keys: dict[str, str]) -> None:
    key = _key(path)
    file_keys.setdefault(key, path)
    cut = key.rfind("/")
    while cut > 0:
        dir_key = key[:cut]
        if dir_key in dir_keys:
            break
        dir_keys[dir_key] = path
        cut = key.rfind("/", 0, cut)


def _collision(path: str, file_keys: dict[str, str], dir_keys: dict[str, str], existing: dict[str, str]) -> str | None:
    key = _key(path)
    other = file_keys.get(key)
    if other is not None and other != path:
        where = "an existing project file" if existing.get(key) == other else "another file in this answer"
        return f"it differs only in letter case from {other} ({where}); the two would be the same file on many systems"
    if key in dir_keys:
        return f"{path} is also a folder (it holds {dir_keys[key]}); a path cannot be both a file and a folder"
    cut = key.rfind("/")
    while cut > 0:
        parent = file_keys.get(key[:cut])
        if parent is not None:
            return f"its folder {path[:cut]} is also a file ({parent}); a path cannot be both a file and a folder"
        cut = key.rfind("/", 0, cut)
    return None


def _drop(path: str, reason: str, hint: str = "") -> Finding:
    shown = path if len(path) <= 200 else path[:200] + "…"
    return RULES["path/unsafe"].finding(
        f"{shown!r} was not written: {reason}.", where=shown,
        hint=hint or "Use a plain relative path inside the project, such as index.html or js/app.js.")


def _human(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.1f} KB"
    return f"{size} bytes"


# ----------------------------------------------------------------------------------------------
# Disk


def write_files(root: Path, files: dict[str, str], deleted: Iterable[str] = ()) -> None:
    """Write vetted files under root (atomically, UTF-8, newlines as given) and remove `deleted` files."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    real_root = root.resolve(strict=True)
    for path in deleted:
        target = _guarded(real_root, path, link_ok=True)
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode):
            raise UnsafeWrite(f"refusing to delete {path!r}: it is a folder")
        os.unlink(target)
        _prune_empty(real_root, target.parent)
    for path, content in files.items():
        target = _guarded(real_root, path)
        _make_parents(real_root, target.parent, path)
        _atomic_write(target, content.encode("utf-8"), path)


def _guarded(real_root: Path, path: str, link_ok: bool = False) -> Path:
    reason = path_problem(path)
    if reason is not None:
        raise UnsafeWrite(f"refusing to write {path!r}: {reason}")
    target = real_root.joinpath(*path.split("/"))
    current = real_root
    for part in path.split("/")[:-1]:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            break
        if stat.S_ISLNK(st.st_mode):
            raise UnsafeWrite(f"refusing to write {path!r}: {current.relative_to(real_root)} is a symbolic link")
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafeWrite(f"refusing to write {path!r}: {current.relative_to(real_root)} is not a folder")
    if os.path.islink(target):
        if link_ok:
            return target  # unlinking a link removes the link itself, never what it points to
        raise UnsafeWrite(f"refusing to write {path!r}: it is a symbolic link")
    if os.path.commonpath([os.path.realpath(target), str(real_root)]) != str(real_root):
        raise UnsafeWrite(f"refusing to write {path!r}: it resolves outside the project")
    return target


def _make_parents(real_root: Path, folder: Path, path: str) -> None:
    missing: list[Path] = []
    current = folder
    while current != real_root and not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    for part in reversed(missing):
        try:
            os.mkdir(part)
        except FileExistsError:
            pass
        if os.path.islink(part) or not os.path.isdir(part):
            raise UnsafeWrite(f"refusing to write {path!r}: {part} changed while it was being created")


def _atomic_write(target: Path, data: bytes, path: str) -> None:
    if os.path.isdir(target) and not os.path.islink(target):
        raise UnsafeWrite(f"refusing to write {path!r}: a folder has that name")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".runshot-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _prune_empty(real_root: Path, folder: Path) -> None:
    while folder != real_root and real_root in folder.parents:
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = folder.parent


def read_project(root: Path, limits: Limits, skip_dirs: Iterable[str] = ()) -> dict[str, str]:
    """The project's text files (for repair prompts): no .git, .runshot, node_modules (or other `skip_dirs`),
    links, binaries, or files whose path would be refused (secrets such as .env never go to a model).
    Sorted by path."""
    skipped = SKIP_DIRS | {d.casefold() for d in skip_dirs}
    root = Path(root)
    out: dict[str, str] = {}
    total = 0
    stack = [(root, "", 0)]
    entries: list[tuple[str, str]] = []  # (relative path, absolute path)
    while stack:
        folder, prefix, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in items:
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if entry.name.casefold() in skipped or depth + 1 >= limits.max_depth:
                        continue
                    stack.append((Path(entry.path), rel + "/", depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    entries.append((rel, entry.path))
            except OSError:
                continue
    for rel, full in sorted(entries):
        if len(out) >= limits.max_files:
            break
        if path_problem(rel) is not None:
            continue
        try:
            size = os.lstat(full).st_size
            if size > limits.max_file_bytes or total + size > limits.max_total_bytes:
                continue
            with open(full, "rb") as handle:
                data = handle.read(limits.max_file_bytes + 1)
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out[rel] = text
        total += len(data)
    return out
