"""Several projects validated at once (`Validator.validate_many`): up to `jobs` at a time, results in order.

Without the sandbox every project is served from this process, and all of them share the validator's browser
(each in contexts of its own). With the sandbox, the folders served as written (no package.json, so nothing
to build) are bound together into one sandbox, each served on a port of its own, and one browser serves them
all, TOGETHER folders at a time: a launch per batch instead of one per folder. Every page is still routed to
its own app's origin only (pages.isolate_context), so an app cannot reach another's server, and each
project's request log is its own server's. A project with a package.json, or a folder replaced while the
batch runs, is validated by a validator of its worker's own (browser and sandbox), as on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol

from runshot.validators.runner.jobs import run_jobs
from runshot.validators.runner.outcome import ValidationRequest, ValidationResult
from runshot.validators.runner.plan import check_jobs_for
from runshot.validators.sandbox.confined import BrowserSandbox, folder_identity, real_path
from runshot.validators.serve.served import Served

TOGETHER = 32  # folders one sandboxed browser serves at once; more are validated in batches of this size


class Validator(Protocol):
    """What validating several projects needs of a validator (runshot.validators.runner.project.Validator)."""

    check_jobs: int | None

    @property
    def sandboxed(self) -> bool: ...

    def browser_sandbox(self) -> BrowserSandbox: ...

    def sibling(self) -> Validator: ...

    def validate_served(self, request: ValidationRequest, checks: list[str] | None, strict: bool, check_jobs: int,
                        served: Served | None = None) -> ValidationResult: ...

    def close(self) -> None: ...


def as_written(folder: Path) -> bool:
    """A folder served as it is, with nothing to build first."""
    return not (folder / "package.json").exists()


class Together:
    """Where each folder of a batch is served by the one browser (`served`), or None when it is not."""

    def __init__(self, sandbox: BrowserSandbox | None = None, folders: Iterable[Path] = ()):
        self.executable, self.ports, self.identity = None, {}, {}
        self.feed = sandbox.feed if sandbox is not None else None
        folders = list(dict.fromkeys(real_path(f) for f in folders))
        if sandbox is not None and len(folders) > 1:
            wrapper, self.ports = sandbox.serving_together(folders)
            self.executable = str(wrapper)
            self.identity = {folder: folder_identity(folder) for folder in self.ports}

    def served(self, project_dir: Path) -> Served | None:
        folder = real_path(project_dir)
        port = self.ports.get(folder)
        if port is None or not as_written(folder) or folder_identity(folder) != self.identity[folder]:
            return None
        feed = self.feed
        mark = feed.mark()
        return Served(f"http://127.0.0.1:{port}/", self.executable, lambda: feed.since(mark, port))


@dataclass
class _Lane:
    """One worker: the shared validator, and (made when first needed) one of its own."""

    shared: Validator
    together: Together
    own: Validator | None = None

    def validator_for(self, served: Served | None) -> Validator:
        if served is not None or not self.shared.sandboxed:
            return self.shared
        if self.own is None:
            self.own = self.shared.sibling()
        return self.own

    def close(self) -> None:
        if self.own is not None:
            self.own.close()


def validate_many(
    validator: Validator,
    requests: Iterable[ValidationRequest],
    checks: Iterable[str] | None = None,
    strict: bool = False,
    jobs: int = 1,
    on_done: Callable[[ValidationRequest, ValidationResult], None] | None = None,
) -> list[ValidationResult]:
    """See `Validator.validate_many`."""
    requests = list(requests)
    checks = None if checks is None else list(checks)
    jobs = max(1, min(int(jobs), len(requests)))
    check_jobs = check_jobs_for(validator.check_jobs)
    if validator.check_jobs is None and jobs > 1:
        check_jobs = max(1, check_jobs // jobs)

    def one(lane: _Lane, request: ValidationRequest) -> ValidationResult:
        served = lane.together.served(request.project_dir)
        return lane.validator_for(served).validate_served(request, checks, strict, check_jobs, served)

    results: list = []
    size = TOGETHER if validator.sandboxed else max(1, len(requests))
    for start in range(0, len(requests), size):
        batch = requests[start:start + size]
        folders = [r.project_dir for r in batch if as_written(Path(r.project_dir))] if validator.sandboxed else []
        together = Together(validator.browser_sandbox() if folders else None, folders)
        lanes = [_Lane(validator, together) for _ in range(min(jobs, len(batch)))]
        if not together.ports:
            lanes[0].own = validator  # nothing shared: the first worker validates with this validator itself
        try:
            results += run_jobs(batch, lanes, one, on_done)
        finally:
            for lane in lanes:
                if lane.own is not validator:
                    lane.close()
    return results
