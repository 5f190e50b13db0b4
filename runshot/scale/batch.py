"""Many specs × models: plan the runs, shard them, run them with bounded concurrency, summarize, merge.

Plain steps:
- `plan(spec_paths, models)` -> sorted `Job`s, each with its folder name (`<spec-stem>` or `<spec-stem>--<model>`);
- `shard(jobs, k, n)` -> the k-th of n disjoint slices (index modulo n over the sorted list: stable, complete);
- `run_batch(jobs, runs_dir, specs, parts, options, board)` -> one `JobResult` per job; at most
  `options.jobs` jobs (so model calls) at a time, validations bounded by whatever `validate` does
  (`ValidatorPool` allows `size` at once);
- `project_entry`, `summarize`, `batch_json`, `merge` -> the JSON written to `RUNS_DIR/batch.json` and by merge.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import queue
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from runshot.scale.batchjson import (  # noqa: F401 (the batch's JSON, importable from here as before)
    BATCH_FILE,
    batch_json,
    load_batch,
    merge,
    project_entry,
    summarize,
    write_json,
)
from runshot.errors import ModelError, RunshotError, UsageError
from runshot.loop.repair import Progress, run_new
from runshot.loop.modes import mode_values
from runshot.loop.state import call_ask
from runshot.redact import redact_text
from runshot.report import REPORT_DIR
from runshot.settings import RunOptions
from runshot.values import Limits

LOG_FILE = "batch.log"


# ------------------------------------------------------------------ planning and sharding


@dataclass(frozen=True)
class Job:
    spec_path: Path
    model: str  # as given on the command line; "" means the endpoint's default
    name: str  # the run's folder inside RUNS_DIR
    mode: str = ""  # a benchmark's mode (runshot.loop.modes); "" means the batch's own options
    base_url: str | None = None  # the model's endpoint when the job names one (a benchmark's NAME=URL)

    @property
    def stem(self) -> str:
        return spec_stem(self.spec_path)


def spec_stem(path: Path) -> str:
    name = Path(path).name
    for suffix in (".runshot.md", ".markdown", ".md", ".txt"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(path).stem or name


def slug(text: str) -> str:
    """A folder- and URL-safe form of a model or spec name ("Qwen/Qwen2.5-Coder:7b" -> "qwen-qwen2.5-coder-7b")."""
    s = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    s = re.sub(r"-{2,}", "-", s)
    if not s:
        s = "x" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return s[:80]


def plan(spec_paths: list[Path], models: list[str]) -> list[Job]:
    """Every spec × model, sorted by folder name. Two specs with the same stem are a usage error."""
    models = list(dict.fromkeys(models)) or [""]
    stems: dict[str, Path] = {}
    for p in spec_paths:
        stem = spec_stem(p)
        if stem in stems and Path(stems[stem]).resolve() != Path(p).resolve():
            raise UsageError(f"two specs would share the run folder {stem!r}: {stems[stem]} and {p}; rename one")
        stems[stem] = Path(p)
    jobs: dict[str, Job] = {}
    model_slugs: dict[str, str] = {}
    for m in models:
        s = slug(m) if m else "default"
        if s in model_slugs.values():
            raise UsageError(f"--model {m}: its folder name {s!r} clashes with another --model")
        model_slugs[m] = s
    for stem, path in stems.items():
        for m in models:
            name = stem if len(models) == 1 else f"{stem}--{model_slugs[m]}"
            jobs[name] = Job(spec_path=path, model=m, name=name)
    return [jobs[n] for n in sorted(jobs)]


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' (1 <= K <= N) -> (K, N)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise UsageError(f"--shard {text}: expected K/N, e.g. 1/4")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N")
    return k, n


def shard(jobs: list[Job], index: int, count: int) -> list[Job]:
    """The index-th (1-based) of `count` shards: the jobs at sorted positions i with i % count == index - 1."""
    ordered = sorted(jobs, key=lambda j: j.name)
    return [j for i, j in enumerate(ordered) if i % count == index - 1]


# ------------------------------------------------------------------ bounded browser use


class ValidatorPool:
    """At most `size` validations at a time, each on a long-lived browser of its own (started on first use).

    `factory()` makes a Validator; `validate(...)` takes a free one (waiting when all are busy) and gives it back.
    """

    def __init__(self, size: int, factory: Callable[[], object]):
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._factory = factory
        self._slots = threading.BoundedSemaphore(size)
        self._free: queue.LifoQueue = queue.LifoQueue()
        self._all: list = []
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.validations = 0
        self.waited = 0.0  # seconds spent waiting for a free browser, summed over calls

    def validate(self, *args, **kwargs):
        started = time.monotonic()
        with self._slots:
            with self._lock:
                self.waited += time.monotonic() - started
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            try:
                validator = self._free.get_nowait()
            except queue.Empty:
                validator = self._factory()
                with self._lock:
                    self._all.append(validator)
            try:
                return validator.validate(*args, **kwargs)
            finally:
                self._free.put(validator)
                with self._lock:
                    self.active -= 1
                    self.validations += 1

    def close(self) -> None:
        with self._lock:
            made, self._all = self._all, []
        for v in made:
            try:
                v.close()
            except Exception:  # noqa: BLE001 (closing one browser must not stop closing the others)
                pass

    def __enter__(self) -> "ValidatorPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------ running


@dataclass
class BatchOptions:
    jobs: int = 2
    max_iterations: int = 4
    token_budget: int | None = None
    checks: list[str] | None = None  # None: every check
    limits: Limits = field(default_factory=Limits)
    resume: bool = False  # reuse finished runs (a folder holding .runshot/report.json)
    candidates: int = 1  # first attempts per run (passed to the loop when it supports them)
    derive_checks: bool = True  # let the model write acceptance checks for specs without any
    ranks: dict[str, int] = field(default_factory=dict)  # check name -> rank in repair prompts (Registry.repair_ranks)


@dataclass
class JobResult:
    job: Job
    status: str  # "passed", "failed", or "error" (no project could be judged)
    report: dict | None = None
    error: str = ""
    exit_code: int = 0  # for "error": the RunshotError's exit code
    seconds: float = 0.0
    reused: bool = False  # --resume found this run finished already

    @property
    def passed(self) -> bool:
        return bool(self.report and self.report.get("passed"))


class Board:
    """What the batch is doing, for a live display; thread-safe. The defaults only keep state."""

    def __init__(self, jobs: list[Job]):
        self.lock = threading.Lock()
        self.rows: dict[str, dict] = {j.name: {"job": j, "state": "queued", "iteration": 0, "tokens": 0,
                                               "started": None} for j in jobs}
        self.finished: list[JobResult] = []

    def update(self, name: str, **values) -> None:
        with self.lock:
            self.rows[name].update(values)

    def done(self, result: JobResult) -> None:
        with self.lock:
            self.rows[result.job.name]["state"] = result.status
            self.finished.append(result)
        self.on_done(result)

    def on_done(self, result: JobResult) -> None:
        """Hook for displays: called once per finished job, on the worker's thread."""

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.rows.values()]


