"""The step language of acceptance checks, defined once.

The spec parser (runshot.spec) validates steps against it, the step runner (validators/acceptance/check.py) takes its
target kinds and expectations from it, and the prompts (generator/prompts.py, templates/derive_checks.j2) describe
steps with its phrases. Each action names the argument keys it needs, the key a bare scalar stands for
(`- wait: 300` is `{ms: 300}`), whether it acts on a target, and a one-line description.
"""

from __future__ import annotations

import re

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    name: str
    description: str  # one line, for people and for the model
    required: tuple[str, ...] = ()  # argument keys that must be present
    optional: tuple[str, ...] = ()  # other argument keys it reads
    numeric: tuple[str, ...] = ()  # required keys that must be numbers
    text_keys: tuple[str, ...] = ()  # required keys that must be text
    shorthand: str | None = None  # a bare scalar argument stands for this key
    target: str = "required"  # "required", "optional" or "none"
    phrase: str = ""  # how a prompt says it: {target} and the argument keys are filled in
    phrase_no_target: str = ""  # for an optional target that is absent
    example: str = ""


TARGET_KINDS = ("role", "label", "testid", "css")  # `text` alone is a target too (an element showing it)
TARGET_KEYS = ("role", "name", "label", "testid", "css", "text", "exact")
_LOCATING = TARGET_KINDS + ("text",)  # the keys that find an element (name and exact refine role)
TARGET_DESCRIPTION = (
    "a target is {role, name} (an ARIA role and accessible name; exact: true for an exact name), {label} (a form "
    "field by its label), {testid} (data-testid), {css} (a CSS selector), or {text} alone (an element showing "
    "that text)"
)

EXPECTATIONS: dict[str, str] = {
    "visible": "the target is visible (the default when no expectation is given)",
    "hidden": "the target is hidden or absent",
    "text": "the target's text contains this (alone, `text` is the target instead)",
    "value": "a form field's value is exactly this",
    "count": "how many elements match the target",
    "attribute": "the target has these attributes, {name: value}",
    "focused": "the target has keyboard focus",
    "checked": "a checkbox, radio button or switch is checked (true) or not (false)",
    "disabled": "the target is disabled (true: the disabled attribute or aria-disabled) or enabled (false)",
    "url": "the page address contains this (no target needed)",
    "min_height": "every visible matching element's box is at least this many CSS px tall",
    "min_width": "every visible matching element's box is at least this many CSS px wide",
    "exact_text": "the target's whole text is exactly this (spaces trimmed)",
}
SIZE_EXPECTATIONS = ("min_height", "min_width")  # their value is a number of CSS px


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("click", "click the target", phrase="click {target}", example="- click: {role: button, name: Save}"),
        Action(
            "fill", "type a value into a form field", required=("value",), phrase='type "{value}" into {target}',
            example="- fill: {label: New task, value: Buy milk}",
        ),
        Action(
            "press", "press a key on the target, or on whatever has focus when no target is given",
            required=("key",), shorthand="key", target="optional", phrase="press {key} in {target}",
            phrase_no_target="press {key}", example="- press: {key: Enter}",
        ),
        Action(
            "check", "tick a checkbox or radio button (value: false unticks it)", optional=("value", "checked"),
            phrase="check {target}", example="- check: {label: Done}",
        ),
        Action(
            "select", "choose an option of a <select>", required=("value",), phrase='choose "{value}" in {target}',
            example="- select: {label: Size, value: Large}",
        ),
        Action("hover", "move the mouse over the target", phrase="hover over {target}",
               example="- hover: {role: link, name: Help}"),
        Action(
            "wait", "wait this many milliseconds", required=("ms",), numeric=("ms",), shorthand="ms", target="none",
            phrase="wait {ms} ms", example="- wait: {ms: 300}",
        ),
        Action(
            "goto", "open another page of the app", required=("path",), text_keys=("path",), shorthand="path",
            target="none", phrase="open {path}", example="- goto: {path: about.html}",
        ),
        Action(
            "expect", "check the page: a target and one or more expectations (" + ", ".join(EXPECTATIONS) + ")",
            optional=tuple(EXPECTATIONS), target="optional", example='- expect: {role: status, text: "1"}',
        ),
    )
}

ACTION_NAMES = tuple(ACTIONS)


def argument_problem(action: str, args: dict) -> str | None:
    """What is wrong with a step's arguments, or None; `args` is a mapping (shorthands already expanded)."""
    spec = ACTIONS.get(action)
    if spec is None:
        return f"unknown action '{action}' (known: {', '.join(ACTION_NAMES)})"
    allowed = set(spec.required) | set(spec.optional) | (set(TARGET_KEYS) if spec.target != "none" else set())
    stray = [str(k) for k in args if k not in allowed]
    if stray:
        known = ", ".join(sorted(allowed)) or "no arguments"
        return f"'{action}' has an unknown key {', '.join(repr(k) for k in stray)} (it takes {known})"
    for key in SIZE_EXPECTATIONS:
        value = args.get(key) if action == "expect" else None
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            return f"'{key}' needs a number of CSS px, e.g. {key}: 44"
    if action == "expect" and "url" not in args and not any(k in args for k in _LOCATING):
        return "'expect' needs a target ({role, name}, {label}, {testid}, {css} or {text}) or url"
    if spec.target == "required" and not any(k in args for k in _LOCATING):
        return f"'{action}' needs a target ({{role, name}}, {{label}}, {{testid}}, {{css}} or {{text}})"
    for key in spec.required:
        if key not in args:
            return f"'{action}' needs {key}"
        if key in spec.numeric and (isinstance(args[key], bool) or not isinstance(args[key], (int, float))):
            return f"'{action}' needs {key} (a number)"
        if key in spec.text_keys and not isinstance(args[key], str):
            return f"'{action}' needs {key} (text)"
    return None


