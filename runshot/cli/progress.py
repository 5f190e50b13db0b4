"""Progress of one run on the console (used by `runshot new`)."""

from __future__ import annotations

import threading
import time

from rich.console import Console

from runshot.loop.repair import Progress

LOG_EVERY = 60.0  # seconds between "still waiting" lines when the output is not a terminal
TICK = 1.0  # seconds between refreshes of the live line


class ConsoleProgress(Progress):
    """Live progress on stderr: which iteration, tokens so far, time. While the model answers, the live line counts
    tokens and seconds; on an output that is not a terminal (a log, CI) a line says so every LOG_EVERY seconds, so
    a long answer shows life. Events it does not show fall back to Progress's defaults (which do nothing)."""

    def __init__(self, console: Console, log_every: float = LOG_EVERY, tick: float = TICK):
        self.console = console
        self.status = None
        self.label = ""
        self.log_every = log_every
        self.tick = tick
        self._lock = threading.Lock()
        self._since: float | None = None  # when the model call being waited on began
        self._tokens = 0
        self._logged = 0.0  # seconds into the call of the last "still waiting" line
        self._quit = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._quit.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        self._stop()

    def _stop(self):
        with self._lock:
            self._since = None
            status, self.status = self.status, None
        if status is not None:
            status.stop()

    def _show(self, text: str):
        if not self.console.is_terminal:
            self.console.print(text, markup=False)
            return
        with self._lock:
            if self.status is None:
                self.status = self.console.status(text)
                self.status.start()
            else:
                self.status.update(text)

    # ---- waiting for the model

    def _wait_begins(self):
        with self._lock:
            self._since, self._tokens, self._logged = time.monotonic(), 0, 0.0
        if self._ticker is None and not self._quit.is_set():
            self._ticker = threading.Thread(target=self._tick, name="runshot-progress", daemon=True)
            self._ticker.start()

    def _waiting_text(self, seconds: float) -> str:
        if self._tokens:
            return f"{self.label}: {self._tokens} tokens, {seconds:.0f} s"
        return f"{self.label}: waiting for the model… {seconds:.0f} s"

    def _tick(self):
        while not self._quit.wait(self.tick):
            self._beat()

    def _beat(self):
        with self._lock:
            if self._since is None:
                return
            seconds = time.monotonic() - self._since
            text = self._waiting_text(seconds)
            if self.console.is_terminal:
                if self.status is not None:
                    self.status.update(text)
                return
            if seconds - self._logged < self.log_every:
                return
            self._logged = seconds
        self.console.print(text, markup=False)

    # ---- events

    def iteration_started(self, number, repair):
        self.label = f"iteration {number} ({'repair' if repair else 'generate'})"
        self._show(f"{self.label}: waiting for the model…")
        self._wait_begins()

    def waiting(self, label):
        self.label = label
        self._show(f"{label}: waiting for the model…")
        self._wait_begins()

    def waiting_done(self):
        self._stop()

    def model_progress(self, tokens, seconds):
        with self._lock:
            self._tokens = tokens
        if self.console.is_terminal:
            self._show(f"{self.label}: {tokens} tokens, {seconds:.0f} s")
        else:
            self._beat()

    def model_done(self, completion):
        self._stop()
        u = completion.usage
        self.console.print(f"{self.label}: model answered in {completion.seconds:.1f} s "
                           f"({u.prompt_tokens} prompt + {u.completion_tokens} completion tokens)", markup=False)

    def validating(self, number):
        self._stop()
        self._show(f"iteration {number}: validating in headless Chromium…")

    def iteration_done(self, it):
        self._stop()
        errs = it.error_count
        if it.passed:
            verdict = "passes"
        else:  # the error count stays visible next to a note ("the project as it was")
            verdict = f"{errs} error(s) ({it.note})" if it.note and errs else (it.note or f"{errs} error(s)")
        self.console.print(f"iteration {it.number}: {verdict}; {len(it.findings) - errs} warning(s)", markup=False)

    def note(self, text):
        self.console.print(text, markup=False)
