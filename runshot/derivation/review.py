"""Each derived check held against the spec's words before it is used.

A step is corrected where the spec's words say what the model meant (a "tab" targeted as a button becomes `role:
tab`, `fill` on what the spec calls a select becomes `select`, `check:` on a status `expect:`, a field's `text` its
`value`, a text the spec says is hidden at first expected hidden on load, "Each person pays X" expected as a part
becomes "Each person pays") and refused, with the reason, where the spec gives no ground for it or its words
contradict it: a name, label, selector, test id or page the spec never uses; a role other than the kind the spec
gives the name ("a button labelled Split" targeted as a spinbutton); an action that cannot work on its target; a
template's placeholder expected word for word; a text from an element of another role than the spec's `role="…"`
names; a start text after a step that acts (runshot.derivation.start). The spec is judged only where it is
explicit. Expected values are sorted into those the spec quotes (or the check typed) and the others, which the
model computed or took from the spec's unquoted words (derive.py keeps one only when samples agree on it). The
actions a requirement names before a text are held in runshot.derivation.acts.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from runshot.derivation.coverage import ITEM_START, QUOTED, fold, quoted, within
from runshot.derivation.placeholders import placeholders
from runshot.derivation.start import acts_before_start, unstated_start_value
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
# The nouns the spec gives a named control, most specific first: (pattern, kind). A kind is a role, or "select"
# (a <select>: role combobox, chosen with `select`, never typed into).
_KINDS = (
    (r"number (?:fields?|inputs?|box(?:es)?)|numeric (?:fields?|inputs?)|spin ?buttons?", "spinbutton"),
    (r"radio(?: buttons?)?s?", "radio"), (r"check ?box(?:es)?|tick ?box(?:es)?", "checkbox"),
    (r"search (?:fields?|inputs?|box(?:es)?)", "searchbox"),
    (r"(?:text|message|comment|note|email) ?(?:fields?|inputs?|box(?:es)?)|text ?areas?", "textbox"),
    (r"drop-?downs?|select (?:box|menu|element|list)s?|(?:an?|the|one) select", "select"),
    (r"combo ?box(?:es)?", "combobox"), (r"sliders?", "slider"), (r"tabs?", "tab"), (r"links?", "link"),
    (r"buttons?", "button"), (r"headings?", "heading"),
)
_KIND_ROLE = {"select": "combobox"}
_KIND_WORDS = {"spinbutton": "number field", "textbox": "text field", "searchbox": "search field",
               "radio": "radio button", "select": "select"}
# The roles a correct app may give a control of each kind (any other role is a contradiction of the spec).
_KIND_ALLOWS = {"searchbox": {"searchbox", "textbox", "combobox"}, "textbox": {"textbox", "searchbox", "combobox"},
                "select": {"combobox", "listbox"}, "combobox": {"combobox", "listbox", "textbox", "searchbox"}}
# Roles one slip apart: a role of the same family as the spec's kind is corrected, another family refused.
_FAMILIES = ({"button", "link", "tab", "menuitem"}, {"textbox", "spinbutton", "searchbox", "combobox", "listbox"},
             {"checkbox", "radio", "switch", "menuitemcheckbox", "menuitemradio"})
_CONNECT = r"(?:labell?ed|named|called|titled|marked|reading|saying|with the (?:label|text|name))"
_ITEM = r"\x00\d+\x00"
_ELEMENTS = {"select": "select element", "button": "button", "textarea": "textarea", "a": "link", "input": "text input",
             "input text": "text input", "input number": "number input", "input checkbox": "checkbox",
             "input radio": "radio button", "input search": "search input", "input range": "slider",
             "input submit": "button", "input button": "button"}
_QUOTED = re.compile(QUOTED)
_CLAUSE_END = re.compile(r"[.;!?](?:\s|$)")
_CHECKABLE = frozenset({"checkbox", "radio", "switch", "menuitemcheckbox", "menuitemradio"})
_NOT_FILLABLE = frozenset({"button", "link", "tab", "status", "heading", "checkbox", "radio", "switch", "img",
                           "listitem", "list", "paragraph", "alert", "dialog", "region", "main"})
_BY_NAME = frozenset({"button", "link", "tab", "heading"})  # named by their text, not by a <label>
_FIELDS = frozenset({"textbox", "spinbutton", "searchbox", "combobox", "slider"})
_TYPED = frozenset({"textbox", "spinbutton", "searchbox"})  # fields one types into (a click does nothing there)
_NO_VALUE = frozenset({"status", "alert", "heading", "link", "listitem", "list", "paragraph", "tab", "timer", "log",
                       "cell", "row", "marquee", "note", "tooltip"})  # elements with text and no form value
# Roles that cannot hold another live region or control inside them: a text the spec says an element with role R
# shows cannot be read from one of these with another role.
_LEAVES = frozenset({"status", "alert", "timer", "log", "marquee", "button", "link", "tab", "textbox", "spinbutton",
                     "searchbox", "checkbox", "radio", "combobox"})
_EXPECTED_TEXT = ("text", "exact_text", "value")
_NUMBER = re.compile(r"\s*(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|0[xX][\da-fA-F]+|[-+]?Infinity)?\s*")
_SHOWS = r"(?:shows?|showing|reads?|reading|displays?|displaying|says?|saying)"
_KEYS = {k.lower(): k for k in "Enter Escape Space Tab Delete Backspace Home End PageUp PageDown ArrowUp ArrowDown "
         "ArrowLeft ArrowRight".split()}
_KEYS |= {"return": "Enter", "esc": "Escape", "spacebar": "Space", "del": "Delete", "up": "ArrowUp",
          "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight"}  # names Playwright does not know


@dataclasses.dataclass(frozen=True)
class Reviewed:
    check: AcceptanceCheck | None  # None: refused
    problem: str = ""  # why it was refused, or what was corrected
    computed: tuple[str, ...] = ()  # expected values the spec does not state (the model worked them out)


def review_check(check: AcceptanceCheck, spec_text: str) -> Reviewed:
    """The check corrected to fit the spec's words, or refused with the reason."""
    spec = read_spec(spec_text)
    fixed: list[Step] = []
    notes: list[str] = []
    types = any(s.action in ("fill", "press") for s in check.steps)  # a click on a field may then be a way to type
    for number, step in enumerate(check.steps, 1):
        typed = {fold(s.args.get("value")) for s in check.steps[:number - 1] if s.action == "fill"}
        out, problem = _review_step(step, spec, types, typed)
        if out is not None and not any(s.action not in ("expect", "wait") for s in check.steps[:number - 1]):
            out, problem = _on_load(out, spec) or (out, problem)
        if out is None:
            return Reviewed(None, f"step {number} `{step.describe()}`: {problem}")
        if problem:
            notes.append(f"step {number}: {problem}")
        fixed.append(out)
    if not any(s.action == "expect" for s in fixed):
        return Reviewed(None, "it expects nothing")
    if (late := acts_before_start(dataclasses.replace(check, steps=tuple(fixed)), spec_text) or
            unstated_start_value(tuple(fixed), spec_text)) is not None:
        return Reviewed(None, late)
    typed = {fold(s.args.get("value")) for s in fixed if s.action in ("fill", "select")}
    computed = tuple(dict.fromkeys(v for s in fixed for v in _expected_values(s)
                                   if fold(v) not in typed and not any(within(fold(v), fold(q)) for q in spec.spans)))
    return Reviewed(dataclasses.replace(check, steps=tuple(fixed)), "; ".join(notes), computed)


