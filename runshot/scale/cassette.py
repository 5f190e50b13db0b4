"""Record a run's model calls to a cassette, and answer them from it later with no endpoint at all.

Both work at the HTTP layer, as an httpx transport under the real openai client: `Recorder` passes each request
on to the endpoint and writes the request (normalised: method, path below the base URL, JSON body; no headers,
no query, so no key or credential) with the answer's status, content type and body; `Player` answers each
request from the cassette and never opens a connection. A request the cassette does not hold gets an HTTP 409
whose message names the request and its first difference from the nearest recorded one; the player keeps it in
`misses` for the command to report.

    DIR/cassette.jsonl   line 1: {"cassette": 1, "model": ..., "base_url": ...}; then one line per request

Identical requests (a retry after a 5xx, say) are answered in the order they were recorded.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

try:  # the HTTP library under the openai package (httpx2 in recent releases, httpx before)
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the installed openai version
    import httpx

from runshot.errors import UsageError
from runshot.redact import redact_data, redact_text

CASSETTE_FILE = "cassette.jsonl"
VERSION = 1
MISS_STATUS = 422  # not retried by the client (409 would be)
CONTEXT = 24  # characters shown either side of the first difference
# Transport errors a recording may hold, raised again when replayed (anything else replays as TransportError).
ERRORS = {cls.__name__: cls for cls in (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout,
                                        httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)}


def cassette_file(folder: Path) -> Path:
    return Path(folder) / CASSETTE_FILE


def normalise(request: httpx.Request, base_path: str, secrets: tuple[str, ...] = ()) -> dict:
    """What identifies a request: method, path below the base URL, and the body (parsed when JSON)."""
    path = request.url.path
    base = base_path.rstrip("/")
    if base and path.startswith(base + "/"):
        path = path[len(base) + 1:]
    raw = request.content.decode("utf-8", errors="replace")
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    return redact_data({"method": request.method, "path": path.lstrip("/"), "body": body}, secrets)


def request_key(normalised: dict) -> str:
    text = json.dumps(normalised, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Entry:
    number: int
    key: str
    request: dict
    response: dict  # {"status", "content_type", "body", "broken"} or {"error", "message"}


class _Tee(httpx.SyncByteStream):
    """The endpoint's bytes, passed on as they come and kept; `done(body, broken)` once the stream ends."""

    def __init__(self, inner: httpx.SyncByteStream, done: Callable[[bytes, bool], None]):
        self.inner, self.done, self.kept, self.ended = inner, done, bytearray(), False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.inner:
                self.kept += chunk
                yield chunk
        except Exception:
            self._end(True)
            raise
        self._end(False)

    def _end(self, broken: bool) -> None:
        if not self.ended:
            self.ended = True
            self.done(bytes(self.kept), broken)

    def close(self) -> None:
        self._end(True)  # closed before the end: the client stopped reading (a cut-off or abandoned answer)
        self.inner.close()


class Recorder(httpx.BaseTransport):
    """Passes requests to `inner` and appends each request and answer to DIR/cassette.jsonl."""

    def __init__(self, folder: Path, meta: dict, base_path: str, secrets: tuple[str, ...] = (),
                 inner: httpx.BaseTransport | None = None):
        path = cassette_file(folder)
        if path.exists():
            raise UsageError(f"{path}: a cassette is there already; record into a new or empty folder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"cassette": VERSION, **redact_data(meta, secrets)}) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{path}: cannot write the cassette ({exc.strerror or exc})") from None
        self.path, self.base_path, self.secrets = path, base_path, secrets
        self.inner = inner or httpx.HTTPTransport()
        self.lock = threading.Lock()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        normalised = normalise(request, self.base_path, self.secrets)
        request.headers["accept-encoding"] = "identity"  # keep the recorded bodies readable
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError as exc:
            self._write(normalised, {"error": type(exc).__name__, "message": str(exc)})
            raise

        def done(body: bytes, broken: bool) -> None:
            self._write(normalised, {"status": response.status_code,
                                     "content_type": response.headers.get("content-type", ""),
                                     "body": body.decode("utf-8", errors="replace"), "broken": broken})

        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_Tee(response.stream, done), extensions=response.extensions)

    def _write(self, normalised: dict, answer: dict) -> None:
        answer = redact_data(answer, self.secrets)
        if "body" in answer:
            answer["body"] = redact_text(answer["body"], self.secrets)
        with self.lock:
            self.count += 1
            line = {"n": self.count, "key": request_key(normalised), "request": normalised, "response": answer}
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.inner.close()


