"""The named steps of one iteration: restore, ask, parse and vet, write, validate, commit, decide whether to stop."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

from runshot import gitrepo
from runshot.generator.client import Completion
from runshot.generator.edits import apply_edits, parse_answer
from runshot.generator.feedback import for_prompt
from runshot.generator.formatfindings import RULES, broken_off
from runshot.generator.prompts import generation_messages, repair_messages
from runshot.generator.safepaths import vet_deleted, vet_files, write_files
from runshot.report import Iteration, Report, pick_best, write_json
from runshot.gitrepo import Repo
from runshot.loop.state import LoopState, Run, call_ask
from runshot.spec import Spec
from runshot.values import Files, Finding, Limits, dedupe, errors

FRESH_TEMPERATURE = 1.0
DOUBTFUL_AFTER = 2  # a derived check failing in this many judged iterations leaves the prompt


@dataclass
class Answer:
    """A model answer's usable part: files to write (vetted), paths to delete, and what was wrong."""

    files: Files = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return bool(self.files or self.deleted)

    @property
    def changed(self) -> list[str]:
        """The paths the answer writes or deletes."""
        return sorted(set(self.files) | set(self.deleted))


# ---------------------------------------------------------------------------------------------- prompt and ask


def prompt(run: Run, number: int) -> list[dict]:
    """A generation prompt for a first or fresh attempt, else a repair prompt on the best files so far."""
    state = run.state
    if not (state.base_files or state.base_findings):
        return generation_messages(run.spec)
    shown = [f for f in state.base_findings if not _doubtful(run, f)]
    findings = for_prompt(shown, state.base_files, run.options.max_findings_per_round, run.spec.entry,
                          run.options.ranks)
    change = state.change if state.next_kind == "change" else None
    return repair_messages(run.spec, state.base_files, findings, number, edits=run.options.edits, change=change)


def ask_model(run: Run, it: Iteration, messages: list[dict]) -> Completion:
    """The model's answer for iteration `it`, its transcript kept; raises RunshotError when the endpoint fails."""
    completion = call_ask(run.ask, messages, run.progress.model_progress, it.temperature, run.state.seed,
                          deadline=run.answer_deadline())
    run.progress.model_done(completion)
    write_transcript(run.state_dir, f"iteration-{it.number}", messages, completion)
    return completion


def answered(it: Iteration, completion: Completion) -> Iteration:
    """The iteration with what its answer cost."""
    return dataclasses.replace(it, usage=completion.usage, model_seconds=completion.seconds)


# ---------------------------------------------------------------------------------------------- parse and vet


def parse_and_vet(completion: Completion, base_files: Files, limits: Limits, allow_edits: bool) -> Answer:
    """Files and edits out of the answer, edits applied to the base files, every path vetted."""
    answer = parse_answer(completion.text, allow_edits=allow_edits and bool(base_files))
    parsed = answer.parsed
    findings = list(parsed.findings) + list(answer.findings)
    if completion.finish_reason == "length":
        findings.append(RULES["format/cut-off"].finding(
            "the answer was cut off at the token limit even after asking to continue; files that were not "
            "closed were dropped",
            hint="answer with fewer, shorter files, or only the files that change"))
    if completion.finish_reason == "repeat":
        what = f" ({completion.problem})" if completion.problem else ""
        findings.append(RULES["format/repeating"].finding(
            f"the answer was stopped because it started repeating itself{what}; what came before was kept",
            hint="send each file once and stop when every file is written"))
    if completion.finish_reason == "cut":
        findings.append(broken_off(completion.text, completion.problem or "the stream broke off"))
    files = dict(parsed.files)
    if answer.edits:
        edited, edit_findings = apply_edits(answer.edits, {**base_files, **files})
        findings.extend(edit_findings)
        files.update(edited)
    accepted, path_findings = vet_files(files, limits, existing=base_files.keys())
    deleted, delete_findings = vet_deleted(parsed.deleted, existing=base_files.keys())
    return Answer(accepted, deleted, dedupe(findings + path_findings + delete_findings))


# ---------------------------------------------------------------------------------------------- restore and write


def restore(repo: Repo, state: LoopState) -> None:
    """The work tree as the base of the next answer: the best iteration's files, or nothing for a fresh start."""
    if state.base_sha is not None:
        gitrepo.checkout_commit_files(repo, state.base_sha)
    else:
        gitrepo.clear_work_tree(repo)