@dataclasses.dataclass(frozen=True)
class SpecReading:
    """What review needs of the spec's words: its folded words, and the spec on one line with each quoted span
    (`code`, "quotes", **bold**) replaced by a mark `\\x00N\\x00` (N: its index in `spans`)."""

    words: str
    flat: str
    spans: tuple[str, ...]
    templates: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (quoted text, its placeholders) e.g. ("Pays X", ("X",))
    shown_by: tuple[tuple[int, str], ...] = ()  # (span index, the role of the element the spec says shows it)
    hidden_first: tuple[str, ...] = ()  # quoted texts the spec says are hidden at first ("`42` is hidden at first")

    def kind_of(self, name) -> str | None:
        """The kind the spec gives the control named `name` ("a button labelled Split" -> button), if the spec
        gives it exactly one; None when it gives none or several, or when a mention of the name stands in a clause
        that names another kind before it without saying which the name is ("three buttons below it, named Rules,
        …"). A mention is the name quoted, or written in the same letter case ("On Split, …"; "add" is a verb)."""
        found, loose = self.kinds_around(name)
        return found.pop() if len(found) == 1 and loose <= found else None

    def kinds_around(self, name) -> tuple[set[str], set[str]]:
        """(the kinds the spec gives `name`, the kinds named earlier in the clauses of its mentions without one)."""
        found: set[str] = set()
        loose: set[str] = set()
        for start, end in self._occurrences(name):
            kind = _kind_at(self.flat, start, end)
            if kind:
                found.add(kind)
            else:
                clause = _around(self.flat, start, end)[0]
                loose |= {k for noun, k in _KINDS if re.search(rf"(?<![\w-])(?:{noun})(?![\w-])", clause, re.I)}
        return found, loose

    def labels(self, name) -> bool:
        """Whether the spec gives a field the label `name` ("a number input labelled "Step"", "the Step field")."""
        if self.kind_of(name) in _FIELDS | {"select"}:
            return True
        return any(re.search(r"\blabel(?:l?ed|s)?\s*[:,]?\s*$", self.flat[:start], re.I)
                   for start, _ in self._occurrences(name))

    def shown_text(self, name) -> bool:
        """Whether the spec quotes `name` as a text the page shows ("the text "Volume: 50%"", "reads `Ready`")."""
        return any(re.search(r"\b(?:text|shows?|reads?|says?|displays?|message)\s*$", self.flat[:start], re.I)
                   for start, _ in self._occurrences(name) if self.flat[start] == "\x00")

    def asks_to_click(self, name) -> bool:
        """Whether a clause naming `name` speaks of clicking, tapping or focusing."""
        return any(re.search(r"\b(?:click|tap|focus)\w*", " ".join(_around(self.flat, start, end)), re.I)
                   for start, end in self._occurrences(name))

    def _occurrences(self, name) -> list[tuple[int, int]]:
        if not isinstance(name, str) or not name.strip():
            return []
        want = fold(name)
        out = [(m.start(), m.end()) for m in re.finditer(r"\x00(\d+)\x00", self.flat)
               if fold(self.spans[int(m.group(1))]) == want]
        for m in re.finditer(rf"(?<![\w\x00]){re.escape(name.strip())}(?![\w\x00])", self.flat):
            out.append((m.start(), m.end()))
        return out


