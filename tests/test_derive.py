"""Acceptance checks derived from the spec's words: the real openai client over HTTP to the scripted server,
real Chromium, real git."""

from __future__ import annotations

import dataclasses
import json
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from fakeopenai import FakeOpenAI
from runshot import gitrepo
from runshot.derivation.coverage import split_requirements
from runshot.derivation.derive import agree, derive_checks, derive_messages, parse_derived, step_key
from runshot.derivation.review import review_check
from runshot.loop.repair import RunOptions, run_new
from runshot.report import Report
from runshot.loop.state import Progress, Run
from runshot.spec import Step, parse_checks, parse_spec_file, parse_spec_text
from runshot.validators.runner.project import Validator
from runshot.vocab import ACTIONS, checks_schema
from test_candidates import wiring
from test_pipeline import GOOD_HTML, GOOD_JS, SPEC, answer

PLAIN = ("---\ntitle: Counter\n---\nA counter with an Increment button and a live status showing the count. "
         "Past ten clicks the page tells the player the game is over.\n")
DERIVED = """Here are the checks.
```yaml
checks:
  - name: increments on click
    covers: 1
    steps:
      - click: {role: button, name: Increment}
      - expect: {role: status, text: "1"}
  - name: shows game over
    covers: 2
    steps:
      - expect: {text: Game over}
```
"""
COUNTER = """---
title: Counter
checks:
  - name: increments
    steps:
      - click: {role: button, name: Increment}
      - expect: {role: status, text: "Count: 1"}
---
A live status shows `Count: N`; after one increment it reads `Count: 1`.

- It starts as `Count: 0`.
- A **Decrement** button subtracts 1 (the count may go below 0).
- Centred layout.
"""


def derived_answer(*checks: str) -> str:
    return "```yaml\nchecks:\n" + "".join(checks) + "```\n"


START = "  - name: starts at zero\n    covers: 1\n    steps:\n      - expect: {role: status, text: 'Count: 0'}\n"
BELOW = ("  - name: goes below zero\n    covers: 2\n    steps:\n      - click: {role: button, name: Decrement}\n"
         "      - expect: {role: status, text: 'Count: %s'}\n")


class Notes(Progress):
    def __init__(self):
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.fixture(scope="module")
def validator():
    with ExitStack() as stack:
        yield stack.enter_context(Validator())


def test_parse_derived_accepts_the_step_language_and_rejects_the_rest():
    checks, problem = parse_derived(DERIVED, ["the first requirement"])
    assert problem == "" and [c.name for c in checks] == ["increments on click", "shows game over"]
    assert checks[0].derived and checks[0].covers == ("the first requirement",)
    # A check without `covers` is given the one requirement its steps share the most words with.
    bare = "checks:\n  - name: x\n    steps:\n      - expect: {role: status, text: 'Count: 0'}\n"
    assert parse_derived(bare, ["It starts as `Count: 0`", "the count may go below 0"])[0][0].covers == (
        "It starts as `Count: 0`",)
    assert parse_derived(bare, ["Count: 1 then", "Count: 2 then"])[0][0].covers == ()  # a tie: none
    stray = "checks:\n  - name: x\n    steps:\n      - expect: {role: status, text: Hello, World!: null}\n"
    assert "unknown key 'World!'" in parse_derived(stray)[1]
    assert parse_derived("checks:\n  - name: x\n    steps:\n      - tap: {role: button}\n")[1].count("unknown action")
    assert parse_derived("just words, sorry")[0] == ()
    assert parse_derived("```yaml\nchecks: [\n```")[0] == ()
    # An expectation of nothing in particular (the embedded model wrote `expect: {hidden: true}`) is no step.
    for bare in ("{hidden: true}", "{name: Save, visible: true}", "{focused: true}"):
        problem = parse_derived(f"checks:\n  - name: x\n    steps:\n      - expect: {bare}\n")[1]
        assert "'expect' needs a target" in problem, bare
    assert parse_derived("checks:\n  - name: x\n    steps:\n      - expect: {url: done.html}\n")[1] == ""
    typed = parse_derived("checks:\n  - name: x\n    steps:\n      - fill: {value: Buy milk}\n")[1]
    assert "'fill' needs a target" in typed
    # One check the parser refuses leaves the others of the same answer standing.
    mixed, problem = parse_derived("checks:\n  - name: bad\n    steps:\n      - select: {value: Large}\n"
                                   "  - name: good\n    steps:\n      - expect: {text: 'Price: $8'}\n"
                                   "  - name: good\n    steps:\n      - expect: {text: 'Price: $9'}\n")
    assert [c.name for c in mixed] == ["good"] and mixed[0].steps[0].args == {"text": "Price: $8"}
    assert "'select' needs a target" in problem and "two derived checks are named 'good'" in problem


