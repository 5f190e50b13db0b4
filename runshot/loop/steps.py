"""The named steps of one iteration: restore, ask, parse and vet, write, validate, commit, decide whether to stop."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from runshot import gitrepo
from runshot.errors import ModelError, RunshotError
from runshot.generator.client import Completion
from runshot.generator.edits import apply_edits, parse_answer
from runshot.generator.feedback import for_prompt
from runshot.generator.formatfindings import RULES, broken_off
from runshot.generator.prompts import generation_messages, repair_messages
from runshot.generator.safepaths import vet_deleted, vet_files, write_files
from runshot.report import Iteration, pick_best, write_json
from runshot.loop.state import Run, call_ask
from runshot.spec import Spec
from runshot.values import Files, Finding, Limits, dedupe, errors

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
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


def ask_model(run: Run, it: Iteration, messages: list[dict]) -> Completion | None:
    """The model's answer; None when the endpoint failed after a project was judged (the run stops there)."""
    try:
        completion = call_ask(run.ask, messages, run.progress.model_progress, it.temperature, run.state.seed)
    except RunshotError as exc:
        run.report.iterations.remove(it)
        if not isinstance(exc, ModelError) or pick_best(run.report.iterations) is None:
            raise
        run.report.stopped_because = f"the model endpoint failed: {exc.message}"
        return None
    run.progress.model_done(completion)
    it.usage = completion.usage
    it.model_seconds = completion.seconds
    write_transcript(run.state_dir, f"iteration-{it.number}", messages, completion)
    return completion


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


def restore(run: Run) -> None:
    """The work tree as the base of the next answer: the best iteration's files, or nothing for a fresh start."""
    if run.state.base_sha is not None:
        gitrepo.checkout_commit_files(run.repo, run.state.base_sha)
    else:
        clear_work_tree(run.repo)


def clear_work_tree(repo) -> None:
    """No tracked and no untracked project files left (runshot's own folder stays)."""
    repo.git.read_tree("-u", "--reset", EMPTY_TREE)
    repo.git.clean("-fdq", "-e", ".runshot")


def write(run: Run, it: Iteration, answer: Answer) -> Files:
    """Write the answer over the base files; returns the whole project as it now is."""
    files = {p: c for p, c in run.state.base_files.items() if p not in answer.deleted}
    files.update(answer.files)
    restore(run)
    write_files(run.out, answer.files, answer.deleted)
    it.files_changed = sorted(set(answer.files) | set(answer.deleted))
    return files


# ---------------------------------------------------------------------------------------------- validate and commit


def validate(run: Run, it: Iteration, answer_findings: list[Finding], shot_name: str | None = None) -> None:
    run.progress.validating(it.number)
    shot = run.state_dir / "screenshots" / f"{shot_name or f'iteration-{it.number}'}.png"
    result = run.validate(run.out, run.spec, shot)
    it.validate_seconds = float(result.seconds)
    run.report.info.update(result.info or {})
    it.findings = dedupe(list(answer_findings) + list(result.findings))
    it.validated = True
    it.acceptance_passed = acceptance_steps_passed(run.spec, it.findings, "acceptance" in (result.checks_run or []))


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


def commit(run: Run, it: Iteration, files: Files) -> None:
    it.commit = gitrepo.commit_all(run.repo, commit_message(run.spec, it))
    run.state.files_by_number[it.number] = files


def record_unusable(it: Iteration, answer: Answer) -> None:
    it.findings = answer.findings or [
        RULES["format/no-files"].finding("the answer held no files", hint="answer with whole files only")
    ]
    it.note = "no usable files: not committed"


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


def advance(run: Run, it: Iteration) -> None:
    """Choose what the next iteration builds on: a repair of the best, a hotter retry, or a fresh start."""
    state, options = run.state, run.options
    current = error_set(it)
    repeated = state.previous_errors is not None and bool(current) and current == state.previous_errors
    state.previous_errors = current
    state.repeats = state.repeats + 1 if repeated else 0
    count_derived_failures(run, it)
    if state.repeats >= 2:
        # Repairing twice gave the same errors: spend what is left on a new first attempt instead.
        run.progress.note(f"iteration {it.number} repeated the errors again: starting afresh")
        state.base_files, state.base_sha, state.base_findings = {}, None, []
        state.next_kind, state.temperature, state.seed = "fresh", FRESH_TEMPERATURE, it.number
        state.repeats, state.previous_errors = 0, None
        return
    state.next_kind = "retry" if repeated else "repair"
    # An answer that looped is asked for again hotter; one that broke off or filled its room, with another seed.
    looped = any(f.rule == "format/repeating" for f in it.findings)
    broke = looped or any(f.rule in ("format/broken-off", "format/cut-off") for f in it.findings)
    state.temperature = options.retry_temperature if repeated or looped else None
    state.seed = it.number if repeated or broke else None
    if repeated:
        run.progress.note(f"iteration {it.number} repeated the previous errors: retrying at temperature "
                          f"{options.retry_temperature:g}")
    if it.commit is None:
        state.base_findings = merge_for_prompt(state.base_findings, it.findings)
        return
    best = pick_best(run.report.iterations)
    assert best is not None
    state.base_files = state.files_by_number[best.number]
    state.base_sha = best.commit
    state.base_findings = list(best.findings)
    if best.number != it.number:
        state.base_findings.insert(0, RULES["repair/discarded"].finding(
            f"the changes of iteration {it.number} were discarded: they left {it.error_count} error(s), more than "
            f"iteration {best.number} ({best.error_count}); these files are iteration {best.number}'s",
            hint="fix the errors below with smaller, targeted changes"))


def count_derived_failures(run: Run, it: Iteration) -> None:
    """Derived checks that keep failing are marked as possibly wrong (and leave the prompt)."""
    if not run.derived or not it.validated:
        return
    failing = {f.where.rpartition(" / step ")[0] for f in errors(it.findings) if f.check == "acceptance"}
    for name in failing & run.derived:
        run.state.derived_failures[name] = run.state.derived_failures.get(name, 0) + 1
        if run.state.derived_failures[name] >= DOUBTFUL_AFTER and name not in run.report.doubtful_checks:
            run.report.doubtful_checks.append(name)
            run.progress.note(f"derived check {name!r} failed {DOUBTFUL_AFTER} times: possibly a wrong check")
    for name in list(run.report.doubtful_checks):
        if name not in failing and it is pick_best(run.report.iterations):
            run.report.doubtful_checks.remove(name)  # it passes now: it was a fair check after all


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


def save(run: Run) -> None:
    run.report.total_seconds = run.seconds_before + time.monotonic() - run.started
    write_json(run.state_dir / "report.json", run.report.to_dict())

