"""Serve one folder on 127.0.0.1:PORT with runshot's static server; optionally start a program beside it.

    python -m runshot.validators.serve_cli ROOT PORT                 # serve until interrupted
    python -m runshot.validators.serve_cli ROOT PORT --exec PROG ARGS...

With --exec the port is bound and listening first, the server moves to a child process, and this process
becomes PROG (keeping its pid and any inherited file descriptors, such as Playwright's pipes to Chromium).
The sandbox's Chromium wrapper uses this so the browser and the app's server share one private loopback.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from pathlib import Path

from runshot.validators import server as static

USAGE = "usage: python -m runshot.validators.serve_cli ROOT PORT [--exec PROGRAM ARGS...]"


class _FixedPortServer(static._Server):
    """The static server's HTTP server, bound to a chosen port instead of a free one."""

    def __init__(self, root: Path, port: int):
        self._wanted_port = port
        super().__init__(root, [], threading.Lock())

    def server_bind(self) -> None:
        self.server_address = ("127.0.0.1", self._wanted_port)
        super().server_bind()


def make_server(root: Path, port: int) -> static._Server:
    """A listening server for `root` on 127.0.0.1:`port` (the same rules as StaticServer: no .git, 204 favicon)."""
    resolved = Path(root).resolve()
    if not resolved.is_dir():
        raise NotADirectoryError(f"{root}: not a directory")
    return _FixedPortServer(resolved, port)


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the process that forked us (the browser, after exec) ends."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve_then_exec(root: Path, port: int, program: list[str]) -> None:
    server = make_server(root, port)  # listening before the program starts: no race for the first request
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        _die_with_parent()
        if os.getppid() != parent:
            os._exit(0)
        keep = server.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, 65536)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            os._exit(0)
    server.socket.close()
    os.execvp(program[0], program)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    program: list[str] = []
    if "--exec" in args:
        at = args.index("--exec")
        args, program = args[:at], args[at + 1:]
        if not program:
            print(USAGE, file=sys.stderr)
            return 2
    if len(args) != 2 or not args[1].isdigit() or not 0 < int(args[1]) < 65536:
        print(USAGE, file=sys.stderr)
        return 2
    root, port = Path(args[0]), int(args[1])
    try:
        if program:
            serve_then_exec(root, port, program)
            return 0  # not reached: exec replaced this process
        server = make_server(root, port)
    except OSError as exc:
        print(f"serve_cli: {exc}", file=sys.stderr)
        return 1
    print(f"serving {root} on http://127.0.0.1:{port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
