"""Several independent first attempts ("candidates"); the best one becomes iteration 1 and is repaired.

Candidates are asked for at spread temperatures, each with its own seed (where the endpoint takes one), up to
`RunOptions.model_jobs` at once in threads. The embedded local model's llama server answers one request at a
time and queues the others, so with it more jobs only queue; a hosted endpoint answers them side by side.
Validation is one candidate after another (one Validator is not shared between threads).

Each candidate with files is committed on its own branch `runshot/candidate-K`; the report lists every candidate
(commit, findings counts, tokens, temperature) and names the winner with the reason it won:
fewest errors, then most acceptance steps passed, then fewest warnings, then fewest tokens.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import shutil
from dataclasses import dataclass

from runshot import gitrepo
from runshot.errors import ModelError, RunshotError
from runshot.generator.client import Completion
from runshot.generator.prompts import generation_messages
from runshot.generator.safepaths import write_files
from runshot.loop import steps
from runshot.loop.state import Run, call_ask
from runshot.report import Iteration
from runshot.values import Files

TEMPERATURES = (0.2, 0.7, 1.0, 0.45, 0.85, 0.3, 0.6, 0.95)


def temperatures(n: int) -> list[float]:
    """n temperatures spread over 0.2 … 1.0 (the first ones are the widest apart)."""
    return [TEMPERATURES[k % len(TEMPERATURES)] for k in range(n)]


def rank_key(it: Iteration, tokens: int) -> tuple:
    warnings = len(it.findings) - it.error_count
    usable = it.validated
    return (not usable, it.error_count, -it.acceptance_passed, warnings, tokens)


@dataclass(frozen=True)
class Candidate:
    """One first attempt, judged: its iteration record, its answer, its line in the report, its files."""

    number: int
    iteration: Iteration
    completion: Completion | None  # None: the model call failed
    record: dict
    files: Files | None = None  # the whole project, when the answer had usable files

    @property
    def tokens(self) -> int:
        return self.record["tokens"]


def first_round(run: Run) -> tuple[Run, Iteration]:
    """Ask for every candidate, judge each, keep each in git; iteration 1 is the winner."""
    n = run.options.candidates
    temps = temperatures(n)
    messages = generation_messages(run.spec)
    run.progress.iteration_started(1, repair=False)
    run.progress.note(f"{n} candidates at temperatures {', '.join(f'{t:g}' for t in temps)}")
    it = steps.record(run.report, Iteration(number=1, kind="candidates"))
    results = _ask_all(run, messages, temps)
    judged = [_judge(run, k, completion, problem, messages, temps[k - 1])
              for k, (completion, problem) in enumerate(results, 1)]
    answered = [c for c in judged if c.completion is not None]
    if not answered:
        run.report.iterations.remove(it)
        raise results[0][1] if isinstance(results[0][1], RunshotError) else ModelError(str(results[0][1]))
    order = sorted(answered, key=lambda c: (rank_key(c.iteration, c.tokens), c.number))
    winner = order[0]
    run.report.candidates = [c.record for c in judged]
    run.report.winner = {"number": winner.number, "reason": _reason(order)}
    for c in answered:
        if c is not winner:
            run.report.other_usage.add(c.completion.usage)
    return _become_iteration(run, winner, messages)


def _judge(run: Run, k: int, completion: Completion | None, problem: object, messages: list[dict],
           temperature: float) -> Candidate:
    """Candidate `k`: its answer written, validated and committed on its own branch (or why not)."""
    record: dict = {"number": k, "temperature": temperature, "seed": k, "commit": None, "branch": None}
    cand = Iteration(number=1, kind="candidate", temperature=temperature)
    if completion is None:
        record |= {"errors": None, "warnings": None, "tokens": 0, "note": f"the model call failed: {problem}"}
        return Candidate(k, cand, None, record)
    run.progress.model_done(completion)
    cand = steps.answered(cand, completion)
    steps.write_transcript(run.state_dir, f"candidate-{k}", messages, completion, temperature=temperature, seed=k)
    answer = steps.parse_and_vet(completion, {}, run.options.limits, allow_edits=False)
    files = None
    if answer.usable:
        files = steps.write(run, answer)
        cand = dataclasses.replace(cand, files_changed=answer.changed)
        judgement = steps.validate(run, 1, answer.findings, shot_name=f"candidate-{k}")
        run.report.info.update(judgement.info)
        cand = judgement.of(cand)
        message = steps.commit_message(run.spec, cand, head=f"runshot candidate {k}")
        record["commit"] = gitrepo.commit_candidate(run.repo, k, message)
        record["branch"] = gitrepo.CANDIDATE_BRANCH.format(k)
    else:
        cand = steps.unusable(cand, answer)
        record["note"] = cand.note
    record |= {"errors": cand.error_count, "warnings": len(cand.findings) - cand.error_count,
               "acceptance_steps_passed": cand.acceptance_passed, "tokens": completion.usage.total}
    return Candidate(k, cand, completion, record, files)


def _ask_all(run: Run, messages: list[dict], temps: list[float]) -> list[tuple[Completion | None, object]]:
    """Every candidate's answer (or None and the error), in candidate order."""
    jobs = max(1, min(run.options.model_jobs, len(temps)))
    on_progress = run.progress.model_progress if jobs == 1 else None  # progress displays are not thread-safe

    def one(k: int) -> tuple[Completion | None, object]:
        try:
            return call_ask(run.ask, messages, on_progress, temps[k], seed=k + 1,
                            deadline=run.answer_deadline()), None
        except ModelError as exc:
            return None, exc

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="candidate") as pool:
        return list(pool.map(one, range(len(temps))))


