"""Checks built from a requirement's own words, for a requirement no model's check was kept for.

Where the words leave nothing to guess, the check is written from them directly:

- a text the requirement says the page shows at start ("a **Like** button and a status that starts as `0 likes`"):
  expected on load, with the controls the same clause names (unless it speaks of something that opens);
- a text the clause quoting it says shows after actions it names ("Entering `100` and pressing Convert shows
  `212 °F`"): those actions (runshot.derivation.acts reads them, each on a control the spec settles), then the
  text expected on the page;
- a size the requirement gives the one control it names ("a **Roll** button, at least 56px tall");
- a state on load of the one control a clause names ("Vote must be greyed out (disabled) until an option is
  chosen", "the Remember me checkbox is ticked by default"): `disabled` or `checked` expected before any action.

Nothing is written where a word leaves doubt: a clause that negates or hides ("no longer shows", "hidden until"),
speaks of time ("after 3 seconds"), of a state it does not name ("when the timer ends", "after a roll"), of
alternatives ("or"), or quotes another text that is neither an action's nor the one expected (a condition the
actions do not set up); a text that is a control's name, holds a placeholder (`Count: N`), or is a bare number (a
number alone is inside many texts of a page); an action on a control the spec does not settle. Each check starts
on a freshly loaded page and expects one text (or one size), so one wrong reading fails one check only; and each
goes through the same review as the model's (derive.held) before it is used.
"""

from __future__ import annotations

import re

from runshot.derivation import coverage
from runshot.derivation.acts import clause_acts, grounded, quoting_clause, step_for
from runshot.derivation.coverage import QUOTED, clauses, fold, quoted
from runshot.derivation.review import read_spec, role_of
from runshot.derivation.start import start_texts
from runshot.spec import AcceptanceCheck, Step

_QUOTE = re.compile(QUOTED)
_SHOWING = re.compile(
    r"\b(?:shows?|showing|reads?|reading|says?|saying|displays?|displaying|appears?|becomes?|"
    r"(?:changes?|sets?|turns?|updates?) (?:(?:the|it|its) )?(?:\w+ ){0,2}(?:in)?to|puts?|lists|announces?|prints?|"
    r"reveals?|gives?|giving|should (?:say|read|show))\b", re.I)
_DOUBT = re.compile(
    r"\b(?:not|no|never|none|nothing|without|hid(?:e|es|den|ing)|invisible|disappear\w*|vanish\w*|gone|"
    r"remov\w*|delet\w*|clear\w*|instead|except|unless|until|while|before|disabled|enabled|placeholder|tooltip|"
    r"title|attribute|aria-[\w-]+|class|seconds?|minutes?|ms|delay\w*|wait\w*|later|timer|hover\w*|drag\w*|"
    r"scroll\w*|focus\w*|random\w*|may|might|could|either|\w+n't)\b", re.I)
# "Vote must be greyed out (disabled) until …", "the Remember me checkbox is ticked by default", "Submit starts
# disabled": a state on load, said of the one control the words before it name
_START_STATE = re.compile(
    r"\b(?:(?:is|are|must be|should be|stays?|remains?)\s+(?:gr[ae]yed[- ]out\s+)?\(?\s*(disabled|checked|ticked|"
    r"unchecked|unticked)\s*\)?\s+(?:until|at first|initially|on load|to begin with|by default|at start|when the page "
    r"(?:loads|opens))\b|(?:starts?|begins?)(?:\s+out)?\s+(?:as\s+)?(disabled|checked|ticked|unchecked|unticked)\b)",
    re.I)
_STATES = {"disabled": ("disabled", True), "checked": ("checked", True), "ticked": ("checked", True),
           "unchecked": ("checked", False), "unticked": ("checked", False)}
_CHECKABLE = ("checkbox", "radio")
_OPENS = re.compile(r"\b(?:dialog|modal|menu|pop-?up|panel|drawer|overlay|tooltip|expand\w*|collaps\w*|open\w*)\b",
                    re.I)
_BARE_NUMBER = re.compile(r"[\s\d.,:%+-]*")
_SIZED_KINDS = ("button", "link", "tab", "textbox", "spinbutton", "searchbox", "checkbox", "radio", "slider")
_CONTROL_KINDS = _SIZED_KINDS + ("select",)


