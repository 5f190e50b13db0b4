"""Bubblewrap: whether it is there and works, and the command line that confines one command to a SandboxSpec.

What a sandboxed process gets (see docs/threat-model.md for why):
- no network at all (a private network namespace with only its own loopback), unless the spec asks for it;
- a read-only view of the system folders only (/usr, /etc, /lib*, /bin, /sbin) plus the folders named in the
  spec; home folders, /tmp, /var, /run (and every socket in them) are simply not there; /tmp is a small tmpfs;
- an empty environment apart from PATH, HOME=/tmp and LANG (bwrap itself starts with no environment, so
  /proc/1/environ holds nothing either): no API key;
- no capabilities; when runshot runs as root, uid/gid 65534 inside a user namespace;
- its own PID namespace: when the command ends, or runshot goes away, every process it started dies.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from runshot.errors import EnvironmentProblem

SANDBOX_ENV = "RUNSHOT_SANDBOX"  # "off" disables, "require" fails when bubblewrap does not work, else auto
BWRAP_ENV = "RUNSHOT_BWRAP"  # path of the bwrap executable, default: bwrap on PATH
OFF_VALUES = ("off", "0", "no", "false", "none")
REQUIRE_VALUES = ("require", "required", "on", "1", "yes", "true")

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
NOBODY = 65534

# What the sandbox sees of the system, read-only. Merged-/usr systems have symlinks for most of these.
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Read-only extras that make programs faster or quieter when present (fontconfig's cache for Chromium).
OPTIONAL_DIRS = ("/var/cache/fontconfig",)
# Secrets that live below /etc on common systems: hidden even though /etc is visible.
HIDDEN_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers")
HIDDEN_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
# With network (package installs only), name resolution must work even when these point into /run.
NETWORK_FILES = ("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf")

TMP_MB = 256  # size of the sandbox's own /tmp
SHM_MB = 1024  # size cap of /dev/shm (Chromium keeps shared memory there)


def minimal_env() -> dict[str, str]:
    """The whole environment of an untrusted process. Also pass it as Playwright's launch(env=...) when Chromium
    runs without the sandbox: by default Chromium inherits runshot's environment, API key included."""
    return {"PATH": DEFAULT_PATH, "HOME": "/tmp", "LANG": "C.UTF-8"}


@dataclass
class SandboxSpec:
    """What one sandboxed command may touch.

    writable: folders it may change (bound read-write at the same path); everything else is read-only or absent.
    readonly: extra folders it may read (tools outside /usr, the project for a server).
    network: True shares the host's network (only for installing packages; never for generated code).
    env: the whole environment inside; nothing else leaks in.
    memory_mb: address-space limit (RLIMIT_AS) of the command and its children; None for none. It breaks
        programs that reserve much more than they use (WebAssembly, Chromium): prefer resident_mb.
    resident_mb: resident memory (RSS) of the command and all its descendants together, watched while it runs;
        past it the whole process tree is killed. None for no limit.
    max_processes: how many processes the command and its descendants may be at once, watched the same way.
    max_file_bytes: largest file the command may write (RLIMIT_FSIZE); None for no limit.
    """

    writable: list[Path] = field(default_factory=list)
    readonly: list[Path] = field(default_factory=list)
    network: bool = False
    env: dict[str, str] = field(default_factory=minimal_env)
    cwd: Path | None = None
    memory_mb: int | None = None
    resident_mb: int | None = None
    max_processes: int | None = None
    max_file_bytes: int | None = None
    tmp_mb: int = TMP_MB
    drop_uid: bool = True  # as root: become 65534 inside a user namespace


# ---- is bubblewrap there, and does it work? ----


def sandbox_mode(setting: str | None = None) -> str:
    """"off", "require" or "auto": an explicit `setting` (a --sandbox flag), else $RUNSHOT_SANDBOX, else auto."""
    chosen = (setting or "").strip().lower()
    if chosen in ("", "auto"):
        chosen = os.environ.get(SANDBOX_ENV, "").strip().lower()
    value = chosen
    if value in OFF_VALUES:
        return "off"
    if value in REQUIRE_VALUES:
        return "require"
    return "auto"