def write(run: Run, answer: Answer) -> Files:
    """Write the answer over the base files; returns the whole project as it now is."""
    files = {p: c for p, c in run.state.base_files.items() if p not in answer.deleted}
    files.update(answer.files)
    restore(run.repo, run.state)
    write_files(run.out, answer.files, answer.deleted)
    return files


# ---------------------------------------------------------------------------------------------- validate and commit


@dataclass(frozen=True)
class Judgement:
    """What validating a project found."""

    findings: list[Finding]
    seconds: float
    acceptance_passed: int
    info: dict  # what the validator learnt about the run (browser, sandbox), for the report

    def of(self, it: Iteration) -> Iteration:
        """The iteration, judged."""
        return dataclasses.replace(it, findings=self.findings, validated=True, validate_seconds=self.seconds,
                                   acceptance_passed=self.acceptance_passed)


def validate(run: Run, number: int, answer_findings: list[Finding], shot_name: str | None = None) -> Judgement:
    """The project in the work tree judged by the checks; the answer's own findings come first."""
    run.progress.validating(number)
    shot = run.state_dir / "screenshots" / f"{shot_name or f'iteration-{number}'}.png"
    result = run.validate(run.out, run.spec, shot)
    findings = dedupe(list(answer_findings) + list(result.findings))
    passed = acceptance_steps_passed(run.spec, findings, "acceptance" in (result.checks_run or []))
    return Judgement(findings, float(result.seconds), passed, dict(result.info or {}))


def acceptance_steps_passed(spec: Spec, findings: list[Finding], ran: bool) -> int:
    """How many acceptance steps passed: every step of a passing check, the steps before the failing one."""
    if not ran:
        return 0
    failed_at: dict[str, int] = {}
    for f in findings:
        if f.check == "acceptance" and " / step " in f.where:
            name, _, step = f.where.rpartition(" / step ")
            if step.isdigit():
                failed_at[name] = min(int(step), failed_at.get(name, int(step)))
    return sum(failed_at[c.name] - 1 if c.name in failed_at else len(c.steps) for c in spec.checks)


def commit(run: Run, it: Iteration) -> Iteration:
    """The iteration committed on the iterations branch (the work tree as it is)."""
    return dataclasses.replace(it, commit=gitrepo.commit_all(run.repo, commit_message(run.spec, it)))


def remember(state: LoopState, number: int, files: Files) -> LoopState:
    """The state knowing the files of committed iteration `number`."""
    return dataclasses.replace(state, files_by_number={**state.files_by_number, number: files})


def unusable(it: Iteration, answer: Answer) -> Iteration:
    """The iteration of an answer with nothing to write: why, and not committed."""
    findings = answer.findings or [
        RULES["format/no-files"].finding("the answer held no files", hint="answer with whole files only")
    ]
    return dataclasses.replace(it, findings=findings, note="no usable files: not committed")


# ---------------------------------------------------------------------------------------------- stop or go on


def stop_reason(run: Run, it: Iteration) -> str | None:
    """Why the loop ends after this iteration, or None to go on."""
    if it.validated and it.error_count == 0:
        return f"iteration {it.number} passed every error-level check"
    budget = run.options.token_budget
    if budget is not None and run.report.usage.total >= budget:
        return f"token budget of {budget} spent"
    if not run.options.fresh_starts and run.state.repeats >= 1 and error_set(it) == run.state.previous_errors:
        return f"iteration {it.number} repeated the errors again after a hotter retry"
    return None


def advance(run: Run, it: Iteration) -> LoopState:
    """What the next iteration builds on: a repair of the best, a hotter retry, or a fresh start."""
    state, options = run.state, run.options
    current = error_set(it)
    repeated = state.previous_errors is not None and bool(current) and current == state.previous_errors
    repeats = state.repeats + 1 if repeated else 0
    if repeats >= 2:
        # Repairing twice gave the same errors: spend what is left on a new first attempt instead.
        run.progress.note(f"iteration {it.number} repeated the errors again: starting afresh")
        return dataclasses.replace(state, base_files={}, base_sha=None, base_findings=[], next_kind="fresh",
                                   temperature=FRESH_TEMPERATURE, seed=it.number, repeats=0, previous_errors=None)
    # An answer that looped is asked for again hotter; one that broke off or filled its room, with another seed.
    looped = any(f.rule == "format/repeating" for f in it.findings)
    broke = looped or any(f.rule in ("format/broken-off", "format/cut-off") for f in it.findings)
    state = dataclasses.replace(
        state, previous_errors=current, repeats=repeats, next_kind="retry" if repeated else "repair",
        temperature=options.retry_temperature if repeated or looped else None,
        seed=it.number if repeated or broke else None)
    if repeated:
        run.progress.note(f"iteration {it.number} repeated the previous errors: retrying at temperature "
                          f"{options.retry_temperature:g}")
    if it.commit is None:
        return dataclasses.replace(state, base_findings=merge_for_prompt(state.base_findings, it.findings))
    return dataclasses.replace(state, **on_best(run.report.iterations, it, state.files_by_number))


