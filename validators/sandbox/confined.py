"""Run untrusted processes (a project's build, the browser and the app's server) inside bubblewrap.

Whether bubblewrap works and its command line are in `bwrap`; running one command with limits in `sandboxrun`;
this module holds what the browser needs (a Chromium wrapper per served folder, `BrowserSandbox`) and keeps
every name of the other two importable from here.

What a sandboxed process gets, and why (docs/threat-model.md), is listed in `bwrap`.

Without bubblewrap (or with RUNSHOT_SANDBOX=off) commands run as plain subprocesses with the same small
environment, in their own process group; the browser then relies on its in-browser blocking alone.

The mode comes from $RUNSHOT_SANDBOX when set, else from the caller's setting (BrowserSettings.sandbox):
"auto" (sandbox when bubblewrap works, else say so once), "off", or "require" (its absence is an error).
`BrowserSandbox` is what the Validator uses: one Chromium wrapper script per served folder (Playwright
launches it as the browser) and a FIFO through which the sandboxed server reports its requests.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from runshot.errors import EnvironmentProblem
from runshot.validators.sandbox.bwrap import (
    BWRAP_ENV,
    DEFAULT_PATH,
    FALLBACK,
    HIDDEN_DIRS,
    HIDDEN_FILES,
    NETWORK_FILES,
    NOBODY,
    OFF_VALUES,
    OPTIONAL_DIRS,
    REQUIRE_VALUES,
    SANDBOX_ENV,
    SHM_MB,
    SYSTEM_DIRS,
    TMP_MB,
    SandboxSpec,
    bwrap_argv,
    bwrap_path,
    minimal_env,
    python_paths,
    real_path,
    sandbox_available,
    sandbox_mode,
    tool_paths,
    unavailable_reason,
    why_unavailable,
)
from runshot.validators.sandbox.run import WATCH_SECONDS, SandboxResult, run_sandboxed
from runshot.validators.serve.server import RequestFeed

__all__ = [  # what bwrap and sandboxrun hold stays importable from here
    "BWRAP_ENV",
    "DEFAULT_PATH",
    "FALLBACK",
    "HIDDEN_DIRS",
    "HIDDEN_FILES",
    "NETWORK_FILES",
    "NOBODY",
    "OFF_VALUES",
    "OPTIONAL_DIRS",
    "PROFILE_MB",
    "REQUIRE_VALUES",
    "SANDBOX_ENV",
    "SANDBOX_PORT",
    "SHM_MB",
    "SYSTEM_DIRS",
    "TMP_MB",
    "WATCH_SECONDS",
    "BrowserSandbox",
    "SandboxResult",
    "SandboxSpec",
    "Site",
    "announce_fallback",
    "bwrap_argv",
    "bwrap_path",
    "chromium_spec",
    "chromium_wrapper",
    "folder_identity",
    "minimal_env",
    "python_paths",
    "run_sandboxed",
    "sandbox_available",
    "sandbox_mode",
    "sites_wrapper",
    "tool_paths",
    "unavailable_reason",
    "why_unavailable",
]

PROFILE_MB = 512  # size of the tmpfs holding Chromium's profile inside the sandbox


_ANNOUNCED: set[str] = set()


def announce_fallback(reason: str) -> bool:
    """Say once per process (on stderr) that the browser runs without bubblewrap; True when this call said it."""
    if reason in _ANNOUNCED:
        return False
    _ANNOUNCED.add(reason)
    print(f"bubblewrap not available ({reason}): {FALLBACK}", file=sys.stderr, flush=True)
    return True


# ---- Chromium and the app's server, together inside one sandbox ----


def chromium_spec(
    serve_root: Path, executable: str, mount_root: Path | None = None, log_dir: Path | None = None,
    more_mounts: Sequence[Path] = (),
) -> SandboxSpec:
    """The sandbox for Chromium plus the static server: nothing writable but its own tmpfs folders, no network.

    `log_dir` (read-only inside) holds the FIFO the server reports its requests to; a FIFO can be written
    on a read-only mount, nothing else in that folder can. `more_mounts`: the folders of other apps served
    beside this one (each read-only too).
    """
    env = minimal_env()
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    extra = [log_dir] if log_dir is not None else []
    return SandboxSpec(
        writable=[],
        readonly=[mount_root or serve_root, *more_mounts, *extra, *python_paths(), *tool_paths(executable)],
        network=False,
        env=env,
        cwd=Path("/tmp"),
        tmp_mb=1024,  # Debian's launcher moves shared memory to /tmp when /dev/shm looks small
    )


def folder_identity(path: Path) -> str:
    """Which folder a path names right now (device:inode): a folder deleted and made again is a new one."""
    info = os.stat(path)
    return f"{info.st_dev}:{info.st_ino}"


@dataclass(frozen=True)
class Site:
    """One folder a sandboxed browser serves: `serve_root` on 127.0.0.1:`port`, bound through `mount_root`
    (default: `serve_root` itself)."""

    serve_root: Path
    port: int
    mount_root: Path | None = None


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
    return sites_wrapper(executable, [Site(serve_root, port, mount_root)], workdir, log, setting)


def sites_wrapper(
    executable: str, sites: Sequence[Site], workdir: Path, log: Path | None = None, setting: str | None = None
) -> Path:
    """`chromium_wrapper` for one folder or several: each site is bound and served on its own port, all of them
    by one Chromium (every page is still routed to its own app's origin only, see pages.isolate_context)."""
    bwrap = bwrap_path(setting)
    if bwrap is None or not sandbox_available(setting):
        raise EnvironmentProblem(unavailable_reason(setting) or "bubblewrap is not available")
    if not sites:
        raise ValueError("no folder to serve")
    served: list[Site] = []  # each with its real serve_root and the folder it is bound through
    for site in sites:
        serve_root = real_path(site.serve_root)
        if site.mount_root is not None and not serve_root.is_relative_to(real_path(site.mount_root)):
            raise ValueError(f"{serve_root} is not inside {site.mount_root}")
        if not 0 < int(site.port) < 65536:
            raise ValueError(f"bad port {site.port}")
        served.append(Site(serve_root, int(site.port), site.mount_root or site.serve_root))
    if len({site.port for site in served}) != len(served):
        raise ValueError("two folders on one port")
    chromium = os.path.abspath(shutil.which(executable) or executable)
    log_dir = real_path(log).parent if log is not None else None
    mounts = [site.mount_root for site in served]
    spec = chromium_spec(served[0].serve_root, executable, mounts[0], log_dir, more_mounts=mounts[1:])
    # sys.executable as it is, not resolved: in a virtual environment the link is what finds its site-packages.
    inner = [os.path.abspath(sys.executable), "-I", "-B", "-m", "runshot.validators.serve.cli"]
    for site in served:
        inner += [str(site.serve_root), str(site.port)]
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
            *(f"# Bound folder: {mount} ({folder_identity(mount)})" for mount in mounts),
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
    # One script per (roots, ports, browser): a host relaunching its browser later must find its own script.
    key = hashlib.sha256(script.encode()).hexdigest()[:12]
    target = workdir / f"chromium-sandboxed-{served[0].port}-{key}.sh"
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
        mount = real_path(mount_root or serve_root)
        key = (str(real_path(serve_root)), str(mount), folder_identity(mount))
        found = self._wrappers.get(key)
        if found is not None and found.is_file():
            return found
        if len(self._wrappers) >= self.MAX_WRAPPERS:
            self._wrappers.clear()
        made = chromium_wrapper(self.chromium, Path(key[0]), self.port, self.workdir / "bin", mount,
                                log=self.feed.path, setting=self.setting)
        self._wrappers[key] = made
        return made

    def serving_together(self, folders: Sequence[Path]) -> tuple[Path, dict[Path, int]]:
        """The Chromium to launch for serving several folders at once (each as written, bound itself) and the
        port each is served on: this sandbox's port, then the next ones, in the order given."""
        ports = {real_path(folder): self.port + i for i, folder in enumerate(dict.fromkeys(map(real_path, folders)))}
        sites = [Site(folder, port) for folder, port in ports.items()]
        made = sites_wrapper(self.chromium, sites, self.workdir / "bin", log=self.feed.path, setting=self.setting)
        return made, ports

    def close(self) -> None:
        self.feed.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "BrowserSandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
