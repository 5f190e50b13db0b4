"""The data walk: fill in forms and text inputs as a user would, submit them, and judge the state reached.

A reviewer types into a form and submits it before saying it works; an empty todo list hides the item rows
(and their checkboxes) that only exist once something was added. This check finds every form with a field to
type into and every text input outside a form (document order, at most MAX_TARGETS), and on one isolated page:

- fills each text-like field with a plausible value (see ``formvalues``: "Buy milk" for a new todo, an e-mail
  address, a number inside min/max on the step, a date), ticks required checkboxes, picks an option where a
  select has none;
- submits: Enter in a lone field, else the form's submit control (a button placed next to an input outside any
  form when Enter did nothing);
- judges what appeared like any other state (``states.check_state``: axe-core and the semantic rules), and
  reports uncaught exceptions and console errors the entry caused, a frozen or crashed page;
- when the fields emptied after submitting (a todo input), enters a second value the same way: some defects
  only show with two items (duplicate ids, a count that says "1 items").

Every finding names the state ("After typing 'Buy milk' into 'What needs to be done?' and pressing Enter: …").
It never types into a field that looks like a password or payment data (nor submits its form), never submits a
form whose action (or the submit button's formaction) leaves the app's origin or opens another window, and never
judges another document: a submission that loads a new page is noted in the report's info and nothing more.
"""

from __future__ import annotations

import re
from importlib import resources

from playwright.async_api import Error as PlaywrightError

from runshot.rules import ISOLATED, Check, Rule, Rules
from runshot.values import ERROR, Finding, truncate
from runshot.validators.browser.chromium import PageLoadError
from runshot.validators.browser.context import CheckContext, CheckTimeout, responds
from runshot.validators.browser.domtools import JS_LIB, budget_for, clickable, label, short_url
from runshot.validators.checks.formvalues import Entry, entries_for, field_name, shorten, skip_reason
from runshot.validators.browser.pages import origin_of
from runshot.validators.browser.states import Walk, check_state, not_reported_on_load, seen_keys

CHECK = "forms"
RULES = Rules(
    Rule("forms/exception", ERROR, "Filling in or submitting the form throws an uncaught exception."),
    Rule("forms/console-error", ERROR, "Filling in or submitting the form logs an error to the console."),
    Rule("forms/freeze", ERROR, "The page stops answering while the form is filled in or submitted (an endless "
         "loop)."),
    Rule("forms/crash", ERROR, "The page crashed after the form was submitted."),
)
DECLARED = Check(CHECK, "check_forms", needs=ISOLATED, rules=RULES)
# Findings for what a submission made appear carry axe rule ids (e.g. "label") or semantics rule ids.
MAX_TARGETS = 6  # forms and lone inputs tried
MAX_STATES = 8  # states run through axe-core (a todo input gives two)

_SCRIPT = resources.files("runshot.validators").joinpath("page_scripts", "forms.js").read_text(encoding="utf-8")
_TARGETS = f"(limit) => {{\n{JS_LIB}\n{_SCRIPT}\nreturn formTargets(RS, limit);\n}}"
_SENDS = re.compile(r"^\W*(?:\+|(?:add|save|create|submit|send|post|go|ok|search|find|enter|new)\b)", re.IGNORECASE)
# The values of the fields at these selectors; null for one that is gone or hidden.
_VALUES = """(sels) => sels.map((s) => {
  let e = null;
  try { e = document.querySelector(s); } catch (err) {}
  return e && e.checkVisibility() ? e.value : null;
})"""


def _first_line(text: str) -> str:
    text = (text or "").strip()
    return text.splitlines()[0] if text else ""


def _quote(text: str) -> str:
    return "'" + shorten(text) + "'"


def describe(entries: list[Entry], submit: dict | None) -> str:
    """The state's name, without "after": "typing 'Buy milk' into 'New task' and pressing Enter"."""
    typed = [e for e in entries if e.how == "fill"]
    if len(typed) == 1:
        parts = [f"typing {_quote(typed[0].value)} into {_quote(typed[0].name)}"]
    else:
        more = f" and {len(typed) - 3} more fields" if len(typed) > 3 else ""
        parts = ["filling in " + ", ".join(f"{_quote(e.name)} with {_quote(e.value)}" for e in typed[:3]) + more]
    parts += [f"choosing {_quote(e.value)} in {_quote(e.name)}" if e.how == "select" else f"ticking {_quote(e.name)}"
              for e in entries if e.how != "fill"][:2]
    how = f"clicking {label(submit)}" if submit else "pressing Enter"
    return f"{', '.join(parts)} and {how}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _name(target: dict) -> str:
    """A form or lone input as messages and notes name it: form "Sign up" (#signup), input 'Search' (#q)."""
    if target["kind"] == "form":
        return label({"tag": "form", "name": target.get("name") or "", "sel": target["sel"]})
    return f"input {_quote(field_name(target['fields'][0]))} ({target['sel']})"


