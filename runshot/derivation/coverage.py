"""Spec coverage: the spec's requirements, each accounted for by a check or reported "not verified".

The spec's text is split into requirements: bullets and sentences (and clauses after `;`, and parenthesised clauses
that state something of their own, such as "(the count may go below 0)"). Each requirement has facets, read from
its words:

- literals: text the spec quotes (`code`, "quotes", **bold**); a template such as `Count: N` keeps its fixed part;
- sizes: "at least 44 px tall / wide" (the `min_height` / `min_width` expectations);
- defaults: wording one of runshot's default checks verifies on every page (focus visible, keyboard, labels, alt
  text, contrast, mobile, reduced motion);
- initial: the sentence is about the page as loaded ("starts as", "initially", "on load"), so its literals count
  only in an `expect` before the check's first action.

A requirement is verified when every facet it has is met: each literal appears in a check's steps (in the state the
sentence names), each size is expected by a check with at least that number, each default check runs. A requirement
with none of these facets is verified by a written check that expects something and names a thing the sentence
names (a button's name, a field's label, a text), or by a derived check written for it (`covers`). Wording about looks
(centred, colours, big, friendly, …) cannot be checked by the step language: such a requirement is never verified.
Unsure is "not verified".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runshot.spec import AcceptanceCheck
from runshot.vocab import SIZE_EXPECTATIONS

WRITTEN, DERIVED, DEFAULT = "written", "derived", "default"

# How a spec quotes a text: `code`, "quotes", “curly quotes” or **bold**; one group holds the text quoted.
QUOTED = r"`([^`\n]+)`|\"([^\"\n]+)\"|“([^”\n]+)”|\*\*([^*\n]+)\*\*"
_SPAN = re.compile(QUOTED)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
# A sentence ends at . ! ? before a capital, a digit, a quote or a bracket; not after "e.g.", "i.e.", "etc.", "vs.".
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)(?<!\bcf\.)\s+(?=[A-Z0-9\x00(])|;\s+")
_PAREN = re.compile(r"\s*\(([^()]*)\)")
_CLAIM = re.compile(r"\b(may|must|can|cannot|can't|should|will|never|always|goes|go|stays|stay|becomes)\b", re.I)
_TEMPLATE_VAR = re.compile(r"\s*\b[A-Z]\b\s*|\s*\{[^}]*\}\s*")
_INITIAL = re.compile(
    r"\b(starts?|starting|initially|on load|at first|by default|begins?|when the page (?:loads|opens)|"
    r"first loads?|on the (?:first|loaded) page)\b", re.I,
)
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:css\s*)?(?:px|pixels?)\s*(tall|high|in height|wide|in width)?", re.I)
_LOOKS = re.compile(
    r"\b(centred|centered|centre|center|aligned|alignment|colou?rs?|colou?red|fonts?|big|bigger|"
    r"friendly|pretty|nice|clean|modern|minimal|looks?|styles?|styled|styling|themes?|smooth|layout|spacing|"
    r"margins?|padding|shadows?|rounded|beautiful|attractive|playful|elegant|dark|light mode|bold|italic|"
    r"animat\w*|gradient|icons?|emoji)\b", re.I,
)
# Wording a default check verifies on every page: (pattern, check name, what it verifies).
_DEFAULTS = (
    (re.compile(r"\bfocus (?:outline|ring|indicator|style)|visible focus|focus (?:is |stays )?visible", re.I),
     "keyboard", "focus visible"),
    (re.compile(r"\bkeyboard\b|\btab (?:key|to|through|order)\b|\benter or space\b|\bspace or enter\b", re.I),
     "keyboard", "keyboard operation"),
    (re.compile(r"\blabel(?:s|led|ed)? (?:field|input)s?\b|\bfields? (?:have|has|with) labels?\b|"
                r"\bevery (?:field|input) (?:is |has a )?label", re.I), "a11y", "form labels"),
    (re.compile(r"\balt(?:ernative)? text\b", re.I), "a11y", "alt text"),
    (re.compile(r"\bcontrast\b", re.I), "a11y", "contrast"),
    (re.compile(r"\bscreen ?readers?\b|\baccessible\b", re.I), "a11y", "accessibility rules"),
    (re.compile(r"\b(?:mobile|phones?|small screens?|narrow screens?|responsive)\b", re.I), "mobile", "mobile"),
    (re.compile(r"\breduced motion\b|prefers-reduced-motion", re.I), "motion", "reduced motion"),
)
_HTML = re.compile(r"^<[^>]+>$")
# Words of a sentence that states behaviour a step could drive or read (without them, a sentence such as
# "A greeting page" gives a model nothing to check and is not asked for).
_BEHAVIOUR = re.compile(
    r"\b(shows?|showing|reads?|says?|displays?|starts?|adds?|subtracts?|removes?|deletes?|resets?|sets?|"
    r"changes?|goes|go|becomes?|reveals?|hides?|hidden|opens?|closes?|press\w*|click\w*|typ\w*|enter\w*|"
    r"choos\w*|select\w*|tick\w*|check\w*|toggl\w*|count\w*|below|above|increments?|decrements?|"
    r"disabled|enabled|named|labell?ed|called|add\w*|remov\w*)\b", re.I,
)


@dataclass(frozen=True)
class Requirement:
    text: str
    literals: tuple[str, ...] = ()
    sizes: tuple[tuple[str, float], ...] = ()  # (expectation, CSS px)
    defaults: tuple[tuple[str, str], ...] = ()  # (default check, what it verifies)
    initial: bool = False
    looks: str = ""  # the first word about looks, which no step can check

    @property
    def checkable(self) -> bool:
        """Whether the step language could verify it: no wording about looks, and something a step can drive or
        read (a quoted text, a size, or words of behaviour)."""
        return not self.looks and bool(self.literals or self.sizes or _BEHAVIOUR.search(self.text))


@dataclass(frozen=True)
class Covered:
    """How one requirement is accounted for: by ("written", "derived", "default" or "" = not verified)."""

    requirement: Requirement
    by: str = ""
    checks: tuple[str, ...] = ()
    why: str = ""  # for a requirement not verified: what is missing

    @property
    def verified(self) -> bool:
        return bool(self.by)

    def to_dict(self) -> dict:
        out = {"requirement": self.requirement.text, "verified_by": self.by or None, "checks": list(self.checks)}
        if self.why:
            out["why"] = self.why
        return out


def fold(text) -> str:
    """`text` as compared with the spec's words: spaces collapsed, case folded."""
    return " ".join(str(text).split()).casefold()


