"""The repair loop: generate, write, validate, feed findings back, keep the best iteration.

Plain steps (runshot.loop.steps) with their dependencies passed in: `ask` talks to a model, `validate` judges a folder.
Several first attempts are runshot.loop.candidates; acceptance checks written from the spec are runshot.derivation.derive.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from runshot import gitrepo
from runshot.derivation.derive import derive_checks
from runshot.errors import ModelError, RunshotError
from runshot.loop import steps
from runshot.loop.candidates import first_round
from runshot.report import REPORT_DIR, Iteration, Report, load_report, pick_best
from runshot.loop.state import CHECK_RESERVE, AskFn, LoopState, Progress, ProgressFn, Run, RunOptions, ValidateFn
from runshot.spec import Spec

__all__ = ["AskFn", "Progress", "ProgressFn", "RunOptions", "ValidateFn", "run_new", "repair_loop", "INTERRUPTED"]

INTERRUPTED = "interrupted before it was judged"


def run_new(
    spec: Spec,
    out: Path,
    ask: AskFn,
    validate: ValidateFn,
    model_info: dict,
    options: RunOptions | None = None,
    progress: Progress | None = None,
    resume: bool = False,
) -> Report:
    """Generate a project for `spec` into the empty folder `out` and repair it until it passes.

    With `resume`, continue a run that was interrupted: the iterations already committed in `out` count
    towards `options.max_iterations` and the next repair builds on the best of them.
    """
    run = _open(spec, out, ask, validate, model_info, options or RunOptions(), progress or Progress(), resume)
    first = len(run.report.iterations) + 1
    try:
        if not resume:
            run = derive_checks(run)
        run = repair_loop(run, first)
    except KeyboardInterrupt:
        last = run.report.iterations[-1] if run.report.iterations else None
        if last is not None and last.commit is None and not last.note:
            last.note = INTERRUPTED
        run.report.stopped_because = "interrupted; continue with: runshot new --resume OUT"
        raise
    finally:
        _finish(run)
    return run.report


def repair_loop(run: Run, first: int) -> Run:
    """Iterations `first`.. until one passes, a stop rule fires or --max-iterations is reached; the run at the end."""
    for number in range(first, run.options.max_iterations + 1):
        reason = _out_of_time(run, number, first)
        if reason is None:
            run, it = _iterate(run, number)
            if it is None:  # the endpoint failed after a project was judged: stop_reason is set
                break
            reason = steps.stop_reason(run, it)
        if reason is not None:
            run.report.stopped_because = reason
            break
        run = _advance(run, it)
    else:
        run.report.stopped_because = run.report.stopped_because or (
            f"reached --max-iterations {run.options.max_iterations}")
    return run


def _iterate(run: Run, number: int) -> tuple[Run, Iteration | None]:
    """One iteration: ask for an answer, parse and vet it, write, validate and commit it (or record why not)."""
    state = run.state
    if number == 1 and run.options.candidates > 1 and not state.base_files:
        return first_round(run)
    run.progress.iteration_started(number, repair=bool(state.base_files) or number > 1)
    messages = steps.prompt(run, number)
    it = steps.record(run.report, Iteration(number=number, kind=state.next_kind, temperature=state.temperature))
    try:
        completion = steps.ask_model(run, it, messages)
    except RunshotError as exc:
        _endpoint_failed(run, it, exc)
        return run, None
    it = steps.record(run.report, steps.answered(it, completion))
    answer = steps.parse_and_vet(completion, state.base_files, run.options.limits, run.options.edits)
    if answer.usable:
        files = steps.write(run, answer)
        it = steps.record(run.report, dataclasses.replace(it, files_changed=answer.changed))
        judgement = steps.validate(run, number, answer.findings)
        run.report.info.update(judgement.info)
        it = steps.record(run.report, steps.commit(run, judgement.of(it)))
        run = dataclasses.replace(run, state=steps.remember(state, number, files))
    else:
        it = steps.record(run.report, steps.unusable(it, answer))
    run.progress.iteration_done(it)
    best = pick_best(run.report.iterations)
    run.report.best_iteration = best.number if best else None
    steps.save(run)
    return run, it


def _advance(run: Run, it: Iteration) -> Run:
    """The run with the state the next iteration starts from (derived checks that keep failing noted)."""
    failures, run.report.doubtful_checks = steps.count_derived_failures(run, it)
    state = steps.advance(run, it)
    return dataclasses.replace(run, state=dataclasses.replace(state, derived_failures=failures))


def _endpoint_failed(run: Run, it: Iteration, exc: RunshotError) -> None:
    """Forget the unanswered iteration; stop the run if a project was judged already, else raise `exc`. An answer
    that did not begin before the run's time budget ran out is the budget's doing, not the endpoint's."""
    report = run.report
    report.iterations.remove(it)
    if not isinstance(exc, ModelError) or pick_best(report.iterations) is None:
        raise exc
    left = run.time_left()
    if left is not None and left <= CHECK_RESERVE:
        report.stopped_because = f"run time limit of {run.options.run_timeout:g} s reached during an answer"
    else:
        report.stopped_because = f"the model endpoint failed: {exc.message}"