def _become_iteration(run: Run, winner: Candidate, messages: list[dict]) -> tuple[Run, Iteration]:
    """Iteration 1 is the winning candidate: its findings, its usage, its files committed on the iterations branch."""
    k, cand = winner.number, winner.iteration
    note = (cand.note + "; " if cand.note else "") + f"candidate {k} of {run.options.candidates}"
    it = dataclasses.replace(cand, kind="candidates", note=note)
    steps.write_transcript(run.state_dir, "iteration-1", messages, winner.completion, candidate=k)
    if winner.files is not None:
        gitrepo.clear_work_tree(run.repo)
        write_files(run.out, winner.files)
        shots = run.state_dir / "screenshots"
        if (shots / f"candidate-{k}.png").is_file():
            shutil.copyfile(shots / f"candidate-{k}.png", shots / "iteration-1.png")
        it = steps.commit(run, it)
        run = dataclasses.replace(run, state=steps.remember(run.state, 1, winner.files))
    steps.record(run.report, it)
    run.progress.iteration_done(it)
    run.report.best_iteration = 1 if it.commit else None
    steps.save(run)
    return run, it


def _reason(order: list[Candidate]) -> str:
    """Why the first of the ranked candidates beat the runner-up, in words."""
    if len(order) == 1:
        return "the only candidate that answered"
    a, b, ra, rb, k2 = order[0].iteration, order[1].iteration, order[0].record, order[1].record, order[1].number
    if a.validated and not b.validated:
        return "the only candidate with usable files"
    if a.error_count != b.error_count:
        return f"fewest errors ({a.error_count}; next best: candidate {k2} with {b.error_count})"
    if a.acceptance_passed != b.acceptance_passed:
        return (f"same errors ({a.error_count}), more acceptance steps passed ({a.acceptance_passed} vs "
                f"{b.acceptance_passed} for candidate {k2})")
    wa, wb = len(a.findings) - a.error_count, len(b.findings) - b.error_count
    if wa != wb:
        return f"same errors and acceptance steps, fewer warnings ({wa} vs {wb} for candidate {k2})"
    if ra["tokens"] != rb["tokens"]:
        return f"same findings, fewer tokens ({ra['tokens']} vs {rb['tokens']} for candidate {k2})"
    return f"tied with candidate {k2} on every count; the lower number was kept"