def test_derived_checks_are_used_stored_and_a_wrong_one_is_marked(fake_openai, validator, tmp_path: Path):
    good = answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS))
    fake_openai.script(DERIVED, DERIVED, good, good, good)  # two samples agree on everything: no third
    ask, validate = wiring(fake_openai, validator)
    out = tmp_path / "out"
    notes = Notes()
    report = run_new(parse_spec_text(PLAIN), out, ask, validate, {"name": "scripted"},
                     RunOptions(max_iterations=3), progress=notes)
    assert any("derived check: increments on click" in n for n in notes.notes)
    # The derived checks were run: the counter passes one and fails the wrong one every time.
    first = report.iterations[0]
    assert first.acceptance_passed == 2
    assert any("shows game over" in f.message for f in first.findings if f.check == "acceptance")
    data = json.loads((out / ".runshot" / "report.json").read_text())
    assert [c["name"] for c in data["derived_checks"]] == ["increments on click", "shows game over"]
    assert data["possibly_wrong_checks"] == ["shows game over"]
    assert data["derivation"]["calls"] == 2 and data["derivation"]["completion_tokens"] == 40
    assert data["coverage"]["verified"] == 2 and data["coverage"]["requirements"][0]["verified_by"] == "derived"
    # After failing twice the wrong check left the prompt; the first repair still had it.
    assert "Game over" in json.dumps(fake_openai.chat_requests[3].body["messages"][1]["content"].split("# Problems")[1])
    assert "Game over" not in fake_openai.chat_requests[4].body["messages"][1]["content"].split("# Problems")[1]
    kept = parse_spec_file(out / ".runshot" / "spec.md")
    assert [c.name for c in kept.checks] == ["increments on click", "shows game over"]
    assert "derived: true" in (out / ".runshot" / "spec.md").read_text()


def _run(fake: FakeOpenAI, spec_text: str, tmp_path: Path) -> tuple[Run, Notes]:
    ask, _ = wiring(fake, None)
    notes = Notes()
    spec = parse_spec_text(spec_text)
    run = Run(spec, tmp_path, ask, None, RunOptions(), notes, gitrepo.init_repo(tmp_path),
              Report(spec=spec.to_dict(), model={}))
    (tmp_path / ".runshot").mkdir(exist_ok=True)
    return run, notes


def test_an_answer_that_does_not_parse_gives_no_checks_and_a_note(fake_openai, tmp_path):
    fake_openai.script(*["### index.html\n```html\n<p>I wrote the app instead</p>\n```\n"] * 3)
    run, notes = _run(fake_openai, PLAIN, tmp_path)
    run = derive_checks(run)
    assert run.spec.checks == () and run.derived == frozenset()
    assert any("no derived checks were kept" in n for n in notes.notes)
    assert any("sample 1: the answer is not YAML" in n for n in notes.notes)
    assert run.report.other_usage.total == 90 and run.report.derivation["calls"] == 3
    assert run.report.coverage["verified"] == 0


def test_a_spec_whose_written_checks_cover_it_asks_nothing(fake_openai, tmp_path):
    run, _ = _run(fake_openai, SPEC, tmp_path)
    run = derive_checks(run)
    assert fake_openai.chat_requests == [] and [c.name for c in run.spec.checks] == ["increments on click"]
    assert run.report.coverage["requirements"][0]["verified_by"] == "written"


def test_derived_checks_join_written_ones_and_samples_vote(fake_openai, tmp_path):
    # Sample 1 and 3 agree that the count goes to -1; sample 2 computes otherwise. "Count: 0" is the spec's own
    # literal, so one sample is enough for it; the role "paragraph" of sample 3 is a different check (outvoted).
    fake_openai.script(derived_answer(START, BELOW % "-1"), derived_answer(START, BELOW % "1"),
                       derived_answer(START.replace("status", "paragraph"), BELOW % "-1"))
    run, notes = _run(fake_openai, COUNTER, tmp_path)
    run = derive_checks(run)
    prompt = fake_openai.chat_requests[0].body["messages"][1]["content"]
    assert "1. It starts as `Count: 0`\n2. the count may go below 0\n" in prompt and "3. Centred" not in prompt
    assert [r.body["seed"] for r in fake_openai.chat_requests] == [1, 2, 3]
    assert [c.name for c in run.spec.checks] == ["increments", "starts at zero", "goes below zero"]
    assert not run.spec.checks[0].derived and run.derived == {"starts at zero", "goes below zero"}
    assert run.spec.checks[2].steps[-1].args["text"] == "Count: -1"
    cov = {r["requirement"]: r["verified_by"] for r in run.report.coverage["requirements"]}
    assert cov == {"A live status shows `Count: N`": "written", "after one increment it reads `Count: 1`": "written",
                   "It starts as `Count: 0`": "derived", "the count may go below 0": "derived",
                   "A **Decrement** button subtracts 1": "derived", "Centred layout": None}
    kept = parse_spec_file(tmp_path / ".runshot" / "spec.md")
    assert [(c.name, c.derived, c.covers) for c in kept.checks][1:] == [
        ("starts at zero", True, ("It starts as `Count: 0`",)),
        ("goes below zero", True, ("the count may go below 0",))]


def test_a_computed_value_one_sample_gives_is_not_kept(fake_openai, tmp_path):
    fake_openai.script(derived_answer(START, BELOW % "-1"), derived_answer(START), derived_answer(START))
    run, notes = _run(fake_openai, COUNTER, tmp_path)
    run = derive_checks(run)
    assert [c.name for c in run.spec.checks] == ["increments", "starts at zero"]
    assert any("not kept 'goes below zero': it expects Count: -1, which the spec does not state" in n
               for n in notes.notes)


