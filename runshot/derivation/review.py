"""Each derived check held against the spec's words before it is used.

A step is corrected where the spec's words say what the model meant (a "tab" targeted as a button becomes
`role: tab`, a number field `role: spinbutton`, `check:` on a status becomes `expect:`, `text` expected of a field
becomes `value`) and refused where the spec gives no ground for it (a button name, label, CSS selector or test id
the spec never uses; an action that cannot work on its target; a role that does not exist). The values a check
expects are sorted into those the spec states literally and those the model computed; derive.py keeps a computed
value only when samples agree on it.
"""

from __future__ import annotations

import dataclasses
import re

from runshot.spec import AcceptanceCheck, Step

ROLES = frozenset(
    "alert alertdialog application article banner blockquote button caption cell checkbox code columnheader "
    "combobox complementary contentinfo definition deletion dialog directory document emphasis feed figure form "
    "generic grid gridcell group heading img insertion link list listbox listitem log main marquee math menu "
    "menubar menuitem menuitemcheckbox menuitemradio meter navigation none note option paragraph presentation "
    "progressbar radio radiogroup region row rowgroup rowheader scrollbar search searchbox separator slider "
    "spinbutton status strong subscript superscript switch tab table tablist tabpanel term textbox time timer "
    "toolbar tooltip tree treegrid treeitem".split()
)
# Roles the model writes for things that are no ARIA role, and what they mean.
_ROLE_FIXES = {"input": "textbox", "textfield": "textbox", "text": "textbox", "field": "textbox",
               "textarea": "textbox", "number": "spinbutton", "select": "combobox", "dropdown": "combobox",
               "output": "status", "label": "status", "title": "heading", "h1": "heading", "image": "img",
               "list-item": "listitem", "item": "listitem", "tabs": "tab", "check": "checkbox"}
# The noun the spec uses for a named thing, and the role it implies: (pattern, role), most specific first.
_NOUNS = (
    (r"number (?:field|input|box)|numeric (?:field|input)|spin ?button", "spinbutton"),
    (r"tabs?", "tab"), (r"check ?box(?:es)?", "checkbox"), (r"radio(?: buttons?)?", "radio"),
    (r"switch(?:es)?|toggle", "switch"), (r"slider", "slider"), (r"links?", "link"),
    (r"drop-?down|select(?: box| menu)?|combo ?box", "combobox"), (r"buttons?", "button"),
    (r"(?:text )?(?:field|input|box|textarea|text area)s?", "textbox"), (r"headings?|titles?", "heading"),
)
_CHANGEABLE = frozenset({"button", "textbox", "generic", "link", "spinbutton", "tab", "checkbox", "switch", "listbox"})
_CHECKABLE = frozenset({"checkbox", "radio", "switch", "menuitemcheckbox", "menuitemradio"})
_NOT_FILLABLE = frozenset({"button", "link", "tab", "status", "heading", "checkbox", "radio", "switch", "img",
                           "listitem", "list", "paragraph", "alert", "dialog", "region", "main"})
_FIELDS = frozenset({"textbox", "spinbutton", "searchbox", "combobox", "slider"})
_EXPECTED_TEXT = ("text", "exact_text", "value")


@dataclasses.dataclass(frozen=True)
class Reviewed:
    check: AcceptanceCheck | None  # None: refused
    problem: str = ""  # why it was refused, or what was corrected
    computed: tuple[str, ...] = ()  # expected values the spec does not state (the model worked them out)


def fold(text) -> str:
    return " ".join(str(text).split()).casefold()


def review_check(check: AcceptanceCheck, spec_text: str) -> Reviewed:
    """The check corrected to fit the spec's words, or refused with the reason."""
    words = fold(_unmark(spec_text))
    fixed: list[Step] = []
    notes: list[str] = []
    for number, step in enumerate(check.steps, 1):
        out, problem = _review_step(step, spec_text, words)
        if out is None:
            return Reviewed(None, f"step {number} `{step.describe()}`: {problem}")
        if problem:
            notes.append(f"step {number}: {problem}")
        fixed.append(out)
    if not any(s.action == "expect" for s in fixed):
        return Reviewed(None, "it expects nothing")
    computed = tuple(dict.fromkeys(v for s in fixed for v in _expected_values(s) if not stated(v, words)))
    return Reviewed(dataclasses.replace(check, steps=tuple(fixed)), "; ".join(notes), computed)