@functools.lru_cache(maxsize=16)
def read_spec(spec_text: str) -> SpecReading:
    spans: list[str] = []

    def hide(m: re.Match) -> str:
        inner = quoted(m).strip()
        attribute = re.fullmatch(r"role\s*=\s*[\"']?([a-z]+)[\"']?", inner)
        if attribute:  # `role="alert"` names a role, it is no text of the page
            return f"role={attribute.group(1)}"
        element = _element_words(inner)
        if element:  # `<select>` is a select, not a text of the page
            return element
        spans.append(inner)
        return f"\x00{len(spans) - 1}\x00"

    items = ITEM_START.sub("\n. ", "\n" + spec_text)  # a list item ends the clause before it
    flat = _QUOTED.sub(hide, " ".join(items.split()).lstrip(". "))
    words = fold(re.sub(r"\*\*|`|“|”", "", spec_text).replace('"', ""))  # the spec's words without quote marks
    bare = re.sub(_ITEM, " ", flat)
    templates = tuple((s, marks) for s in dict.fromkeys(spans) if (marks := placeholders(s, bare, spans)))
    shown = []
    for m in _SHOWN_BY.finditer(flat):
        role = (spans[int(m.group(1))] if m.group(1) else m.group(2) or m.group(3) or "status").strip().lower()
        if role in ROLES:
            shown += [(int(i), role) for i in re.findall(r"\x00(\d+)\x00", m.group(4))]
    hidden = [spans[int(i)] for i in _HIDDEN_FIRST.findall(flat)]
    once = [h for h in hidden if sum(fold(s) == fold(h) for s in spans) == 1]
    return SpecReading(words, flat, tuple(spans), templates, tuple(shown), tuple(once))