def test_samples_that_disagree_keep_nothing_for_that_requirement(fake_openai, tmp_path):
    fake_openai.script(derived_answer(START, BELOW % "-1"), derived_answer(START, BELOW % "1"),
                       derived_answer(START, BELOW % "0"))
    run, notes = _run(fake_openai, COUNTER, tmp_path)
    run = derive_checks(run)
    assert [c.name for c in run.spec.checks] == ["increments", "starts at zero"]
    # the check expecting `Count: 0` after Decrement counts for "It starts as `Count: 0`", the requirement that
    # quotes it, where it is outvoted; the one expecting `Count: 1` is left out (the requirement quoting it has a
    # written check); `Count: -1` alone is a value one sample computed
    assert any("sample 2: left out 'goes below zero': it expects what 'after one increment it reads `Count: 1`' "
               "says, which a written check verifies already" in n for n in notes.notes)
    assert any("not kept 'goes below zero': it expects Count: -1, which the spec does not state" in n
               for n in notes.notes)
    assert "'the count may go below 0'" in notes.notes[-1] and "not verified" in notes.notes[-1]


def test_among_checks_with_as_many_votes_one_expecting_its_requirement_s_own_texts_is_kept(fake_openai, tmp_path):
    # two samples write the likes check two ways, each expecting only a text its requirement quotes: the one that
    # expects more of them is kept; a check whose covers names another requirement counts for the one it quotes
    one = ("  - name: one like\n    covers: 1\n    steps:\n      - click: {role: button, name: Like}\n"
           "      - expect: {role: status, exact_text: 1 like}\n")
    both = ("  - name: one and two\n    covers: 1\n    steps:\n      - click: {role: button, name: Like}\n"
            "      - expect: {role: status, exact_text: 1 like}\n      - click: {role: button, name: Like}\n"
            "      - expect: {role: status, text: 2 likes}\n")
    fake_openai.script(derived_answer(one), derived_answer(both), derived_answer(one.replace("1 like", "3 likes")))
    spec = ("---\ntitle: Likes\n---\nA **Like** button and a status that starts as `0 likes`.\n\n"
            "Each press of Like adds one: after one press it reads `1 like`, after two `2 likes`.\n")
    run, notes = _run(fake_openai, spec, tmp_path)
    run = derive_checks(run)
    # (the first requirement, which no sample covered, gets the check its own words settle)
    assert [(c.name, c.covers) for c in run.spec.checks] == [
        ("one and two", ("Each press of Like adds one: after one press it reads `1 like`, after two `2 likes`",)),
        ("shows '0 likes' at start", ("A **Like** button and a status that starts as `0 likes`",))]


@pytest.mark.parametrize("step, spec_words, result", [
    ("click: {role: button, name: Details}", "Two tabs, **Overview** and **Details**.", "click(name=details,role=tab)"),
    ("fill: {role: textbox, name: Celsius, value: '100'}", "A number field **Celsius**.",
     "fill(name=celsius,role=spinbutton,value=100)"),
    ("fill: {role: input, label: Name, value: Ada}", "A field labelled Name.", "fill(label=name,role=textbox,value=ada)"),
    ("check: {role: status, text: 'Count: 1'}", "A live status shows `Count: 1`.", "expect(role=status,text=count: 1)"),
    ("expect: {role: spinbutton, name: Age, text: '98.6'}", "A number field Age holding 98.6 at start.",
     "expect(name=age,role=spinbutton,value=98.6)"),
    ("fill: {role: button, name: Add, value: x}", "An **Add** button.", "'fill' cannot type into a button"),
    ("click: {css: .btn-primary}", "A **Save** button.", "never names the selector '.btn-primary'"),
    ("click: {role: button, name: Submit}", "A **Save** button.", "never uses the name 'Submit'"),
    ("click: {role: widget, name: Save}", "A **Save** button.", "'widget' is no ARIA role"),
    ("check: {role: button, name: Save}", "A **Save** button.", "'check' cannot tick a button"),
])
def test_each_derived_step_is_held_against_the_spec(step, spec_words, result):
    checks, problem = parse_derived(f"checks:\n  - name: c\n    steps:\n      - {step}\n      - expect: {{text: x}}\n")
    assert problem == ""
    reviewed = review_check(checks[0], spec_words)
    if reviewed.check is None:
        assert result in reviewed.problem
    else:
        assert step_key(reviewed.check.steps[0]) == result


def _as_json_steps(example: str) -> list:
    return yaml.safe_load(example)  # "- click: {role: button, name: Save}" -> [{"click": {...}}]


