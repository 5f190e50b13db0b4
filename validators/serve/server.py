"""A small static file server for one project folder, on 127.0.0.1 and a free (or chosen) port.

It serves files below its root and nothing else: no directory listings, no `..`, no symlinks that
lead outside the root, never `.git` or `.runshot`. Every request is recorded (path, status).

A server running in another process (inside the sandbox) can hand its records to this process through a
FIFO: it writes `record_line(record, port)` for each request, and a `RequestFeed` here reads them as they come
(several servers may share one FIFO; the port tells their records apart).
"""

from __future__ import annotations

import errno
import json
import mimetypes
import os
import select
import shutil
import socket
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import quote, unquote, urlsplit

HIDDEN_DIRS = frozenset({".git", ".runshot"})

# Types that matter for browsers and that the platform's tables sometimes get wrong.
MIME_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}
_TEXT_TYPES = ("text/", "application/json", "application/xml", "image/svg+xml", "application/manifest+json")


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    kind = MIME_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith(_TEXT_TYPES):
        kind += "; charset=utf-8"
    return kind


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # as requested: "/app.js", or an absolute URL / "host:port" when used as a proxy
    status: int

    @property
    def proxied(self) -> bool:
        """A request for somewhere else (absolute URL, CONNECT) that reached this server as a proxy."""
        return self.method == "CONNECT" or not self.path.startswith("/")


def resolve_request_path(root: Path, url_path: str) -> Path | None:
    """The file a URL path names below `root` (already resolved), or None when it must not be served.

    A directory resolves to itself; the caller decides about its index.html.
    """
    path = unquote(urlsplit(url_path).path)
    if "\x00" in path or "\\" in path:
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    for part in parts:
        if part == ".." or part.lower() in HIDDEN_DIRS:
            return None
    candidate = root.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real != root and not real.is_relative_to(root):
        return None
    # A symlink inside the root may still point into a hidden folder.
    if any(p.lower() in HIDDEN_DIRS for p in real.relative_to(root).parts):
        return None
    return real


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    server_version = "runshot"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def _refuse_method(self) -> None:
        self._simple(HTTPStatus.METHOD_NOT_ALLOWED, extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_CONNECT = _refuse_method  # noqa: N815

    def _serve(self, head: bool) -> None:
        root = self.server.root
        if not self.path.startswith("/"):
            # An absolute URL: someone uses this server as a proxy (runshot's browser does, for anything
            # that is not the app). Refuse; the record shows what was attempted.
            self._simple(HTTPStatus.FORBIDDEN, body=b"this server serves only its project\n")
            return
        url_path = urlsplit(self.path).path or "/"
        target = resolve_request_path(root, self.path)
        if target is not None and target.is_dir():
            if not url_path.endswith("/"):
                location = quote(url_path + "/", safe="/%")
                query = urlsplit(self.path).query
                if query:
                    location += f"?{query}"
                self._simple(HTTPStatus.MOVED_PERMANENTLY, extra={"Location": location})
                return
            index = target / "index.html"
            target = index.resolve() if index.is_file() else None
            if target is not None and not target.is_relative_to(root):
                target = None
        if target is None or not target.is_file():
            if url_path == "/favicon.ico":
                self._simple(HTTPStatus.NO_CONTENT)
            else:
                self._simple(HTTPStatus.NOT_FOUND, body=b"not found\n")
            return
        try:
            handle = open(target, "rb")
        except OSError:
            self._simple(HTTPStatus.NOT_FOUND, body=b"not found\n")
            return
        with handle:
            size = target.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type(target))
            self.send_header("Content-Length", str(size))
            self._common_headers()
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.server.record(self.command, self.path, HTTPStatus.OK)
            if not head:
                shutil.copyfileobj(handle, self.wfile)

    def _simple(self, status: HTTPStatus, body: bytes = b"", extra: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
        self._common_headers()
        self.end_headers()
        self.server.record(self.command, self.path, int(status))
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # the browser went away mid-response; nothing to report

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (signature of the base class)
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        root: Path,
        log: list[RequestRecord] | None,
        lock: threading.Lock,
        port: int = 0,
        on_request: Callable[[RequestRecord], None] | None = None,
        sock: socket.socket | None = None,
    ):
        self.root = root
        self._log = log
        self._lock = lock
        self._on_request = on_request
        if sock is None:
            super().__init__(("127.0.0.1", port), _Handler)
        else:  # already bound and listening (serve_cli binds before it forks)
            super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
            self.socket.close()
            self.socket = sock
            self.server_name, self.server_port = self.server_address[0], self.server_address[1]

    def record(self, method: str, path: str, status: int) -> None:
        entry = RequestRecord(method, path, int(status))
        with self._lock:
            if self._log is not None:
                self._log.append(entry)
        if self._on_request is not None:
            self._on_request(entry)

    def handle_error(self, request, client_address) -> None:
        pass  # quiet: a broken connection from the browser is not our problem


