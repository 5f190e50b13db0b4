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
import shutil

from runshot.errors import ModelError, RunshotError
from runshot.generator.client import Completion
from runshot.generator.prompts import generation_messages
from runshot.loop import steps
from runshot.generator.safepaths import write_files
from runshot.report import Iteration
from runshot.loop.state import Run, call_ask

TEMPERATURES = (0.2, 0.7, 1.0, 0.45, 0.85, 0.3, 0.6, 0.95)
BRANCH = "runshot/candidate-{}"


def temperatures(n: int) -> list[float]:
    """n temperatures spread over 0.2 … 1.0 (the first ones are the widest apart)."""
    return [TEMPERATURES[k % len(TEMPERATURES)] for k in range(n)]


def rank_key(it: Iteration, tokens: int) -> tuple:
    warnings = len(it.findings) - it.error_count
    usable = it.validated
    return (not usable, it.error_count, -it.acceptance_passed, warnings, tokens)


def first_round(run: Run) -> Iteration | None:
    """Ask for every candidate, judge each, keep each in git; iteration 1 is the winner."""
    n = run.options.candidates
    temps = temperatures(n)
    messages = generation_messages(run.spec)
    run.progress.iteration_started(1, repair=False)
    run.progress.note(f"{n} candidates at temperatures {', '.join(f'{t:g}' for t in temps)}")
    it = Iteration(number=1, kind="candidates")
    run.report.iterations.append(it)
    results = _ask_all(run, messages, temps)

    judged: list[tuple[int, Iteration, Completion | None, dict]] = []
    for k, (completion, problem) in enumerate(results, 1):
        record: dict = {"number": k, "temperature": temps[k - 1], "seed": k, "commit": None, "branch": None}
        cand = Iteration(number=1, kind="candidate", temperature=temps[k - 1])
        if completion is None:
            record |= {"errors": None, "warnings": None, "tokens": 0, "note": f"the model call failed: {problem}"}
            judged.append((k, cand, None, record))
            continue
        run.progress.model_done(completion)
        cand.usage, cand.model_seconds = completion.usage, completion.seconds
        steps.write_transcript(run.state_dir, f"candidate-{k}", messages, completion, temperature=temps[k - 1], seed=k)
        answer = steps.parse_and_vet(completion, {}, run.options.limits, allow_edits=False)
        if answer.usable:
            files = steps.write(run, cand, answer)
            steps.validate(run, cand, answer.findings, shot_name=f"candidate-{k}")
            record["commit"] = _commit_candidate(run, cand, k)
            record["branch"] = BRANCH.format(k)
            run.state.files_by_number[-k] = files
        else:
            steps.record_unusable(cand, answer)
            record["note"] = cand.note
        record |= {"errors": cand.error_count, "warnings": len(cand.findings) - cand.error_count,
                   "acceptance_steps_passed": cand.acceptance_passed, "tokens": completion.usage.total}
        judged.append((k, cand, completion, record))

    answered = [j for j in judged if j[2] is not None]
    if not answered:
        run.report.iterations.remove(it)
        raise results[0][1] if isinstance(results[0][1], RunshotError) else ModelError(str(results[0][1]))
    order = sorted(answered, key=lambda j: (rank_key(j[1], j[3]["tokens"]), j[0]))
    k, winner, completion, _ = order[0]
    run.report.candidates = [j[3] for j in judged]
    run.report.winner = {"number": k, "reason": _reason(order)}
    for j in answered:
        if j[0] != k:
            run.report.other_usage.add(j[2].usage)
    _become_iteration(run, it, winner, k, completion, messages)
    return it


def _ask_all(run: Run, messages: list[dict], temps: list[float]) -> list[tuple[Completion | None, object]]:
    """Every candidate's answer (or None and the error), in candidate order."""
    jobs = max(1, min(run.options.model_jobs, len(temps)))
    on_progress = run.progress.model_progress if jobs == 1 else None  # progress displays are not thread-safe

    def one(k: int) -> tuple[Completion | None, object]:
        try:
            return call_ask(run.ask, messages, on_progress, temps[k], seed=k + 1), None
        except ModelError as exc:
            return None, exc

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="candidate") as pool:
        return list(pool.map(one, range(len(temps))))


def _commit_candidate(run: Run, cand: Iteration, k: int) -> str:
    """A root commit of the work tree on `runshot/candidate-K` (the iterations branch is not touched)."""
    repo = run.repo
    repo.git.add(A=True)
    tree = repo.git.write_tree()
    message = steps.commit_message(run.spec, cand, head=f"runshot candidate {k}")
    sha = repo.git.commit_tree(tree, "-m", message)
    repo.git.branch("-f", BRANCH.format(k), sha)
    return sha


def _become_iteration(run: Run, it: Iteration, winner: Iteration, k: int, completion: Completion,
                      messages: list[dict]) -> None:
    """Iteration 1 is the winning candidate: its findings, its usage, its files committed on the iterations branch."""
    it.usage, it.model_seconds, it.validate_seconds = completion.usage, completion.seconds, winner.validate_seconds
    it.findings, it.validated, it.acceptance_passed = winner.findings, winner.validated, winner.acceptance_passed
    it.files_changed, it.temperature, it.note = winner.files_changed, winner.temperature, winner.note
    it.note = (it.note + "; " if it.note else "") + f"candidate {k} of {run.options.candidates}"
    steps.write_transcript(run.state_dir, "iteration-1", messages, completion, candidate=k)
    if winner.validated:
        steps.clear_work_tree(run.repo)
        files = run.state.files_by_number.pop(-k)
        write_files(run.out, files)
        shots = run.state_dir / "screenshots"
        if (shots / f"candidate-{k}.png").is_file():
            shutil.copyfile(shots / f"candidate-{k}.png", shots / "iteration-1.png")
        steps.commit(run, it, files)
    for key in [key for key in run.state.files_by_number if key < 0]:
        del run.state.files_by_number[key]
    run.progress.iteration_done(it)
    run.report.best_iteration = 1 if it.commit else None
    steps.save(run)


def _reason(order: list[tuple[int, Iteration, Completion | None, dict]]) -> str:
    """Why the first of the ranked candidates beat the runner-up, in words."""
    if len(order) == 1:
        return "the only candidate that answered"
    (_k, a, _, ra), (k2, b, _, rb) = order[0], order[1]
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