def test_the_answer_schema_takes_every_step_the_language_shows_and_nothing_else():
    jsonschema = pytest.importorskip("jsonschema")
    schema = checks_schema(2)
    steps = [step for action in ACTIONS.values() for step in _as_json_steps(action.example)]
    acts = [s for s in steps if "expect" not in s]
    expects = [s["expect"] for s in steps if "expect" in s]
    answer = {"checks": [{"name": "every action", "covers": 2, "steps": acts, "expect": expects},
                         {"name": "size", "covers": 1, "steps": [], "expect": [{"role": "button", "min_height": 44}]},
                         {"name": "address", "covers": 1, "steps": [], "expect": [{"url": "about.html"}]}]}
    jsonschema.validate(answer, schema)

    right = {"name": "y", "covers": 2, "steps": [], "expect": [{"text": "b"}]}

    def check(steps, expect):  # the wrong check beside a right one: two requirements ask for two checks
        return {"checks": [{"name": "x", "covers": 1, "steps": steps, "expect": expect}, right]}

    jsonschema.validate(check([], [{"text": "a"}]), schema)

    for wrong in (check([], [{"role": "status", "World!": None}]),  # a stray key
                  check([{"press": {"role": "textbox"}}], [{"text": "a"}]),  # press needs its key
                  check([{"wait": {"ms": "soon"}}], [{"text": "a"}]),  # wait takes a number
                  check([{"type": {"text": "a"}}], [{"text": "a"}]),  # no such action
                  check([{"click": {"role": "button", "name": "Go"}}], []),  # it expects nothing
                  check([{"select": {"value": "Large"}}], [{"text": "a"}]),  # a step without a target
                  check([], [{"hidden": True}]),  # an expectation without a target
                  check([{"click": {"css": ".go"}}], [{"text": "a"}]),  # a selector no prompt-only spec gives
                  {"checks": [{"name": "x", "covers": 1, "steps": acts[:1]}, right]},  # no expect at all
                  {"checks": [right]}):  # one check for two requirements
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
    with pytest.raises(jsonschema.ValidationError):  # covers names a requirement that was asked
        jsonschema.validate(check([], [{"text": "a"}]) | {"checks": [right, {**right, "covers": 3}]}, schema)
    # what the schema lets through, the parser takes: the answer as JSON (which is YAML) parses into checks, the
    # expectations after the actions
    checks, problem = parse_derived(json.dumps(answer), ["first", "second"])
    assert problem == "" and [c.covers for c in checks] == [("second",), ("first",), ("first",)]
    assert [s.action for s in checks[0].steps] == [*(next(iter(a)) for a in acts), *["expect"] * len(expects)]


def test_the_answer_schema_becomes_a_grammar_for_the_embedded_engine():
    grammar = pytest.importorskip("llama_cpp.llama_grammar", reason="the embedded engine is not installed")
    text = grammar.json_schema_to_gbnf(json.dumps(checks_schema(3)))
    assert "checks-item" in text and '"\\"covers\\""' in text


TIP = """---
title: Tip calculator
---
Splits a restaurant bill with a tip.

- A form with a number input labelled "Bill amount", a select labelled "Tip" with the options "10%", "15%" and "20%"
  (15% selected at start), a number input labelled "People" holding 1 at start, and a button labelled "Split".
- On Split, a status region (role="status") shows "Each person pays X", where X is (bill + bill × tip) ÷ people
  written with two decimals (e.g. 11.50).
- If the bill is empty or not greater than 0, or people is not a whole number of at least 1, an element with
  role="alert" shows "Enter a bill and at least one person." and the status region is emptied.
"""
QUIZ = """A heading "Quiz" and a fieldset holding three radio buttons labelled "Berlin", "Paris" and "Madrid", and a
button labelled "Answer". Answer with "Paris" checked shows "Correct!" in a status region (role="status"); with
nothing checked, an element with role="alert" shows "Choose an answer first."
"""
FAQ = "A question \"What is the answer?\" with a **Show answer** button. The answer `42` is hidden at first; " \
      "pressing Show answer reveals it.\n"
SIGN_IN = "A sign-in form with an **Email** field and a **Sign in** button. Pressing Sign in with the field empty " \
          "shows the alert `Please enter your email`.\n"
TEMPERATURE = 'A number input labelled "Celsius" and a number input labelled "Fahrenheit". Typing in Celsius fills ' \
              'Fahrenheit with C × 9 ÷ 5 + 32 (100 °C gives 212).\n'
DIALOGS = """- A live status line with `role="status"` that shows exactly `Next player: X` or `Next player: O`.
- Three buttons below the board, named exactly **Rules**, **Settings** and **New game**.
- **Rules** (heading "Rules"): explains the game, with a **Close** button.
- **Game over** (heading "Game over"): opens when a player gets three in a row. It says `X wins`, `O wins` or
  `It's a draw`, and has a **Play again** button.
"""
BMI = """Two number inputs labelled "Height (cm)" and "Weight (kg)" and a button labelled "Calculate BMI". On submit a
status region (role="status") shows "Your BMI is B (C)", where B = weight ÷ (height in metres)², and C is the
category.
"""


def _reviewed(spec: str, *steps: str):
    checks, problem = parse_derived("checks:\n  - name: c\n    steps:\n" + "".join(f"      - {s}\n" for s in steps))
    assert problem == ""
    return checks[0], review_check(checks[0], spec)


