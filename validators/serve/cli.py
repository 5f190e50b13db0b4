"""Serve folders on 127.0.0.1 with runshot's static server, one port each; optionally start a program beside them.

    python -m runshot.validators.serve.cli ROOT PORT [ROOT PORT ...] [--log FIFO]          # serve until interrupted
    python -m runshot.validators.serve.cli ROOT PORT [ROOT PORT ...] [--log FIFO] --exec PROG ARGS...

With --exec every port is bound and listening first, the servers move to a child process, and this process
becomes PROG (keeping its pid and any inherited file descriptors, such as Playwright's pipes to Chromium). PROG
starts before the server's code is even imported (the child does that): a first request waits in the listening
socket's queue meanwhile.
The sandbox's Chromium wrapper uses this so the browser and the apps' servers share one private loopback (one
folder, or several checked together by one browser). With --log every request is written to FIFO as one line
naming its port (see server.RequestFeed), so the process that started the sandbox still learns what each
server was asked for.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
from pathlib import Path

# runshot.validators.serve.server (http.server and its imports) is imported only where a server is made: with --exec,
# in the child, after the program has been started.

USAGE = ("usage: python -m runshot.validators.serve.cli ROOT PORT [ROOT PORT ...] [--log FIFO] "
         "[--exec PROGRAM ARGS...]")


class _LogWriter:
    """Writes each request record to a FIFO; silently does nothing when there is no FIFO or no reader."""

    def __init__(self, path: Path | None):
        self.path = path
        self.fd = -1
        self.lock = threading.Lock()

    def open(self) -> None:
        from runshot.validators.serve.server import record_line  # lazy: only in the child, see the note above

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

    def for_port(self, port: int):
        """What one server calls with each of its records."""
        return lambda record: self(record, port)

    def __call__(self, record, port: int = 0) -> None:
        if self.fd < 0:
            return
        with self.lock:
            try:
                os.write(self.fd, self.line(record, port))
            except OSError:
                os.close(self.fd)
                self.fd = -1


def make_server(root: Path, port: int, log=None, sock: socket.socket | None = None):
    """A listening server for `root` on 127.0.0.1:`port` (the same rules as always: no .git, 204 favicon), on
    `sock` when it is given (bound and listening already). `log(record)` sees each request."""
    from runshot.validators.serve.server import StaticServer  # lazy: only where a server is made, see the note above

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


def _close_all_but(keep: set[int]) -> None:
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)


def _serve_all(servers: list) -> None:
    """Serve each server from its own thread, the last from this one."""
    for server in servers[:-1]:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    servers[-1].serve_forever(poll_interval=0.2)


def serve_then_exec(sites: list[tuple[Path, int]], program: list[str], log_path: Path | None = None) -> None:
    """Bind every (root, port) of `sites`, fork the servers into a child, and become `program`."""
    for root, _ in sites:
        if not root.is_dir():
            raise NotADirectoryError(f"{root}: not a directory")
    log = _LogWriter(log_path)
    socks: list[socket.socket] = []
    try:
        for _, port in sites:  # listening before the program starts: no race for the first request
            socks.append(_listening(port))
    except OSError:
        for sock in socks:
            sock.close()
        raise
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        _die_with_parent()
        if os.getppid() != parent:
            os._exit(0)
        try:
            _close_all_but({sock.fileno() for sock in socks})
            log.open()
            _serve_all([make_server(root, port, log.for_port(port), sock)
                        for (root, port), sock in zip(sites, socks)])
        finally:
            os._exit(0)
    # The listening sockets are close-on-exec: the program does not inherit them.
    os.execvp(program[0], program)


def _sites(args: list[str]) -> list[tuple[Path, int]] | None:
    """ROOT PORT pairs, or None when they are not (ports distinct, 1-65535)."""
    if not args or len(args) % 2:
        return None
    sites = []
    for root, port in zip(args[::2], args[1::2]):
        if not port.isdigit() or not 0 < int(port) < 65536:
            return None
        sites.append((Path(root), int(port)))
    return sites if len({port for _, port in sites}) == len(sites) else None


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
    sites = _sites(args)
    if sites is None:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        if program:
            serve_then_exec(sites, program, log_path)
            return 0  # not reached: exec replaced this process
        log = _LogWriter(log_path)
        log.open()
        servers = [make_server(root, port, log.for_port(port) if log_path else None) for root, port in sites]
    except OSError as exc:
        print(f"serve_cli: {exc}", file=sys.stderr)
        return 1
    for root, port in sites:
        print(f"serving {root} on http://127.0.0.1:{port}/", file=sys.stderr, flush=True)
    try:
        _serve_all(servers)
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
