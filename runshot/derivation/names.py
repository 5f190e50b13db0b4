"""Names a derived step acts on that the spec's words do not give a control.

The review (runshot.derivation.review) takes a name the spec uses anywhere; a step that clicks, types into, ticks
or chooses in something needs more: a name the spec gives a control. Refused here:

- a name found only inside a longer text the spec quotes ("Monday to Saturday" of `Monday to Saturday, 7 am to
  6 pm`, "4 out of 5" of "You rated this 4 out of 5"): a part of what the page shows, not a control of its own;
- an attribute's name as a control's name or label (`aria-pressed`, `role`): the spec speaks of a state;
- a button, link or tab by the name of what the spec calls a field, input or box ("Amount field (a number)"):
  the spec says one types into it.
"""

from __future__ import annotations

import re

from runshot.derivation.coverage import fold, within
from runshot.derivation.review import read_spec
from runshot.spec import AcceptanceCheck

_ACTING = ("click", "fill", "press", "check", "select", "hover")
_ITEM = re.compile(r"\x00\d+\x00")
_ATTRIBUTE = re.compile(r"(?:aria-[a-z]+|role|class|id|data-[\w-]+)", re.I)
_PRESSED = ("button", "link", "tab", "menuitem")


def misnamed(check: AcceptanceCheck, spec_text: str) -> str | None:
    """Why `check` acts on something the spec gives no control's name (module docstring), or None."""
    spec = read_spec(spec_text)
    typed: set[str] = set()
    for number, step in enumerate(check.steps, 1):
        if step.action == "fill" and isinstance(step.args.get("value"), str):
            typed.add(fold(step.args["value"]))
        if step.action not in _ACTING:
            continue
        for key in ("name", "label"):
            name = step.args.get(key)
            if not isinstance(name, str) or not name.strip():
                continue
            problem = _problem(name, key, step.args.get("role"), spec, typed)
            if problem:
                return f"step {number} `{step.describe()}`: {problem}"
    return None


def _problem(name: str, key: str, role, spec, typed: set[str]) -> str | None:
    if _ATTRIBUTE.fullmatch(name.strip()):
        return f"{name!r} is an attribute's name, not a control's {key}"
    want = fold(name)
    if want in typed or any(within(t, want) for t in typed if t):
        return None  # a name the check's own typing grounds ("Remove Milk" after typing "Milk")
    outside = fold(_ITEM.sub(" ", spec.flat))  # the spec's words outside its quotes
    if not any(fold(s) == want for s in spec.spans) and not within(want, outside) and \
            any(within(want, fold(s)) for s in spec.spans):
        return f"the spec has {name!r} only inside a longer text it quotes, not as a control's name"
    if isinstance(role, str) and role.lower() in _PRESSED and spec.kind_of(name) is None and _a_field(name, spec):
        return f"the spec calls {name!r} a field, which is typed into, not {role.lower()!r}"
    return None


def _a_field(name: str, spec) -> bool:
    """Whether the spec calls `name` a field, input or box ("Amount field", "a box called Amount")."""
    flat = spec.flat
    marks = [rf"\x00{i}\x00" for i, s in enumerate(spec.spans) if fold(s) == fold(name)]
    forms = "|".join(marks + [rf"(?<![\w\x00]){re.escape(name.strip())}(?![\w\x00])"])
    return re.search(rf"(?:{forms})\s+(?:\([^)]*\)\s+)?(?:field|input|box)\b|"
                     rf"\b(?:field|input|box)\s+(?:called|named|labell?ed)\s+(?:{forms})", flat, re.I) is not None