@pytest.mark.parametrize("spec, steps, reason", [
    # the spec calls Split "a button": a spinbutton (or a checkbox) of that name is a contradiction
    (TIP, ["click: {role: spinbutton, name: Split}", "expect: {role: status, text: Each person pays}"],
     "the spec calls 'Split' a button (role button), not a spinbutton"),
    (TIP, ["click: {role: checkbox, name: Split}", "expect: {role: status, text: Each person pays}"],
     "the spec calls 'Split' a button (role button), not a checkbox"),
    (TIP, ["click: {role: button, name: People}", "expect: {role: status, text: Each person pays}"],
     "the spec calls 'People' a number field (role spinbutton), not a button"),
    (QUIZ, ["click: {role: button, name: Paris}", "expect: {role: status, text: Correct!}"],
     "the spec calls 'Paris' a radio button (role radio), not a button"),
    (QUIZ, ["expect: {role: button, name: Quiz}"], "the spec calls 'Quiz' a heading (role heading), not a button"),
    ("A message box labelled **Message** with a live counter below it.",
     ["click: {role: button, name: Message}", "expect: {role: status, text: '0 / 140'}"],
     "the spec calls 'Message' a text field (role textbox), not a button"),
    # actions that do not fit the kind the spec gives the control
    (TIP, ["click: {label: Bill amount}", "expect: {role: status, text: Each person pays}"],
     "the spec calls 'Bill amount' a number field: it is filled in (fill), not clicked"),
    (TIP, ["fill: {role: button, name: Split, value: '2'}", "expect: {role: status, text: Each person pays}"],
     "'fill' cannot type into a button"),
    (TIP, ["fill: {label: People, value: two}", "expect: {role: alert, text: Enter a bill and at least one person.}"],
     "a number field takes only a number, not 'two'"),
    (TIP, ["select: {label: People, value: '2'}", "expect: {role: status, text: Each person pays}"],
     "'select' needs a <select>, not a spinbutton"),
    (QUIZ, ["fill: {label: Paris, value: 'yes'}", "expect: {role: status, text: Correct!}"],
     "'fill' cannot type into a radio"),
    # the template "Each person pays X" expected word for word, where no part of it can stand for the whole
    (TIP, ["click: {role: button, name: Split}", "expect: {role: status, exact_text: Each person pays X}"],
     "it expects the spec's template 'Each person pays X' word for word (X stands for a value)"),
    (TIP, ["click: {role: button, name: Split}", "expect: {text: Each person pays X, exact: true}"],
     "it expects the spec's template 'Each person pays X' word for word"),
    # a text the spec says an element with another role shows
    (TIP, ["click: {role: button, name: Split}", "expect: {role: status, text: Enter a bill and at least one person.}"],
     "the spec says an element with role alert shows 'Enter a bill and at least one person.', not a status"),
    (BMI, ["click: {role: button, name: Calculate BMI}", "expect: {role: alert, text: 'Your BMI is 22.5 (Normal)'}"],
     "the spec says an element with role status shows 'Your BMI is 22.5 (Normal)', not an alert"),
    (SIGN_IN, ["click: {role: button, name: Sign in}", "expect: {role: status, text: Please enter your email}"],
     "the spec says an element with role alert shows 'Please enter your email', not a status"),
    ('A number input labelled "Year"; an element with `role="alert"` shows "Enter a whole year."',
     ["fill: {label: Year, value: ''}", "expect: {role: status, text: Enter a whole year.}"],
     "the spec says an element with role alert shows 'Enter a whole year.', not a status"),
    # a page the spec never names (every check starts on the app's own page)
    (TIP, ["goto: {path: /about.html}", "expect: {role: status, text: Each person pays}"],
     "the spec never names the page '/about.html'"),
])
def test_a_derived_step_the_spec_s_words_contradict_is_refused_with_its_reason(spec, steps, reason):
    _, reviewed = _reviewed(spec, *steps)
    assert reviewed.check is None and reason in reviewed.problem and "\n" not in reviewed.problem


@pytest.mark.parametrize("spec, steps, fixed, note", [
    (TIP, ["click: {role: button, name: Split}", "expect: {role: status, text: Each person pays X}"],
     "expect(role=status,text=each person pays)", "'Each person pays X' -> 'Each person pays'"),
    (TIP, ["click: {role: button, name: Split}", "expect: {text: Each person pays X}"],
     "expect(text=each person pays)", "X stands for a value"),
    (TIP, ["fill: {label: Tip, value: 20%}", "expect: {role: status, text: Each person pays}"],
     "select(label=tip,value=20%)", "fill -> select"),
    (TIP, ["click: {role: link, name: Split}", "expect: {role: status, text: Each person pays}"],
     "click(name=split,role=button)", "role link -> button"),
    (TIP, ["click: {label: Split}", "expect: {role: status, text: Each person pays}"],
     "click(name=split,role=button)", "label -> {role: button, name} (the spec calls it a button)"),
    ('A `<select>` labelled "Size" with the options "Small" and "Large", and a status region showing `Price: $8`.',
     ["fill: {label: Size, value: Large}", "expect: {role: status, text: 'Price: $8'}"],
     "select(label=size,value=large)", "fill -> select (the spec calls it a select)"),
    (TIP, ["click: {role: button, name: Split}", "expect: {role: alert, value: Enter a bill and at least one person.}"],
     "expect(role=alert,text=enter a bill and at least one person.)", "value -> text"),
    (TIP, ["fill: {label: Bill amount, value: '10'}", "press: {key: Return}",
           "expect: {role: status, text: Each person pays}"],
     "press(key=enter)", "key Return -> Enter"),
    (TIP, ["click: {role: button, name: Split}", "expect: {role: text, text: Each person pays}"],
     "expect(text=each person pays)", "role text -> the element showing the text"),
])
def test_a_derived_step_is_corrected_where_the_spec_says_what_was_meant(spec, steps, fixed, note):
    _, reviewed = _reviewed(spec, *steps)
    assert reviewed.check is not None and note in reviewed.problem
    assert fixed in [step_key(s) for s in reviewed.check.steps]
    assert reviewed.computed == ()  # the corrected values are the spec's own words