class JobProgress(Progress):
    """Feeds one job's loop events to the board and to RUNS_DIR/<job>/.runshot/batch.log."""

    def __init__(self, job: Job, board: Board, log_path: Path):
        self.job = job
        self.board = board
        self.log_path = log_path
        self.tokens_before = 0  # tokens of finished iterations
        self.number = 0

    def log(self, text: str) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%H:%M:%S")
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(f"{stamp} {redact_text(text)}\n")  # no URL credentials, even inside a traceback

    def iteration_started(self, number: int, repair: bool) -> None:
        self.number = number
        self.board.update(self.job.name, state="model", iteration=number)
        self.log(f"iteration {number}: {'repair' if repair else 'generate'}: asking the model")

    def model_progress(self, tokens: int, seconds: float) -> None:
        self.board.update(self.job.name, tokens=self.tokens_before + tokens)

    def model_done(self, completion) -> None:
        u = completion.usage
        self.tokens_before += u.prompt_tokens + u.completion_tokens
        self.board.update(self.job.name, tokens=self.tokens_before)
        self.log(f"iteration {self.number}: model answered in {completion.seconds:.1f} s "
                 f"({u.prompt_tokens} prompt + {u.completion_tokens} completion tokens, "
                 f"finish_reason {completion.finish_reason})")

    def validating(self, number: int) -> None:
        self.board.update(self.job.name, state="validate")
        self.log(f"iteration {number}: validating")

    def iteration_done(self, it) -> None:
        self.board.update(self.job.name, state="model")
        verdict = "passes" if it.passed else (it.note or f"{it.error_count} error(s)")
        self.log(f"iteration {it.number}: {verdict}; {len(it.findings) - it.error_count} warning(s); "
                 f"validated in {it.validate_seconds:.1f} s")

    def note(self, text: str) -> None:
        self.log(text)


AskFor = Callable[[Job], Callable]  # job -> ask(messages, on_progress) -> Completion
ModelInfo = Callable[[Job], dict]  # job -> {"name": ..., "base_url": ...}
Validate = Callable[[Path, object, Path | None], object]
Finish = Callable[[Job, object, Path], None]  # after a run: e.g. keep a copy of the spec beside the report


def check_run_dirs(jobs: list[Job], runs_dir: Path, resume: bool) -> None:
    """Fail before anything runs when a run folder is in the way (never overwrite a run)."""
    blocked = []
    for job in jobs:
        out = runs_dir / job.name
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            if resume and (out / REPORT_DIR / "report.json").is_file():
                continue
            blocked.append(job.name)
    if blocked:
        hint = "" if resume else "; use --resume to reuse finished runs, or another RUNS_DIR"
        raise UsageError(f"{runs_dir}: run folder(s) not empty: {', '.join(blocked[:5])}"
                         f"{' …' if len(blocked) > 5 else ''}{hint}")