def _review_step(step: Step, spec_text: str, words: str) -> tuple[Step | None, str]:
    args = dict(step.args)
    action = step.action
    note = ""
    role = args.get("role")
    if isinstance(role, str):
        role = role.strip().lower()
        if role not in ROLES:
            if role not in _ROLE_FIXES:
                return None, f"'{role}' is no ARIA role"
            role = _ROLE_FIXES[role]
        implied = implied_role(args.get("name"), spec_text) or implied_role(args.get("label"), spec_text)
        if implied and implied != role and role in _CHANGEABLE:
            note = f"role {role} -> {implied} (the spec calls it a {implied})"
            role = implied
        args["role"] = role
    for key in ("name", "label", "testid"):
        if key in args and not stated(args[key], words):
            return None, f"the spec never uses the {key} {args[key]!r}"
    css = args.get("css")
    if isinstance(css, str) and not _css_named(css, words):
        return None, f"the spec never names the selector {css!r}"
    if action == "check" and role and role not in _CHECKABLE:
        if any(k in args for k in ("text", "value")) or role == "status":
            action = "expect"
            args.pop("checked", None)
            note = (note + "; " if note else "") + "check -> expect (it reads, not ticks)"
        else:
            return None, f"'check' cannot tick a {role}"
    if action == "fill" and role in _NOT_FILLABLE:
        return None, f"'fill' cannot type into a {role}"
    if action == "select" and role and role not in ("combobox", "listbox"):
        return None, f"'select' needs a <select>, not a {role}"
    if action == "expect" and role in _FIELDS and "text" in args and "value" not in args:
        args["value"] = args.pop("text")
        note = (note + "; " if note else "") + "text -> value (a field's text is its value)"
    if action == "expect" and args.get("role") is None and "label" in args and "text" in args:
        args["value"] = args.pop("text")
    return Step(action, args), note


def stated(value, words: str) -> bool:
    """Whether the spec's folded words hold `value` as a whole word or phrase ("0" is not in "10")."""
    want = fold(value)
    return bool(want) and re.search(rf"(?<!\w){re.escape(want)}(?!\w)", words) is not None


def implied_role(name, spec_text: str) -> str | None:
    """The role the spec's words give a thing named `name` ("the **Details** tab" -> tab), or None."""
    if not isinstance(name, str) or not name.strip():
        return None
    plain = _unmark(spec_text)
    quoted = re.escape(name.strip())
    for sentence in re.split(r"(?<=[.!?;])\s+|\n", plain):
        if not re.search(rf"(?<!\w){quoted}(?!\w)", sentence, re.I):
            continue
        for pattern, role in _NOUNS:
            near = (rf"\b(?:{pattern})\b[^.;]{{0,60}}(?<!\w){quoted}(?!\w)|(?<!\w){quoted}(?!\w)\W{{0,3}}"
                    rf"(?:\w+\W+){{0,2}}\b(?:{pattern})\b")
            if re.search(near, sentence, re.I):
                return role
    return None


def _unmark(text: str) -> str:
    return re.sub(r"\*\*|`|“|”", "", text).replace('"', "")


def _css_named(css: str, words: str) -> bool:
    """A selector whose ids and classes the spec names (a bare tag selector such as `h1` is fine)."""
    names = re.findall(r"[#.]([\w-]+)", css)
    return all(stated(n, words) for n in names)


def _expected_values(step: Step) -> list[str]:
    if step.action != "expect":
        return []
    out = [str(step.args[k]) for k in _EXPECTED_TEXT if k in step.args]
    if "count" in step.args:
        out.append(str(step.args["count"]))
    if "role" not in step.args and "text" in step.args and not any(k in step.args for k in ("label", "css")):
        out.append(str(step.args["text"]))
    return [v for v in dict.fromkeys(out) if v.strip()]


def step_key(step: Step) -> str:
    """A step written the same way whatever the order or spacing of its arguments."""
    inner = ",".join(f"{k}={fold(v)}" for k, v in sorted(step.args.items()))
    return f"{step.action}({inner})"


def check_key(check: AcceptanceCheck) -> str:
    return ";".join(step_key(s) for s in check.steps)
