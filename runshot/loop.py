"""The repair loop: generate, write, validate, feed findings back, keep the best iteration.

Plain steps with their dependencies passed in: `ask` talks to a model, `validate` judges a folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from runshot import gitrepo
from runshot.errors import ModelError, RunshotError
from runshot.generator.client import Completion
from runshot.generator.parse import parse_files
from runshot.generator.prompts import generation_messages, repair_messages
from runshot.generator.safepaths import vet_deleted, vet_files, write_files
from runshot.report import REPORT_DIR, Iteration, Report, load_report, pick_best, write_json
from runshot.spec import Spec
from runshot.values import ERROR, WARNING, Files, Finding, Limits, dedupe, errors

INTERRUPTED = "interrupted before it was judged"
ProgressFn = Callable[[int, float], None]
AskFn = Callable[[list[dict], ProgressFn | None], Completion]


class ValidateFn(Protocol):
    def __call__(self, project_dir: Path, spec: Spec, screenshot_path: Path | None) -> object: ...


class Progress:
    """Receives what the loop is doing; the CLI shows it, tests may record it. Defaults do nothing."""

    def iteration_started(self, number: int, repair: bool) -> None: ...

    def model_progress(self, tokens: int, seconds: float) -> None: ...

    def model_done(self, completion: Completion) -> None: ...

    def validating(self, number: int) -> None: ...

    def iteration_done(self, iteration: Iteration) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class RunOptions:
    max_iterations: int = 4
    limits: Limits = field(default_factory=Limits)
    token_budget: int | None = None  # stop repairing once this many tokens were spent
    run_timeout: float | None = None  # seconds for the whole run: no new iteration starts after that


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
    options = options or RunOptions()
    progress = progress or Progress()
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    state_dir = out / REPORT_DIR
    (state_dir / "transcript").mkdir(parents=True, exist_ok=True)
    (state_dir / "screenshots").mkdir(parents=True, exist_ok=True)

    # The state the next prompt builds on: files and findings of the best iteration so far.
    base_files: Files = {}
    base_sha: str | None = None
    base_findings: list[Finding] = []
    files_by_number: dict[int, Files] = {}
    previous_errors: frozenset | None = None
    first = 1
    if resume:
        repo = gitrepo.open_repo(out)
        report = load_report(state_dir / "report.json")
        report.iterations = [it for it in report.iterations if it.note != INTERRUPTED]
        report.stopped_because = ""
        committed = [it for it in report.iterations if it.commit]
        if committed:
            gitrepo.reset_iterations_branch(repo, committed[-1].commit)
        best = pick_best(report.iterations)
        if best is not None:
            base_files = gitrepo.files_at(repo, best.commit)
            files_by_number[best.number] = base_files
            base_sha = best.commit
            base_findings = list(best.findings)
        if report.iterations:
            previous_errors = _error_set(report.iterations[-1])
        first = len(report.iterations) + 1
        progress.note(f"resuming after iteration {first - 1}" + (f" (best: {best.number})" if best else ""))
    else:
        repo = gitrepo.init_repo(out)
        report = Report(spec=spec.to_dict(), model=dict(model_info))
    started_seconds = report.total_seconds

    try:
        if first > options.max_iterations:
            report.stopped_because = f"reached --max-iterations {options.max_iterations}"
        for number in range(first, options.max_iterations + 1):
            if options.run_timeout is not None and number > first and time.monotonic() - started > options.run_timeout:
                report.stopped_because = f"run time limit of {options.run_timeout:g} s reached"
                break
            repair = bool(base_files) or number > 1
            progress.iteration_started(number, repair)
            if base_files or base_findings:
                messages = repair_messages(spec, base_files, base_findings, number)
            else:
                messages = generation_messages(spec)
            it = Iteration(number=number)
            report.iterations.append(it)
            try:
                completion = ask(messages, progress.model_progress)
            except RunshotError as exc:
                report.iterations.pop()
                if not isinstance(exc, ModelError) or pick_best(report.iterations) is None:
                    raise
                report.stopped_because = f"the model endpoint failed: {exc.message}"
                break
            progress.model_done(completion)
            it.usage = completion.usage
            it.model_seconds = completion.seconds
            _write_transcript(state_dir, number, messages, completion)

            parsed = parse_files(completion.text)
            findings = list(parsed.findings)
            if completion.finish_reason == "length":
                findings.append(
                    Finding(
                        "format",
                        ERROR,
                        "the answer was cut off at the token limit even after asking to continue; "
                        "files that were not closed were dropped",
                        hint="answer with fewer, shorter files, or only the files that change",
                    )
                )
            accepted, path_findings = vet_files(parsed.files, options.limits, existing=base_files.keys())
            findings.extend(path_findings)
            deleted, delete_findings = vet_deleted(getattr(parsed, "deleted", []), existing=base_files.keys())
            findings.extend(delete_findings)

            if not accepted and not deleted:
                it.findings = dedupe(findings) or [
                    Finding("format", ERROR, "the answer held no files", hint="answer with whole files only")
                ]
                it.note = "no usable files: not committed"
                progress.iteration_done(it)
                _save(report, state_dir, started, started_seconds)
                # Repair from the best files so far, told exactly what was wrong with this answer.
                base_findings = _merge_for_prompt(base_findings, it.findings)
                stop = _repeats(previous_errors, it)
                previous_errors = _error_set(it)
                if stop:
                    report.stopped_because = f"iteration {number} repeated the previous iteration's errors exactly"
                    break
                continue

            files = {p: c for p, c in base_files.items() if p not in deleted}
            files.update(accepted)
            if base_sha is not None:
                gitrepo.checkout_commit_files(repo, base_sha)
            write_files(out, accepted, deleted)
            it.files_changed = sorted(set(accepted) | set(deleted))

            progress.validating(number)
            shot = state_dir / "screenshots" / f"iteration-{number}.png"
            result = validate(out, spec, shot)
            it.validate_seconds = float(getattr(result, "seconds", 0.0))
            report.info.update(getattr(result, "info", {}) or {})
            it.findings = dedupe(findings + list(result.findings))
            it.validated = True
            it.commit = gitrepo.commit_all(repo, _commit_message(spec, it))
            files_by_number[number] = files
            progress.iteration_done(it)

            best = pick_best(report.iterations)
            report.best_iteration = best.number if best else None
            _save(report, state_dir, started, started_seconds)

            if it.error_count == 0:
                report.stopped_because = f"iteration {number} passed every error-level check"
                break
            if _repeats(previous_errors, it):
                report.stopped_because = (
                    f"iteration {number} repeated the previous iteration's errors exactly; "
                    "another repair would likely repeat them again"
                )
                break
            previous_errors = _error_set(it)
            if options.token_budget is not None and report.usage.total >= options.token_budget:
                report.stopped_because = f"token budget of {options.token_budget} spent"
                break

            # Build on the best iteration so far; tell the model when its last change was discarded.
            assert best is not None
            base_files = files_by_number[best.number]
            base_sha = best.commit
            base_findings = list(best.findings)
            if best.number != number:
                base_findings.insert(
                    0,
                    Finding(
                        "repair",
                        WARNING,
                        f"the changes of iteration {number} were discarded: they left {it.error_count} error(s), "
                        f"more than iteration {best.number} ({best.error_count}); these files are iteration "
                        f"{best.number}'s",
                        hint="fix the errors below with smaller, targeted changes",
                    ),
                )
        else:
            if not report.stopped_because:
                report.stopped_because = f"reached --max-iterations {options.max_iterations}"
    except KeyboardInterrupt:
        if report.iterations and report.iterations[-1].commit is None and not report.iterations[-1].note:
            report.iterations[-1].note = INTERRUPTED
        report.stopped_because = "interrupted; continue with: runshot new --resume OUT"
        raise
    finally:
        best = pick_best(report.iterations)
        report.best_iteration = best.number if best else None
        if best is not None:
            gitrepo.finish(repo, best.commit)
        _save(report, state_dir, started, started_seconds)
    return report


def _error_set(it: Iteration) -> frozenset:
    return frozenset(f.fingerprint() for f in errors(it.findings))


def _repeats(previous: frozenset | None, it: Iteration) -> bool:
    current = _error_set(it)
    return previous is not None and bool(current) and current == previous


def _merge_for_prompt(base: list[Finding], new: list[Finding]) -> list[Finding]:
    return dedupe(list(new) + [f for f in base if f.check not in ("format", "path")])


def _commit_message(spec: Spec, it: Iteration) -> str:
    errs = errors(it.findings)
    warns = len(it.findings) - len(errs)
    verdict = "passes" if not errs else f"{len(errs)} error(s)"
    head = f"runshot iteration {it.number}: {verdict}, {warns} warning(s)"
    body = [f"Spec: {spec.title}", f"Files changed: {', '.join(it.files_changed) or '(none)'}", ""]
    for f in it.findings[:30]:
        where = f" ({f.where})" if f.where else ""
        body.append(f"- {f.severity} [{f.check}] {f.message[:200]}{where}")
    if len(it.findings) > 30:
        body.append(f"- … {len(it.findings) - 30} more")
    return head + "\n\n" + "\n".join(body) + "\n"


def _write_transcript(state_dir: Path, number: int, messages: list[dict], completion: Completion) -> None:
    data = {
        "iteration": number,
        "messages": messages,
        "response": completion.text,
        "finish_reason": completion.finish_reason,
        "usage": completion.usage.to_dict(),
        "attempts": completion.attempts,
        "continuations": completion.continuations,
        "seconds": round(completion.seconds, 3),
    }
    write_json(state_dir / "transcript" / f"iteration-{number}.json", data)


def _save(report: Report, state_dir: Path, started: float, before: float = 0.0) -> None:
    report.total_seconds = before + time.monotonic() - started
    write_json(state_dir / "report.json", report.to_dict())