# "an element with role="alert" shows "…"", "a status region (…) shows "…"", "the alert "…"": the role and the texts
_SHOWN_BY = re.compile(
    rf"(?:(?:\brole\s*=\s*(?:\x00(\d+)\x00|['\"]?([a-z]+)['\"]?)|"
    rf"\bstatus region\b(?:\s*\([^()\x00]*\))?)\)?\s*"
    rf"(?:that\s+|which\s+)?{_SHOWS}\s+(?:the (?:text|message)\s+|exactly\s+)?|\b(?:the|an) (alert)\s+)"
    rf"((?:{_ITEM}(?:\s*(?:,|or|and)\s*)?)+)", re.I)
_HIDDEN_FIRST = re.compile(
    r"\x00(\d+)\x00\s+(?:is|stays|remains)\s+(?:(?:initially|at first)\s+(?:hidden|invisible|not (?:shown|visible))|"
    r"(?:hidden|invisible|not (?:shown|visible))\s+(?:at first|at start|initially|on load|until)\b)", re.I)
_LEFT = tuple((re.compile(rf"(?:^|[^\w-])(?:{noun})\s*[:,]?\s+(?:{_CONNECT}\s+)?"
                          rf"(?:{_ITEM}\s*(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+))*$", re.I), kind)
              for noun, kind in _KINDS)
_RIGHT = tuple((re.compile(rf"^(?:\s*(?:,|and|or)\s*{_ITEM})*\s+(?:{noun})(?![\w-])", re.I), kind)
               for noun, kind in _KINDS)


def _element_words(text: str) -> str | None:
    """The words for an HTML element the spec writes as code (`<select>` -> "select element"), or None."""
    m = re.fullmatch(r"<\s*([a-z][a-z0-9]*)\b([^<>]*)>", text.strip(), re.I)
    if not m:
        return None
    tag, given = m.group(1).lower(), re.search(r"\btype\s*=\s*[\"']?([a-z]+)", m.group(2), re.I)
    key = f"{tag} {given.group(1).lower()}" if tag == "input" and given else tag
    return _ELEMENTS.get(key, "heading" if re.fullmatch(r"h[1-6]", tag) else f"element {tag}")


def _around(flat: str, start: int, end: int) -> tuple[str, str]:
    """The words of its clause before and after flat[start:end]."""
    left = flat[max(0, start - 160):start]
    cut = list(_CLAUSE_END.finditer(left))
    right = flat[end:end + 160]
    stop = _CLAUSE_END.search(right)
    return (left[cut[-1].end():] if cut else left), (right[:stop.start()] if stop else right)


def _kind_at(flat: str, start: int, end: int) -> str | None:
    """The kind the words right around one mention of a name give it: "a button labelled X", "the X button",
    "three buttons: A, B and X"."""
    left, right = _around(flat, start, end)
    for (before, kind), (after, _) in zip(_LEFT, _RIGHT):
        if before.search(left) or after.match(right):
            return kind
    return None


