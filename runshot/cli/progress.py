"""Progress of one run on the console (used by `runshot new`)."""

from __future__ import annotations

from rich.console import Console

from runshot.loop import Progress


class ConsoleProgress(Progress):
    """Live progress on stderr: which iteration, tokens so far, time. Events it does not show fall back to
    Progress's defaults (which do nothing)."""

    def __init__(self, console: Console):
        self.console = console
        self.status = None
        self.label = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stop()

    def _stop(self):
        if self.status is not None:
            self.status.stop()
            self.status = None

    def _show(self, text: str):
        if not self.console.is_terminal:
            if not text.endswith((" s", "tokens")):  # no live line in a log: say each phase once
                self.console.print(text, markup=False)
            return
        if self.status is None:
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def iteration_started(self, number, repair):
        self.label = f"iteration {number} ({'repair' if repair else 'generate'})"
        self._show(f"{self.label}: waiting for the model…")

    def model_progress(self, tokens, seconds):
        self._show(f"{self.label}: {tokens} tokens, {seconds:.0f} s")

    def model_done(self, completion):
        self._stop()
        u = completion.usage
        self.console.print(f"{self.label}: model answered in {completion.seconds:.1f} s "
                           f"({u.prompt_tokens} prompt + {u.completion_tokens} completion tokens)", markup=False)

    def validating(self, number):
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