def test_names_copied_from_the_step_language_s_examples_are_refused():
    # The prompt shows the step language with examples (a button "Save", a field "New task", …); a check that
    # copies one of those names into a spec that never uses it is refused.
    copied = [(key, args[key]) for action in ACTIONS.values() for step in _as_json_steps(action.example)
              for args in step.values() if isinstance(args, dict) for key in ("name", "label") if key in args]
    assert ("name", "Save") in copied and len(copied) >= 4
    for key, value in copied:
        _, reviewed = _reviewed(TIP, f"click: {{role: button, {key}: {value}}}", "expect: {role: status, text: x}")
        assert reviewed.check is None and f"the spec never uses the {key} '{value}'" in reviewed.problem


def test_the_derivation_prompt_shows_the_step_language_without_names_to_copy():
    # The 1.5B model copied "Save" and "New task" from the step language's examples into checks for specs that
    # never name them: the prompt shows each action's form with placeholders instead.
    spec = parse_spec_text("---\ntitle: Message\n---\nA message box labelled **Message** with a live counter. "
                           "The counter starts as `0 / 140`.\n")
    prompt = derive_messages(spec, split_requirements(spec.body))[1]["content"]
    examples = [str(v) for action in ACTIONS.values() for step in _as_json_steps(action.example)
                for args in step.values() if isinstance(args, dict) for k, v in args.items()
                if k in ("name", "label", "value", "path")]
    assert "Save" in examples and "New task" in examples
    for value in examples:
        assert f": {value}" not in prompt, value
    assert "- `click: {role: button, name: NAME}`" in prompt and "- `fill: {label: LABEL, value: VALUE}`" in prompt


GOOD_CHECKS = [  # right for their spec: review leaves them as they are
    (TIP, ["fill: {label: Bill amount, value: '100'}", "select: {label: Tip, value: 20%}",
           "fill: {role: spinbutton, name: People, value: '4'}", "click: {role: button, name: Split}",
           "expect: {role: status, text: 'Each person pays 30.00'}"]),
    (TIP, ["fill: {role: spinbutton, name: Bill amount, value: ''}", "click: {role: button, name: Split}",
           "expect: {role: alert, text: 'Enter a bill and at least one person.'}",
           "expect: {label: People, value: '1'}"]),
    (TIP, ["click: {label: Bill amount}", "press: {key: '5'}", "click: {role: button, name: Split}",
           "expect: {role: status, text: 'Each person pays 5.75'}"]),  # a click on a field, then keys typed
    (QUIZ, ["check: {role: radio, name: Paris}", "click: {role: button, name: Answer}",
            "expect: {role: status, text: Correct!}", "expect: {role: heading, name: Quiz}"]),
    (QUIZ, ["click: {role: button, name: Answer}", "expect: {role: alert, text: Choose an answer first.}"]),
    (SIGN_IN, ["click: {role: button, name: Sign in}", "expect: {role: alert, text: Please enter your email}"]),
    (TEMPERATURE, ["fill: {label: Celsius, value: '100'}", "click: {label: Fahrenheit}",  # a click that moves focus on
                   "expect: {role: spinbutton, name: Fahrenheit, value: '212'}"]),
    (TIP, ["goto: {path: index.html}", "expect: {role: button, name: Split}"]),
    # "show" here is what the app does, in the alert's sentence: the status shows `Tip: 0.00`
    ("One results element with `role=\"status\"` shows two lines: `Tip: X` and `Each pays: Y`. When the number of "
     "people is below 1, show the message `Please enter at least 1 person.` in an element with `role=\"alert\"` and "
     "show `Tip: 0.00` and `Each pays: 0.00`.", ["expect: {role: status, text: 'Tip: 0.00'}"]),
    # a button and the heading of the dialog it opens share a name; X and O are the players' marks, no placeholders
    (DIALOGS, ["click: {role: button, name: Rules}", "expect: {role: heading, name: Rules}",
               "expect: {role: dialog, name: Game over, text: X wins, hidden: true}",
               "expect: {role: status, exact_text: 'Next player: X'}"]),
    (FAQ, ["expect: {text: '42', hidden: true}", "click: {role: button, name: Show answer}", "expect: {text: '42'}"]),
    (BMI, ["fill: {label: Height (cm), value: '180'}", "fill: {role: spinbutton, name: Weight (kg), value: '81'}",
           "click: {role: button, name: Calculate BMI}",
           "expect: {role: status, text: 'Your BMI is 25.0 (Overweight)'}"]),
    ("A text input labelled \"New task\" and a button labelled \"Add\"; each task gets a checkbox labelled with its "
     "text.", ["fill: {role: textbox, name: New task, value: Buy milk}", "click: {role: button, name: Add}",
               "check: {role: checkbox, name: Buy milk}", "expect: {role: listitem, text: Buy milk}"]),
    ("A text input labelled \"Item\" and a button labelled \"Add item\"; each item has a button labelled "
     "\"Remove Item\" (with the item's name).",
     ["fill: {label: Item, value: Milk}", "click: {role: button, name: Add item}",
      "click: {role: button, name: Remove Milk}", "expect: {role: listitem, text: Milk, hidden: true}"]),
    ("A **Save** and a **Cancel** button, and a `Loading...` line and a heading \"Plan B is ready\".",
     ["click: {role: button, name: Cancel}", "expect: {text: Loading...}",
      "expect: {role: heading, name: Plan B is ready}"]),
]


