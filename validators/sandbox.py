"""Run untrusted processes (a project's build, the browser and the app's server) inside bubblewrap.

What a sandboxed process gets (see docs/threat-model.md for why):
- no network at all (a private network namespace with only its own loopback), unless the spec asks for it;
- a read-only view of the system folders only (/usr, /etc, /lib*, /bin, /sbin) plus the folders named in the
  spec; home folders, /tmp, /var, /run (and every socket in them) are simply not there; /tmp is a small tmpfs;
- an empty environment apart from PATH, HOME=/tmp and LANG (bwrap itself starts with no environment, so
  /proc/1/environ holds nothing either): no API key;
- no capabilities; when runshot runs as root, uid/gid 65534 inside a user namespace;
- its own PID namespace: when the command ends, or runshot goes away, every process it started dies.

Without bubblewrap (or with RUNSHOT_SANDBOX=off) commands run as plain subprocesses with the same small
environment, in their own process group; the browser then relies on its in-browser blocking alone.

The mode comes from $RUNSHOT_SANDBOX when set, else from the caller's setting (BrowserSettings.sandbox):
"auto" (sandbox when bubblewrap works, else say so once), "off", or "require" (its absence is an error).
`BrowserSandbox` is what the Validator uses: one Chromium wrapper script per served folder (Playwright
launches it as the browser) and a FIFO through which the sandboxed server reports its requests.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from runshot.errors import EnvironmentProblem
from runshot.validators.proctree import process_tree, tree_usage

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
PROFILE_MB = 512  # size of the tmpfs holding Chromium's profile inside the sandbox


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


_ANNOUNCED: set[str] = set()


def announce_fallback(reason: str) -> bool:
    """Say once per process (on stderr) that the browser runs without bubblewrap; True when this call said it."""
    if reason in _ANNOUNCED:
        return False
    _ANNOUNCED.add(reason)
    print(f"bubblewrap not available ({reason}): {FALLBACK}", file=sys.stderr, flush=True)
    return True


# ---- the bwrap command line ----


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def _under_system(path: Path) -> bool:
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
            real = _real(name)
            if real.exists() and not _under_system(real):
                out.append(real)
    return out


def _binds(spec: SandboxSpec) -> list[str]:
    """Read-only and writable binds, parents before children so a child bind is not hidden by its parent's."""
    wanted: dict[Path, bool] = {}  # path -> writable
    for path in [*spec.readonly, *(_network_files() if spec.network else [])]:
        real = _real(path)
        if not _under_system(real):
            wanted.setdefault(real, False)
    for path in spec.writable:
        wanted[_real(path)] = True
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
        argv += ["--chdir", str(_real(spec.cwd))]
    argv.append("--")
    argv += list(command)
    return argv


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


# ---- Chromium and the app's server, together inside one sandbox ----


def python_paths() -> list[Path]:
    """What a Python interpreter needs to run `python -m runshot...` inside the sandbox (outside /usr)."""
    paths: set[Path] = set()
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        paths.add(_real(prefix))
    paths.add(_real(sys.executable).parent)
    paths.add(Path(os.path.abspath(sys.executable)).parent)
    for name in ("runshot", "runshot.validators"):
        found = importlib.util.find_spec(name)
        for location in (found.submodule_search_locations or []) if found else []:
            paths.add(_real(location))
    # Keep the outermost of nested folders, and nothing the system binds already show.
    kept = sorted((p for p in paths if not _under_system(p)), key=lambda p: len(p.parts))
    out: list[Path] = []
    for path in kept:
        if not any(path.is_relative_to(parent) for parent in out):
            out.append(path)
    return out


def tool_paths(executable: str) -> list[Path]:
    """The installation folder of a program that lives outside the system folders (Chrome in /opt, nvm's node)."""
    real = _real(shutil.which(executable) or executable)
    if _under_system(real):
        return []
    folder = real.parent
    if folder.name == "bin":
        folder = folder.parent
    return [folder]


def chromium_spec(
    serve_root: Path, executable: str, mount_root: Path | None = None, log_dir: Path | None = None
) -> SandboxSpec:
    """The sandbox for Chromium plus the static server: nothing writable but its own tmpfs folders, no network.

    `log_dir` (read-only inside) holds the FIFO the server reports its requests to; a FIFO can be written
    on a read-only mount, nothing else in that folder can.
    """
    env = minimal_env()
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    extra = [log_dir] if log_dir is not None else []
    return SandboxSpec(
        writable=[],
        readonly=[mount_root or serve_root, *extra, *python_paths(), *tool_paths(executable)],
        network=False,
        env=env,
        cwd=Path("/tmp"),
        tmp_mb=1024,  # Debian's launcher moves shared memory to /tmp when /dev/shm looks small
    )


def folder_identity(path: Path) -> str:
    """Which folder a path names right now (device:inode): a folder deleted and made again is a new one."""
    info = os.stat(path)
    return f"{info.st_dev}:{info.st_ino}"