def _out_of_time(run: Run, number: int, first: int) -> str | None:
    """Why iteration `number` does not start: the time budget is spent, or what is left of it is less than three
    quarters of what the last iteration took (a repair's edits are usually shorter than the answer before)."""
    left = run.time_left()
    if left is None or number <= first:
        return None
    limit = run.options.run_timeout
    if left <= 0:
        return f"run time limit of {limit:g} s reached"
    last = run.report.iterations[-1] if run.report.iterations else None
    need = 0.75 * (last.model_seconds + last.validate_seconds) if last is not None else 0.0
    if need > left:
        return (f"run time limit of {limit:g} s: {left:.0f} s left, less than another iteration is likely to "
                f"take ({need:.0f} s)")
    return None


def _open(spec, out, ask, validate, model_info, options, progress, resume) -> Run:
    """A new run in the empty folder `out`, or (resume) the interrupted one there, with its state restored."""
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("transcript", "screenshots"):
        (out / REPORT_DIR / sub).mkdir(parents=True, exist_ok=True)
    if not resume:
        report = Report(spec=spec.to_dict(), model=dict(model_info))
        return Run(spec, out, ask, validate, options, progress, gitrepo.init_repo(out), report)
    repo = gitrepo.open_repo(out)
    report = load_report(out / REPORT_DIR / "report.json")
    report.iterations = [it for it in report.iterations if it.note != INTERRUPTED]
    report.stopped_because = ""
    committed = [it for it in report.iterations if it.commit]
    if committed:
        gitrepo.reset_iterations_branch(repo, committed[-1].commit)
    best = pick_best(report.iterations)
    run = Run(spec, out, ask, validate, options, progress, repo, report, _resumed_state(repo, report, best),
              seconds_before=report.total_seconds,
              derived=frozenset(c.get("name", "") for c in report.derived_checks))
    progress.note(f"resuming after iteration {len(report.iterations)}" + (f" (best: {best.number})" if best else ""))
    if len(report.iterations) >= options.max_iterations:
        report.stopped_because = f"reached --max-iterations {options.max_iterations}"
    return run


def _resumed_state(repo: gitrepo.Repo, report: Report, best: Iteration | None) -> LoopState:
    """Where an interrupted run goes on from: a repair of its best iteration."""
    state = LoopState()
    if best is not None:
        files = gitrepo.files_at(repo, best.commit)
        state = LoopState(base_files=files, base_sha=best.commit, base_findings=list(best.findings),
                          files_by_number={best.number: files})
    if report.iterations:
        state = dataclasses.replace(state, previous_errors=steps.error_set(report.iterations[-1]), next_kind="repair")
    return state


def _finish(run: Run) -> None:
    """main at the best iteration, a clean work tree, the report written."""
    best = pick_best(run.report.iterations)
    run.report.best_iteration = best.number if best else None
    if best is not None:
        gitrepo.finish(run.repo, best.commit)
    steps.save(run)
