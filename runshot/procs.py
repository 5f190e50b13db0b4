"""Child processes that must not outlive runshot, even when runshot itself is killed."""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from runshot.errors import UsageError

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For `preexec_fn`: ask Linux to SIGKILL this child when its parent dies (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except OSError:
        pass


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so `finally` blocks commit and save what is finished."""


def terminate_as_interrupt() -> None:
    def handler(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)


# ---- an app the user's own command serves (`runshot check --start CMD --url URL`) ----

START_DEADLINE = 60.0  # seconds for the command to make the URL answer
LAST_LINES = 15  # output lines kept for the error that says why it never answered


class StartedApp:
    """`with StartedApp(cmd, url, deadline): ...` runs `cmd` through the shell in a process group of its own,
    waits until `url` answers (any HTTP response), and on exit (success, error or Ctrl-C) stops the whole group:
    SIGTERM, then SIGKILL after a grace period. A command that exits first, or a URL that does not answer by the
    deadline, is a UsageError naming the command and its last output lines; nothing of it is left running.
    """

    def __init__(self, command: str, url: str, deadline: float = START_DEADLINE, cwd: str | None = None):
        self.command, self.url, self.deadline, self.cwd = command, url, deadline, cwd
        self.proc: subprocess.Popen | None = None
        self._lines: collections.deque[str] = collections.deque(maxlen=LAST_LINES)
        self._reader: threading.Thread | None = None

    def __enter__(self) -> "StartedApp":
        if answers(self.url):
            raise UsageError(f"{self.url} already answers before --start {self.command!r} ran: something else is "
                             "serving there (stop it, or check the URL without --start)")
        try:
            self.proc = subprocess.Popen(
                self.command, shell=True, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
        except OSError as exc:
            raise UsageError(f"--start {self.command!r} could not be run: {exc.strerror or exc}") from None
        self._reader = threading.Thread(target=self._read, name="runshot-start-output", daemon=True)
        self._reader.start()
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._lines.append(line)

    def _wait(self) -> None:
        end = time.monotonic() + self.deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise UsageError(self._failure(f"exited with code {self.proc.returncode} before {self.url} answered"))
            if answers(self.url):
                return
            time.sleep(0.2)
        raise UsageError(self._failure(f"did not make {self.url} answer within {self.deadline:g} s"))

    def _failure(self, what: str) -> str:
        tail = list(self._lines)
        shown = ("; its last output:\n" + "\n".join(f"  {line[:300]}" for line in tail)) if tail else \
            " (it printed nothing)"
        return f"--start {self.command!r} {what}{shown}"

    def output(self) -> list[str]:
        """The command's last output lines."""
        return list(self._lines)

    def stop(self, grace: float = 5.0) -> None:
        """Stop the command's whole process group (the shell and everything it started)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        stop_group(proc.pid, grace)
        with contextlib.suppress(Exception):
            proc.wait(1)
        if proc.stdout is not None:
            proc.stdout.close()


def stop_group(pgid: int, grace: float = 5.0) -> None:
    """SIGTERM the process group `pgid`, then SIGKILL what is left after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    end = time.monotonic() + grace
    while time.monotonic() < end and group_alive(pgid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    end = time.monotonic() + 2
    while time.monotonic() < end and group_alive(pgid):
        time.sleep(0.05)


def group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` is still running (zombies aside)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return any(pgid == pgid_of(pid) for pid in _pids())


def _pids() -> list[int]:
    proc = Path("/proc")
    return [int(p.name) for p in proc.iterdir() if p.name.isdigit()] if proc.is_dir() else []


def pgid_of(pid: int) -> int | None:
    """The process group of a running (not zombie) process, else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return None if fields[0] == "Z" else int(fields[2])


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether an HTTP server answers at `url` (any status counts)."""
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ssl.SSLError)  # a server answered, with a certificate not trusted here
    except (OSError, ValueError):
        return False
