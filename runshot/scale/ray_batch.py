"""The runs of a batch (or a benchmark) as Ray tasks, on one machine or a cluster.

One task per run, each declaring the CPUs it needs (its browser); at most `limit` runs at once per model
endpoint, so a local or rate-limited endpoint is not flooded; a task whose worker is lost is run again (Ray's
`max_retries`). Each task runs the same `runshot.scale.batch.run_job` as a local batch, in a folder of its own on the
worker, and ships the run folder (git repository and .runshot/) back as a tar archive: the driver writes it to
RUNS_DIR/<run>/ as the run finishes, so an interrupted batch rerun with --resume runs only what is missing.

    with connect(address) as ray:           # ray.init(); ray.shutdown() on every exit path
        check_nodes()                       # every node can import runshot and has Chromium, or a UsageError
        results = run_on_ray(jobs, runs_dir, specs, worker, options, board, stop)
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from runshot import wiring
from runshot.api import keep_spec_copy
from runshot.errors import UsageError
from runshot.report import REPORT_DIR
from runshot.scale.batch import (
    BatchOptions,
    Board,
    Job,
    JobParts,
    JobResult,
    finished_run,
    job_run_options,
    run_job,
    with_misses,
)
from runshot.scale.cassette import CASSETTE_FILE
from runshot.settings.config import Endpoint
from runshot.validators.browser.chromium import BrowserSettings, find_chromium
from runshot.validators.runner.registry import load_registry

RETRIES = 3  # runs again after a lost worker (a crashed node, an out-of-memory kill)
PROBE_SECONDS = 120.0  # for every node to answer the start-up check (a new node may install its environment)


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to build its model and validator: plain values, sent with each task."""

    endpoints: dict[str, Endpoint]  # per job.model ("" is the default); never an API key (see without_key)
    model_options: object  # runshot.wiring.ModelOptions, without record/replay (the driver handles cassettes)
    browser: object  # runshot.wiring.BrowserOptions
    checks: list[str] | None = None
    strict: bool = False
    cpus: float = 1.0  # per run: its browser (and the app's server)
    record: bool = False  # record the run's model calls; the cassette comes back with the run
    replays: dict[str, bytes] = field(default_factory=dict)  # job name -> the cassette to answer from


KEY_VARIABLE = "OPENAI_API_KEY"


def without_key(endpoint: Endpoint) -> Endpoint:
    """The endpoint as it travels to a worker: no API key in any task's payload. A worker takes the key from its
    own environment (OPENAI_API_KEY), which a cluster started here inherits from this process."""
    return replace(endpoint, api_key=None)


def worker_endpoint(endpoint: Endpoint) -> Endpoint:
    """On the worker: the endpoint with the key of the worker's environment, if it has one."""
    return replace(endpoint, api_key=endpoint.api_key or os.environ.get(KEY_VARIABLE) or None)