def within(part: str, whole: str) -> bool:
    """Whether `part` stands in `whole` as whole words ("0" is not in "10")."""
    return re.search(rf"(?<!\w){re.escape(part)}(?!\w)", whole) is not None


def quoted(match: re.Match) -> str:
    """The text a match of QUOTED (alone or inside a larger pattern) holds, without its quote marks."""
    return next(g for g in match.groups() if g is not None)


def quotes(text: str) -> list[str]:
    """The texts `text` quotes, in order."""
    return [quoted(m) for m in _SPAN.finditer(text)]


def split_requirements(body: str) -> list[Requirement]:
    """The requirements a spec's Markdown states, in order, each with the facets its words carry."""
    out: list[Requirement] = []
    seen: set[str] = set()
    for unit in _units(body):
        for sentence in _sentences(unit):
            text = sentence.strip().rstrip(".:").strip()
            if len(text.split()) < 2 or text.casefold() in seen:
                continue
            seen.add(text.casefold())
            out.append(read_requirement(text))
    return out


_ATTRIBUTE = re.compile(r"[\w:-]+\s*=\s*[\"'][^\"']*[\"']$")  # role="status", type="number"
_CODE_NOUN = re.compile(r"\s+(?:events?|attributes?|propert(?:y|ies)|elements?|tags?|methods?|functions?|"
                        r"selectors?|class(?:es)?|ids?)\b", re.I)


