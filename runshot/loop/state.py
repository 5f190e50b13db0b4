"""The values the repair loop works with: its options, its dependencies' types, and the state of one run."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from runshot.report import REPORT_DIR, Report
from runshot.settings.tree import RunOptions  # noqa: F401 (the loop's part of the settings, read here)
from runshot.spec import Spec
from runshot.values import Files, Finding

if TYPE_CHECKING:  # only for type checkers: the loop never imports the validators
    from runshot.generator.client import Completion
    from runshot.gitrepo import Repo
    from runshot.report import Iteration
    from runshot.validators.runner.outcome import ValidationResult

ProgressFn = Callable[[int, float], None]


class AskFn(Protocol):
    """One judged model answer for `messages`.

    on_progress(tokens, seconds) is called as tokens arrive. temperature and seed ask for other samples (several
    candidates, a hotter retry); schema (a JSON schema) asks for an answer that follows it, where the endpoint can
    hold one to it. An ask function that does not take them is called without them.
    """

    def __call__(
        self, messages: list[dict], on_progress: ProgressFn | None, temperature: float | None = None,
        seed: int | None = None, schema: dict | None = None,
    ) -> Completion: ...


class ValidateFn(Protocol):
    def __call__(self, project_dir: Path, spec: Spec, screenshot_path: Path | None) -> ValidationResult: ...


class Progress:
    """Receives what the loop is doing; the CLI shows it, tests may record it. Defaults do nothing."""

    def iteration_started(self, number: int, repair: bool) -> None: ...

    def model_progress(self, tokens: int, seconds: float) -> None: ...

    def waiting(self, label: str) -> None: ...  # model calls outside an iteration begin (deriving checks)

    def waiting_done(self) -> None: ...

    def model_done(self, completion: Completion) -> None: ...

    def validating(self, number: int) -> None: ...

    def iteration_done(self, iteration: Iteration) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass(frozen=True)
class LoopState:
    """What the next prompt builds on, and what the loop remembers between iterations.

    A value: the steps return a new one (dataclasses.replace) instead of changing it.
    """

    base_files: Files = field(default_factory=dict)  # the files of the best iteration so far
    base_sha: str | None = None
    base_findings: list[Finding] = field(default_factory=list)
    files_by_number: dict[int, Files] = field(default_factory=dict)  # the files of each committed iteration
    previous_errors: frozenset | None = None
    repeats: int = 0  # how many iterations in a row repeated the errors of the one before
    next_kind: str = "first"  # first | repair | retry | fresh | change (a change request to an existing app)
    change: str | None = None  # the change request, for the first prompt of `runshot new --from`
    temperature: float | None = None  # for the next model call; None: the endpoint's configured default
    seed: int | None = None
    derived_failures: dict[str, int] = field(default_factory=dict)  # derived check name -> failing iterations


CHECK_RESERVE = 30.0  # seconds of a run's time budget kept for judging its last answer
MIN_ANSWER = 60.0  # the time budget never cuts an answer it asked for shorter than this


@dataclass(frozen=True)
class Run:
    """One `runshot new` run: its inputs, its dependencies, its repository and report, and the loop's state.

    A value too: a step that changes what the run works on (the spec, once checks are derived; the state after an
    iteration) gives a new Run. The report is the run's record, which the loop writes as it goes.
    """

    spec: Spec
    out: Path
    ask: AskFn
    validate: ValidateFn
    options: RunOptions
    progress: Progress
    repo: Repo
    report: Report
    state: LoopState = field(default_factory=LoopState)
    started: float = field(default_factory=time.monotonic)
    seconds_before: float = 0.0  # time spent by the earlier, interrupted part of a resumed run
    derived: frozenset[str] = frozenset()  # names of the acceptance checks the model wrote
    state_path: Path | None = None  # where the report, screenshots and transcript go (default OUT/.runshot)

    @property
    def state_dir(self) -> Path:
        return self.state_path if self.state_path is not None else self.out / REPORT_DIR

    def time_left(self) -> float | None:
        """Seconds left of the run's time budget (`run_timeout`; negative once spent), None without one."""
        limit = self.options.run_timeout
        return None if not limit else limit - (time.monotonic() - self.started)

    def answer_deadline(self) -> float | None:
        """Seconds the next answer may take within the time budget, leaving time to judge it (never under
        MIN_ANSWER: an answer already asked for gets a fair chance); None without a budget."""
        left = self.time_left()
        return None if left is None else max(left - CHECK_RESERVE, MIN_ANSWER)


def call_ask(ask: Any, messages: list[dict], on_progress: ProgressFn | None, temperature: float | None = None,
             seed: int | None = None, schema: dict | None = None, deadline: float | None = None) -> Completion:
    """Call an ask function, passing temperature, seed, schema and deadline (seconds for this answer) only when set
    and only if it takes them."""
    wanted = {k: v for k, v in (("temperature", temperature), ("seed", seed), ("schema", schema),
                                ("deadline", deadline)) if v is not None}
    extra: dict = {}
    if wanted:
        try:
            params = inspect.signature(ask).parameters
        except (TypeError, ValueError):
            params = {}
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        extra = {k: v for k, v in wanted.items() if takes_all or k in params}
    return ask(messages, on_progress, **extra)
