"""The local model's server: llama.cpp's OpenAI-compatible server on 127.0.0.1 as a child process.

`LocalServer` starts it for one GGUF file with a minimal environment (nothing secret), waits until it answers,
retries on a port another process took first, and always stops it (and its process group). While it runs it is
found by its base URL (`serving`), so a request to it is shaped for the engine (see `localengine`): answers that fit
its context, a seed per attempt, and a plain word on why, when the server itself died.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from runshot.errors import EnvironmentProblem
from runshot.procs import die_with_parent

PORTABLE_BUILD_COMMAND = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF" '
    "pip install --no-cache-dir 'llama-cpp-python[server]==0.3.36'"
)
LOCAL_EXTRA_MESSAGE = (
    "the local model needs the 'local' extra: pip install 'runshot[local]' "
    "(if the server then dies with 'Illegal instruction', rebuild it portably: " + PORTABLE_BUILD_COMMAND + ")"
)
# Modules `python -m llama_cpp.server` imports; all come with llama-cpp-python[server].
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")

# llama-cpp-python's server keeps the logits of every position of the context by default (n_ctx x vocabulary x
# 4 bytes: about 5 GB for 8192 tokens of Qwen's 152k vocabulary) although nothing runshot asks needs them.
SERVER_FLAGS = ("--logits_all", "false")
_RUNNING: dict[str, "LocalServer"] = {}  # base URL -> the server started there (and not stopped)

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def child_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for the server: PATH, HOME, LANG (and LC_ALL, TMPDIR), never anything secret."""
    environ = dict(os.environ if environ is None else environ)
    return {k: environ[k] for k in _PASSED_ENV if k in environ and not _SECRET_NAME.search(k)}