def page_texts(text: str) -> list[str]:
    """The texts `text` quotes that are texts of the page, as quoted: not code (`<label>`, `role="status"`, the
    `input` event)."""
    out = []
    for m in _SPAN.finditer(text):
        raw = quoted(m).strip("`\"“”*").strip()
        if raw and not _HTML.match(raw) and not _ATTRIBUTE.match(m.group(0).strip("`*")) and \
                not _CODE_NOUN.match(text, m.end()):
            out.append(raw)
    return out


def read_requirement(text: str) -> Requirement:
    literals = []
    for raw in page_texts(text):
        fixed = _TEMPLATE_VAR.sub(" ", raw).strip() if _TEMPLATE_VAR.search(raw) else raw
        if fixed:
            literals.append(fixed)
    sizes = []
    for m in _SIZE.finditer(text):
        word = (m.group(2) or "").lower()
        key = "min_width" if "wid" in word else "min_height" if word or "tall" in text.lower() else ""
        if key:
            sizes.append((key, float(m.group(1))))
    defaults = tuple(dict.fromkeys((check, what) for rx, check, what in _DEFAULTS if rx.search(text)))
    unquoted = _SPAN.sub(" ", text)
    looks = _LOOKS.search(unquoted)
    return Requirement(
        text=text, literals=tuple(dict.fromkeys(literals)), sizes=tuple(sizes), defaults=defaults,
        initial=bool(_INITIAL.search(unquoted)), looks=looks.group(0) if looks else "",
    )


def _units(body: str) -> list[str]:
    """Bullets (with their continuation lines) and paragraphs; headings, tables, comments and fenced code left
    out."""
    units: list[str] = []
    current: list[str] = []
    fenced = False

    def flush() -> None:
        if current:
            units.append(" ".join(current))
            current.clear()

    for line in re.sub(r"<!--.*?-->", "", body, flags=re.S).splitlines():
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            flush()
            continue
        if fenced or stripped.startswith("#") or stripped.startswith("|"):
            flush()
            continue
        if not stripped:
            flush()
        elif _BULLET.match(line):
            flush()
            current.append(_BULLET.sub("", line).strip())
        else:
            current.append(stripped)
    flush()
    return units


def hide_quotes(text: str):
    """(`text` with each quoted span replaced by a mark `\\x00N\\x00`, a function putting the spans back in a part
    of it): to split at punctuation outside quotes only."""
    spans: list[str] = []

    def hide(m: re.Match) -> str:
        spans.append(m.group(0))
        return f"\x00{len(spans) - 1}\x00"

    def show(part: str) -> str:
        return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], part)

    return _SPAN.sub(hide, text), show


ITEM_START = re.compile(r"\n[ \t]*(?:[-*+]|\d+[.)])[ \t]+")  # a list item's start: it ends the clause before it
_CLAUSE_END = re.compile(r"[.;!?](?:\s|$)")


def clauses(text: str) -> list[str]:
    """The clauses of `text`, spaces collapsed: ended by . ; ! ? outside quotes, or by the start of a list item."""
    flat, show = hide_quotes(" ".join(ITEM_START.sub("\n. ", "\n" + text).split()))
    return [show(c) for c in _CLAUSE_END.split(flat) if c.strip()]


def _sentences(unit: str) -> list[str]:
    hidden, show = hide_quotes(unit)
    out: list[str] = []
    for part in _SENTENCE_END.split(hidden):
        for m in list(_PAREN.finditer(part)):
            inner = m.group(1)
            if _CLAIM.search(inner) and len(inner.split()) >= 3:
                out.append(show(inner))
                part = part.replace(m.group(0), "")
        out.append(show(part))
    return [s for s in out if s.strip()]


def account(
    requirements: list[Requirement],
    checks: tuple[AcceptanceCheck, ...],
    default_checks: tuple[str, ...] = (),
) -> list[Covered]:
    """Each requirement with the checks that verify it; a derived check counts for what it `covers` and its
    literals; `default_checks` are the checks that run."""
    covers = {c.name: c.covers for c in checks if c.derived}
    written = tuple(c for c in checks if not c.derived)
    return [_account_one(r, written, checks, covers, default_checks) for r in requirements]