def chromium_wrapper(
    executable: str,
    serve_root: Path,
    port: int,
    workdir: Path,
    mount_root: Path | None = None,
    log: Path | None = None,
    setting: str | None = None,
) -> Path:
    """Write an executable script that Playwright can launch as Chromium (`executable_path=`).

    The script starts bubblewrap with no network (a private loopback), runs runshot's static server for
    `serve_root` on 127.0.0.1:`port` inside it, then Chromium with Playwright's arguments. Playwright talks to
    Chromium over inherited pipes, so the driver stays outside. Chromium's profile is a tmpfs inside the sandbox.
    `mount_root` (default: `serve_root`) is the folder bound read-only; give the project folder when the served
    folder (a build's dist/) may be deleted and made again while the browser lives. `log` is a FIFO (see
    server.RequestFeed) that the server writes its request records to.

    The script's name depends on everything it does, including which folder `mount_root` is right now: when the
    folder is replaced by a new one, a new script (so a new browser, binding the new folder) is needed.
    """
    bwrap = bwrap_path(setting)
    if bwrap is None or not sandbox_available(setting):
        raise EnvironmentProblem(unavailable_reason(setting) or "bubblewrap is not available")
    serve_root = _real(serve_root)
    if mount_root is not None and not serve_root.is_relative_to(_real(mount_root)):
        raise ValueError(f"{serve_root} is not inside {mount_root}")
    if not 0 < int(port) < 65536:
        raise ValueError(f"bad port {port}")
    chromium = os.path.abspath(shutil.which(executable) or executable)
    log_dir = _real(log).parent if log is not None else None
    spec = chromium_spec(serve_root, executable, mount_root, log_dir)
    # sys.executable as it is, not resolved: in a virtual environment the link is what finds its site-packages.
    inner = [os.path.abspath(sys.executable), "-I", "-B", "-m", "runshot.validators.serve_cli", str(serve_root),
             str(int(port))]
    if log is not None:
        inner += ["--log", str(log_dir / Path(log).name)]
    inner += ["--exec", chromium]
    before = bwrap_argv(spec, [], bwrap=bwrap)[:-1]  # everything up to the final "--"

    def words(items: list[str]) -> str:
        return " ".join(shlex.quote(item) for item in items)

    script = "\n".join(
        [
            "#!/bin/sh",
            "# Written by runshot: Chromium and the app's static server inside bubblewrap, without network.",
            f"# Bound folder: {mount_root or serve_root} ({folder_identity(mount_root or serve_root)})",
            "# Playwright passes a temporary profile folder; inside the sandbox it becomes a private tmpfs.",
            'profile=""',
            'for arg do case "$arg" in --user-data-dir=*) profile="${arg#--user-data-dir=}" ;; esac; done',
            'if [ -n "$profile" ]; then',
            f'  set -- --size {PROFILE_MB * 1024 * 1024} --tmpfs "$profile" -- {words(inner)} "$@"',
            "else",
            f'  set -- -- {words(inner)} "$@"',
            "fi",
            f'exec /usr/bin/env -i {words(before)} "$@"',
            "",
        ]
    )
    workdir.mkdir(parents=True, exist_ok=True)
    # One script per (root, port, browser): a host relaunching its browser later must find its own script.
    key = hashlib.sha256(script.encode()).hexdigest()[:12]
    target = workdir / f"chromium-sandboxed-{int(port)}-{key}.sh"
    if target.is_file() and target.read_text() == script:
        return target
    fd, temp = tempfile.mkstemp(dir=workdir, prefix=".chromium-", suffix=".sh")
    with os.fdopen(fd, "w") as handle:
        handle.write(script)
    os.chmod(temp, 0o755)
    os.replace(temp, target)  # a running copy of the old script keeps reading its own file
    return target


SANDBOX_PORT = 8000  # the app's port inside the sandbox: its loopback is its own, so any port will do


class BrowserSandbox:
    """What a validator needs to run Chromium and the app's server inside bubblewrap, folder after folder.

    It owns a private working folder with the wrapper scripts (one per served folder, see `chromium_wrapper`)
    and a FIFO through which every sandboxed server reports its requests (`feed`). Close it when done.
    """

    MAX_WRAPPERS = 32

    def __init__(self, chromium: str, port: int = SANDBOX_PORT, setting: str | None = None):
        from runshot.validators.server import RequestFeed

        self.chromium = chromium
        self.port = int(port)
        self.setting = setting
        self.workdir = Path(tempfile.mkdtemp(prefix="runshot-browser-"))
        (self.workdir / "log").mkdir(mode=0o700)
        self.feed = RequestFeed(self.workdir / "log" / "requests")
        self._wrappers: dict[tuple[str, str, str], Path] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def wrapper(self, serve_root: Path, mount_root: Path | None = None) -> Path:
        """The Chromium to launch for serving `serve_root` (bound through `mount_root`, default itself)."""
        mount = _real(mount_root or serve_root)
        key = (str(_real(serve_root)), str(mount), folder_identity(mount))
        found = self._wrappers.get(key)
        if found is not None and found.is_file():
            return found
        if len(self._wrappers) >= self.MAX_WRAPPERS:
            self._wrappers.clear()
        made = chromium_wrapper(self.chromium, Path(key[0]), self.port, self.workdir / "bin", mount,
                                log=self.feed.path, setting=self.setting)
        self._wrappers[key] = made
        return made

    def close(self) -> None:
        self.feed.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "BrowserSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