def _template_of(value: str, spec: SpecReading) -> tuple[str, str] | None:
    """(template, its first placeholder in `value`) when `value` holds a template's placeholder as if literal."""
    got = fold(value).rstrip(".!")
    for template, marks in spec.templates:
        inside = [m for m in marks if re.search(rf"(?<![\w'’]){re.escape(m)}(?![\w'’])", value)]
        whole = fold(template)
        if inside and got and (within(got, whole) or within(whole, got)):
            return template, min(inside, key=lambda m: _mark_at(value, m))
    return None


def _mark_at(value: str, mark: str) -> int:
    """Where the placeholder `mark` stands in `value` as a token of its own."""
    found = re.search(rf"(?<![\w'’]){re.escape(mark)}(?![\w'’])", value)
    return found.start() if found else len(value)


def _review_step(step: Step, spec: SpecReading, types: bool = False,
                 typed: set[str] | frozenset = frozenset()) -> tuple[Step | None, str]:
    """The step corrected, or None and why it is refused. `types`: the check fills or presses keys somewhere (a click
    on a field may then be how it types or moves focus on); `typed`: values earlier steps typed (names it grounds)."""
    args = dict(step.args)
    notes: list[str] = []
    for key in ("name", "label", "testid"):
        grounded = stated(args.get(key), spec.words) or (key != "testid" and _typed(args.get(key), typed, spec))
        if key in args and not grounded:
            return None, f"the spec never uses the {key} {args[key]!r}"
    css = args.get("css")
    if isinstance(css, str) and not _css_named(css, spec.words):
        return None, f"the spec never names the selector {css!r}"
    named = args.get("name") if isinstance(args.get("name"), str) else args.get("label")
    kind = spec.kind_of(named) if "css" not in args and "testid" not in args else None
    role, problem = _review_role(step.action, args, kind, named, notes)
    if problem:
        return None, problem
    action, problem = _fit_action(step.action, args, role, (kind, named, spec, types), notes)
    if problem:
        return None, problem
    if action == "expect":
        problem = _review_expectation(args, role, spec, notes)
        if problem:
            return None, problem
    return Step(action, args), "; ".join(notes)


def _typed(name, typed: set[str] | frozenset, spec: SpecReading) -> bool:
    """A name the check's own typing grounds: what it typed ("Buy milk"), or that with words the spec uses
    ("Remove Milk" after typing "Milk", where the spec has a "Remove Item" button)."""
    want = fold(name)
    rests = (re.sub(rf"(?<!\w){re.escape(t)}(?!\w)", " ", want) for t in typed if t and within(t, want))
    return want in typed or any(stated(rest, spec.words) for rest in rests)


def _review_role(action: str, args: dict, kind: str | None, named, notes: list[str]) -> tuple[str | None, str]:
    """(the target's role, corrected; or the role the spec's kind implies when the step gives none), or a refusal."""
    role = args.get("role")
    want = role_of(kind)
    if not isinstance(role, str):
        if want in _BY_NAME and "role" not in args and "label" in args and "name" not in args:
            args["role"], args["name"] = want, args.pop("label")  # a button's text is its name, no <label>
            notes.append(f"label -> {{role: {want}, name}} (the spec calls it {_a(want)})")
        return (want if "label" in args or args.get("role") == want else None), ""
    role = role.strip().lower()
    if role == "text" and action == "expect" and "text" in args and "name" not in args:
        del args["role"]  # "an element with the text": the text is the target
        notes.append("role text -> the element showing the text")
        return None, ""
    if role not in ROLES:
        if role not in _ROLE_FIXES:
            return None, f"'{role}' is no ARIA role"
        role = _ROLE_FIXES[role]
    if want and role not in _KIND_ALLOWS.get(kind, {want}) and (kind != "heading" or _family(role)):
        family = _family(role)
        opens = kind == "select" and action == "click" and role == "button"  # a click that opens a <select>
        if not opens and not _meant(action, kind) and (family is None or want not in family):
            return None, f"the spec calls {named!r} {_a(_KIND_WORDS.get(kind, kind))} (role {want}), not {_a(role)}"
        notes.append(f"role {role} -> {want} (the spec calls it {_a(_KIND_WORDS.get(kind, kind))})")
        role = want
    args["role"] = role
    return role, ""


