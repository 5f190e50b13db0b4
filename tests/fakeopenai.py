"""A scripted OpenAI-compatible chat-completions server for tests.

Real HTTP on 127.0.0.1 (port 0), so the real `openai` client talks to it exactly as it talks to vLLM, Ollama,
llama.cpp's server or OpenAI itself. Queue answers with `script()`; each chat request takes the next one.

    with FakeOpenAI() as fake:
        fake.script("hello", Reply(status=429, headers={"Retry-After": "1"}), lambda body: "dynamic")
        client = openai.OpenAI(base_url=fake.base_url, api_key="k")
        ...
        assert len(fake.chat_requests) == 1

Script items:
- a `str`: a normal answer with that content (finish_reason "stop");
- a `Reply(...)`: full control (status, headers, raw body, delay, hang, dropped stream, usage, refusal);
- a callable taking the request's JSON body and returning a `str` or a `Reply`.

When the script runs out, a chat request gets a 500 whose message says so, so a test notices.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, NamedTuple, Union
from urllib.parse import urlsplit

DEFAULT_USAGE = (10, 20)


@dataclass
class Reply:
    """One scripted answer.

    content: the answer text (for an error status: the error message)
    finish_reason: "stop", "length", "content_filter", ...
    status: HTTP status; anything but 200 answers with an OpenAI-style JSON error body
    headers: extra response headers (e.g. {"Retry-After": "1"})
    body: raw body (bytes or str) sent instead of JSON, as text/html unless headers name a Content-Type
    delay: seconds to wait before answering
    hang: accept the request and never answer (until the server closes)
    drop_after_chunks: streaming only: close the connection after this many content chunks, without [DONE]
    stall_after_chunks: streaming only: after this many content chunks send nothing more (until the server closes)
    error_after_chunks: streaming only: after this many content chunks send an error event (`error` as its
        message) instead of the rest, then end the stream without finish_reason or [DONE], as vLLM and others do
    usage: (prompt_tokens, completion_tokens), or None to leave usage out
    refusal: a refusal text (message.refusal / delta.refusal)
    chunk_delay: streaming only: seconds to wait between chunks
    """

    content: str | None = ""
    finish_reason: str | None = "stop"
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes | str | None = None
    delay: float = 0.0
    hang: bool = False
    drop_after_chunks: int | None = None
    usage: tuple[int, int] | None = DEFAULT_USAGE
    refusal: str | None = None
    chunk_delay: float = 0.0
    stall_after_chunks: int | None = None
    error_after_chunks: int | None = None
    error: str = "scripted error mid-stream"


ScriptItem = Union[str, Reply, Callable[[dict], Union[str, Reply]]]


class Request(NamedTuple):
    """One request as the server received it (headers with lower-case names; body None when not JSON)."""

    path: str
    headers: dict
    body: dict | None


class FakeOpenAI:
    """A scripted OpenAI-compatible server; use as a context manager (or call close())."""

    def __init__(self, *items: ScriptItem, model: str = "fake-model", chunk_chars: int = 4):
        self.model = model
        self.chunk_chars = max(1, chunk_chars)
        self.requests: list[Request] = []
        self.api_keys_seen: list[str] = []
        self._queue: deque[ScriptItem] = deque(items)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()

    # --- scripting -------------------------------------------------------------------------------------------

    def script(self, *items: ScriptItem) -> "FakeOpenAI":
        """Queue answers, in order; returns self so calls can chain."""
        with self._lock:
            self._queue.extend(items)
        return self

    @property
    def unused(self) -> int:
        """How many scripted answers no request has taken yet."""
        with self._lock:
            return len(self._queue)

    @property
    def chat_requests(self) -> list[Request]:
        """The chat-completion requests received so far, in order."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # --- lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop serving; wakes hung handlers and cuts open connections, so it never hangs."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeOpenAI":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- used by the handler ---------------------------------------------------------------------------------

    def _record(self, path: str, headers: dict, body: dict | None) -> int:
        with self._lock:
            self.requests.append(Request(path, headers, body))
            auth = headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                self.api_keys_seen.append(auth[7:].strip())
            return len(self.requests)

    def _next_reply(self, body: dict, number: int) -> Reply:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is None:
            return Reply(
                status=500,
                content=f"FakeOpenAI: the script ran out (request #{number} had no scripted answer)",
            )
        if callable(item) and not isinstance(item, (str, Reply)):
            item = item(body)
        if isinstance(item, str):
            return Reply(content=item)
        if isinstance(item, Reply):
            return item
        raise TypeError(f"FakeOpenAI: a script item must be str, Reply or a callable returning one, got {item!r}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeOpenAI


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # an idle keep-alive connection does not hold its thread forever

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        with self.server.fake._lock:
            self.server.fake._connections.discard(self.connection)

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    # --- routes ----------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.fake._record(path, self._headers(), None)
        if path.rstrip("/").endswith("/models"):
            model = {"id": self.server.fake.model, "object": "model", "created": 0, "owned_by": "fakeopenai"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_json(404, _error_body(f"no route {path}", 404))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        number = self.server.fake._record(path, self._headers(), body if isinstance(body, dict) else None)
        if not path.endswith("/chat/completions"):
            self._send_json(404, _error_body(f"no route {path}", 404))
            return
        reply = self.server.fake._next_reply(body if isinstance(body, dict) else {}, number)
        self._answer(reply, body if isinstance(body, dict) else {})

    # --- answering -------------------------------------------------------------------------------------------

    def _answer(self, reply: Reply, request: dict) -> None:
        closing = self.server.fake._closing
        if reply.hang:
            closing.wait()
            self.close_connection = True
            return
        if reply.delay and closing.wait(reply.delay):
            self.close_connection = True
            return
        if reply.body is not None:
            raw = reply.body.encode() if isinstance(reply.body, str) else reply.body
            headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
            self._send_raw(reply.status, raw, headers)
        elif reply.status != 200:
            message = reply.content or f"scripted error {reply.status}"
            self._send_json(reply.status, _error_body(message, reply.status), reply.headers)
        elif request.get("stream") is True:
            self._stream(reply, request)
        else:
            self._send_json(200, self._completion(reply, request), reply.headers)

    def _completion(self, reply: Reply, request: dict) -> dict:
        data = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model") or self.server.fake.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": reply.refusal},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
        }
        if reply.usage is not None:
            data["usage"] = _usage(reply.usage)
        return data

    def _stream(self, reply: Reply, request: dict) -> None:
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()

        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.get("model") or fake.model,
        }

        def chunk(delta: dict, finish_reason=None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        step = fake.chunk_chars
        content = reply.content or ""
        refusal = reply.refusal or ""
        pieces = [{"content": content[i : i + step]} for i in range(0, len(content), step)]
        pieces += [{"refusal": refusal[i : i + step]} for i in range(0, len(refusal), step)]

        self._event(chunk({"role": "assistant", "content": ""}))
        for sent, delta in enumerate(pieces):
            if reply.drop_after_chunks is not None and sent >= reply.drop_after_chunks:
                self._drop()
                return
            if reply.stall_after_chunks is not None and sent >= reply.stall_after_chunks:
                fake._closing.wait()
                self.close_connection = True
                return
            if reply.error_after_chunks is not None and sent >= reply.error_after_chunks:
                self._event({"error": {"message": reply.error, "type": "server_error", "code": 500}})
                self._write_chunk(b"")
                return
            if reply.chunk_delay and fake._closing.wait(reply.chunk_delay):
                self.close_connection = True
                return
            self._event(chunk(delta))
        if reply.drop_after_chunks is not None:
            self._drop()
            return
        self._event(chunk({}, reply.finish_reason))
        include_usage = (request.get("stream_options") or {}).get("include_usage")
        if include_usage and reply.usage is not None:
            self._event({**base, "choices": [], "usage": _usage(reply.usage)})
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _event(self, data: dict) -> None:
        self._write_chunk(b"data: " + json.dumps(data).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _drop(self) -> None:
        """Cut the connection mid-stream: no terminating chunk, no [DONE]."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send_json(self, status: int, data: dict, headers: dict | None = None) -> None:
        self._send_raw(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _send_raw(self, status: int, raw: bytes, headers: dict) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
        self.wfile.flush()

    def _headers(self) -> dict:
        return {name.lower(): value for name, value in self.headers.items()}


def _usage(usage: tuple[int, int]) -> dict:
    prompt, completion = usage
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _error_body(message: str, status: int) -> dict:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