def on_best(iterations: list[Iteration], it: Iteration, files_by_number: dict[int, Files]) -> dict:
    """The base of the next repair (files, sha, findings): the best iteration so far, saying when `it` lost."""
    best = pick_best(iterations)
    assert best is not None
    findings = list(best.findings)
    if best.number != it.number:
        findings.insert(0, RULES["repair/discarded"].finding(
            f"the changes of iteration {it.number} were discarded: they left {it.error_count} error(s), more than "
            f"iteration {best.number} ({best.error_count}); these files are iteration {best.number}'s",
            hint="fix the errors below with smaller, targeted changes"))
    return {"base_files": files_by_number[best.number], "base_sha": best.commit, "base_findings": findings}


def count_derived_failures(run: Run, it: Iteration) -> tuple[dict[str, int], list[str]]:
    """Derived checks that keep failing are marked as possibly wrong (and leave the prompt): (failing iterations
    per derived check, the checks now doubtful)."""
    failures, doubtful = dict(run.state.derived_failures), list(run.report.doubtful_checks)
    if not run.derived or not it.validated:
        return failures, doubtful
    failing = {f.where.rpartition(" / step ")[0] for f in errors(it.findings) if f.check == "acceptance"}
    for name in failing & run.derived:
        failures[name] = failures.get(name, 0) + 1
        if failures[name] >= DOUBTFUL_AFTER and name not in doubtful:
            doubtful.append(name)
            run.progress.note(f"derived check {name!r} failed {DOUBTFUL_AFTER} times: possibly a wrong check")
    best = pick_best(run.report.iterations)
    if best is not None and best.number == it.number:  # it passes now: it was a fair check after all
        doubtful = [name for name in doubtful if name in failing]
    return failures, doubtful


def _doubtful(run: Run, f: Finding) -> bool:
    return f.check == "acceptance" and f.where.rpartition(" / step ")[0] in run.report.doubtful_checks


def error_set(it: Iteration) -> frozenset:
    return frozenset(f.fingerprint() for f in errors(it.findings))


def merge_for_prompt(base: list[Finding], new: list[Finding]) -> list[Finding]:
    return dedupe(list(new) + [f for f in base if f.check not in ("format", "path")])


# ---------------------------------------------------------------------------------------------- records


def commit_message(spec: Spec, it: Iteration, head: str | None = None) -> str:
    errs = errors(it.findings)
    warns = len(it.findings) - len(errs)
    verdict = "passes" if not errs else f"{len(errs)} error(s)"
    head = head or f"runshot iteration {it.number}"
    body = [f"Spec: {spec.title}", f"Files changed: {', '.join(it.files_changed) or '(none)'}", ""]
    for f in it.findings[:30]:
        where = f" ({f.where})" if f.where else ""
        body.append(f"- {f.severity} [{f.check}] {f.message[:200]}{where}")
    if len(it.findings) > 30:
        body.append(f"- … {len(it.findings) - 30} more")
    return f"{head}: {verdict}, {warns} warning(s)\n\n" + "\n".join(body) + "\n"


def write_transcript(state_dir: Path, name: str, messages: list[dict], completion: Completion, **extra) -> None:
    data = {
        "iteration": int(name.removeprefix("iteration-")) if name.removeprefix("iteration-").isdigit() else name,
        "messages": messages,
        "response": completion.text,
        "finish_reason": completion.finish_reason,
        "usage": completion.usage.to_dict(),
        "attempts": completion.attempts,
        "continuations": completion.continuations,
        "seconds": round(completion.seconds, 3),
    } | ({"problem": completion.problem} if completion.problem else {}) | extra
    write_json(state_dir / "transcript" / f"{name}.json", data)


def record(report: Report, it: Iteration) -> Iteration:
    """Iteration `it` in the run's report: in place of the entry with its number if that is the last one, else added."""
    if report.iterations and report.iterations[-1].number == it.number:
        report.iterations[-1] = it
    else:
        report.iterations.append(it)
    return it


def save(run: Run) -> None:
    run.report.total_seconds = run.seconds_before + time.monotonic() - run.started
    write_json(run.state_dir / "report.json", run.report.to_dict())