def worded_checks(requirement: str, spec_text: str) -> list[AcceptanceCheck]:
    """The checks `requirement`'s words settle (module docstring), each covering it; [] when none."""
    spec = read_spec(spec_text)
    controls = {fold(s) for s in spec.spans if spec.kind_of(s) or spec.labels(s)}
    out: list[AcceptanceCheck] = []
    starts = [t for t in start_texts(requirement, spec_text) if _plain(t, spec, controls)
              and fold(t) not in {fold(h) for h in spec.hidden_first}]
    for text in starts:
        shown = _present(text, requirement, spec_text, spec)
        out.append(_check(f"shows {text!r} at start", [*shown, Step("expect", {"text": text})], requirement))
    for text in dict.fromkeys(coverage.page_texts(requirement)):
        if fold(text) in {fold(t) for t in starts} or not _plain(text, spec, controls):
            continue
        steps = _after_acts(text, requirement, spec_text, spec)
        if steps:
            out.append(_check(f"shows {text!r}", [*steps, Step("expect", {"text": text})], requirement))
    out += _sizes(requirement, spec)
    out += _start_states(requirement, spec)
    return out


def _start_states(requirement: str, spec) -> list[AcceptanceCheck]:
    """A check that the one control a clause names before "is disabled until …" (checked by default, …) is so on
    load."""
    out = []
    for name, key, value in start_states(requirement, spec):
        kind = spec.kind_of(name)
        if kind not in _CONTROL_KINDS or (key == "checked" and kind not in _CHECKABLE):
            continue
        role = role_of(kind)
        word = ("disabled" if value else "enabled") if key == "disabled" else ("checked" if value else "not checked")
        out.append(_check(f"{name} is {word} at start", [Step("expect", {"role": role, "name": name, key: value})],
                          requirement))
    return out


def _present(text: str, requirement: str, spec_text: str, spec) -> list[Step]:
    """The controls the clause saying `text` shows at start names, each with the kind the spec settles, expected
    present on load ("an **Add to cart** button and a cart line that starts as `Cart (0)`"); none where the clause
    leaves doubt or speaks of something that opens (a dialog, menu, panel)."""
    found = quoting_clause(text, requirement, spec_text)
    bare = _QUOTE.sub(" ", found[0]) if found else ""
    if not found or _DOUBT.search(bare) or _OPENS.search(bare):
        return []
    steps = []
    for m in _QUOTE.finditer(found[0]):
        name = quoted(m).strip()
        kind = spec.kind_of(name)
        if kind in _CONTROL_KINDS and fold(name) != fold(text):
            steps.append(Step("expect", {"role": role_of(kind), "name": name}))
    return list({s.describe(): s for s in steps}.values())


def _check(name: str, steps: list[Step], requirement: str) -> AcceptanceCheck:
    return AcceptanceCheck(name=name, steps=tuple(steps), derived=True, covers=(requirement,))


def _plain(text: str, spec, controls: set[str]) -> bool:
    """Whether `text` can be expected as it is: not a control's name, no placeholder, not a bare number."""
    templates = {fold(t) for t, _ in spec.templates}
    return bool(text.strip()) and fold(text) not in controls and fold(text) not in templates and \
        not _BARE_NUMBER.fullmatch(text)


def _after_acts(text: str, requirement: str, spec_text: str, spec) -> list[Step]:
    """The steps doing what the clause quoting `text` names before it shows, when the words settle them all."""
    found = quoting_clause(text, requirement, spec_text)
    acts = clause_acts(requirement, text, spec_text)
    if found is None or not acts or any(a.kind == "after" for a in acts):
        return []
    clause = found[0]
    bare = _QUOTE.sub(" ", clause)
    if _DOUBT.search(bare) or not _SHOWING.search(bare):
        return []
    names = {fold(s): s for s in spec.spans}
    settled = [g for a in acts if (g := grounded(a, names)) is not None]
    if len(settled) != len(acts):
        return []
    said = [fold(quoted(m)) for m in _QUOTE.finditer(clause)]
    used = [fold(v) for a in settled for v in (a.name, a.value) if v]
    if said.count(fold(text)) <= used.count(fold(text)):
        return []  # the text is what is typed or pressed ("typing `an` leaves …"), not what shows
    others = [q for q in said if q != fold(text) and q not in used]
    if others and not all(a.times for a in settled if a.kind == "press"):
        return []  # another text in the clause: a condition the acts may not set up
    steps: list[Step] = []
    for act in settled:
        step = step_for(act, spec)
        if step is None:
            return []
        steps += [step] * max(1, act.times)
    return steps


