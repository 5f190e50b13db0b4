"""The actions a requirement's words name before a text it quotes, and derived checks that leave one out.

"Entering `100` and pressing Convert shows `212 °F`": a check that expects `212 °F` must type 100 and press Convert
first, in that order. Read from the clause that quotes the expected text (a clause ends at . ; ! ?; one that
types and names no press takes the press of the clause before it, "…; entering `0` shows `32 °F`"):

- pressing, clicking or tapping a name the spec quotes ("pressing Continue", "each press of Like");
- ticking or checking a checkbox ("ticking the checkbox": the spec's one checkbox, or the one named);
- typing or entering a quoted value or a number ("typing `hello`", "type 10": into the field named, or the spec's
  one text or number field, or its one labelled field); "adding `Buy milk`" where the spec names an **Add** button
  is typing it and pressing Add;
- choosing or selecting a quoted name (a tab, button, link or radio button the spec names, or an option of its one
  select);
- how many presses ("after two presses it reads `Cart (2)`"): a check pressing fewer times gets the presses it
  lacks, one pressing more often is refused;
- that something is done first, where the clause names no action of the above ("After a roll the line starts with
  …", "When the timer ends …", "Voting for Coffee shows …", "With all four ticked …"; not "on load"), or gives the
  text as an example ("like `2 of 4 packed`"): a check that expects the text before any step that acts is refused;
  where the clause names several things done ("Picking Canberra and checking shows …"), as many acting steps are
  needed, and an -ing word that is the first word of a button the spec names is a press of it ("checking":
  **Check answer**).

A clause ends at . ; ! ? outside quotes, and at the start of a list item.

A check that leaves one out is completed where the spec's words settle the target (the action is put in its
place), and refused where they do not. A key press the spec never names (`press: Enter` where it says "pressing
Convert") stands for an action the clause names and is dropped when that action is put in: the app need not
answer a key the spec never mentions. Clauses with "or" name alternatives and are not judged. A `goto` of the
page the check starts on is a reload, which undoes what the steps before it did: dropped unless the spec speaks of
reloading (reload, refresh, reopen, persist, …; `without_reloads`).
"""

from __future__ import annotations

import dataclasses
import re

from runshot.derivation.coverage import QUOTED, clauses, fold, quoted, quotes, within
from runshot.derivation.review import Reviewed, read_spec, stated
from runshot.spec import AcceptanceCheck, Step

_QUOTE = re.compile(QUOTED)
_PRESS = re.compile(r"\b(?:press(?:es|ing)?(?:\s+of)?|click(?:s|ing)?(?:\s+on)?|tap(?:s|ping)?(?:\s+on)?|"
                    r"hit(?:s|ting)?)\s+(?:the\s+)?", re.I)
_TICK = re.compile(r"\b(?:tick(?:s|ing)?|check(?:s|ing)?)\s+(?:the\s+|a\s+)?", re.I)
_TYPE = re.compile(r"\b(?:typ(?:e|es|ing)|enter(?:s|ing)?|input(?:s|ting)?)\s+", re.I)
_CHOOSE = re.compile(r"\b(?:choos(?:e|es|ing)|select(?:s|ing)?|pick(?:s|ing)?)\s+(?:the\s+)?", re.I)
_INTO = re.compile(r"\s*(?:in|into)\s+(?:the\s+)?", re.I)
_ENTRY = re.compile(r"(?:\.?/)?(?:index\.html?)?(?:[?#].*)?", re.I)
_RELOADS = re.compile(r"\b(?:reload|refresh|re-?open|persist|surviv|revisit|come back|comes back)\w*", re.I)
_TYPED = ("textbox", "spinbutton", "searchbox")


@dataclasses.dataclass(frozen=True)
class Act:
    kind: str  # "press", "tick", "type", "choose", or "after" (the clause says something is done first)
    name: str = ""  # the control (press, tick, type into) or the choice (choose)
    value: str = ""  # what is typed
    times: int = 0  # how many presses the clause counts before the text ("after two presses"), 0: not said