def expand_shorthand(action: str, raw) -> dict | None:
    """A step's arguments as a mapping: None stays {}, a bare scalar becomes {shorthand: value}; None if neither."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    spec = ACTIONS.get(action)
    if spec is not None and spec.shorthand and isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        return {spec.shorthand: raw}
    return None


def step_language() -> list[dict]:
    """The actions for a prompt: [{"name", "description", "arguments", "example"}]."""
    out = []
    for a in ACTIONS.values():
        keys = list(a.required) + [f"{k} (optional)" for k in a.optional if k not in EXPECTATIONS]
        if a.target == "required":
            keys.insert(0, "a target")
        elif a.target == "optional":
            keys.insert(0, "a target (optional)")
        out.append({"name": a.name, "description": a.description, "arguments": keys, "example": a.example,
                    "form": as_form(a.example)})
    return out


_FORM_KEYS = ("name", "label", "value", "text", "placeholder", "css", "testid", "path")


def as_form(example: str) -> str:
    """An example step with its names and texts as placeholders (`click: {role: button, name: NAME}`): what a
    prompt shows a small model, which otherwise copies the example's names ("Save") into checks of its own."""
    return re.sub(rf"\b({'|'.join(_FORM_KEYS)}): (?:\"[^\"]*\"|[^,}}]+)",
                  lambda m: f"{m.group(1)}: {m.group(1).upper()}", example)


_EXPECTATION_TYPES = {"visible": {"type": "boolean"}, "hidden": {"type": "boolean"}, "focused": {"type": "boolean"},
                      "checked": {"type": "boolean"}, "disabled": {"type": "boolean"},
                      "count": {"type": "integer", "minimum": 0}, "min_height": {"type": "number", "minimum": 0},
                      "min_width": {"type": "number", "minimum": 0},
                      "attribute": {"type": "object", "additionalProperties": {"type": "string"}}}
_TARGET_TYPES = {"exact": {"type": "boolean"}}


# The targets a derived step may name, each a variant of its arguments: (the keys it requires, the keys it may add).
# CSS selectors and test ids are left out: a prompt-only spec does not give them.
_DERIVED_TARGETS = ((("role",), ("name", "exact")), (("label",), ()), (("text",), ("exact",)))
_TEXT_TARGET_READS = ("visible", "hidden", "count")  # what an `expect` whose target is a text can still say


def _argument_schemas(action: Action) -> list[dict]:
    """The schemas of a derived step's arguments for `action`: one per way of naming its target (_DERIVED_TARGETS),
    plus one without a target where the target is optional (`press` on what has focus, `expect` of the address);
    one schema for an action without a target."""
    keys = [k for k in dict.fromkeys(action.required + action.optional) if k != "url"]
    if action.target == "none":
        return [_object(keys, action.required, action)]
    variants = []
    for needs, may in _DERIVED_TARGETS:
        own = [k for k in keys if k not in needs]
        if action.name == "expect" and needs == ("text",):
            own = [k for k in own if k in _TEXT_TARGET_READS]
        variants.append(_object([*needs, *may, *own], [*needs, *action.required], action))
    if action.name == "expect":
        variants.append(_object(["url"], ["url"], action))
    elif action.target == "optional":
        variants.append(_object(keys, action.required, action))
    return variants


def _object(keys: list[str], required, action: Action) -> dict:
    properties = {}
    for key in dict.fromkeys(keys):
        if key in action.numeric:
            properties[key] = {"type": "number", "minimum": 0}
        else:
            properties[key] = _EXPECTATION_TYPES.get(key) or _TARGET_TYPES.get(key) or {"type": "string"}
    return {"type": "object", "properties": properties, "required": list(dict.fromkeys(required)),
            "additionalProperties": False}


def checks_schema(requirements: int, max_checks: int = 8, max_steps: int = 12) -> dict:
    """The JSON schema of an answer holding derived acceptance checks: {"checks": [{name, covers, steps, expect}]},
    `steps` the actions in order (none to read the page as loaded), `expect` what the page must then show (at least
    one expectation: a check that only acts verifies nothing), every step naming its target the ways a spec can
    ({role, name}, {label} or {text}), `covers` the number of a requirement (1..requirements), at least as many
    checks as requirements (up to max_checks: a small model otherwise stops after its first). An engine that
    samples by a grammar can only write checks the parser takes (runshot.derivation.derive.parse_derived joins
    `expect` to the steps)."""
    acts = [{"type": "object", "properties": {name: schema}, "required": [name], "additionalProperties": False}
            for name, a in ACTIONS.items() if name != "expect" for schema in _argument_schemas(a)]
    check = {"type": "object", "properties": {
        "name": {"type": "string", "minLength": 1},
        "covers": {"type": "integer", "minimum": 1, "maximum": max(1, requirements)},
        "steps": {"type": "array", "items": {"anyOf": acts}, "maxItems": max(1, max_steps - 1)},
        "expect": {"type": "array", "items": {"anyOf": _argument_schemas(ACTIONS["expect"])}, "minItems": 1,
                   "maxItems": 4}},
        "required": ["name", "covers", "steps", "expect"], "additionalProperties": False}
    return {"type": "object", "properties": {"checks": {"type": "array", "items": check,
                                                        "minItems": max(1, min(requirements, max_checks)),
                                                        "maxItems": max_checks}},
            "required": ["checks"], "additionalProperties": False}