async def _fill(ctx: CheckContext, page, entries: list[Entry]) -> None:
    ms = ctx.timeouts.action * 800
    for e in entries:
        loc = page.locator(e.sel).first
        if e.how == "fill":
            await ctx.within(loc.fill(e.value, timeout=ms), f"typing into {e.name}")
        elif e.how == "select":
            await ctx.within(loc.select_option(e.value, timeout=ms), f"choosing in {e.name}")
        else:
            await ctx.within(loc.check(timeout=ms), f"ticking {e.name}")


async def _submit(ctx: CheckContext, page, target: dict, entries: list[Entry], by_click: bool) -> bool:
    """Press Enter in the last field typed into, or click the submit control: False when it could not."""
    ms = ctx.timeouts.action * 800
    if by_click:
        sel = target["submit"]["sel"]
        if not await clickable(ctx, page, sel):
            return False
        await ctx.within(page.locator(sel).first.click(timeout=ms), "submitting the form")
        return True
    last = [e for e in entries if e.how == "fill"][-1]
    await ctx.within(page.locator(last.sel).first.press("Enter", timeout=ms), "pressing Enter")
    return True


def _adds(button: dict | None) -> bool:
    """Whether a button next to a lone input is the one that sends it ("Add", "Save", "Search", "+")."""
    return bool(button) and bool(_SENDS.search(button.get("name") or ""))


def _clicks_submit(target: dict) -> bool:
    """A form of several fields (or with a text area) is sent with its submit control; a lone field, or a form
    without a usable submit control, with Enter, as people do."""
    if target["kind"] != "form" or not target.get("submit"):
        return False
    textual = [f for f in target["fields"] if f.get("textual") and f.get("usable")]
    return len(textual) > 1 or any(f.get("tag") == "textarea" for f in textual)


class _Run:
    """What one check run keeps between targets: the walk, the states left to judge, notes for the report."""

    def __init__(self, ctx: CheckContext):
        self.ctx = ctx
        self.walk = Walk(ctx)
        self.budget = budget_for(ctx)
        self.states_left = MAX_STATES
        self.seen = seen_keys(ctx)
        self.notes: dict[str, list] = {"submitted": [], "skipped": [], "navigated": []}


def _errors(ctx: CheckContext, new, target: dict, state: str, seen: set[str]) -> list[Finding]:
    """Exceptions, console errors and a crash that filling in and submitting caused."""
    head = _capital(state)
    findings: list[Finding] = []
    for err in new.page_errors:
        msg = _first_line(err.get("message", "")) or "unknown error"
        if msg not in seen:
            seen.add(msg)
            findings.append(RULES["forms/exception"].finding(
                f"{head} throws an uncaught exception: {truncate(msg, 200)}", where=target["sel"],
                hint="Fix the exception in what handles this form's input or submission (see the stack).",
                evidence=truncate(err.get("stack") or msg, 400)))
    blocked = {b.get("url") for b in new.blocked_requests}  # the runtime check's to judge, by its policy
    for err in new.console_errors:
        text = err.get("text", "")
        if text.startswith("Failed to load resource") and err.get("url") in blocked:
            continue
        if text not in seen:
            seen.add(text)
            at = f" at {short_url(err['url'], ctx.base_url)}:{int(err.get('line', 0)) + 1}" if err.get("url") else ""
            findings.append(RULES["forms/console-error"].finding(
                f"{head} logs a console error{at}: {truncate(_first_line(text), 200)}",
                where=target["sel"], hint="Fix what this form's handlers do wrong with the values typed.",
                evidence=truncate(text, 400)))
    if new.crashed:
        findings.append(RULES["forms/crash"].finding(
            f"{head} crashes the page", where=target["sel"],
            hint="Look for runaway memory use in what handles this form."))
    return findings


async def _enter(run: _Run, target: dict, entries: list[Entry], by_click: bool, state: str,
                 seen: set[str]) -> tuple[list[Finding], str]:
    """Fill in and submit once, on the page as it is: (findings, outcome), the outcome being "changed",
    "same", "navigated", "froze" or "failed" (the submit control could not be clicked)."""
    ctx, walk = run.ctx, run.walk
    page = walk.page
    mark = walk.events.mark()
    await walk.watch()
    walk.dirty = True  # typed values are not in the page's signature: reload before the next target
    try:
        await _fill(ctx, page, entries)
        if not await _submit(ctx, page, target, entries, by_click):
            return [], "failed"
        same = await walk.settle_and_compare()
        changes = await walk.changes()
    except (CheckTimeout, PlaywrightError) as exc:
        if isinstance(exc, PlaywrightError) and await responds(page, min(ctx.timeouts.action, 2.0)):
            raise  # the field would not take the value, or went away: nothing learnt (see _try_guarded)
        await walk.fresh()
        why = f"{exc.what} took over {exc.seconds:g} s" if isinstance(exc, CheckTimeout) else "it stopped answering"
        return [RULES["forms/freeze"].finding(
            f"{_capital(state)} froze the page ({why})", where=target["sel"],
            evidence=truncate(target.get("html", ""), 300),
            hint="Look for an endless loop in what handles this form's input or submission.")], "froze"
    run.notes["submitted"].append(state)
    if changes is None:  # another document: not this app's state to judge
        run.notes["navigated"].append(f"{state}: loaded {short_url(page.url, ctx.base_url)} (not judged)")
        return [], "navigated"
    new = walk.events.since(mark)
    findings = _errors(ctx, new, target, state, seen)
    if new.crashed:
        await walk.fresh()
        return findings, "froze"
    if not same and changes.get("scope") and run.states_left > 0:
        run.states_left -= 1
        findings += await check_state(ctx, page, f"after {state}", changes["scope"], run.seen, check=CHECK)
    return findings, ("same" if same else "changed")


