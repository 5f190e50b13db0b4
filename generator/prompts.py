"""Prompts: the system prompt, the first generation request, and repair requests.

Templates live in the runshot.templates package (system.j2, generate.j2, repair.j2) and are rendered
with StrictUndefined: a value a template needs but was not given is an error, never an empty string.
Everything a page produced (evidence) is put in the prompt as delimited DATA, in a fence longer than
any backtick run inside it, so page text cannot pose as instructions or end the block early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import jinja2

from runshot.spec import Spec, Step
from runshot.vocab import ACTIONS, TARGET_KINDS
from runshot.values import ERROR, Finding, dedupe, truncate

TEMPLATE_PACKAGE = "runshot.templates"


@dataclass(frozen=True)
class PromptLimits:
    """How much of the project and its findings a repair prompt may hold."""

    max_findings: int = 40
    max_evidence_chars: int = 600
    max_message_chars: int = 600
    max_hint_chars: int = 300
    max_files_chars: int = 60_000


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "."),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fence"] = fence_for
    env.filters["lang"] = language_for
    return env


def render(name: str, **values) -> str:
    """Render one template of runshot.templates by file name (e.g. "repair.j2")."""
    return _environment().get_template(name).render(**values)


# ----------------------------------------------------------------------------------------------
# Messages


def generation_messages(spec: Spec) -> list[dict]:
    """System + user messages asking for the whole project."""
    return [
        {"role": "system", "content": render("system.j2", entry=spec.entry, edits=False)},
        {
            "role": "user",
            "content": render("generate.j2", spec=spec, checks=describe_checks(spec)),
        },
    ]


def repair_messages(
    spec: Spec,
    files: dict[str, str],
    findings: list[Finding],
    iteration: int,
    limits: PromptLimits | None = None,
    edits: bool = True,
    change: str | None = None,
) -> list[dict]:
    """System + user messages showing the current files and what is wrong, asking for changed files only.
    With `change` (a change request to an existing app), the prompt asks for that change first.

    With `edits`, both messages explain SEARCH/REPLACE edit blocks (generator/edits.py) besides whole files.
    """
    limits = limits or PromptLimits()
    groups, left_out = group_findings(findings, files, spec.entry, limits)
    shown, hidden = _select_files(files, groups, spec.entry, limits.max_files_chars)
    kept = [item for group in groups for item in group["findings"]]
    user = render(
        "repair.j2",
        spec=spec,
        checks=describe_checks(spec),
        iteration=iteration,
        files=[{"path": p, "content": files[p], "fence": fence_for(files[p]), "lang": language_for(p)} for p in shown],
        hidden_files=[{"path": p, "size": len(files[p])} for p in hidden],
        groups=groups,
        error_count=sum(1 for f in kept if f["severity"] == ERROR),
        warning_count=sum(1 for f in kept if f["severity"] != ERROR),
        left_out=left_out,
        edits=edits,
        change=change,
    )
    return [
        {"role": "system", "content": render("system.j2", entry=spec.entry, edits=edits)},
        {"role": "user", "content": user},
    ]


# ----------------------------------------------------------------------------------------------
# Findings: grouped by file, then check, errors first; deduplicated and capped


def group_findings(
    findings: Iterable[Finding], files: dict[str, str], entry: str = "index.html", limits: PromptLimits | None = None
) -> tuple[list[dict], dict[str, int]]:
    """([{"file": path or "", "title", "findings": [view dicts]}], {"errors": n, "warnings": n} left out)."""
    limits = limits or PromptLimits()
    unique = dedupe(list(findings))
    ranked = sorted(range(len(unique)), key=lambda i: (not unique[i].is_error, i))
    chosen = sorted(ranked[: limits.max_findings])
    dropped = [unique[i] for i in ranked[limits.max_findings:]]
    left_out = {
        "errors": sum(1 for f in dropped if f.is_error),
        "warnings": sum(1 for f in dropped if not f.is_error),
    }

    order: list[str] = []
    members: dict[str, list[int]] = {}
    for i in chosen:
        key = file_of(unique[i].where, files, entry) or ""
        if key not in members:
            members[key] = []
            order.append(key)
        members[key].append(i)

    def group_rank(key: str) -> tuple[bool, bool, int]:
        """Groups with errors first (in order of their first error), the page-wide group after files."""
        first_error = min((i for i in members[key] if unique[i].is_error), default=None)
        return (first_error is None, key == "", first_error if first_error is not None else members[key][0])

    groups = []
    for key in sorted(order, key=group_rank):
        idx = members[key]
        check_order: dict[str, int] = {}
        for i in idx:
            check_order.setdefault(unique[i].check, len(check_order))
        idx = sorted(idx, key=lambda i: (not unique[i].is_error, check_order[unique[i].check], i))
        groups.append(
            {
                "file": key,
                "title": key or "the page and the project as a whole",
                "findings": [_view(unique[i], limits) for i in idx],
            }
        )
    return groups, left_out


_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*")
_LINE_SUFFIX = re.compile(r"(?::\d+){1,2}$")


def file_of(where: str, files: dict[str, str], entry: str = "index.html") -> str | None:
    """The project file a finding's `where` points at ("app.js:12", "http://127.0.0.1:8123/app.js:3:9"), if any."""
    text = where.strip()
    if not text:
        return None
    m = _URL.match(text)
    if m:
        text = re.split(r"[?#]", text[m.end():], maxsplit=1)[0].lstrip("/")
        if not _LINE_SUFFIX.sub("", text) or text.endswith("/"):
            return entry if entry in files else None
    for candidate in (text, _LINE_SUFFIX.sub("", text), text.split()[0]):
        if candidate.startswith("./"):
            candidate = candidate[2:]
        if candidate in files:
            return candidate
    return None


