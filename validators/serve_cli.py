"""Serve one folder on 127.0.0.1:PORT with runshot's static server; optionally start a program beside it.

    python -m runshot.validators.serve_cli ROOT PORT [--log FIFO]                 # serve until interrupted
    python -m runshot.validators.serve_cli ROOT PORT [--log FIFO] --exec PROG ARGS...

With --exec the port is bound and listening first, the server moves to a child process, and this process
becomes PROG (keeping its pid and any inherited file descriptors, such as Playwright's pipes to Chromium). PROG
starts before the server's code is even imported (the child does that): a first request waits in the listening
socket's queue meanwhile.
The sandbox's Chromium wrapper uses this so the browser and the app's server share one private loopback.
With --log every request is written to FIFO as one line (see server.RequestFeed), so the process that
started the sandbox still learns what the app's server was asked for.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
from pathlib import Path

# runshot.validators.server (http.server and its imports) is imported only where a server is made: with --exec,
# in the child, after the program has been started.

USAGE = "usage: python -m runshot.validators.serve_cli ROOT PORT [--log FIFO] [--exec PROGRAM ARGS...]"


class _LogWriter:
    """Writes each request record to a FIFO; silently does nothing when there is no FIFO or no reader."""

    def __init__(self, path: Path | None):
        self.path = path
        self.fd = -1
        self.lock = threading.Lock()

    def open(self) -> None:
        from runshot.validators.server import record_line  # here, not at import: see the note above

        self.line = record_line
        if self.path is None:
            return
        try:
            # Non-blocking open fails at once (ENXIO) when nobody reads; then writes block, so no record is lost.
            self.fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            os.set_blocking(self.fd, True)
        except OSError as exc:
            print(f"serve_cli: not logging requests to {self.path}: {exc}", file=sys.stderr)
            self.fd = -1

    def __call__(self, record) -> None:
        if self.fd < 0:
            return
        with self.lock:
            try:
                os.write(self.fd, self.line(record))
            except OSError:
                os.close(self.fd)
                self.fd = -1


def make_server(root: Path, port: int, log: _LogWriter | None = None, sock: socket.socket | None = None):
    """A listening server for `root` on 127.0.0.1:`port` (the same rules as always: no .git, 204 favicon), on
    `sock` when it is given (bound and listening already)."""
    from runshot.validators.server import StaticServer

    return StaticServer(root, port, on_request=log, keep_requests=log is None).listen(sock)


def _listening(port: int) -> socket.socket:
    """127.0.0.1:`port`, bound and listening, close-on-exec (as the server's own socket would be)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the process that forked us (the browser, after exec) ends."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve_then_exec(root: Path, port: int, program: list[str], log_path: Path | None = None) -> None:
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a directory")
    log = _LogWriter(log_path)
    sock = _listening(port)  # listening before the program starts: no race for the first request
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        _die_with_parent()
        if os.getppid() != parent:
            os._exit(0)
        try:
            keep = sock.fileno()
            os.closerange(3, keep)
            os.closerange(keep + 1, 65536)
            log.open()
            make_server(root, port, log, sock).serve_forever(poll_interval=0.2)
        finally:
            os._exit(0)
    # The listening socket is close-on-exec: the program does not inherit it.
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
    log_path: Path | None = None
    if "--log" in args:
        at = args.index("--log")
        if at + 1 >= len(args):
            print(USAGE, file=sys.stderr)
            return 2
        log_path = Path(args[at + 1])
        del args[at:at + 2]
    if len(args) != 2 or not args[1].isdigit() or not 0 < int(args[1]) < 65536:
        print(USAGE, file=sys.stderr)
        return 2
    root, port = Path(args[0]), int(args[1])
    try:
        if program:
            serve_then_exec(root, port, program, log_path)
            return 0  # not reached: exec replaced this process
        log = _LogWriter(log_path)
        log.open()
        server = make_server(root, port, log if log_path else None)
    except OSError as exc:
        print(f"serve_cli: {exc}", file=sys.stderr)
        return 1
    print(f"serving {root} on http://127.0.0.1:{port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