def llama_cpp_available() -> bool:
    try:
        return all(importlib.util.find_spec(name) is not None for name in SERVER_MODULES)
    except (ImportError, ValueError):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def default_threads(load: float | None = None) -> int:
    """The cores this process may use that are not already busy (at least 1).

    llama.cpp's threads wait for each other at every step: on cores other programs keep busy, a thread that is not
    scheduled holds the rest up. On 2 shared cores under load, 1 thread generated about 10x as fast as 2.
    `load` is the 1-minute load average (read from the system when None)."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = max(1, os.cpu_count() or 1)
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    return max(1, min(cores, cores - int(load + 0.5)))


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def serving(base_url: str | None) -> "LocalServer | None":
    """The LocalServer this process started at `base_url`, while it is meant to be running."""
    return _RUNNING.get((base_url or "").rstrip("/"))


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


@dataclass(frozen=True)
class ServerOptions:
    """How the local server runs: its log folder, context size, threads, the name it serves the model under, the
    program prefix (`command`, default: this Python with `-m llama_cpp.server`), its host and its deadlines."""

    log_dir: Path | str | None = None
    n_ctx: int = 8192
    n_threads: int | None = None  # None: sized to the cores (default_threads)
    model_alias: str | None = None
    command: Sequence[str] | None = None
    host: str = "127.0.0.1"
    ready_timeout: float = 120.0
    stop_timeout: float = 5.0
    # The engine's RAM cache of evaluated prompts (repairs and candidates share long prefixes), and prompt-lookup
    # decoding: drafts of `lookup_tokens` tokens copied from the prompt, verified in one batch (a repair re-emits
    # much of the files its prompt holds). 0 turns lookup off.
    prompt_cache: bool = False
    lookup_tokens: int = 0


class LocalServer:
    """llama.cpp's OpenAI-compatible server for one GGUF file, as a child process on 127.0.0.1.

    Use as a context manager; the child (and its process group) is stopped on exit, on an exception or
    KeyboardInterrupt inside the block, and at interpreter exit. `command` replaces the program prefix
    (default: this Python with `-m llama_cpp.server`); the model, host, port, context and thread arguments
    are appended to it either way.
    """

    def __init__(self, model_path: Path | str, options: ServerOptions | None = None, **values):
        """`options` (or the same names as keywords, which override it) say how; an unknown keyword is a
        TypeError naming it."""
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(ServerOptions)})
        if unknown:
            raise TypeError(f"LocalServer: unknown option(s): {', '.join(unknown)}")
        o = dataclasses.replace(options or ServerOptions(), **values)
        self.options = o
        self.model_path = Path(model_path)
        self.log_dir = Path(o.log_dir) if o.log_dir is not None else None
        self.n_ctx = o.n_ctx
        self.n_threads = o.n_threads or default_threads()
        self.model_name = o.model_alias or self.model_path.stem
        self.command = list(o.command) if o.command is not None else None
        self.host = o.host
        self.ready_timeout = o.ready_timeout
        self.stop_timeout = o.stop_timeout
        self.prompt_cache = o.prompt_cache
        self.lookup_tokens = o.lookup_tokens
        self.port: int | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen | None = None

    # ---- public
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("LocalServer is not started")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> "LocalServer":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        if self._proc is not None:
            return
        prefix = self.command
        if prefix is None:
            if not llama_cpp_available():
                raise EnvironmentProblem(LOCAL_EXTRA_MESSAGE)
            prefix = [sys.executable, "-m", "llama_cpp.server"]
        if not self.model_path.is_file():
            raise EnvironmentProblem(f"local model file not found: {self.model_path}")
        log_dir = self.log_dir or Path(tempfile.mkdtemp(prefix="runshot-local-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / "local-server.log"
        for attempt in range(3):
            self.port = free_port(self.host)
            args = [
                *prefix,
                "--model", str(self.model_path),
                "--model_alias", self.model_name,
                "--host", self.host,
                "--port", str(self.port),
                "--n_ctx", str(self.n_ctx),
                "--n_threads", str(self.n_threads),
                # Queue concurrent requests (batch --jobs N) instead of cutting the running answer off empty.
                # An answer runshot stops reading (repeat, deadline) still ends: the server stops generating
                # when it sees the connection closed, at its next token.
                "--interrupt_requests", "false",
                *SERVER_FLAGS,
            ]
            if self.prompt_cache:
                args += ["--cache", "true"]
            if self.lookup_tokens > 0:
                args += ["--draft_model", "prompt-lookup-decoding",
                         "--draft_model_num_pred_tokens", str(self.lookup_tokens)]
            with self.log_path.open("wb") as log:
                self._proc = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=child_env(),
                    cwd=str(log_dir),
                    start_new_session=True,
                    preexec_fn=die_with_parent,  # gone even when runshot is killed with SIGKILL
                )
            atexit.register(self.stop)
            try:
                self._wait_ready()
                _RUNNING[self.base_url] = self
                return
            except _PortTaken:
                self.stop()
                continue
            except BaseException:
                self.stop()
                raise
        raise EnvironmentProblem(f"local model server could not get a free port; log: {self.log_path}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self.port is not None and _RUNNING.get(self.base_url) is self:
            del _RUNNING[self.base_url]
        atexit.unregister(self.stop)
        try:
            if proc.poll() is None:
                self._signal(proc, signal.SIGTERM)
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            self._signal(proc, signal.SIGKILL)
            proc.wait()

    def died(self) -> str | None:
        """None while the server runs; once it exited on its own, one line saying how, with its log's last line."""
        proc = self._proc
        if proc is None or proc.poll() is None:
            return None
        code = proc.returncode
        how = f"exit code {code}" if code >= 0 else f"killed by {_signal_name(code)}"
        if code == -signal.SIGKILL:
            how += ", perhaps for lack of memory"
        last = _tail(self.log_path, 1) if self.log_path else ""
        return (f"the local model server died ({how}); log {self.log_path}"
                + (f": {last.strip()[:200]}" if last.strip() else ""))

    def count_tokens(self, text: str, timeout: float = 5.0) -> int | None:
        """Tokens of `text` by the engine's own tokenizer, or None when the server does not say in time (it answers
        one request at a time: a running answer holds this one up)."""
        if self.port is None:
            return None
        request = urllib.request.Request(
            f"http://{self.host}:{self.port}/extras/tokenize/count",
            data=json.dumps({"input": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                count = json.loads(response.read()).get("count")
        except (urllib.error.URLError, OSError, ValueError, AttributeError):
            return None
        return count if isinstance(count, int) and count >= 0 else None

    # ---- internals
    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, sig)
            elif proc.poll() is None:
                proc.kill() if sig != signal.SIGTERM else proc.terminate()
        except (ProcessLookupError, PermissionError):
            pass

    def _wait_ready(self) -> None:
        assert self._proc is not None and self.log_path is not None
        deadline = time.monotonic() + self.ready_timeout
        url = self.base_url + "/models"
        while True:
            code = self._proc.poll()
            if code is not None:
                tail = _tail(self.log_path)
                if re.search(r"address already in use|error while attempting to bind", tail, re.IGNORECASE):
                    raise _PortTaken()
                hint = ""
                if code in (-signal.SIGILL, 128 + signal.SIGILL) or "Illegal instruction" in tail:
                    hint = f" (this CPU needs a portable build: {PORTABLE_BUILD_COMMAND})"
                raise EnvironmentProblem(
                    f"local model server exited early (code {code}){hint}; log {self.log_path}:\n{tail}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() >= deadline:
                raise EnvironmentProblem(
                    f"local model server did not answer within {self.ready_timeout:g} s; log {self.log_path}:\n"
                    f"{_tail(self.log_path)}"
                )
            time.sleep(0.2)


class _PortTaken(Exception):
    pass