def _meant(action: str, kind: str | None) -> bool:
    """Whether the action itself says the target is the control the spec names (typing into what the spec calls a
    text field, choosing in its select, ticking its checkbox): a wrong role is then a slip, corrected."""
    return (action == "fill" and kind in _TYPED | {"select"}) or (action == "select" and kind == "select") or \
        (action == "check" and kind in _CHECKABLE)


def _family(role: str) -> set[str] | None:
    """The roles one slip apart from `role` (a heading's name may also name the dialog or region it titles, so a
    heading contradicts only the roles of controls)."""
    return next((f for f in _FAMILIES if role in f), None)


def _fit_action(action: str, args: dict, role: str | None, about: tuple, notes: list[str]) -> tuple[str, str]:
    """(the action, corrected where the spec's words say what was meant), or ("", why it cannot work there)."""
    kind, named, spec, types = about
    if action == "check" and role and role not in _CHECKABLE:
        if any(k in args for k in ("text", "value")) or role == "status":
            args.pop("checked", None)
            notes.append("check -> expect (it reads, not ticks)")
            return "expect", ""
        return "", f"'check' cannot tick {_a(role)}"
    if action == "fill" and kind == "select":
        notes.append("fill -> select (the spec calls it a select)")
        return "select", ""
    if action == "fill" and role in _NOT_FILLABLE:
        return "", f"'fill' cannot type into {_a(role)}"
    if action == "fill" and role == "spinbutton" and not _NUMBER.fullmatch(str(args.get("value", ""))):
        return "", f"a number field takes only a number, not {args.get('value')!r}"
    if action == "select" and role and role not in ("combobox", "listbox"):
        return "", f"'select' needs a <select>, not {_a(role)}"
    if action == "click" and kind in _TYPED and not types and not spec.asks_to_click(named):
        return "", f"the spec calls {named!r} {_a(_KIND_WORDS[kind])}: it is filled in (fill), not clicked"
    if action == "goto":
        page = re.sub(r"[?#].*", "", str(args.get("path", "")).strip()).lstrip("/")
        if page.removeprefix("./") not in ("", "index.html") and not stated(page, spec.words):
            return "", f"the spec never names the page {args.get('path')!r}"
    if action == "press" and isinstance(args.get("key"), str) and args["key"].strip().lower() in _KEYS:
        key = _KEYS[args["key"].strip().lower()]
        if key != args["key"]:
            notes.append(f"key {args['key']} -> {key}")
            args["key"] = key
    return action, ""