async def _emptied(ctx: CheckContext, page, entries: list[Entry]) -> bool:
    """Whether every field typed into is shown and empty again (a todo input after adding)."""
    sels = [e.sel for e in entries if e.how == "fill"]
    values = await ctx.within(page.evaluate(_VALUES, sels), "reading the fields")
    return bool(values) and all(v == "" for v in values)


async def _try(run: _Run, target: dict, word: str) -> list[Finding]:
    """Fill in and submit one form or lone input; a second entry when its fields emptied (a todo input)."""
    walk = run.walk
    await walk.restore()
    entries = entries_for(target, 0, word)
    if not any(e.how == "fill" for e in entries):
        return []
    by_click = _clicks_submit(target)
    seen: set[str] = set()
    state = describe(entries, target["submit"] if by_click else None)
    findings, outcome = await _enter(run, target, entries, by_click, state, seen)
    if outcome == "same" and target["kind"] == "input" and _adds(target.get("submit")):
        by_click = True  # Enter did nothing: the button next to the field ("Add")
        state = describe(entries, target["submit"])
        more, outcome = await _enter(run, target, entries, by_click, state, seen)
        findings += more
    if outcome != "changed" or run.budget.spent or not await _emptied(run.ctx, walk.page, entries):
        return findings
    second = entries_for(target, 1, word)
    if not any(e.how == "fill" for e in second):
        return findings
    state = _again(entries, second, target["submit"] if by_click else None)
    rules = {f.rule for f in findings}
    more, _ = await _enter(run, target, second, by_click, state, seen)
    return findings + [f for f in more if f.rule not in rules]  # one defect, told once


def _again(first: list[Entry], second: list[Entry], submit: dict | None) -> str:
    """The name of the state after a second entry: "typing 'Buy milk', then 'Walk the dog' into … after each"."""
    one, two = [e for e in first if e.how == "fill"], [e for e in second if e.how == "fill"]
    if len(one) == 1 and len(two) == 1:
        how = f"clicking {label(submit)}" if submit else "pressing Enter"
        return f"typing {_quote(one[0].value)}, then {_quote(two[0].value)} into {_quote(two[0].name)} " \
               f"and {how} after each"
    return describe(second, submit) + " a second time"


async def _try_guarded(run: _Run, target: dict, word: str) -> list[Finding]:
    try:
        return await _try(run, target, word)
    except PlaywrightError:
        run.walk.dirty = True  # a field went away or would not take the value: nothing learnt
        return []
    except CheckTimeout:
        await run.walk.fresh()  # the page stopped answering outside the entry itself: start again
        return []


async def check_forms(ctx: CheckContext) -> list[Finding]:
    run = _Run(ctx)
    origin = origin_of(ctx.base_url)
    findings: list[Finding] = []
    listed = {"targets": [], "total": 0, "word": ""}
    async with run.walk:
        listed = await ctx.within(run.walk.page.evaluate(_TARGETS, MAX_TARGETS), "listing forms and inputs")
        try:
            for target in listed["targets"]:
                reason = skip_reason(target, origin)
                if reason:
                    run.notes["skipped"].append(f"{_name(target)}: {reason}")
                    continue
                if run.budget.spent:
                    break
                findings += await _try_guarded(run, target, listed.get("word") or "")
        except (CheckTimeout, PageLoadError):
            pass  # not even a fresh page answers: report what was found so far
    _note(ctx, run, listed)
    return not_reported_on_load(ctx, findings)


def _note(ctx: CheckContext, run: _Run, listed: dict) -> None:
    ctx.info["forms_submitted"] = len(run.notes["submitted"])
    for key in ("skipped", "navigated"):
        if run.notes[key]:
            ctx.info[f"forms_{key}"] = run.notes[key]
    if listed.get("total", 0) > len(listed.get("targets") or []):
        ctx.info["forms_not_tried"] = listed["total"] - len(listed["targets"])
