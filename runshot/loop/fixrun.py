"""`runshot fix`: the repair loop of `runshot new`, started from a project that already exists.

The starting point is judged first (iteration 0, no model call). While errors remain, the findings and the files
they point at go to the model, its answer is applied and judged again: the same steps, findings, best-wins rule
and one commit per iteration as `new`. Where it works is runshot.loop.fixing: a branch beside the user's, or a copy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from runshot import gitrepo
from runshot.loop import steps
from runshot.errors import ModelError
from runshot.loop.fixing import COMMIT_OPTIONS, FixTarget, finish_fix, fix_files, prepare_fix, relevant_files
from runshot.generator.formatfindings import RULES
from runshot.loop.repair import INTERRUPTED, repair_loop
from runshot.report import Iteration, Report, pick_best
from runshot.loop.state import AskFn, LoopState, Progress, Run, RunOptions, ValidateFn
from runshot.spec import Spec, parse_spec_file
from runshot.values import STATE_DIR



def project_spec(folder: Path, spec: Spec | None) -> Spec:
    """The spec a fix judges by: the one given, the project's own (.runshot/spec.md), or none (default checks)."""
    if spec is not None:
        return spec
    kept = folder / STATE_DIR / "spec.md"
    if kept.is_file():
        return parse_spec_file(kept)
    return Spec(title=folder.resolve().name, body="", source="(none)")


def with_change(old: Spec, change: Spec) -> Spec:
    """The spec of a changed project: the old description and checks, then the change and its own checks."""
    names = {c.name for c in old.checks}
    body = (old.body.rstrip() + "\n\n" if old.body.strip() else "") + f"Requested change: {change.body.strip()}"
    return dataclasses.replace(
        old, title=old.title, body=body, source=change.source, folder=change.folder or old.folder,
        checks=old.checks + tuple(c for c in change.checks if c.name not in names),
        animated=old.animated or change.animated)


@dataclass(frozen=True)
class FixRequest:
    """What a fix is asked to do: judged by `spec` (None: the project's own), into `out` (outside git), from a
    dirty working tree or not, with a `change` request first or not."""

    spec: Spec | None = None
    out: Path | None = None
    allow_dirty: bool = False
    change: Spec | None = None


def run_fix(
    folder: Path,
    ask: AskFn,
    validate: ValidateFn,
    model_info: dict,
    request: FixRequest = FixRequest(),
    options: RunOptions | None = None,
    progress: Progress | None = None,
) -> tuple[Report, FixTarget]:
    """Repair the project in `folder` until it passes; returns the report and where the result is. With
    `request.change` (a change request), first make that change (`runshot new --from`), judged by the checks of
    both the project's spec and the change's.

    In a git repository the result is the branch `target.branch` (the user's branch and files untouched);
    outside git it is the repository `out`. Raises UsageError (nothing changed) when it cannot start.
    """
    spec, out, allow_dirty, change = request.spec, request.out, request.allow_dirty, request.change
    folder = Path(folder)
    the_spec = project_spec(folder, spec)
    if change is not None:
        the_spec = with_change(the_spec, change)
    target = prepare_fix(folder, out, allow_dirty, kind="change" if change is not None else "fix")
    options = dataclasses.replace(options or RunOptions(), derive_checks=False, fresh_starts=False)
    progress = progress or Progress()
    repo = gitrepo.open_repo(target.work_tree, COMMIT_OPTIONS)
    report = Report(spec=the_spec.to_dict(), model=dict(model_info))
    report.info["start"] = {"commit": target.start_commit, "branch": target.branch,
                            "folder": target.source.name, "in_git": target.in_git,
                            "uncommitted_changes_included": target.dirty_included}
    run = Run(the_spec, target.project_dir, ask, validate, options, progress, repo, report, LoopState(),
              state_path=target.state_dir)
    for sub in ("transcript", "screenshots"):
        (target.state_dir / sub).mkdir(parents=True, exist_ok=True)
    try:
        run, start = _judge_start(run, target)
        if change is not None:
            run = dataclasses.replace(run, state=dataclasses.replace(run.state, next_kind="change",
                                                                      change=change.body.strip()))
            report.info["start"]["change"] = change.body.strip()[:2000]
            repair_loop(run, 1)
        elif start.error_count == 0:
            report.stopped_because = "the project already passes every error-level check"
        else:
            repair_loop(run, 1)
        if len(report.iterations) == 1 and report.stopped_because.startswith("the model endpoint failed"):
            raise ModelError(report.stopped_because)  # no answer at all: exit 3, as for `new`
    except KeyboardInterrupt:
        last = report.iterations[-1] if report.iterations else None
        if last is not None and last.commit is None and not last.note:
            last.note = INTERRUPTED
        report.stopped_because = "interrupted"
        raise
    finally:
        best = pick_best(report.iterations)
        report.best_iteration = best.number if best else None
        finish_fix(target, best.commit if best else None)
        steps.save(run)
    return report, target


def _judge_start(run: Run, target: FixTarget) -> tuple[Run, Iteration]:
    """Iteration 0: the project as it is, validated; the base of the first repair."""
    it = steps.record(run.report, Iteration(number=0, kind="start", commit=target.start_commit,
                                            note="the project as it was"))
    judgement = steps.validate(run, 0, [], shot_name="start")
    run.report.info.update(judgement.info)
    it = steps.record(run.report, judgement.of(it))
    everything = fix_files(target.project_dir, run.options.limits)
    pointed_at = [f.where.split(":", 1)[0] for f in it.findings if f.where]
    base_files, left_out = relevant_files(everything, run.spec.entry, pointed_at)
    base_findings = list(it.findings)
    if left_out:
        run.report.info["start"]["files_left_out"] = len(left_out)
        run.progress.note(f"{len(base_files)} file(s) go to the model (the entry page, what it loads and "
                          f"the files the findings name); {len(left_out)} other file(s) left out")
        shown = ", ".join(left_out[:20]) + (f" and {len(left_out) - 20} more" if len(left_out) > 20 else "")
        base_findings.append(RULES["fix/files-left-out"].finding(
            f"{len(left_out)} other file(s) of the project are not shown: {shown}",
            hint="change only the files shown; edit others only if a finding needs it"))
    state = dataclasses.replace(run.state, base_files=base_files, base_sha=target.start_commit,
                                base_findings=base_findings, files_by_number={0: base_files},
                                previous_errors=steps.error_set(it), next_kind="repair")
    run.progress.iteration_done(it)
    steps.save(run)
    return dataclasses.replace(run, state=state), it
