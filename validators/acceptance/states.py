"""The states acceptance steps reach, checked like the loaded page: axe-core and the semantic rules.

The a11y and semantics checks judge the entry page as it loaded; the steps of an acceptance check take the app
further (a task added, a form sent, a dialog opened). Before a step that may change the page (STATE_ACTIONS) a
`Walk` over the check's own page takes the page's signature and starts watching for changes. The state is
judged once it has been reached and its `expect` steps have run, just before the next step that is not an
expectation (or after the last step), so the expectations see the page exactly as before. Not before a `wait`:
a step after a wait reads what time did, and an axe run in between would change that. Only steps that passed
count, and only when the signature changed (a state the same spec check already judged, by its signature, is
not judged again; one that several spec checks reach is reported once, by the first in the spec's order).

What changed (added, revealed or re-texted elements) scopes the axe run; a new document, or a change of
attributes only, is checked whole, without the rules the a11y check already reported as warnings for the loaded
page. Findings belong to the a11y check (they are accessibility problems), keep axe's rule ids and the policy's
severities, and name the state: "After step 2 of 'adds a task' (click role=button name="Add"): axe rule …".
Findings already reported for the loaded page or an earlier state are not repeated (`states.seen_keys`). At most
MAX_STATES states per acceptance check, shared out among its spec checks in advance (`state_caps`: they may run
side by side), and none once half its deadline is spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError

from runshot.spec import AcceptanceCheck, Step
from runshot.validators.acceptance.targets import parse_target
from runshot.validators.browser.context import CheckContext, CheckTimeout, PageSession
from runshot.validators.browser.domtools import Budget, budget_for
from runshot.validators.browser.states import Walk, check_state, seen_keys
from runshot.values import WARNING, Finding
from runshot.vocab import ACTIONS

STATE_ACTIONS = frozenset({"click", "fill", "press", "check", "select", "goto"})  # steps that may change the page
MAX_STATES = 3  # states judged per acceptance check, all of the spec's checks together (see state_caps)
TIME_SHARE = 0.5  # no new state is judged once this share of the check's deadline is spent
STATE_CHECK = "a11y"  # a contrast failure in a state is an accessibility problem: the a11y column counts it


def _load_warnings(ctx: CheckContext) -> set[str]:
    """The axe rules the a11y check reported as warnings for the loaded page (per rule, not per element)."""
    return {rule for rule, severity in (ctx.info.get("axe_rules") or {}).items() if severity == WARNING}


def _load_failures(ctx: CheckContext) -> set[tuple[str, str]]:
    return {(rule, t) for rule, targets in (ctx.info.get("axe_failures") or {}).items() for t in targets}


def describe(step: Step) -> str:
    """A step in a few words, as the step language phrases it: 'click role=button name="Add"'."""
    action = ACTIONS.get(step.action)
    target = parse_target(step.args, for_expect=False)
    phrase = "" if action is None else (action.phrase if target is not None else action.phrase_no_target)
    try:
        text = phrase.format(target=target.describe() if target else "", **{str(k): v for k, v in step.args.items()})
    except (KeyError, IndexError, ValueError):
        text = ""
    return text or step.describe()


def state_caps(count: int, total: int = MAX_STATES) -> list[int]:
    """How many states each of `count` spec checks may have judged: `total` shared out, the first checks first
    ([3], [2, 1], [1, 1, 1], [1, 1, 1, 0, ...]). Fixed before any check runs, so that which states are judged
    does not depend on which of the checks, running side by side, gets somewhere first."""
    if count <= 0:
        return []
    if count >= total:
        return [1] * total + [0] * (count - total)
    return [total // count + (1 if i < total % count else 0) for i in range(count)]


def merged_state_findings(states: list["StateChecks"]) -> list[Finding]:
    """The findings of the spec checks' states in the spec's order; a problem (rule, element) that several
    states show is reported once, by the first check that reached it."""
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for state in states:
        for f in state.findings():
            if (f.rule, f.where) not in seen:
                seen.add((f.rule, f.where))
                out.append(f)
    return out


@dataclass
class StateChecks:
    """The states judged during one spec check of the acceptance check (its share: `left`, see state_caps)."""

    ctx: CheckContext
    left: int = MAX_STATES
    checked: int = 0
    budget: Budget | None = None
    signatures: set[str] = field(default_factory=set)
    found: list[tuple[Finding, bool]] = field(default_factory=list)  # (finding, from a whole-document run)

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = budget_for(self.ctx, TIME_SHARE)

    def open(self) -> bool:
        return self.left > 0 and not self.budget.spent

    def watcher(self, check: AcceptanceCheck, session: PageSession) -> "StateWatcher":
        return StateWatcher(self, check, session)

    def findings(self) -> list[Finding]:
        """What the states showed, less what the a11y check reported for the loaded page meanwhile."""
        failures, warned = _load_failures(self.ctx), _load_warnings(self.ctx)
        return [f for f, whole in self.found if (f.rule, f.where) not in failures and not (whole and f.rule in warned)]


class StateWatcher:
    """Watches one spec check's steps on its page (a StepObserver for acceptance_steps.run_check)."""

    def __init__(self, states: StateChecks, check: AcceptanceCheck, session: PageSession):
        self.states = states
        self.check = check
        self.walk = Walk(states.ctx)
        self.walk.session = session  # a walk over the check's own page: it neither opens nor reloads it
        self.watching = False
        self.pending: tuple[int, Step] | None = None  # the step whose state is still to be judged
        self.broken = False

    async def before(self, number: int, step: Step) -> None:
        if step.action == "expect" or self.broken:
            return
        if self.pending is not None:
            reached, self.pending = self.pending, None
            if step.action != "wait":
                await self._guarded(self._judge(*reached))
        self.watching = False
        if step.action in STATE_ACTIONS and self.states.open():
            self.watching = await self._guarded(self._watch())

    async def passed(self, number: int, step: Step) -> None:
        if self.watching:
            self.pending, self.watching = (number, step), False

    async def finished(self) -> None:
        if self.pending is not None and not self.broken:
            reached, self.pending = self.pending, None
            await self._guarded(self._judge(*reached))

    async def _guarded(self, work) -> bool:
        try:
            await work
            return True
        except (CheckTimeout, PlaywrightError):  # the page went away or stopped answering: the steps will tell
            self.broken = True
            return False

    async def _watch(self) -> None:
        await self.walk.rebase()
        await self.walk.watch()

    async def _judge(self, number: int, step: Step) -> None:
        states, ctx, walk = self.states, self.states.ctx, self.walk
        if not states.open() or await walk.settled():
            return
        signature = await walk.signature()
        if signature in states.signatures:
            return
        states.signatures.add(signature)
        await ctx.settle(walk.page)
        changed = await walk.changes()
        include = None if changed is None else (changed.get("scope") or []) + (changed.get("text") or [])
        whole = not include
        states.left -= 1
        states.checked += 1
        label = f"after step {number} of '{self.check.name}' ({describe(step)})"
        found = await check_state(ctx, walk.page, label, include or None, seen_keys(ctx), check=STATE_CHECK,
                                  skip_rules=tuple(sorted(_load_warnings(ctx))) if whole else ())
        states.found += [(f, whole) for f in found]
