"""Specs: a prompt string, or a Markdown file with YAML front matter (title, entry, acceptance checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from runshot.errors import UsageError
from runshot.vocab import ACTION_NAMES as ACTIONS
from runshot.vocab import EXPECTATIONS as _EXPECTATION_WORDS
from runshot.vocab import argument_problem, expand_shorthand

EXPECTATIONS = tuple(_EXPECTATION_WORDS)
CHECK_KEYS = ("name", "steps", "derived", "covers")
KNOWN_KEYS = {"title", "entry", "checks", "animated", "mobile", "tags", "build", "serve", "description"}

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


@dataclass(frozen=True)
class Step:
    """One acceptance step: an action ("click", "expect", ...) and its arguments as written."""

    action: str
    args: dict

    def describe(self) -> str:
        if not self.args:
            return self.action
        inner = ", ".join(f"{k}: {v!r}" for k, v in self.args.items())
        return f"{self.action}: {{{inner}}}"


@dataclass(frozen=True)
class AcceptanceCheck:
    name: str
    steps: tuple[Step, ...]
    derived: bool = False  # written by the model from the spec's words (`derived: true`), not by the user
    covers: tuple[str, ...] = ()  # the spec's requirements (their words) a derived check was written for


@dataclass(frozen=True)
class Spec:
    title: str
    body: str
    source: str  # the spec file's path, or "prompt"
    entry: str = "index.html"
    checks: tuple[AcceptanceCheck, ...] = ()
    animated: bool = False
    animated_explicit: bool = False  # the front matter said `animated:` (true or false); else motion may be inferred
    folder: Path | None = None  # the spec file's folder (pytest acceptance files live there)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"title": self.title, "source": self.source, "entry": self.entry}


def load_spec(arg: str) -> Spec:
    """A path to a spec file, or (when no such file exists) the prompt text itself."""
    path = Path(arg)
    looks_like_file = arg.endswith((".md", ".markdown", ".txt")) or "\n" not in arg and len(arg) < 4096
    if looks_like_file and path.exists():
        if path.is_dir():
            raise UsageError(f"{arg}: is a directory, not a spec file")
        return parse_spec_file(path)
    if arg.endswith((".md", ".markdown")) and "\n" not in arg and " " not in arg:
        raise UsageError(f"{arg}: spec file not found")
    text = arg.strip()
    if not text:
        raise UsageError("the spec is empty: give a spec file or a prompt")
    return Spec(title=_title_from_prompt(text), body=text, source="prompt")


def parse_spec_file(path: Path) -> Spec:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read spec ({exc.strerror or exc})") from None
    if b"\x00" in raw:
        raise UsageError(f"{path}: not a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    spec = parse_spec_text(text, source=str(path), folder=path.parent.resolve())
    return spec


def parse_spec_text(text: str, source: str = "prompt", folder: Path | None = None) -> Spec:
    meta: dict = {}
    body = text
    m = _FRONT.match(text)
    if m:
        try:
            loaded = yaml.safe_load(m.group(1))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 2})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise UsageError(f"{source}: invalid YAML front matter{where}: {problem}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise UsageError(f"{source}: front matter must be a mapping of keys to values")
        meta = loaded
        body = text[m.end():]
    elif text.lstrip().startswith("---"):
        raise UsageError(f"{source}: front matter starts with '---' but has no closing '---' line")
    body = body.strip()
    if not body and not meta.get("description"):
        raise UsageError(f"{source}: the spec has no description after the front matter")
    if not body:
        body = str(meta["description"]).strip()

    title = meta.get("title")
    if title is None:
        title = _title_from_body(body) or Path(source).stem
    if not isinstance(title, (str, int, float)):
        raise UsageError(f"{source}: 'title' must be text")
    entry = meta.get("entry", "index.html")
    if not isinstance(entry, str) or not entry.strip() or entry.startswith("/") or ".." in entry.split("/"):
        raise UsageError(f"{source}: 'entry' must be a relative page path such as index.html")
    animated = meta.get("animated", False)
    if not isinstance(animated, bool):
        raise UsageError(f"{source}: 'animated' must be true or false")
    checks = _parse_checks(meta.get("checks"), source)
    extra = {k: v for k, v in meta.items() if k not in {"title", "entry", "checks", "animated"}}
    return Spec(
        title=str(title).strip(),
        body=body,
        source=source,
        entry=entry.strip(),
        checks=checks,
        animated=animated,
        animated_explicit="animated" in meta,
        folder=folder,
        extra=extra,
    )


def parse_checks(raw, source: str) -> tuple[AcceptanceCheck, ...]:
    """Acceptance checks from their YAML form (a list of {name, steps}); UsageError says what is wrong."""
    return _parse_checks(raw, source)


def _parse_checks(raw, source: str) -> tuple[AcceptanceCheck, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise UsageError(f"{source}: 'checks' must be a list of {{name, steps}}")
    checks = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or "steps" not in item:
            raise UsageError(f"{source}: check {i} must have 'name' and 'steps'")
        name = str(item.get("name") or f"check {i}")
        steps_raw = item["steps"]
        if not isinstance(steps_raw, list) or not steps_raw:
            raise UsageError(f"{source}: check '{name}' needs a non-empty list of steps")
        stray = [str(k) for k in item if k not in CHECK_KEYS]
        if stray:
            raise UsageError(f"{source}: check '{name}' has an unknown key '{stray[0]}' "
                             f"(a check takes {', '.join(CHECK_KEYS)})")
        steps = tuple(_parse_step(s, source, name, j) for j, s in enumerate(steps_raw, 1))
        covers = item.get("covers") or ()
        covers = (covers,) if isinstance(covers, str) else tuple(str(c) for c in covers if c is not None) \
            if isinstance(covers, list) else ()
        checks.append(AcceptanceCheck(name=name, steps=steps, derived=item.get("derived") is True, covers=covers))
    return tuple(checks)


def _parse_step(raw, source: str, check: str, index: int) -> Step:
    where = f"{source}: check '{check}' step {index}"
    if not isinstance(raw, dict) or len(raw) != 1:
        raise UsageError(f"{where}: a step is one action, e.g. '- click: {{role: button, name: Save}}'")
    (action, args), = raw.items()
    if action not in ACTIONS:
        raise UsageError(f"{where}: unknown action '{action}' (known: {', '.join(ACTIONS)})")
    expanded = expand_shorthand(action, args)
    if expanded is None:
        raise UsageError(f"{where}: '{action}' takes a mapping, e.g. {{role: button, name: Save}}")
    args = expanded
    problem = argument_problem(action, args)
    if problem:
        raise UsageError(f"{where}: {problem}")
    return Step(action=action, args=dict(args))


def _title_from_body(body: str) -> str:
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def _title_from_prompt(text: str) -> str:
    first = text.strip().splitlines()[0].strip().rstrip(".")
    return first if len(first) <= 60 else first[:57].rstrip() + "…"


def spec_path(arg: str, command: str) -> list[Path]:
    """The spec files one argument names: a file, or a folder's *.md files in order (a usage error otherwise;
    `command` says in that error what the command takes)."""
    p = Path(arg)
    if p.is_dir():
        inside = sorted(x for x in p.glob("*.md") if x.is_file())
        if not inside:
            raise UsageError(f"{arg}: no *.md spec files in that folder")
        return inside
    if p.is_file():
        return [p]
    raise UsageError(f"{arg}: {command}")