def bwrap_path(setting: str | None = None) -> str | None:
    """The bwrap executable to use, or None when sandboxing is off or bwrap is not installed."""
    if sandbox_mode(setting) == "off":
        return None
    configured = os.environ.get(BWRAP_ENV, "").strip()
    if configured:
        found = shutil.which(configured)
        return found if found else None
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=16)
def _probe(bwrap: str, userns: bool) -> str | None:
    """Run `true` in the same kind of sandbox we use for real; None when it works, else why not."""
    argv = _argv(SandboxSpec(), ["true"], bwrap, userns)
    try:
        done = subprocess.run(argv, env={}, stdin=subprocess.DEVNULL, capture_output=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{bwrap} could not be run: {exc}"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"{bwrap} does not work here: {why[-1] if why else f'exit {done.returncode}'}"
    return None


def _userns_works(bwrap: str) -> bool:
    """Whether bwrap can add a user namespace of its own (not on systems that forbid them)."""
    return _probe(bwrap, True) is None


FALLBACK = "generated code runs with browser-level blocking only"


def why_unavailable(setting: str | None = None) -> str | None:
    """None when sandboxing works; otherwise the short reason ("bubblewrap (bwrap) is not installed")."""
    if sandbox_mode(setting) == "off":
        return f"sandboxing is off ({SANDBOX_ENV}=off)" if os.environ.get(SANDBOX_ENV) else "sandboxing is off"
    path = bwrap_path(setting)
    if path is None:
        configured = os.environ.get(BWRAP_ENV, "").strip()
        return f"{BWRAP_ENV}={configured} was not found" if configured else "bubblewrap (bwrap) is not installed"
    return None if _userns_works(path) else _probe(path, False)


def unavailable_reason(setting: str | None = None) -> str | None:
    """None when sandboxing works; otherwise one line saying why untrusted code runs without it."""
    why = why_unavailable(setting)
    if why is None:
        return None
    if sandbox_mode(setting) != "off" and bwrap_path(setting) is None:
        return f"{why}: {FALLBACK} (install the bubblewrap package)"
    return f"{why}: {FALLBACK}"


def sandbox_available(setting: str | None = None) -> bool:
    """True when bubblewrap is enabled, installed and works. Mode "require" turns 'no' into an error."""
    why = why_unavailable(setting)
    if why and sandbox_mode(setting) == "require":
        raise EnvironmentProblem(f"{SANDBOX_ENV}=require, but {why}")
    return why is None

# ---- the bwrap command line ----


def real_path(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def under_system(path: Path) -> bool:
    return any(path == Path(d) or path.is_relative_to(d) for d in SYSTEM_DIRS)


def _system_args() -> list[str]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    for name in OPTIONAL_DIRS:
        if os.path.isdir(name) and not os.path.islink(name):
            args += ["--ro-bind", name, name]
    for name in HIDDEN_FILES:
        if os.path.isfile(name) and not os.path.islink(name):
            args += ["--ro-bind", "/dev/null", name]
    for name in HIDDEN_DIRS:
        if os.path.isdir(name) and not os.path.islink(name):
            args += ["--tmpfs", name]
    return args


def _network_files() -> list[Path]:
    """Name-resolution files that are links to outside the system folders (systemd-resolved's /run/...)."""
    out = []
    for name in NETWORK_FILES:
        if os.path.islink(name):
            real = real_path(name)
            if real.exists() and not under_system(real):
                out.append(real)
    return out


def _binds(spec: SandboxSpec) -> list[str]:
    """Read-only and writable binds, parents before children so a child bind is not hidden by its parent's."""
    wanted: dict[Path, bool] = {}  # path -> writable
    for path in [*spec.readonly, *(_network_files() if spec.network else [])]:
        real = real_path(path)
        if not under_system(real):
            wanted.setdefault(real, False)
    for path in spec.writable:
        wanted[real_path(path)] = True
    args: list[str] = []
    for path in sorted(wanted, key=lambda p: (len(p.parts), str(p))):
        if not path.exists():
            raise FileNotFoundError(f"sandbox: {path} does not exist")
        args += ["--bind" if wanted[path] else "--ro-bind", str(path), str(path)]
    return args


def _identity_args(spec: SandboxSpec, userns: bool) -> list[str]:
    if not userns:
        return []  # capabilities are still dropped (--cap-drop ALL)
    # A user namespace of its own, which the command may not nest (--disable-userns); as root, uid/gid nobody.
    args = ["--unshare-user", "--disable-userns"]
    if spec.drop_uid and os.geteuid() == 0:
        args += ["--uid", str(NOBODY), "--gid", str(NOBODY)]
    return args


def bwrap_argv(spec: SandboxSpec, command: list[str], bwrap: str | None = None) -> list[str]:
    """The full command line that runs `command` inside bubblewrap as `spec` describes. Start it with env={}."""
    bwrap = bwrap or bwrap_path() or "bwrap"
    return _argv(spec, command, bwrap, _userns_works(bwrap))


def _argv(spec: SandboxSpec, command: list[str], bwrap: str, userns: bool) -> list[str]:
    argv = [bwrap, "--unshare-all"]
    if spec.network:
        argv.append("--share-net")
    argv += _identity_args(spec, userns)
    argv += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    argv += _system_args()
    argv += ["--dev", "/dev", "--proc", "/proc"]
    argv += ["--size", str(spec.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    argv += ["--perms", "1777", "--size", str(SHM_MB * 1024 * 1024), "--tmpfs", "/dev/shm"]
    argv += _binds(spec)
    argv.append("--clearenv")
    for name, value in spec.env.items():
        argv += ["--setenv", name, value]
    if spec.cwd is not None:
        argv += ["--chdir", str(real_path(spec.cwd))]
    argv.append("--")
    argv += list(command)
    return argv


# ---- folders a spec must show ----


def python_paths() -> list[Path]:
    """What a Python interpreter needs to run `python -m runshot...` inside the sandbox (outside /usr)."""
    paths: set[Path] = set()
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        paths.add(real_path(prefix))
    paths.add(real_path(sys.executable).parent)
    paths.add(Path(os.path.abspath(sys.executable)).parent)
    for name in ("runshot", "runshot.validators"):
        found = importlib.util.find_spec(name)
        for location in (found.submodule_search_locations or []) if found else []:
            paths.add(real_path(location))
    # Keep the outermost of nested folders, and nothing the system binds already show.
    kept = sorted((p for p in paths if not under_system(p)), key=lambda p: len(p.parts))
    out: list[Path] = []
    for path in kept:
        if not any(path.is_relative_to(parent) for parent in out):
            out.append(path)
    return out


def tool_paths(executable: str) -> list[Path]:
    """The installation folder of a program that lives outside the system folders (Chrome in /opt, nvm's node)."""
    real = real_path(shutil.which(executable) or executable)
    if under_system(real):
        return []
    folder = real.parent
    if folder.name == "bin":
        folder = folder.parent
    return [folder]