def clause_acts(requirement: str, text: str, spec_text: str = "") -> list[Act] | None:
    """The actions named by the clause that quotes `text`, in order: the one clause of the spec that does, else the
    one of `requirement`; None when there is no such clause or it names alternatives ("or")."""
    found = quoting_clause(text, requirement, spec_text)
    if found is not None:
        clause, before = found
        if re.search(r"\bor\b", _QUOTE.sub(" ", clause), re.I):
            return None
        names = {fold(n.strip()): n.strip() for n in quotes(spec_text or requirement)}
        acts = _acts(clause, names)
        if any(a.kind in ("press", "choose") and grounded(a, names) is None for a in acts):
            # "Picking Canberra and checking shows …": an action on words the spec never quotes; what is sure is
            # how many things are done first, and a press where a word names a button ("checking": Check answer)
            return _doing_acts(clause, text, names, spec_text or requirement)
        if any(a.kind == "type" for a in acts) and not any(a.kind == "press" for a in acts) and before:
            acts += [a for a in _acts(before, names) if a.kind == "press"]  # "…; entering `0` shows …"
        if not acts and (after := _AFTER.match(clause) or _GERUND.match(clause)) and \
                after.group(1).lower() not in _NOT_ACTIONS:
            # "After a roll …", "Voting for Coffee shows …", "after sending, show …": as many things done first as
            # the clause names ("Voting for Coffee" is not pressing Vote alone: Coffee is chosen first)
            return [Act("after", after.group(0).strip(), times=_doings(clause, text))]
        if not acts and (example := _example(clause, text)):
            return [Act("after", example)]  # "a line counts the ticked ones, like `2 of 4 packed`": a later state
        presses = [a for a in acts if a.kind == "press"]
        times = _count_before(clause, text)
        if times and len({a.name for a in presses}) == 1:
            acts = [dataclasses.replace(a, times=times) if a.kind == "press" else a for a in acts]
        return acts
    return None


def quoting_clause(text: str, requirement: str, spec_text: str = "") -> tuple[str, str] | None:
    """(the clause that quotes `text`, the clause before it or "") in the spec, when exactly one of its clauses
    does, else in `requirement`; None when neither has exactly one. A list item starts a clause."""
    for source in (spec_text, requirement):
        found = clauses(source)
        quoting = [i for i, c in enumerate(found) if any(_holds(m, text) for m in _QUOTE.finditer(c))]
        if len(quoting) == 1:
            return found[quoting[0]], found[quoting[0] - 1] if quoting[0] else ""
    return None


_DOING = re.compile(r"\b([A-Za-z]{3,}ing)\b")


def _doings(clause: str, text: str) -> int:
    """How many things the clause says are done before the quoted `text` ("Picking Canberra and checking": 2)."""
    return len(_doing_words(clause, text))


def _doing_words(clause: str, text: str) -> list[str]:
    at = next((m.start() for m in _QUOTE.finditer(clause) if _holds(m, text)), len(clause))
    return [m.group(1) for m in _DOING.finditer(_QUOTE.sub(" ", clause[:at])) if m.group(1).lower() not in _NOT_ACTIONS]


def _doing_acts(clause: str, text: str, names: dict[str, str], spec_text: str) -> list[Act]:
    """One act per thing the clause says is done before `text`, in order: a press of the one button the spec names
    whose first word the -ing word comes from ("checking": **Check answer**, "sending": **Send RSVP**), else
    something done."""
    spec = read_spec(spec_text)
    out = []
    for word in _doing_words(clause, text) or ["(something)"]:
        stems = set(_stems(word.lower()))
        buttons = {n for f, n in names.items() if f.split() and f.split()[0] in stems
                   and spec.kind_of(n) in ("button", "link", "tab")}
        out.append(Act("press", buttons.pop()) if len(buttons) == 1 else Act("after", word))
    return out


_AFTER = re.compile(r"\s*(?:and\s+|then\s+)?((?:after|when|whenever|once|upon|on|with)\b(?!\s+(?:the\s+)?(?:page\s+)?"
                    r"(?:load|loads|loading|start|first load|opening)\b)[^,`\"“*]{0,40})", re.I)