@pytest.mark.parametrize("spec, steps", GOOD_CHECKS)
def test_a_right_check_passes_review_as_it_is(spec, steps):
    check, reviewed = _reviewed(spec, *steps)
    assert reviewed.check is not None, reviewed.problem
    assert reviewed.check.steps == check.steps and reviewed.problem == ""


LABELLED = Path(__file__).resolve().parents[1] / "benchmarks" / "derive"


@pytest.mark.parametrize("case, steps, reason", [  # wrong checks of the kinds the embedded model writes
    ("temperature", ["fill: {label: Celsius, value: '100 °C'}", "click: {role: button, name: Convert}",
                     "expect: {text: 212 °F}"], "a number field takes only a number, not '100 °C'"),
    ("terms", ["click: {role: button, name: I agree to the terms}", "click: {role: button, name: Continue}",
               "expect: {text: 'Thanks, you are in!'}"],
     "the spec calls 'I agree to the terms' a checkbox (role checkbox), not a button"),
    ("greeter", ["click: {role: textbox, name: Your name}", "click: {role: button, name: Greet}",
                 "expect: {text: 'Hello, Ada!'}"], "the spec calls 'Your name' a text field: it is filled in"),
    ("likes", ["click: {role: status, name: Like}", "expect: {text: '1 like'}"],
     "the spec calls 'Like' a button (role button), not a status"),
    ("sign-in", ["click: {role: button, name: Sign in}", "expect: {role: status, text: Please enter your email}"],
     "the spec says an element with role alert shows 'Please enter your email', not a status"),
])
def test_wrong_checks_for_the_labelled_set_s_specs_are_refused(case, steps, reason):
    spec = parse_spec_file(LABELLED / case / "spec.md")
    _, reviewed = _reviewed(spec.title + "\n" + spec.body, *steps)
    assert reviewed.check is None and reason in reviewed.problem


def test_the_labelled_set_s_reference_checks_pass_review_as_they_are():
    cases = sorted(p for p in LABELLED.iterdir() if (p / "reference.yaml").is_file())
    assert len(cases) >= 10
    for case in cases:
        spec = parse_spec_file(case / "spec.md")
        for check in parse_checks(yaml.safe_load((case / "reference.yaml").read_text()), case.name):
            reviewed = review_check(check, spec.title + "\n" + spec.body)
            assert reviewed.check is not None and reviewed.check.steps == check.steps, (case.name, reviewed.problem)


def test_a_refusal_s_reason_is_a_line_of_the_derivation_notes():
    spec = parse_spec_text("---\ntitle: Tip calculator\n---\n" + TIP.split("---\n", 2)[2])
    wrong = _reviewed(TIP, "click: {role: spinbutton, name: Split}",
                      "expect: {role: status, text: Each person pays}")[0]
    right = _reviewed(TIP, "click: {role: button, name: Split}", "expect: {role: status, text: Each person pays X}")[0]
    notes: list[str] = []
    kept = agree([(dataclasses.replace(wrong, name="wrong", covers=("r",)),),
                  (dataclasses.replace(right, name="right", covers=("r",)),)], spec, notes)
    assert notes == ["sample 1: refused 'wrong': step 1 `click: {role: 'spinbutton', name: 'Split'}`: the spec calls "
                     "'Split' a button (role button), not a spinbutton",
                     "'right' corrected to fit the spec: step 2: 'Each person pays X' -> 'Each person pays' (X stands "
                     "for a value in the spec's 'Each person pays X')"]
    assert [c.name for c in kept] == ["right"]
    assert kept[0].steps[-1].args == {"role": "status", "text": "Each person pays"}


CART = "A product card with an **Add to cart** button and a cart line that starts as `Cart (0)`. Each press of " \
       "Add to cart adds one item: after two presses it reads `Cart (2)`."
COUNTER_RESET = "A live status shows `Count: N`. It starts as `Count: 0`; after two increments it reads `Count: 2`.\n" \
          "- **Reset** sets it back to `Count: 0`."


def test_a_click_that_opens_what_the_spec_calls_a_select_targets_the_select():
    spec = "A **Size** dropdown with the options Small, Medium and Large. Choosing `Large` shows `Price: $12`."
    _, reviewed = _reviewed(spec, "click: {role: button, name: Size}", "select: {label: Size, value: Large}",
                            "expect: {text: 'Price: $12'}")
    assert reviewed.check is not None and reviewed.check.steps[0].args == {"role": "combobox", "name": "Size"}
    _, typed = _reviewed(spec, "fill: {role: button, name: Size, value: Large}", "expect: {text: 'Price: $12'}")
    # writing a value into what the spec calls a select is choosing it there, whatever role the model gave it
    assert typed.check.steps[0] == Step("select", {"role": "combobox", "name": "Size", "value": "Large"})


