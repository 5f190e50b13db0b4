"""The spec's acceptance checks: steps run as written, each check on a freshly loaded page (up to two isolated
pages side by side, each reloaded with the origin's storage cleared between the checks it runs; a page that will
not reload is replaced).

The step language (actions, targets, expectations) is defined once in runshot.vocab. The work is split:

- acceptance_targets: a step's target as a locator, StepFailed, waiting for a match;
- acceptance_steps: running one check's steps and the finding a failing step becomes;
- acceptance_expect: the `expect` step's expectations;
- acceptance_states: axe-core and the semantic rules on the states the steps reach;
- acceptance_pytest: acceptance tests as pytest files beside the spec (pytest-playwright's `page` fixture),
  run in a subprocess against the served app.

This module is the check itself, `check_acceptance`, and keeps every public name of those modules importable
from here.
"""

from __future__ import annotations

import asyncio
import time

from runshot.rules import ACCEPTANCE, ISOLATED, Check, Rule, Rules
from runshot.validators.acceptance.pytests import RULES as PYTEST_RULES
from runshot.validators.acceptance.pytests import pytest_files, run_pytest_files
from runshot.validators.acceptance.states import TIME_SHARE, StateChecks, merged_state_findings, state_caps
from runshot.validators.acceptance.steps import RULES as STEP_RULES
from runshot.validators.acceptance.steps import MAX_WAIT_MS, aria_evidence, run_check, run_step
from runshot.validators.acceptance.targets import CHECK, EVIDENCE_LIMIT, StepFailed, Target, parse_target
from runshot.validators.browser.chromium import PageLoadError
from runshot.validators.browser.context import CheckContext, CheckTimeout
from runshot.validators.browser.domtools import budget_for
from runshot.validators.checks.runtime import findings_from_events
from runshot.validators.browser.states import Walk
from runshot.values import ERROR, Finding

RULES = Rules(
    Rule("acceptance/load-failed", ERROR,
         "The page could not be loaded for an acceptance check, so the spec's behaviour is unmet."),
) + STEP_RULES + PYTEST_RULES
# pages of its own (up to LANES), reloaded with storage cleared before each acceptance check
DECLARED = Check(CHECK, "check_acceptance", needs=ISOLATED, rules=RULES, rank=ACCEPTANCE)

__all__ = [
    "CHECK",
    "EVIDENCE_LIMIT",
    "MAX_WAIT_MS",
    "StepFailed",
    "Target",
    "aria_evidence",
    "check_acceptance",
    "parse_target",
    "pytest_files",
    "run_check",
    "run_pytest_files",
    "run_step",
]


LANES = 2  # spec checks run side by side at most, each on a page of its own


async def check_acceptance(ctx: CheckContext) -> list[Finding]:
    """Every acceptance check of the spec on a fresh page, then the spec's pytest acceptance files.

    The spec's checks run side by side on up to LANES pages (`ctx.jobs` allowing), each page reloaded with its
    storage cleared before the next check it takes. What they find is merged in the spec's order and does not
    depend on how many ran at once: each check has its own share of the states judged (`state_caps`), and a
    page that cannot be loaded ends the checks at the first one that could not run, as one after another would.
    The states the steps reach are checked for accessibility too (see acceptance_states); those findings come last.
    """
    started = time.monotonic()
    findings: list[Finding] = []
    checks = ctx.spec.checks
    states: list[StateChecks] = []
    if checks:
        budget = budget_for(ctx, TIME_SHARE)
        states = [StateChecks(ctx, left=cap, budget=budget) for cap in state_caps(len(checks))]
        outcomes: list[list[Finding]] = [[] for _ in checks]
        failed: dict[int, Exception] = {}
        queue = list(range(len(checks)))

        async def lane() -> None:
            walk, number = Walk(ctx), None
            try:
                while queue and not failed:
                    number = queue.pop(0)
                    if walk.session is None:
                        await walk.__aenter__()
                        mark = walk.events.mark()
                    else:  # a fresh start for every check: storage cleared, the page reloaded
                        session, mark = walk.session, walk.events.mark()
                        walk.dirty = True
                        await walk.restore()
                        if walk.session is not session:  # the old page would not reload: a new one was opened
                            mark = {}
                    check = checks[number]
                    watcher = states[number].watcher(check, walk.session)
                    failure = await run_check(check, walk.session, ctx.base_url, ctx.timeouts, watcher)
                    outcomes[number] = ([failure] if failure is not None else []) + findings_from_events(
                        walk.events.since(mark), ctx.base_url, ctx.project_dir)
            except (CheckTimeout, PageLoadError) as exc:
                failed[number] = exc
            finally:
                await walk.__aexit__(None, None, None)

        lanes = max(1, min(LANES, ctx.jobs, len(checks)))
        errors = [e for e in await asyncio.gather(*(lane() for _ in range(lanes)), return_exceptions=True) if e]
        if errors:
            raise errors[0]
        end = min(failed) if failed else len(checks)
        for number in range(end):
            findings += outcomes[number]
        if failed:
            findings.append(RULES["acceptance/load-failed"].finding(
                f"{checks[end].name}: the page could not be loaded for this check "
                                  f"({failed[end]})"))
        states = states[:end + 1]
    files = pytest_files(ctx.spec)
    if files:
        budget_left = ctx.timeouts.check - (time.monotonic() - started) - 1
        findings.extend(
            await run_pytest_files(
                files, ctx.base_url, max(budget_left, 5.0), ctx.timeouts, chromium=ctx.info.get("chromium"),
                info=ctx.info,
            )
        )
    if checks:
        ctx.info["acceptance_states"] = sum(s.checked for s in states)
    return findings + merged_state_findings(states)