def _account_one(req: Requirement, written, every, covers, default_checks) -> Covered:
    if req.looks:
        return Covered(req, why=f"about looks ('{req.looks}'), which no step checks")
    missing_defaults = [what for check, what in req.defaults if check not in default_checks]
    if missing_defaults:
        return Covered(req, why="the default check for " + ", ".join(missing_defaults) + " does not run")
    has_facets = bool(req.literals or req.sizes)
    for by, pool in ((WRITTEN, written), (DERIVED, every)):
        if has_facets:
            names = _facets_met(req, pool)
            if names is not None:
                return Covered(req, by, names)
        elif by == WRITTEN:
            shared = tuple(c.name for c in pool if _shares_target(c, req.text))
            if shared:
                return Covered(req, WRITTEN, shared)
        else:
            claimed = tuple(c.name for c in pool if req.text in covers.get(c.name, ()))
            if claimed:
                return Covered(req, DERIVED, claimed)
    if req.defaults and not has_facets:
        return Covered(req, DEFAULT, tuple(dict.fromkeys(f"{c} ({what})" for c, what in req.defaults)))
    if has_facets:
        return Covered(req, why="no check expects " + _facet_words(req))
    if not req.checkable:
        return Covered(req, why="it names nothing a step can drive or read")
    return Covered(req, why="no check was written for it")


def _facets_met(req: Requirement, pool) -> tuple[str, ...] | None:
    names: list[str] = []
    for literal in req.literals:
        found = [c.name for c in pool if _has_literal(c, literal, req.initial)]
        if not found:
            return None
        names.append(found[0])
    for key, px in req.sizes:
        found = [c.name for c in pool if any(_size_at_least(s, key, px) for s in c.steps)]
        if not found:
            return None
        names.append(found[0])
    return tuple(dict.fromkeys(names))


def _shares_target(check: AcceptanceCheck, text: str) -> bool:
    """A written check that expects something and acts on or reads a thing the sentence names (its name, label or
    text, as a whole word in the same letter case)."""
    if not any(s.action == "expect" for s in check.steps):
        return False
    for step in check.steps:
        for key in ("name", "label", "text", "exact_text"):
            value = step.args.get(key)
            if isinstance(value, str) and len(value.strip()) >= 3 and \
                    re.search(rf"(?<!\w){re.escape(value.strip())}(?!\w)", text):
                return True
    return False


def _size_at_least(step, key: str, px: float) -> bool:
    value = step.args.get(key) if step.action == "expect" else None
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= px


def _has_literal(check: AcceptanceCheck, literal: str, initial: bool) -> bool:
    want = fold(literal)
    for step in check.steps:
        if initial and step.action not in ("expect", "wait"):
            return False
        if initial and step.action != "expect":
            continue
        if any(want in fold(v) for v in _values(step.args)):
            return True
    return False


def _values(args: dict) -> list:
    out = []
    for key, value in args.items():
        if key in SIZE_EXPECTATIONS or isinstance(value, bool):
            continue
        out.extend(_values(value) if isinstance(value, dict) else [value])
    return out


def _facet_words(req: Requirement) -> str:
    parts = [f"'{lit}'" + (" on load" if req.initial else "") for lit in req.literals]
    parts += [f"{key} {px:g}" for key, px in req.sizes]
    return ", ".join(parts)


def of_spec(spec, default_checks: tuple[str, ...]) -> list[Covered]:
    """The coverage of a spec's requirements by its checks (written and derived) and the default checks."""
    return account(split_requirements(spec.body), spec.checks, default_checks)


def summary(covered: list[Covered]) -> str:
    """'7 of 9 requirements verified; not verified: 'centred layout', …'."""
    done = sum(1 for c in covered if c.verified)
    line = f"{done} of {len(covered)} requirements verified"
    left = [c.requirement.text for c in covered if not c.verified]
    if left:
        line += "; not verified: " + ", ".join(f"'{t}'" for t in left)
    return line


def to_dict(covered: list[Covered]) -> dict:
    return {
        "verified": sum(1 for c in covered if c.verified),
        "total": len(covered),
        "requirements": [c.to_dict() for c in covered],
    }