class StaticServer:
    """Serves `root` on http://127.0.0.1:<port>/ (a free port unless `port` is given). Use as a context manager.

    `start()` serves from a daemon thread; `listen()` then `serve_forever()` serves from the calling thread
    (the sandbox's server binds first, forks, and serves in the child). `on_request` sees every record as it
    is made; `keep_requests=False` keeps none in memory (a long-lived server that only reports them).
    """

    def __init__(
        self,
        root: Path | str,
        port: int = 0,
        on_request: Callable[[RequestRecord], None] | None = None,
        keep_requests: bool = True,
    ):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"{root}: not a directory")
        if not 0 <= int(port) < 65536:
            raise ValueError(f"bad port {port}")
        self._wanted_port = int(port)
        self._on_request = on_request
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self._log: list[RequestRecord] | None = [] if keep_requests else None
        self._lock = threading.Lock()
        self._port: int | None = None

    def listen(self, sock: socket.socket | None = None) -> "StaticServer":
        """Bind and listen (connections queue up until the server serves); or take `sock`, a socket already
        bound to 127.0.0.1 and listening."""
        if self._server is None:
            self._server = _Server(self.root, self._log, self._lock, self._wanted_port, self._on_request, sock)
            self._port = self._server.server_address[1]
        return self

    def start(self) -> "StaticServer":
        """Listen, and serve from a daemon thread."""
        if self._thread is None:
            server = self.listen()._server
            self._serving = True
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="runshot-static", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self, poll_interval: float = 0.2) -> None:
        """Serve from the calling thread until close() is called from another thread."""
        server = self.listen()._server
        self._serving = True
        server.serve_forever(poll_interval=poll_interval)

    def fileno(self) -> int:
        """The listening socket's file descriptor (close-on-exec)."""
        return self.listen()._server.fileno()

    @property
    def port(self) -> int:
        """The port it listens (or listened) on."""
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far (kept after close; none with keep_requests=False)."""
        with self._lock:
            return list(self._log or [])

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            if self._serving:
                server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self._serving = False

    def __enter__(self) -> "StaticServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def serve(root: Path | str, port: int = 0) -> StaticServer:
    """`with serve(folder) as server: ... server.base_url ...`"""
    return StaticServer(root, port)


# ---- request records across processes ----

LINE_PATH_CHARS = 500  # keeps every encoded line below PIPE_BUF, so concurrent writers never interleave


def record_line(record: RequestRecord, port: int = 0) -> bytes:
    """One record as a line for a RequestFeed (at most a few KB, written with a single write); `port` says which
    of several servers writing to one feed answered it (0: not said)."""
    data = {"m": record.method[:16], "p": record.path[:LINE_PATH_CHARS], "s": int(record.status)}
    if port:
        data["o"] = int(port)
    return (json.dumps(data, ensure_ascii=True) + "\n").encode("ascii")


def parse_record_line(line: bytes) -> RequestRecord | None:
    """The record in one line, or None for anything that is not one (the writer side is untrusted)."""
    entry = _parse_entry(line)
    return None if entry is None else entry[1]


def _parse_entry(line: bytes) -> tuple[int, RequestRecord] | None:
    """(port, record) from one line (port 0 when the line does not say), or None."""
    try:
        data = json.loads(line.decode("utf-8"))
        method, path, status, port = data["m"], data["p"], data["s"], data.get("o", 0)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        return None
    if not (isinstance(method, str) and isinstance(path, str) and isinstance(status, int) and isinstance(port, int)):
        return None
    return port, RequestRecord(method[:16], path[:LINE_PATH_CHARS], status)


class RequestFeed:
    """Request records that static servers in other processes write into a FIFO, collected here.

    The FIFO is made at `path` (its folder must exist and stay private). Writers open it for writing and write
    `record_line(...)` per request. A reader thread keeps the pipe drained; `since(mark)` first reads whatever
    is already in the pipe, so every record written before the call is included.
    """

    MAX_RECORDS = 100_000  # kept in memory; later ones are only counted
    MAX_LINE = 8192

    def __init__(self, path: Path):
        self.path = Path(path)
        os.mkfifo(self.path, 0o600)
        # Read-write: the pipe never reports end-of-file, and writers never block on open.
        self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self._records: list[tuple[int, RequestRecord]] = []  # (port, record)
        self._count = 0
        self._partial = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="runshot-request-feed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        while not self._stop.is_set():
            try:
                if poller.poll(500):
                    self._drain()
            except OSError:
                return

    def _drain(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except OSError as exc:
                    if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                        return
                    raise
                if not chunk:
                    return
                self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > self.MAX_LINE:
            self._partial = b""  # not a record: drop it
        for line in lines:
            entry = _parse_entry(line) if line.strip() else None
            if entry is None:
                continue
            self._count += 1
            if len(self._records) < self.MAX_RECORDS:
                self._records.append(entry)

    def mark(self) -> int:
        """How many records arrived so far; give it to `since` later."""
        self._drain()
        with self._lock:
            return self._count

    def since(self, mark: int = 0, port: int | None = None) -> list[RequestRecord]:
        """Records that arrived after `mark` (up to MAX_RECORDS in all); only those of the server on `port`
        when several write to this feed."""
        self._drain()
        with self._lock:
            return [record for at, record in self._records[mark:] if port is None or at == port]

    def close(self) -> None:
        self._stop.set()
        try:
            os.write(self._fd, b"\n")  # wakes the reader thread at once
        except OSError:
            pass
        self._thread.join(2)
        with self._lock:
            fd, self._fd = self._fd, -1
            if fd >= 0:
                os.close(fd)
        try:
            self.path.unlink()
        except OSError:
            pass

    def __enter__(self) -> "RequestFeed":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