@contextlib.contextmanager
def connect(address: str | None, api_key: str | None = None):
    """Ray, started locally (no address and no RAY_ADDRESS) or joined at `address`; shut down on exit. A local
    cluster's workers inherit this process's environment, so an API key given as a flag is put there first."""
    if api_key and not (address or os.environ.get("RAY_ADDRESS")):
        os.environ[KEY_VARIABLE] = api_key
    try:
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UsageError(f"cannot start or reach Ray{' at ' + address if address else ''}: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _probe(chromium: str | None) -> str:
    """On a node: "" when runshot can run there, else what is missing."""
    try:
        if chromium:
            BrowserSettings(executable=chromium).resolve_executable()
        else:
            find_chromium()
    except Exception as exc:  # noqa: BLE001 (the problem is reported, whatever it is)
        return str(exc)
    return ""


def check_nodes(chromium: str | None = None, runtime_env: dict | None = None) -> list[str]:
    """Every alive node's name, after checking it can import runshot and finds Chromium; otherwise a UsageError
    naming the first node that cannot (`runtime_env` is for the probe tasks, as a job's would be)."""
    probe = ray.remote(num_cpus=0, max_retries=0)(_probe)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    refs = {}
    for n in nodes:
        name = f"{n.get('NodeManagerHostname') or '?'} ({n.get('NodeManagerAddress')})"
        strategy = NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        opts = {"scheduling_strategy": strategy, **({"runtime_env": runtime_env} if runtime_env else {})}
        refs[name] = probe.options(**opts).remote(chromium)
    problems = []
    for name, ref in refs.items():
        try:
            problem = ray.get(ref, timeout=PROBE_SECONDS)
        except ray.exceptions.GetTimeoutError:
            problem = f"no answer within {PROBE_SECONDS:g} s"
        except ray.exceptions.RayError as exc:
            problem = f"cannot run runshot there ({_cause(exc)}); install runshot on it (see the README)"
        if problem:
            problems.append(f"Ray node {name}: {problem}")
    if problems:
        more = f" (and {len(problems) - 1} more node(s))" if len(problems) > 1 else ""
        raise UsageError(problems[0] + more)
    return list(refs)


def _cause(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return text[-1] if text else type(cause).__name__


def run_remote(job: Job, spec, settings: WorkerSettings, options: BatchOptions) -> dict:
    """One run on a worker, in a folder of its own: the result, the run folder as a tar archive, the cassette."""
    root = Path(tempfile.mkdtemp(prefix="runshot-ray-"))
    try:
        out, tape = root / job.name, root / "cassette"
        model_options = settings.model_options
        if settings.record:
            model_options = replace(model_options, record=str(tape))
        elif job.name in settings.replays:
            tape.mkdir()
            (tape / CASSETTE_FILE).write_bytes(settings.replays[job.name])
            model_options = replace(model_options, replay=str(tape))
        with contextlib.ExitStack() as stack:
            model = wiring.open_model(stack, worker_endpoint(settings.endpoints[job.model]), model_options)
            validator = wiring.open_validator(stack, settings.browser, load_registry(warn=lambda line: None))

            def validate(project_dir, s, shot):
                return validator.validate(project_dir, s, checks=settings.checks, screenshot_path=shot,
                                          strict=settings.strict)

            parts = JobParts(spec, model.ask, dict(model.description), validate, job_run_options(job, options),
                             lambda j, s, d: keep_spec_copy(s, d))
            result = with_misses(run_job(job, out, parts, Board([job]), threading.Event()), model)
        recorded = tape / CASSETTE_FILE
        return {"result": result, "folder": pack(out) if out.is_dir() else None, "node": socket.gethostname(),
                "cassette": recorded.read_bytes() if settings.record and recorded.is_file() else None}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


def unpack(data: bytes, runs_dir: Path, name: str) -> None:
    """Write a shipped run folder to RUNS_DIR/<name> whole: into a hidden folder first, then renamed."""
    partial = runs_dir / f".partial-{name}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: nothing outside the folder, no device files
            tar.extractall(partial, filter="data")
        else:  # pragma: no cover - older Python 3.11
            tar.extractall(partial)
    target = runs_dir / name
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    partial.rename(target)


def endpoint_key(job: Job, settings: WorkerSettings) -> str:
    endpoint = settings.endpoints[job.model]
    return endpoint.base_url or endpoint.model


def run_on_ray(jobs: list[Job], runs_dir: Path, specs: dict, settings: WorkerSettings, options: BatchOptions,
               board: Board, stop: threading.Event, record_dir: Path | None = None) -> list[JobResult]:
    """Every job as a Ray task (at most options.jobs at once per model endpoint); results in the jobs' order.
    Finished runs are written under `runs_dir` (and their cassettes under `record_dir`) as they come back."""
    task = ray.remote(max_retries=RETRIES)(run_remote)
    results: dict[str, JobResult] = {}
    todo = []
    for job in jobs:
        reused = finished_run(job, runs_dir / job.name) if options.resume else None
        if reused is not None:
            results[job.name] = reused
            board.done(reused)
        else:
            todo.append(job)
    running: dict = {}
    per_endpoint: dict[str, int] = {}
    spec_refs = {path: ray.put(spec) for path, spec in specs.items()}
    settings_ref = ray.put(settings)
    try:
        while (todo or running) and not stop.is_set():
            for job in list(todo):
                key = endpoint_key(job, settings)
                if per_endpoint.get(key, 0) < options.jobs:
                    todo.remove(job)
                    per_endpoint[key] = per_endpoint.get(key, 0) + 1
                    board.update(job.name, state="model", started=time.monotonic())
                    ref = task.options(num_cpus=settings.cpus).remote(job, spec_refs[job.spec_path], settings_ref,
                                                                      options)
                    running[ref] = job
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            for ref in ready:
                job = running.pop(ref)
                per_endpoint[endpoint_key(job, settings)] -= 1
                results[job.name] = _collect(ref, job, runs_dir, record_dir)
                board.done(results[job.name])
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
    for job in todo + list(running.values()):
        results[job.name] = JobResult(job, "error", error="the batch was interrupted before this run finished",
                                      exit_code=130)
    return [results[j.name] for j in jobs if j.name in results]


def _collect(ref, job: Job, runs_dir: Path, record_dir: Path | None) -> JobResult:
    try:
        shipped = ray.get(ref)
    except ray.exceptions.RayError as exc:
        return JobResult(job, "error", error=f"the Ray task failed after {RETRIES} retries: {_cause(exc)}",
                         exit_code=1)
    if shipped["folder"] is not None:
        unpack(shipped["folder"], runs_dir, job.name)
    if shipped["cassette"] is not None and record_dir is not None:
        (record_dir / job.name).mkdir(parents=True, exist_ok=True)
        (record_dir / job.name / CASSETTE_FILE).write_bytes(shipped["cassette"])
    result = shipped["result"]
    log = runs_dir / job.name / REPORT_DIR / "batch.log"
    if log.parent.is_dir():
        with log.open("a", encoding="utf-8") as fh:
            fh.write(f"run {job.name}: ran on Ray node {shipped['node']}\n")
    return result