_GERUND = re.compile(r"\s*(?:and\s+)?([A-Z][a-z]{2,}ing)\b[^,`\"“*]{0,30}")
_NOT_ACTIONS = frozenset("heading setting nothing something anything everything string morning evening building "
                         "ceiling spring thing ending rating padding spacing loading during".split())
_NUMBERS = {"one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "thrice": 3, "four": 4, "five": 5}
_PRESSES = r"(?:press(?:es)?|clicks?|taps?|times)"
_COUNT = re.compile(rf"\bafter\s+(one|two|three|four|five|\d)\b(?:\s+(?:more\s+)?{_PRESSES})?|"
                    rf"\b(once|twice|thrice)\b|\b(one|two|three|four|five|\d)\s+{_PRESSES}\b", re.I)


_EXAMPLE = re.compile(r"\b(?:like|e\.\s?g\.?|for example|for instance|such as)\s*[:,]?\s*$", re.I)


def _example(clause: str, text: str) -> str:
    """The words giving the quoted `text` as an example ("like", "e.g.", "for example", "such as"), or ""."""
    at = next((m.start() for m in _QUOTE.finditer(clause) if _holds(m, text)), -1)
    found = _EXAMPLE.search(clause[:at]) if at > 0 else None
    return found.group(0).strip() if found else ""


def _count_before(clause: str, text: str) -> int:
    """The count of presses the clause gives nearest before the quoted `text` ("after one press it reads `1 like`,
    after two `2 likes`": 1 for `1 like`, 2 for `2 likes`), 0 when it gives none."""
    at = next((m.start() for m in _QUOTE.finditer(clause)
               if _holds(m, text)), -1)
    counts = list(_COUNT.finditer(clause[:at])) if at > 0 else []
    if not counts:
        return 0
    word = next(g for g in counts[-1].groups() if g is not None).lower()
    return int(word) if word.isdigit() else _NUMBERS[word]


def _holds(quote: re.Match, text: str) -> bool:
    """Whether the quoted text is `text`, or holds it as whole words (`Price: $12` holds `$12`)."""
    want = fold(text)
    return bool(want) and within(want, fold(quoted(quote)))


def _stems(word: str) -> list[str]:
    """What an -ing word may come from: "adding" -> add, "saving" -> save, "searching" -> search."""
    stem = word[:-3]
    out = [stem, stem + "e"]
    if len(stem) > 2 and stem[-1] == stem[-2]:
        out.append(stem[:-1])
    return out


def _acts(clause: str, names: dict[str, str] | None = None) -> list[Act]:
    """The actions `clause` names, in order. With the spec's quoted names: "Adding `Buy milk`" where the spec
    names an **Add** button is typing `Buy milk` and pressing Add."""
    found: list[tuple[int, Act]] = []
    for m in re.finditer(r"\b([A-Za-z]{3,}ing)\s+(?=[`\"“*])", clause):
        quote = _QUOTE.match(clause, m.end())
        button = next((names[s] for s in _stems(m.group(1).lower()) if s in (names or {})), None)
        if quote and button and not _TYPE.match(clause, m.start()):
            value = quoted(quote)
            found += [(m.start(), Act("type", "", value)), (m.start() + 1, Act("press", button))]
    for m in _PRESS.finditer(clause):
        name = _name_at(clause, m.end())
        if name:
            found.append((m.start(), Act("press", name)))
    for m in _TICK.finditer(clause):
        name = _name_at(clause, m.end())
        if name or re.match(r"(?:check|tick) ?box", clause[m.end():], re.I):
            found.append((m.start(), Act("tick", name or "")))
    for m in _TYPE.finditer(clause):
        quote = _QUOTE.match(clause, m.end())
        number = re.match(r"-?\d+(?:\.\d+)?(?![\w.])", clause[m.end():])
        if number and not quote:  # "type 10 and hit Convert": a number needs no quotes
            found.append((m.start(), Act("type", "", number.group(0))))
        if quote:
            into = _INTO.match(clause, quote.end())
            found.append((m.start(), Act("type", _name_at(clause, into.end()) if into else "", quoted(quote))))
    for m in _CHOOSE.finditer(clause):
        name = _name_at(clause, m.end())
        if name:
            found.append((m.start(), Act("choose", name)))
    return [a for _, a in sorted(found, key=lambda f: f[0])]


def _name_at(clause: str, at: int) -> str:
    """The name that starts at `at`: a quoted one, or words in the same letter case as a name the requirement or
    spec quotes elsewhere (looked up by the caller: here, a capitalised run of words)."""
    quote = _QUOTE.match(clause, at)
    if quote:
        return quoted(quote).strip()
    words = re.match(r"[A-Z][\w'’-]*(?: [A-Za-z][\w'’-]*){0,5}", clause[at:])
    return words.group(0) if words else ""


def without_reloads(check: AcceptanceCheck, spec_text: str) -> tuple[AcceptanceCheck, list[str]]:
    """`check` without the `goto`s of the page it starts on, unless the spec speaks of reloading; and what went."""
    if _RELOADS.search(spec_text):
        return check, []
    reloads = [s for s in check.steps if s.action == "goto" and _ENTRY.fullmatch(str(s.args.get("path", "")).strip())]
    if not reloads or len(reloads) == len(check.steps):
        return check, []
    kept = tuple(s for s in check.steps if s not in reloads)
    return dataclasses.replace(check, steps=kept), [
        f"dropped `{s.describe()}` (the check starts on that page; the spec never reloads it)" for s in reloads]


def complete(reviewed: Reviewed, spec_text: str) -> Reviewed:
    """The reviewed check with the actions its expectations' clauses name put in where the spec settles them, or
    refused where it does not (see the module's docstring); unchanged when nothing is missing."""
    check = reviewed.check
    if check is None:
        return reviewed
    spec = read_spec(spec_text)
    names = {fold(s): s for s in spec.spans}
    steps = list(check.steps)
    notes: list[str] = []
    i = 0
    while i < len(steps):
        step = steps[i]
        text = step.args.get("text", step.args.get("exact_text")) if step.action == "expect" else None
        named = next((found for req in check.covers or ("",) if isinstance(text, str)
                      and (found := clause_acts(req, text, spec_text)) is not None), [])
        acts = [g for a in named if (g := grounded(a, names)) is not None]
        done = _put_in(steps[:i], acts, spec, text)
        if isinstance(done, str):
            return Reviewed(None, done)
        out, put = done
        if put:
            unnamed = [s for s in out if s.action == "press" and not stated(s.args.get("key"), spec.words)]
            out = [s for s in out if s not in unnamed]
            notes += [f"put in `{s.describe()}` (the requirement says to {_say(a)} first)" for a, s in put]
            notes += [f"dropped `{s.describe()}` (the spec names no such key)" for s in unnamed]
        steps = out + steps[i:]
        i = len(out) + 1
    if not notes:
        return reviewed
    problem = "; ".join(n for n in (reviewed.problem, *notes) if n)
    return dataclasses.replace(reviewed, check=dataclasses.replace(check, steps=tuple(steps)), problem=problem)


def _put_in(before: list[Step], acts: list[Act], spec, text) -> tuple[list[Step], list[tuple[Act, Step]]] | str:
    """`before` (the steps before the expectation of `text`) with each act it does not do put in its place (after
    the steps doing the acts before it), and what was put in; or why the check is refused: it presses more often
    than counted, or leaves out an act whose step the spec does not settle."""
    out: list[Step] = []
    put: list[tuple[Act, Step]] = []
    pos = 0
    for act in acts:
        if act.kind == "after":  # something is done first: as many steps that act as the clause names things
            need = max(1, act.times)
            done = [j for j in range(pos, len(before)) if _does(before[j], act)]
            if len(done) < need and need == 1:
                return (f"the requirement says to {_say(act)} before {text!r} shows, and the check does not (the spec "
                        f"does not settle which control)")
            if len(done) < need:
                return (f"the requirement names {need} things done before {text!r} shows ({act.name!r}), and the "
                        f"check does {len(done)}")
            out += before[pos:done[need - 1] + 1]
            pos = done[need - 1] + 1
            continue
        if act.times:
            done = [j for j in range(len(before)) if _does(before[j], act)]
            if len(done) > act.times:
                return (f"the requirement says {text!r} shows after {act.times} press(es) of {act.name!r}, and the "
                        f"check presses it more often")
            if done:
                extra = act.times - len(done)
                out += before[pos:done[-1] + 1] + [before[done[-1]]] * extra
                put += [(act, before[done[-1]])] * extra
                pos = done[-1] + 1
                continue
        j = next((j for j in range(pos, len(before)) if _does(before[j], act)), None)
        if j is not None:
            out += before[pos:j + 1]
            pos = j + 1
            continue
        new = step_for(act, spec)
        if new is None:
            return (f"the requirement says to {_say(act)} before {text!r} shows, and the check does not (the spec "
                    f"does not settle which control)")
        out += [new] * max(1, act.times)
        put += [(act, new)] * max(1, act.times)
    return out + before[pos:], put


def grounded(act: Act, names: dict[str, str]) -> Act | None:
    """The act with its name as the spec quotes it; None for a press or choice of words the spec never quotes."""
    if act.kind in ("press", "choose") or (act.kind in ("tick", "type") and act.name):
        words = act.name.split()
        for n in range(len(words), 0, -1):  # "Show answer reveals it" -> "Show answer"
            found = names.get(fold(" ".join(words[:n])))
            if found:
                return dataclasses.replace(act, name=found)
        return None if act.kind in ("press", "choose") else dataclasses.replace(act, name="")
    return act


def _does(step: Step, act: Act) -> bool:
    args = step.args
    named = {fold(args.get(k)) for k in ("name", "label", "text", "value") if isinstance(args.get(k), str)}
    if act.kind == "press":
        return step.action in ("click", "press") and fold(act.name) in named
    if act.kind == "tick":
        return step.action == "check" and (not act.name or fold(act.name) in named)
    if act.kind == "type":
        return step.action == "fill" and fold(args.get("value", "")) == fold(act.value)
    if act.kind == "after":  # something is done first: any step that acts
        return step.action not in ("expect", "wait")
    return step.action != "expect" and fold(act.name) in named


def step_for(act: Act, spec) -> Step | None:
    """The step doing `act`, where the spec's words settle its target; None where they do not."""
    kind = spec.kind_of(act.name) if act.name else None
    if act.kind == "press":
        return Step("click", {"role": kind, "name": act.name}) if kind in ("button", "tab", "link") else None
    if act.kind == "tick":
        name = act.name or _only(spec, lambda s: spec.kind_of(s) == "checkbox")
        return Step("check", {"role": "checkbox", "name": name}) if name else None
    if act.kind == "type":
        name = act.name or _only(spec, lambda s: spec.kind_of(s) in _TYPED) or \
            _only(spec, lambda s: spec.labels(s) and spec.kind_of(s) in (None, *_TYPED))  # "a field labelled …"
        kind = spec.kind_of(name) if name else None
        if not name or (kind is not None and kind not in _TYPED):
            return None
        target = {"role": kind, "name": name} if kind else {"label": name}
        return Step("fill", {**target, "value": act.value})
    if act.kind == "choose" and kind in ("tab", "button", "link", "radio"):
        return Step("check" if kind == "radio" else "click", {"role": kind, "name": act.name})
    if act.kind == "choose" and kind is None and (select := _only(spec, lambda s: spec.kind_of(s) == "select")):
        return Step("select", {"role": "combobox", "name": select, "value": act.name})  # an option of the one select
    return None  # a choice of something else the spec names (a select, a text field) is not put in


def _only(spec, keep) -> str:
    """The one name the spec quotes that `keep` takes, or "" when none or several do."""
    found = {fold(s): s for s in spec.spans if keep(s)}
    return next(iter(found.values())) if len(found) == 1 else ""


def _say(act: Act) -> str:
    return {"press": f"press {act.name!r}", "tick": f"tick {act.name or 'the checkbox'!r}",
            "type": f"type {act.value!r}", "choose": f"choose {act.name!r}",
            "after": f"act first ({act.name!r})"}[act.kind]
