"""The validation plan: which checks read the one loaded page in turn, which run beside each other.

Every check declares what it needs (its `Check`'s `needs`, see runshot.rules and the check modules):

- "page": it reads the loaded entry page and does not change it. These run one after another, in their
  given order, on the shared page (a later one may use what an earlier one left in `ctx.info`).
- "isolated" / "viewport": it opens its own pages in its own browser contexts. These run concurrently,
  at most `jobs` at a time, in the same browser; they start in their given order, the "viewport" ones last
  (`start_order`).

When every page check declared itself a reader, the isolated checks start at once, beside the page checks;
when one did not say (a plugin without `NEEDS`), it may change the page, so the isolated checks (some of
which read the page before opening their own) wait until the page checks are done.

Each check runs under its own deadline: one that overruns becomes a finding and the others go on. If the
shared page itself stopped answering after an overrun, the plan stops: checks not started are not run and
running ones are cancelled. Outcomes are keyed by check name; callers merge them in their own order, so
what a validation reports never depends on which check finished first.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from runshot.validators.browser.context import CheckContext, CheckTimeout, PageSession, Timeouts, responds, within
from runshot.rules import NEEDS_VALUES, PAGE, VIEWPORT, Rule, Rules
from runshot.values import ERROR, WARNING, Finding

KINDS = NEEDS_VALUES  # page, isolated, viewport

CheckFn = Callable[[CheckContext], Awaitable[list[Finding]]]

# Reported under any check that fails as a whole; the id is the check's name then "/timeout" or "/broken".
RULES = Rules(
    Rule("check/timeout", ERROR, "The page stopped responding while a check ran: a script blocks the page."),
    Rule("check/broken", WARNING, "A check could not finish on this page; the other checks still ran."),
)


@dataclass(frozen=True)
class Step:
    name: str
    fn: CheckFn
    needs: str = PAGE  # one of KINDS
    declared: bool = False  # False: `needs` is a guess (the check did not say)


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    hung: bool = False  # ran out of time
    seconds: float = 0.0


@dataclass
class PlanResult:
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # the checks that ran (or overran)
    skipped: list[str] = field(default_factory=list)  # not run: the page had crashed
    stopped: str | None = None  # why the plan stopped early


def check_jobs_for(check_jobs: int | None) -> int:
    """How many isolated checks run at once: `check_jobs`, or (None) sized to the machine's cores: one more
    than there are, at least 3. The checks spend much of their time waiting on the browser (a round trip per
    probe, frames to settle), so one more than the cores keeps them busy: on 2 cores the ten apps of
    `benchmarks/checks.py --quick`, kept warm, took 9-13% less time with 3 than with 2, and no less with 4."""
    if check_jobs is None:
        return max(3, (os.cpu_count() or 1) + 1)
    return max(1, int(check_jobs))


def start_order(steps: list[Step]) -> list[Step]:
    """The order the isolated checks start in: those that open ordinary pages (and mostly walk them, the longer
    ones) before those that need a viewport of their own (one look at the page at another size)."""
    return sorted(steps, key=lambda s: s.needs == VIEWPORT)


async def run_plan(steps: list[Step], ctx: CheckContext, session: PageSession, timeouts: Timeouts,
                   jobs: int) -> PlanResult:
    """Run `steps` against `ctx` (whose shared page is `session`); see the module docstring."""
    plan = PlanResult()
    if jobs <= 1:
        for step in steps:
            if not await _step(step, ctx, session, timeouts, plan):
                break
        return plan

    readers = [s for s in steps if s.needs == PAGE]
    others = start_order([s for s in steps if s.needs != PAGE])
    gate = asyncio.Semaphore(jobs)
    tasks: list[asyncio.Task] = []

    def stop_all() -> None:
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()

    async def pooled(step: Step) -> None:
        async with gate:
            if plan.stopped is None and not await _step(step, ctx, session, timeouts, plan):
                stop_all()

    def start_pool() -> None:
        tasks.extend(asyncio.ensure_future(pooled(s)) for s in others)

    overlap = all(s.declared for s in readers)
    if overlap:
        start_pool()
    try:
        for step in readers:
            if not await _step(step, ctx, session, timeouts, plan):
                stop_all()
                break
        else:
            if not overlap:
                start_pool()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in tasks:  # cancelled from outside (the whole validation ran out of time): take them along
            task.cancel()
    return plan


async def _step(step: Step, ctx: CheckContext, session: PageSession, timeouts: Timeouts, plan: PlanResult) -> bool:
    """Run one check; False when the plan must stop (the shared page no longer answers)."""
    if session.events.crashed:
        plan.skipped.append(step.name)
        return True
    started = time.monotonic()
    outcome = Outcome()
    plan.outcomes[step.name] = outcome
    try:
        outcome.findings, outcome.hung = await run_check(step.name, step.fn, ctx, timeouts)
    except asyncio.CancelledError:
        del plan.outcomes[step.name]  # stopped because of another check: it did not run
        raise
    finally:
        outcome.seconds = round(time.monotonic() - started, 3)
    if outcome.hung and plan.stopped is None and not await responds(session.page, min(timeouts.action, 2.0)):
        plan.stopped = f"the page stopped responding during the {step.name} check"
        return False
    return plan.stopped is None


async def run_check(name: str, fn: CheckFn, ctx: CheckContext, timeouts: Timeouts) -> tuple[list[Finding], bool]:
    """One check under its deadline: (its findings, whether it ran out of time). Failures become findings."""
    try:
        found = await within(fn(ctx), timeouts.check, f"the {name} check")
    except CheckTimeout as exc:
        return [
            RULES["check/timeout"].of_check(name).finding(
                f"the page stopped responding during the {name} check ({exc})",
                hint="look for endless loops, or work that blocks the page for seconds")
        ], True
    except Exception as exc:  # noqa: BLE001 (a broken check must not end the run)
        return [
            RULES["check/broken"].of_check(name).finding(
                f"the {name} check could not finish: {type(exc).__name__}: {str(exc)[:300]}",
                hint="this looks like a bug in runshot or an unusual page; the other checks still ran")
        ], False
    return list(found or []), False