def job_run_options(job: Job, options: BatchOptions):
    """The loop's options for one job: the batch's, with the job's mode (see runshot.loop.modes) applied."""
    values = {"max_iterations": options.max_iterations, "limits": options.limits,
              "token_budget": options.token_budget, "candidates": options.candidates,
              "derive_checks": options.derive_checks, "ranks": options.ranks}
    if job.mode:
        values.update(mode_values(job.mode, options.token_budget, options.candidates, options.max_iterations))
    return RunOptions(**values)


def finished_run(job: Job, out: Path) -> JobResult | None:
    """The result of a run that already finished in `out` (its report is there), else None."""
    report_path = out / REPORT_DIR / "report.json"
    if not report_path.is_file():
        return None
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return JobResult(job, "passed" if report.get("passed") else "failed", report=report,
                     seconds=float((report.get("seconds") or {}).get("total", 0)), reused=True)


@dataclass
class JobParts:
    """What one run needs besides its job and folder: the same locally and on a Ray worker."""

    spec: object
    ask: Callable
    model_info: dict
    validate: Validate
    options: object  # runshot.loop.state.RunOptions
    finish: Finish | None = None


def run_job(job: Job, out: Path, parts: JobParts, board: Board, stop: threading.Event) -> JobResult:
    """One run of a batch into `out`: never raises; a run that could not be judged is an "error" result."""
    board.update(job.name, state="model", started=time.monotonic())
    progress = JobProgress(job, board, out / REPORT_DIR / LOG_FILE)
    started = time.monotonic()
    ask = parts.ask

    def guarded_ask(messages, on_progress, temperature=None, seed=None):
        if stop.is_set():
            raise ModelError("the batch was interrupted")
        return call_ask(ask, messages, on_progress, temperature, seed)

    try:
        out.mkdir(parents=True, exist_ok=True)
        progress.log(f"run {job.name}: spec {job.spec_path}, model {job.model or '(default)'}"
                     + (f", mode {job.mode}" if job.mode else ""))
        report = run_new(parts.spec, out, guarded_ask, parts.validate, model_info=parts.model_info,
                         options=parts.options, progress=progress)
        if parts.finish is not None:
            parts.finish(job, parts.spec, out)
        result = JobResult(job, "passed" if report.passed else "failed", report=report.to_dict(),
                           seconds=time.monotonic() - started)
        progress.log(f"run {job.name}: {result.status} ({report.stopped_because})")
    except RunshotError as exc:
        result = JobResult(job, "error", error=exc.message, exit_code=exc.exit_code,
                           seconds=time.monotonic() - started)
        progress.log(f"run {job.name}: error: {exc.message}")
    except Exception as exc:  # noqa: BLE001 (one broken run must not end the others)
        result = JobResult(job, "error", error=f"{type(exc).__name__}: {exc}", exit_code=1,
                           seconds=time.monotonic() - started)
        progress.log(f"run {job.name}: crashed:\n{traceback.format_exc()}")
    return result


def with_misses(result: JobResult, model) -> JobResult:
    """A replayed run that asked for something its cassette lacks is an endpoint failure naming the request."""
    misses = getattr(getattr(model, "cassette", None), "misses", None)
    if misses:
        return JobResult(result.job, "error", report=result.report, error=misses[0], exit_code=3,
                         seconds=result.seconds)
    return result


@dataclass(frozen=True)
class RunParts:
    """What the runs of a batch are given: each job's ask function and model description, the validation, and
    what to do after a run (e.g. keep a copy of the spec beside the report)."""

    ask_for: AskFor
    model_info: ModelInfo
    validate: Validate
    finish: Finish | None = None


def run_batch(
    jobs: list[Job],
    runs_dir: Path,
    specs: dict[Path, object],
    parts: RunParts,
    options: BatchOptions,
    board: Board | None = None,
    stop: threading.Event | None = None,
) -> list[JobResult]:
    """Run every job (at most options.jobs at once); results in the jobs' order. `specs` maps spec paths to
    parsed specs. Setting `stop` ends the batch early: queued jobs are dropped, running ones stop before their
    next model call and keep their best iteration."""
    board = board or Board(jobs)
    stop = stop or threading.Event()
    runs_dir.mkdir(parents=True, exist_ok=True)
    check_run_dirs(jobs, runs_dir, options.resume)

    def one(job: Job) -> JobResult:
        if stop.is_set():
            return JobResult(job, "error", error="the batch was interrupted before this run started", exit_code=130)
        out = runs_dir / job.name
        reused = finished_run(job, out) if options.resume else None
        if reused is not None:
            board.done(reused)
            return reused
        job_parts = JobParts(specs[job.spec_path], parts.ask_for(job), parts.model_info(job), parts.validate,
                             job_run_options(job, options), parts.finish)
        result = run_job(job, out, job_parts, board, stop)
        board.done(result)
        return result

    results: dict[str, JobResult] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.jobs),
                                               thread_name_prefix="runshot-batch") as pool:
        futures = {pool.submit(one, job): job for job in jobs}
        try:
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=0.5)
                for f in done:
                    results[futures[f].name] = f.result()
        except KeyboardInterrupt:
            stop.set()
            for f in futures:
                f.cancel()
            raise
    return [results[j.name] for j in jobs if j.name in results]
