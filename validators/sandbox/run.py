"""Run one command with a deadline and limits: inside bubblewrap when it works, else as a plain process.

Either way the command gets only its spec's small environment and runs in its own process group; at the deadline,
or as soon as its process tree holds too much resident memory or too many processes, the whole tree is killed.
Output beyond a limit keeps its beginning and end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from runshot.validators.sandbox.bwrap import DEFAULT_PATH, SandboxSpec, bwrap_argv, bwrap_path, sandbox_available
from runshot.validators.sandbox.proctree import process_tree, tree_usage


@dataclass
class SandboxResult:
    returncode: int | None  # None when killed (at the deadline or by the watchdog)
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    sandboxed: bool
    stopped_for: str = ""  # why the watchdog killed it ("resident memory over 4096 MB"), else ""
    peak_resident_mb: float = 0.0  # the most resident memory the process tree was seen to hold (when watched)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.stopped_for

    def tail(self, limit: int = 2000) -> str:
        """The end of the combined output: what a build failure's evidence should show."""
        text = (self.stdout.rstrip() + "\n" + self.stderr.rstrip()).strip()
        return text if len(text) <= limit else "…" + text[-limit:]


def _limits_prefix(spec: SandboxSpec) -> list[str]:
    """prlimit (util-linux) in front of the command: limits set outside, inherited by everything inside."""
    limits = []
    if spec.memory_mb:
        limits.append(f"--as={int(spec.memory_mb) * 1024 * 1024}")
    if spec.max_file_bytes:
        limits.append(f"--fsize={int(spec.max_file_bytes)}")
    if not limits:
        return []
    prlimit = shutil.which("prlimit", path=DEFAULT_PATH)
    return [prlimit, *limits, "--"] if prlimit else []


# ---- running a command ----


class _Capture:
    """Reads one pipe to the end, keeping the first and last `limit // 2` bytes."""

    def __init__(self, stream, limit: int):
        self.stream = stream
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while True:
                chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
                if not chunk:
                    return
                room = self.half - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail += chunk
                    if len(self.tail) > self.half:
                        self.dropped += len(self.tail) - self.half
                        del self.tail[: len(self.tail) - self.half]
        except (OSError, ValueError):
            return

    def text(self, wait: float) -> str:
        self.thread.join(wait)
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.dropped:
            return f"{head}\n… [{self.dropped} bytes left out] …\n{tail}"
        return head + tail


def _exited(pid: int) -> bool:
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _wait_unreaped(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `pid` to exit, leaving it a zombie; True when it exited."""
    deadline = time.monotonic() + max(timeout, 0.0)
    delay = 0.002
    while True:
        if _exited(pid):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.025)


WATCH_SECONDS = 0.05  # how often the watchdog measures a process tree


def _watch(pid: int, spec: SandboxSpec, timeout: float) -> tuple[bool, str, float]:
    """Wait for `pid` like _wait_unreaped, measuring its tree as it runs: (exited, why it was stopped, peak MB).

    Limits on resident memory and process count are enforced here rather than with RLIMIT_AS/RLIMIT_NPROC:
    the address space says nothing about memory use (WebAssembly reserves gigabytes it never touches), and
    RLIMIT_NPROC does not hold for root nor across user namespaces."""
    if not spec.resident_mb and not spec.max_processes:
        return _wait_unreaped(pid, timeout), "", 0.0
    deadline = time.monotonic() + max(timeout, 0.0)
    peak = 0.0
    while True:
        if _wait_unreaped(pid, min(WATCH_SECONDS, max(deadline - time.monotonic(), 0.0))):
            return True, "", peak
        resident, count = tree_usage(pid)
        peak = max(peak, resident / 1048576)
        if spec.resident_mb and resident > spec.resident_mb * 1048576:
            return False, f"resident memory over {spec.resident_mb} MB", peak
        if spec.max_processes and count > spec.max_processes:
            return False, f"more than {spec.max_processes} processes", peak
        if time.monotonic() >= deadline:
            return False, "", peak


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_sandboxed(
    command: list[str],
    spec: SandboxSpec,
    timeout: float,
    output_limit: int = 1_000_000,
    setting: str | None = None,
) -> SandboxResult:
    """Run `command` in the sandbox (or, without bubblewrap, as a plain process with the same small environment).

    At `timeout` seconds the whole process group is killed (inside bubblewrap: the whole PID namespace), and
    so it is as soon as the tree goes over `spec.resident_mb` or `spec.max_processes` (`stopped_for` says which).
    Output beyond `output_limit` bytes per stream keeps its beginning and end.
    """
    sandboxed = sandbox_available(setting)
    if sandboxed:
        argv, cwd, env = bwrap_argv(spec, command, bwrap_path(setting)), None, {}
    else:
        argv, cwd, env = list(command), (str(spec.cwd) if spec.cwd else None), dict(spec.env)
        if argv and "/" not in argv[0]:
            argv[0] = shutil.which(argv[0], path=env.get("PATH", DEFAULT_PATH)) or argv[0]
    argv = _limits_prefix(spec) + argv
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )
    out, err = _Capture(proc.stdout, output_limit), _Capture(proc.stderr, output_limit)
    stopped_for, peak = "", 0.0
    try:
        exited, stopped_for, peak = _watch(proc.pid, spec, timeout)
        timed_out = not exited and not stopped_for
    finally:
        # Whatever is left of the group (background children, the command itself at the deadline) goes now.
        # The command is not reaped yet, so its process group id cannot have been reused meanwhile.
        # Inside bubblewrap, killing it ends its PID namespace, and with it every process in there.
        if stopped_for and not sandboxed:
            for pid in process_tree(proc.pid)[1:]:  # descendants that left the group (setsid) go too
                _kill_pid(pid)
        _kill_group(proc.pid)
        proc.wait()
    seconds = time.monotonic() - started
    result = SandboxResult(
        returncode=None if timed_out or stopped_for else proc.returncode,
        stdout=out.text(2),
        stderr=err.text(2),
        timed_out=timed_out,
        seconds=seconds,
        sandboxed=sandboxed,
        stopped_for=stopped_for,
        peak_resident_mb=round(peak, 1),
    )
    for stream in (proc.stdout, proc.stderr):
        try:
            stream.close()
        except OSError:
            pass
    return result
