"""A small static file server for one project folder, on 127.0.0.1 and a free port.

It serves files below its root and nothing else: no directory listings, no `..`, no symlinks that
lead outside the root, never `.git` or `.runshot`. Every request is recorded (path, status).
"""

from __future__ import annotations

import mimetypes
import shutil
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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

    def __init__(self, root: Path, log: list[RequestRecord], lock: threading.Lock):
        self.root = root
        self._log = log
        self._lock = lock
        super().__init__(("127.0.0.1", 0), _Handler)

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._log.append(RequestRecord(method, path, int(status)))

    def handle_error(self, request, client_address) -> None:
        pass  # quiet: a broken connection from the browser is not our problem


class StaticServer:
    """Serves `root` on http://127.0.0.1:<free port>/ from a daemon thread. Use as a context manager."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"{root}: not a directory")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._port: int | None = None

    def start(self) -> "StaticServer":
        if self._server is None:
            self._server = _Server(self.root, self._log, self._lock)
            self._port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="runshot-static", daemon=True
            )
            self._thread.start()
        return self

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
        """Every request answered so far (kept after close)."""
        with self._lock:
            return list(self._log)

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> "StaticServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def serve(root: Path | str) -> StaticServer:
    """`with serve(folder) as server: ... server.base_url ...`"""
    return StaticServer(root)
