"""The spec's acceptance checks: steps run as written, each check on a freshly loaded page (one isolated page,
reloaded with the origin's storage cleared between checks; a page that will not reload is replaced).

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

import time

from runshot.validators.acceptance_pytest import pytest_files, run_pytest_files
from runshot.validators.acceptance_states import StateChecks
from runshot.validators.acceptance_steps import MAX_WAIT_MS, aria_evidence, run_check, run_step
from runshot.validators.acceptance_targets import CHECK, EVIDENCE_LIMIT, StepFailed, Target, parse_target
from runshot.validators.browser import PageLoadError
from runshot.validators.context import CheckContext, CheckTimeout
from runshot.validators.runtime import findings_from_events
from runshot.validators.states import Walk
from runshot.values import ERROR, Finding

NEEDS = "isolated"  # one page of its own, reloaded with storage cleared before each acceptance check
RULES = {
    "acceptance/step-failed": ERROR,  # the spec says what the app must do: an unmet step is broken behaviour
    "acceptance/load-failed": ERROR,
    "acceptance/pytest-failed": ERROR,
    "acceptance/pytest-error": ERROR,
    "acceptance/pytest-timeout": ERROR,
}

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


async def check_acceptance(ctx: CheckContext) -> list[Finding]:
    """Every acceptance check of the spec on a fresh page, then the spec's pytest acceptance files.

    The states the steps reach are checked for accessibility too (see acceptance_states); those findings come last.
    """
    started = time.monotonic()
    findings: list[Finding] = []
    states = StateChecks(ctx)
    if ctx.spec.checks:
        check = ctx.spec.checks[0]
        try:
            async with Walk(ctx) as walk:
                for number, check in enumerate(ctx.spec.checks):
                    session, mark = walk.session, walk.events.mark()
                    if number:  # a fresh start for every check: storage cleared, the page reloaded
                        walk.dirty = True
                        await walk.restore()
                        if walk.session is not session:  # the old page would not reload: a new one was opened
                            mark = {}
                    watcher = states.watcher(check, walk.session)
                    failure = await run_check(check, walk.session, ctx.base_url, ctx.timeouts, watcher)
                    if failure is not None:
                        findings.append(failure)
                    findings.extend(findings_from_events(walk.events.since(mark), ctx.base_url, ctx.project_dir))
        except (CheckTimeout, PageLoadError) as exc:
            findings.append(
                Finding(CHECK, ERROR, f"{check.name}: the page could not be loaded for this check ({exc})",
                        rule="acceptance/load-failed")
            )
    files = pytest_files(ctx.spec)
    if files:
        budget = ctx.timeouts.check - (time.monotonic() - started) - 1
        findings.extend(
            await run_pytest_files(
                files, ctx.base_url, max(budget, 5.0), ctx.timeouts, chromium=ctx.info.get("chromium"), info=ctx.info
            )
        )
    if ctx.spec.checks:
        ctx.info["acceptance_states"] = states.checked
    return findings + states.findings()