def _sizes(requirement: str, spec) -> list[AcceptanceCheck]:
    """A size check for the one control the requirement's clause with the size names (a kind the spec settles)."""
    out = []
    for key, px in coverage.read_requirement(requirement).sizes:
        clause = next((c for c in clauses(requirement) if re.search(r"\d\s*(?:css\s*)?p(?:x|ixel)", c, re.I)), "")
        named = {fold(n): n for n in (quoted(m) for m in _QUOTE.finditer(clause))
                 if spec.kind_of(n) in _SIZED_KINDS}
        if len(named) != 1 or re.search(r"\b(?:or|each|every|all)\b", _QUOTE.sub(" ", clause), re.I):
            continue
        name = next(iter(named.values()))
        step = Step("expect", {"role": spec.kind_of(name), "name": name, key: int(px) if px == int(px) else px})
        out.append(_check(f"{name} is at least {px:g} px", [step], requirement))
    return out


def start_states(text: str, spec) -> list[tuple[str, str, bool]]:
    """(control, "disabled" or "checked", state) for each clause of `text` saying the one control its words before
    name is in that state on load ("Vote must be greyed out (disabled) until …")."""
    out = []
    for clause in clauses(text):
        m = _START_STATE.search(clause)
        if m is None or re.search(r"\b(?:or|each|every|all|not|never)\b", _QUOTE.sub(" ", clause[:m.end()]), re.I):
            continue
        before = clause[:m.start()]
        named = {fold(n): n for n in spec.spans
                 if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", before) and spec.kind_of(n)}
        if len(named) == 1:
            out.append((next(iter(named.values())), *_STATES[(m.group(1) or m.group(2)).lower()]))
    return out


_STATE_WORDS = {"disabled": r"disabl\w*|enabl\w*|gr[ae]y(?:ed)?[- ]out|inactive",
                "checked": r"(?:un)?(?:check|tick)\w*|selected|toggled"}


def unstated_state(check: AcceptanceCheck, spec_text: str) -> str | None:
    """Why `check` is wrong if it expects a control checked or disabled where the spec does not say so: the state
    must be said in a clause naming the control, and on load (before any step acts) the spec must say that it is
    so at start (start_states)."""
    spec = read_spec(spec_text)
    acted = False
    for step in check.steps:
        if step.action not in ("expect", "wait"):
            acted = True
            continue
        for key in ("disabled", "checked"):
            if key not in step.args:
                continue
            name = step.args.get("name") or step.args.get("label")
            if not isinstance(name, str) or not name.strip():
                return f"`{step.describe()}`: the spec's words name no control for that state"
            said = [c for c in clauses(spec_text) if re.search(_STATE_WORDS[key], c, re.I)
                    and re.search(rf"(?<![\w-]){re.escape(name.strip())}(?![\w-])", c, re.I)]
            if not said:
                return f"the spec says nothing of {name!r} being {key} or not"
            state = (fold(name), key, step.args[key] is not False)
            if not acted and state not in {(fold(n), k, v) for n, k, v in start_states(spec_text, spec)}:
                return f"the spec does not say {name!r} is {'' if state[2] else 'not '}{key} at start"
    return None


def later_states(check: AcceptanceCheck) -> tuple[str, ...]:
    """The control states `check` expects after a step acts, in words ("Vote enabled"): the spec says in which
    state a control starts, not what the model's steps leave it in, so like a value the model computed they count
    only when two samples agree."""
    out: list[str] = []
    acted = False
    for step in check.steps:
        acted = acted or step.action not in ("expect", "wait")
        for key, words in (("disabled", ("enabled", "disabled")), ("checked", ("not checked", "checked"))):
            if acted and step.action == "expect" and key in step.args:
                name = step.args.get("name") or step.args.get("label") or ""
                out.append(f"{name} {words[step.args[key] is not False]}")
    return tuple(out)