def load(folder: Path) -> tuple[dict, list[Entry]]:
    """The cassette's meta line and entries; a missing or broken cassette is a usage error."""
    path = cassette_file(folder)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"{path}: no cassette to replay ({exc.strerror or exc})") from None
    try:
        meta = json.loads(lines[0])
        if meta.get("cassette") != VERSION:
            raise ValueError(f"not a version {VERSION} cassette")
        entries = [Entry(d["n"], d["key"], d["request"], d["response"]) for d in map(json.loads, lines[1:]) if d]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: not a runshot cassette ({exc})") from None
    return meta, entries


class _Replayed(httpx.SyncByteStream):
    """A recorded body, sent again event by event (so a streamed answer streams); broken ones break again."""

    def __init__(self, body: str, broken: bool):
        self.body, self.broken = body, broken

    def __iter__(self) -> Iterator[bytes]:
        parts = self.body.split("\n\n")
        for i, part in enumerate(parts):
            piece = part + ("\n\n" if i < len(parts) - 1 else "")
            if piece:
                yield piece.encode("utf-8")
        if self.broken:
            raise httpx.RemoteProtocolError("the recorded answer broke off here")


class Player(httpx.BaseTransport):
    """Answers from a cassette; never opens a connection."""

    def __init__(self, folder: Path, secrets: tuple[str, ...] = ()):
        self.folder = Path(folder)
        self.meta, self.entries = load(folder)
        self.base_path = urlsplit(self.meta.get("base_url") or "").path
        self.secrets = secrets
        self.used: set[int] = set()
        self.lock = threading.Lock()
        self.count = 0
        self.misses: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        normalised = normalise(request, self.base_path, self.secrets)
        key = request_key(normalised)
        with self.lock:
            self.count += 1
            number = self.count
            entry = next((e for e in self.entries if e.key == key and e.number not in self.used), None)
            if entry is None:
                message = self.describe_miss(number, normalised)
                self.misses.append(message)
                return httpx.Response(MISS_STATUS, json={"error": {"message": message, "type": "replay_miss"}})
            self.used.add(entry.number)
        answer = entry.response
        if "error" in answer:
            raise ERRORS.get(answer["error"], httpx.TransportError)(answer.get("message", ""), request=request)
        return httpx.Response(answer["status"], headers={"content-type": answer.get("content_type", "")},
                              stream=_Replayed(answer.get("body", ""), bool(answer.get("broken"))))

    def describe_miss(self, number: int, normalised: dict) -> str:
        """Which request is missing, and how it differs from the nearest recorded request not yet answered."""
        what = f"replay: request {number} ({normalised['method']} /{normalised['path']}) is not in the cassette"
        left = [e for e in self.entries if e.number not in self.used]
        if not left:
            return f"{what}: every one of its {len(self.entries)} recorded request(s) was answered already"
        text = _canonical(normalised)
        nearest = max(left, key=lambda e: (_common_prefix(_canonical(e.request), text), -e.number))
        same_route = all(nearest.request.get(k) == normalised.get(k) for k in ("method", "path"))
        where, recorded, now = (first_difference(nearest.request.get("body"), normalised.get("body")) if same_route
                                else first_difference(nearest.request, normalised))
        return f"{what}; it differs from recorded request {nearest.number} at {where}: recorded {recorded}, now {now}"

    def close(self) -> None:
        pass


def _canonical(data) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def first_difference(recorded, now, where: str = "") -> tuple[str, str, str]:
    """(where, recorded, now): the first place two JSON values differ, shown briefly."""
    if isinstance(recorded, dict) and isinstance(now, dict):
        for k in sorted(set(recorded) | set(now)):
            here = f"{where}.{k}" if where else k
            if k not in recorded:
                return here, "(absent)", _brief(now[k])
            if k not in now:
                return here, _brief(recorded[k]), "(absent)"
            if recorded[k] != now[k]:
                return first_difference(recorded[k], now[k], here)
    elif isinstance(recorded, list) and isinstance(now, list):
        for i, (a, b) in enumerate(zip(recorded, now)):
            if a != b:
                return first_difference(a, b, f"{where}[{i}]")
        if len(recorded) != len(now):
            return f"{where} length", str(len(recorded)), str(len(now))
    elif isinstance(recorded, str) and isinstance(now, str):
        i = _common_prefix(recorded, now)
        start = max(0, i - CONTEXT)
        return (f"{where}, character {i + 1}", _brief(recorded[start:i + CONTEXT], start > 0),
                _brief(now[start:i + CONTEXT], start > 0))
    return where or "(the request)", _brief(recorded), _brief(now)


def _brief(value, cut: bool = False) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > 2 * CONTEXT:
        text = text[: 2 * CONTEXT] + "…"
    return ("…" if cut else "") + repr(text)