def _one_line(text: str, limit: int) -> str:
    return truncate(" ".join(text.split()), limit)


def _view(f: Finding, limits: PromptLimits) -> dict:
    evidence = truncate(f.evidence.strip("\n"), limits.max_evidence_chars) if f.evidence.strip() else ""
    return {
        "severity": f.severity,
        "check": f.check,
        "message": _one_line(f.message, limits.max_message_chars),
        "where": _one_line(f.where, 300),
        "hint": _one_line(f.hint, limits.max_hint_chars),
        "evidence": evidence,
        "evidence_fence": fence_for(evidence, char="~") if evidence else "",
    }


def _select_files(files: dict[str, str], groups: list[dict], entry: str, budget: int) -> tuple[list[str], list[str]]:
    """Which files to show whole within the budget: files with findings first, then the entry, then the rest."""
    priority = [g["file"] for g in groups if g["file"]]
    if entry in files:
        priority.append(entry)
    priority += sorted(files, key=lambda p: (len(files[p]), p))
    shown: list[str] = []
    hidden: list[str] = []
    used = 0
    for path in dict.fromkeys(priority):
        size = len(files[path])
        if used + size <= budget:
            shown.append(path)
            used += size
        else:
            hidden.append(path)
    order = {p: i for i, p in enumerate(files)}
    return sorted(shown, key=order.__getitem__), sorted(hidden, key=order.__getitem__)


# ----------------------------------------------------------------------------------------------
# Helpers used by the templates


def fence_for(content: str, char: str = "`") -> str:
    """A fence longer than any run of the fence character in content (at least three)."""
    longest = max((len(run) for run in re.findall(re.escape(char) + "+", content)), default=0)
    return char * max(3, longest + 1)


_LANGS = {
    "html": "html", "htm": "html", "css": "css", "js": "js", "mjs": "js", "cjs": "js", "json": "json",
    "ts": "ts", "tsx": "tsx", "jsx": "jsx", "md": "markdown", "svg": "svg", "xml": "xml", "txt": "text",
    "py": "python", "yml": "yaml", "yaml": "yaml", "webmanifest": "json",
}


def language_for(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _LANGS.get(ext, "")


def describe_checks(spec: Spec) -> list[dict]:
    """The spec's acceptance checks in plain words: [{"name", "steps": [str]}]."""
    return [{"name": c.name, "steps": [describe_step(s) for s in c.steps]} for c in spec.checks]


def describe_target(args: dict) -> str:
    role, name = args.get("role"), args.get("name")
    if role:
        text = f'the {role} named "{name}"' if name is not None else f'the {role} (role="{role}")'
    elif args.get("label") is not None:
        text = f'the field labelled "{args["label"]}"'
    elif args.get("testid") is not None:
        text = f'the element with data-testid="{args["testid"]}"'
    elif args.get("css") is not None:
        text = f"the element matching the CSS selector {args['css']}"
    elif args.get("text") is not None:
        whole = "whose whole text is" if args.get("exact") is True else "showing the text"
        text = f'the element {whole} "{args["text"]}"'
    else:
        return ""
    return text


def describe_step(step: Step) -> str:
    """One step in plain words, from the phrase the step vocabulary gives its action."""
    a = step.args
    action = ACTIONS.get(step.action)
    if action is None:
        return step.describe()
    if step.action == "expect":
        return _describe_expect(a)
    target = describe_target(a)
    phrase = action.phrase if target or not action.phrase_no_target else action.phrase_no_target
    values = {k: a.get(k) for k in action.required + action.optional}
    return phrase.format(target=target, **values)


def _describe_expect(a: dict) -> str:
    target_keys = set(TARGET_KINDS) | {"name"}
    has_target = any(k in a for k in target_keys)
    target = describe_target(a if has_target else {k: v for k, v in a.items() if k in ("text", "exact")})
    parts = []
    if "count" in a and a.get("role") and a.get("name") is None and not any(k in a for k in ("label", "testid", "css")):
        target = f'elements with role "{a["role"]}"'
        parts.append(f"number exactly {a['count']}")
    elif "count" in a:
        parts.append(f"matches exactly {a['count']} element(s)")
    if has_target and "text" in a:
        parts.append(f'contains the text "{a["text"]}"')
    if "exact_text" in a:
        parts.append(f'reads exactly "{a["exact_text"]}"')
    if "value" in a:
        parts.append(f'has the value "{a["value"]}"')
    for key, words in (("min_height", "tall"), ("min_width", "wide")):
        if key in a:
            parts.append(f"is at least {a[key]:g} CSS px {words}" if isinstance(a[key], (int, float))
                         else f"{key} {a[key]}")
    if isinstance(a.get("attribute"), dict):
        parts += [f'has {k}="{v}"' for k, v in a["attribute"].items()]
    if a.get("focused"):
        parts.append("has keyboard focus")
    if "checked" in a:
        parts.append("is checked" if a["checked"] is not False else "is not checked")
    if "disabled" in a:
        parts.append("is disabled" if a["disabled"] is not False else "is enabled")
    if a.get("hidden"):
        parts.append("is hidden (or absent)")
    if a.get("visible") is False:
        parts.append("is not visible")
    if "url" in a:
        url = f'the page address contains "{a["url"]}"'
        return f"expect {url}" + (f" and {target} {' and '.join(parts)}" if target and parts else "")
    if not parts:
        parts.append("is visible")
    return f"expect {target} {' and '.join(parts)}".strip()