def test_what_a_step_does_to_its_target_corrects_a_role_the_spec_contradicts():
    spec = "A message box labelled **Message** and a checkbox **I agree**. Typing `hello` makes the counter read `5`."
    _, typed = _reviewed(spec, "fill: {role: button, name: Message, value: hello}", "expect: {text: '5'}")
    assert typed.check.steps[0].args == {"role": "textbox", "name": "Message", "value": "hello"}
    assert "role button -> textbox" in typed.problem
    _, ticked = _reviewed(spec, "check: {role: button, name: I agree}", "expect: {text: '5'}")
    assert ticked.check.steps[0].args == {"role": "checkbox", "name": "I agree"}
    _, clicked = _reviewed(spec, "click: {role: button, name: Message}", "expect: {text: '5'}")
    assert clicked.check is None and "not a button" in clicked.problem  # a click says nothing of the target


def test_an_answer_in_the_schema_form_joins_its_expectations_and_carries_a_clicked_target():
    answer = {"checks": [
        {"name": "large", "covers": 1, "steps": [{"click": {"role": "button", "name": "Size"}},
                                                {"select": {"value": "Large"}}],
         "expect": [{"text": "Price: $12"}]},
        {"name": "typed", "covers": 1, "steps": [{"click": {"label": "New task"}}, {"fill": {"value": "Buy milk"}},
                                                {"click": {"role": "button", "name": "Add"}}],
         "expect": {"role": "listitem", "text": "Buy milk"}},
        {"name": "on load", "covers": 1, "steps": [], "expect": [{"role": "status", "text": "0 likes"}]},
        {"name": "nothing to carry", "covers": 1, "steps": [{"fill": {"value": "x"}}], "expect": [{"text": "x"}]}]}
    checks, problem = parse_derived(json.dumps(answer), ["r"])
    assert [c.name for c in checks] == ["large", "typed", "on load"]
    assert [s.describe() for s in checks[0].steps] == ["select: {role: 'button', name: 'Size', value: 'Large'}",
                                                       "expect: {text: 'Price: $12'}"]
    assert [s.action for s in checks[1].steps] == ["fill", "click", "expect"]
    assert checks[1].steps[0].args == {"label": "New task", "value": "Buy milk"}
    assert [s.action for s in checks[2].steps] == ["expect"]
    assert "'fill' needs a target" in problem  # a step with no target and no click before it stays refused
    # a click that is followed by another action keeps its own target
    kept, _ = parse_derived(json.dumps({"checks": [{"name": "x", "covers": 1, "steps": [
        {"click": {"role": "tab", "name": "Details"}}, {"press": {"key": "Enter"}}], "expect": [{"text": "y"}]}]}))
    assert [s.action for s in kept[0].steps] == ["click", "press", "expect"]


def test_a_value_expected_of_a_label_the_spec_never_gives_a_field_is_its_text():
    check, reviewed = _reviewed(CART, "click: {role: button, name: Add to cart}",
                                "click: {role: button, name: Add to cart}", "expect: {label: Cart, value: Cart (2)}")
    assert reviewed.check.steps[-1].args == {"text": "Cart (2)"} and "labels no field 'Cart'" in reviewed.problem
    _, as_text = _reviewed(CART, "click: {role: button, name: Add to cart}", "click: {role: button, name: Add to cart}",
                           "expect: {label: Cart, text: Cart (2)}")
    assert as_text.check.steps[-1].args == {"text": "Cart (2)"}
    step_spec = 'A number input labelled "Step" holding `1` at start.'
    check, reviewed = _reviewed(step_spec, "expect: {label: Step, value: '1'}")
    assert reviewed.check.steps == check.steps  # a field the spec labels keeps its value


@pytest.mark.parametrize("spec, covers, steps, refused", [
    # the start text expected after a click, for the requirement that says it is the start: wrong
    (CART, 0, ["click: {role: button, name: Add to cart}", "expect: {role: status, text: Cart (0)}"],
     "the spec says 'Cart (0)' shows at start, and a step before the expectation acts (`click: {role: 'button'"),
    # expected before the click, then the click's effect: right
    (CART, 0, ["expect: {role: status, text: Cart (0)}", "click: {role: button, name: Add to cart}",
               "click: {role: button, name: Add to cart}", "expect: {role: status, text: Cart (2)}"], None),
    # the same words for another requirement (no start phrase there): not judged
    (CART, 1, ["click: {role: button, name: Add to cart}", "expect: {role: status, text: Cart (0)}"], None),
    # the spec quotes the start text twice (Reset comes back to it): not judged
    (COUNTER_RESET, 0, ["click: {role: button, name: Reset}", "expect: {role: status, text: 'Count: 0'}"], None),
])
def test_a_start_text_expected_after_a_step_that_acts_is_refused(spec, covers, steps, refused):
    check, _ = _reviewed(spec, *steps)
    requirement = [r.text for r in split_requirements(spec)][covers]
    reviewed = review_check(dataclasses.replace(check, covers=(requirement,)), spec)
    if refused is None:
        assert reviewed.check is not None, reviewed.problem
    else:
        assert reviewed.check is None and refused in reviewed.problem


def test_a_text_the_spec_says_is_hidden_at_first_expected_on_load_is_expected_hidden():
    _, reviewed = _reviewed(FAQ, "expect: {text: '42'}", "click: {role: button, name: Show answer}",
                            "expect: {text: '42'}")
    assert [s.args for s in reviewed.check.steps] == [{"text": "42", "hidden": True},
                                                      {"role": "button", "name": "Show answer"}, {"text": "42"}]
    assert "'42' expected hidden (the spec says it is hidden at first)" in reviewed.problem
