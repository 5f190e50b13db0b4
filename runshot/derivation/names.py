"""Names a derived step acts on that the spec's words do not give a control.

The review (runshot.derivation.review) takes a name the spec uses anywhere; a step that clicks, types into, ticks
or chooses in something needs more: a name the spec gives a control. Refused here:

- a name found only inside a longer text the spec quotes ("Monday to Saturday" of `Monday to Saturday, 7 am to
  6 pm`, "4 out of 5" of "You rated this 4 out of 5"): a part of what the page shows, not a control of its own;
- an attribute's name as a control's name or label (`aria-pressed`, `role`): the spec speaks of a state;
- a button, link or tab by the name of what the spec calls a field, input or box ("Amount field (a number)") or
  gives as a field's label ("a search box (label Search books)"): the spec says one types into it;
- a field by a label the spec quotes as a text the page shows ("the text "Volume: 50%"");
- a role for a name the spec gives no kind, mentioned only beside another kind of control ("a **Size** dropdown
  with the options Small, Medium and Large": Small is no button).

The same holds for what a check expects of a field by its label. A check that expects one target both visible and
hidden with nothing done in between contradicts itself and is refused too.
"""

from __future__ import annotations

import re

from runshot.derivation.coverage import fold, within
from runshot.derivation.review import read_spec, role_of
from runshot.spec import AcceptanceCheck

_ACTING = ("click", "fill", "press", "check", "select", "hover")
_ITEM = re.compile(r"\x00\d+\x00")
_ATTRIBUTE = re.compile(r"(?:aria-[a-z]+|role|class|id|data-[\w-]+)", re.I)
_PRESSED = ("button", "link", "tab", "menuitem")
_CONTROLS = frozenset({"button", "link", "tab", "menuitem", "checkbox", "radio", "switch", "textbox", "spinbutton",
                       "searchbox", "combobox", "slider"})


def misnamed(check: AcceptanceCheck, spec_text: str) -> str | None:
    """Why `check` acts on something the spec gives no control's name (module docstring), or None."""
    spec = read_spec(spec_text)
    typed: set[str] = set()
    for number, step in enumerate(check.steps, 1):
        if step.action == "fill" and isinstance(step.args.get("value"), str):
            typed.add(fold(step.args["value"]))
        role = step.args.get("role")
        role = role.strip().lower() if isinstance(role, str) else None
        keys: tuple[str, ...] = ()
        if step.action in _ACTING:
            keys = ("name", "label")
        elif step.action == "expect":  # a field by its label, a control by its name (a status's or heading's name
            keys = ("label", "name") if role in _CONTROLS else ("label",)  # may be a part of its text)
        for key in keys:
            name = step.args.get(key)
            if not isinstance(name, str) or not name.strip():
                continue
            problem = _problem(name, key, role, spec, typed) or _beside_another_kind(name, role, spec)
            if problem:
                return f"step {number} `{step.describe()}`: {problem}"
    return _contradiction(check)


def _beside_another_kind(name: str, role: str | None, spec) -> str | None:
    found, loose = spec.kinds_around(name)
    roles = {role_of(k) for k in loose}
    if role in _CONTROLS and not found and roles and role not in roles:
        return f"the spec names {name!r} only beside {' or '.join(sorted(loose))} controls, never as {role!r}"
    return None


def _contradiction(check: AcceptanceCheck) -> str | None:
    """Why the check contradicts itself: one target expected visible and hidden with nothing done in between."""
    seen: dict[str, bool] = {}
    for step in check.steps:
        if step.action != "expect":
            seen.clear()
            continue
        target = repr(sorted((k, str(v)) for k, v in step.args.items() if k not in ("visible", "hidden")))
        shown = not (step.args.get("hidden") is True or step.args.get("visible") is False)
        if seen.get(target, shown) != shown:
            return f"it expects `{step.describe()}` and the opposite with nothing done in between"
        seen[target] = shown
    return None


def _problem(name: str, key: str, role, spec, typed: set[str]) -> str | None:
    if _ATTRIBUTE.fullmatch(name.strip()):
        return f"{name!r} is an attribute's name, not a control's {key}"
    if key == "label" and spec.shown_text(name) and not spec.labels(name):
        return f"the spec quotes {name!r} as a text the page shows, not as a field's label"
    want = fold(name)
    if want in typed or any(within(t, want) for t in typed if t):
        return None  # a name the check's own typing grounds ("Remove Milk" after typing "Milk")
    outside = " ".join(_ITEM.sub(" ", spec.flat).split())  # the spec's words outside its quotes, in their case
    said = re.search(rf"(?<!\w){re.escape(' '.join(name.split()))}(?!\w)", outside) is not None
    if not any(fold(s) == want for s in spec.spans) and not said and any(within(want, fold(s)) for s in spec.spans):
        return f"the spec has {name!r} only inside a longer text it quotes, not as a control's name"
    if role in _PRESSED and spec.kind_of(name) is None and (_a_field(name, spec) or spec.labels(name)):
        return f"the spec calls {name!r} a field (or its label), which is typed into, not {role!r}"
    return None


def _a_field(name: str, spec) -> bool:
    """Whether the spec calls `name` a field, input or box ("Amount field", "a box called Amount")."""
    flat = spec.flat
    marks = [rf"\x00{i}\x00" for i, s in enumerate(spec.spans) if fold(s) == fold(name)]
    forms = "|".join(marks + [rf"(?<![\w\x00]){re.escape(name.strip())}(?![\w\x00])"])
    return re.search(rf"(?:{forms})\s+(?:\([^)]*\)\s+)?(?:field|input|box)\b|"
                     rf"\b(?:field|input|box)\s+(?:called|named|labell?ed)\s+(?:{forms})", flat, re.I) is not None