def _review_expectation(args: dict, role: str | None, spec: SpecReading, notes: list[str]) -> str:
    """Correct or refuse what an `expect` step reads; "" when it stands."""
    if role in _FIELDS and "text" in args and "value" not in args:
        args["value"] = args.pop("text")
        notes.append("text -> value (a field's text is its value)")
    elif role in _BY_NAME and isinstance(args.get("name"), str) and isinstance(args.get("text"), str) and \
            not within(fold(args["text"]), fold(args["name"])):  # its text would be in its name
        notes.append(f"{args.pop('role')} {args.pop('name')!r} -> the element showing {args['text']!r} (a {role}'s "
                     f"text is its name)")
        args.pop("exact", None)
    elif role is None and "label" in args and not spec.labels(args["label"]) and not any(
            k in args for k in ("value", "text")) and spec.shown_text(args["label"]):
        args["text"] = args.pop("label")  # "the text "Volume: 50%"" is what the page shows, no field's label
        notes.append(f"the spec labels no field {args['text']!r}: it is a text the page shows")
    elif role is None and "label" in args and not spec.labels(args["label"]) and \
            isinstance(shown := args.get("value", args.get("text")), str) and stated(shown, spec.words):
        notes.append(f"the spec labels no field {args.pop('label')!r}: its text {shown!r} is expected")
        args.pop("value", None)
        args["text"] = shown
    elif role is None and "label" in args and "text" in args:
        args["value"] = args.pop("text")
    elif role in _NO_VALUE and "value" in args and "text" not in args:
        args["text"] = args.pop("value")
        notes.append(f"value -> text ({_a(role)} has text, no form value)")
    text_target = not any(k in args for k in ("role", "label", "testid", "css"))
    for key in _EXPECTED_TEXT:
        value = args.get(key)
        if not isinstance(value, str):
            continue
        problem = _review_template(args, key, value, spec, notes, contains=key == "text" and not (
            text_target and args.get("exact")))
        if problem:
            return problem
    text = args.get("text", args.get("exact_text"))
    if role in _LEAVES and isinstance(text, str):
        shown = _shown_role(text, spec)
        if shown and shown != role:
            return f"the spec says an element with role {shown} shows {text!r}, not {_a(role)}"
    return ""


def _review_template(args: dict, key: str, value: str, spec: SpecReading, notes: list[str], contains: bool) -> str:
    found = _template_of(value, spec)
    if found is None:
        return ""
    template, mark = found
    before = value[:_mark_at(value, mark)].rstrip()
    if contains and len(re.findall(r"\w+", before)) >= 2:
        args[key] = before
        notes.append(f"{value!r} -> {before!r} ({mark} stands for a value in the spec's {template!r})")
        return ""
    return f"it expects the spec's template {template!r} word for word ({mark} stands for a value)"


def _shown_role(text: str, spec: SpecReading) -> str | None:
    """The role of the element the spec says shows `text` (a quoted text, or a template it fills in), when every
    quoted text it can be is shown by an element of that one role; else None."""
    got = fold(text)
    roles = dict(spec.shown_by)
    found = set()
    for index, span in enumerate(spec.spans):
        whole = fold(span)
        marks = dict(spec.templates).get(span, ())
        if whole == got or (len(whole.split()) >= 3 and within(whole, got)) or \
                (len(got.split()) >= 3 and 2 * len(got) >= len(whole) and within(got, whole)) or \
                (marks and _fills(text, span, marks)):
            found.add(roles.get(index))
    return found.pop() if len(found) == 1 else None


def _fills(text: str, template: str, marks: tuple[str, ...]) -> bool:
    pattern = re.escape(" ".join(template.split()))
    for mark in marks:
        pattern = re.sub(rf"(?<![\w'’]){re.escape(re.escape(mark))}(?![\w'’])", lambda _: "(.+?)", pattern)
    return re.fullmatch(pattern, " ".join(text.split())) is not None


def _on_load(step: Step, spec: SpecReading) -> tuple[Step, str] | None:
    """An expectation, on the page as loaded, that a text the spec says is hidden at first shows: corrected to
    expect it hidden (what the spec says of that moment)."""
    args = step.args
    shown = step.action == "expect" and args.get("hidden") is not True and args.get("visible") is not False
    for value in (args.get("text"), args.get("exact_text")) if shown else ():
        if isinstance(value, str) and any(fold(value) == fold(h) for h in spec.hidden_first):
            fixed = {k: v for k, v in args.items() if k != "visible"} | {"hidden": True}
            return Step("expect", fixed), f"{value!r} expected hidden (the spec says it is hidden at first)"
    return None


def role_of(kind: str | None) -> str | None:
    """The ARIA role of what the spec calls a kind of control (a select is a combobox)."""
    return _KIND_ROLE.get(kind, kind) if kind else None


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def stated(value, words: str) -> bool:
    """Whether the spec's folded words hold `value` as a whole word or phrase ("0" is not in "10")."""
    want = fold(value)
    return bool(want) and within(want, words)


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
