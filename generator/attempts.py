"""One request to the model endpoint, retried within the completion's deadline.

`Run.request()` makes HTTP attempts until one brings an answer: it retries what is worth retrying (429, 5xx,
connection trouble, stalls, a stream dropped before the answer began, a 200 that is not a chat completion), honours
Retry-After, backs off with jitter and never runs past `settings.deadline`. A stream that breaks off after the answer
began is an answer (finish_reason "cut"): the model's text is judged, not asked for again. What it gives up on is a
`UsageError` or `ModelError` with one printable line that never contains the API key.

A request to the local engine runshot started (see `localserver.serving`) asks for at most what fits its context
and carries a seed of its own on every attempt; when that server died, the error says so at once.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import openai

try:  # the HTTP library under the openai package (httpx2 in recent releases, httpx before)
    import httpx2 as _http
except ImportError:  # pragma: no cover - depends on the installed openai version
    import httpx as _http

from runshot.errors import ModelError, UsageError
from runshot.generator.answers import (
    CUT,
    Answer,
    Retry,
    StreamBroke,
    error_text,
    estimate_tokens,
    one_line,
    parse_completion,
    read_all,
    read_stream,
)
from runshot.generator.localengine import answer_room, attempt_seed
from runshot.generator.localserver import serving
from runshot.redact import redact_url

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 15.0  # seconds, capped further by the attempt's timeout
BACKOFF_BASE = 0.5  # first retry waits about this long, doubling each time
BACKOFF_CAP = 8.0
RETRY_STATUSES = frozenset({408, 409, 425, 429})  # plus every 5xx


@dataclass
class ModelSettings:
    """Which endpoint and model to call, and the limits of one completion (times in seconds)."""

    name: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 120  # per attempt; for a stream, the longest gap between two reads
    max_retries: int = 4  # retries per request, after the first attempt
    deadline: float = 900  # overall per completion, retries and continuations included
    max_tokens: int | None = None
    temperature: float | None = 0.2
    max_retry_after: float = 30  # a server asking to wait longer than this is an error, not a wait
    max_continuations: int = 3
    stream: bool = True

    def redacted(self) -> dict:
        """What may be written to reports and transcripts: never the key."""
        return {"name": self.name, "base_url": redact_url(self.base_url) if self.base_url else None}


def make_client(settings: ModelSettings) -> openai.OpenAI:
    """An openai client that never retries on its own (complete() does) and has explicit timeouts."""
    return openai.OpenAI(
        api_key=settings.api_key or "not-needed",
        base_url=settings.base_url,
        max_retries=0,
        timeout=_timeout(settings.timeout),
    )


class _DeadlineHit(Exception):
    pass


class Run:
    """The state of one complete() call: its clock, attempt count and progress."""

    def __init__(self, client, settings: ModelSettings, on_progress, sleep, temperature=None, seed=None, schema=None):
        self.client = client
        self.schema = schema  # a JSON schema the answer must follow, where the endpoint can hold it to one
        self.temperature = settings.temperature if temperature is None else temperature
        self.seed = seed
        self.settings = settings
        self.on_progress = on_progress
        self.sleep = sleep
        self.started = time.monotonic()
        self.deadline_at = self.started + settings.deadline
        self.attempts = 0
        self.reached = False  # did the endpoint ever answer at all (any status)?
        self.tokens_done = 0  # tokens of the finished parts (earlier requests)
        self.tokens_now = 0
        self.url = safe_url(settings.base_url or str(getattr(client, "base_url", "") or ""))
        self.local = serving(settings.base_url)  # the local engine runshot runs, or None

    # -- retry loop --

    def request(self, conversation: list[dict]) -> Answer:
        tries = 0
        last: Retry | None = None
        while True:
            remaining = self.deadline_at - time.monotonic()
            if remaining <= 0:
                raise self._deadline_error(last)
            tries += 1
            self.attempts += 1
            self.tokens_now = self.tokens_done
            try:
                answer = self._attempt(conversation, min(self.settings.timeout, remaining))
                if answer.finish_reason == CUT:
                    self._check_alive()
                return answer
            except _DeadlineHit:
                raise self._deadline_error(last) from None
            except Retry as problem:
                last = problem
                self._check_alive()
                if problem.free:
                    tries -= 1
                    continue
            if tries > self.settings.max_retries:
                raise self._final_error(last, tries)
            wait = last.wait if last.wait is not None else _backoff(tries - 1)
            if wait >= self.deadline_at - time.monotonic():
                raise self._deadline_error(last)
            log.info("model request failed (%s); retrying in %.1f s", self._clean(last.message), wait)
            self.sleep(wait)

    def _check_alive(self) -> None:
        """A local server that died is the end of this endpoint: say so rather than retry."""
        why = self.local.died() if self.local is not None else None
        if why:
            raise ModelError(why)

    def _final_error(self, last: Retry, tries: int) -> Exception:
        if not self.reached and last.unreachable:
            return UsageError(f"no model endpoint reachable at {self.url} ({self._clean(last.message)})")
        times = "once" if tries == 1 else f"{tries} times in a row"
        return ModelError(f"the model endpoint at {self.url} failed {times}; last: {self._clean(last.message)}")

    def _deadline_error(self, last: Retry | None) -> ModelError:
        tail = f"; last problem: {self._clean(last.message)}" if last else ""
        return ModelError(
            f"no complete answer from the model within the {self.settings.deadline:g} s deadline "
            f"({self.attempts} attempts{tail})"
        )

    # -- one attempt --

    def _attempt(self, conversation: list[dict], seconds: float) -> Answer:
        settings = self.settings
        kwargs: dict = {"model": settings.name, "messages": conversation, "timeout": _timeout(seconds)}
        if settings.stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        if settings.max_tokens is not None:
            kwargs["max_tokens"] = settings.max_tokens
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if self.local is not None:
            kwargs["max_tokens"] = answer_room(self.local, conversation, settings.max_tokens)
            kwargs["seed"] = attempt_seed(self.seed, self.attempts)
            if self.schema is not None:  # llama.cpp turns the schema into a grammar the sampler follows
                kwargs["response_format"] = {"type": "json_object", "schema": self.schema}
        try:
            with self.client.chat.completions.with_streaming_response.create(**kwargs) as response:
                self.reached = True
                http = response.http_response
                content_type = http.headers.get("content-type", "")
                if settings.stream and "event-stream" in content_type:
                    return read_stream(self._streamed(http.iter_bytes(), seconds), self._token)
                # not streaming, or a server that ignored stream=true and answered plain JSON
                answer = parse_completion(read_all(self._checked(http.iter_bytes())), content_type)
                tokens = answer.usage.completion_tokens if answer.usage else estimate_tokens(len(answer.content))
                self._progress(tokens)
                return answer
        except openai.APIStatusError as err:
            self.reached = True
            if err.status_code == 400 and self.seed is not None and "seed" in _server_message(err).lower():
                self.seed = None  # this endpoint takes no seed: ask again without one
                raise Retry("the endpoint does not take a seed; asking without one", free=True) from None
            raise self._status_problem(err) from None
        except openai.APITimeoutError as err:
            if isinstance(err.__cause__, _http.ConnectTimeout):
                raise Retry(f"connecting timed out after {seconds:g} s", unreachable=True) from None
            self.reached = True
            raise Retry(f"no answer within {seconds:g} s (read timeout)") from None
        except openai.APIConnectionError as err:
            cause = err.__cause__
            if isinstance(cause, _http.ConnectError):
                raise Retry(f"cannot connect: {_reason(cause)}", unreachable=True) from None
            self.reached = True
            raise Retry(f"connection error: {_reason(cause or err)}") from None
        except _http.TimeoutException:
            raise Retry(f"the answer stalled: nothing arrived for {seconds:g} s") from None
        except (_http.TransportError, _http.StreamError, OSError) as err:
            raise Retry(f"the connection broke mid-answer ({_reason(err)})") from None

    def _status_problem(self, err: openai.APIStatusError) -> Exception:
        status = err.status_code
        message = self._clean(_server_message(err))
        if status in (401, 403):
            return UsageError(
                f"the endpoint refused the API key ({status}): check --api-key / OPENAI_API_KEY"
                + (f" (server said: {message})" if message else "")
            )
        if status == 404:
            return UsageError(
                f"the endpoint at {self.url} answered 404 for model '{self.settings.name}': "
                f"check --model and --base-url" + (f" (server said: {message})" if message else "")
            )
        if status == 429 and "insufficient_quota" in f"{err.code} {message}":
            return ModelError(f"the endpoint says the account's quota is used up (429): {message}")
        if status in RETRY_STATUSES or status >= 500:
            wait = retry_after(err.response.headers)
            if wait is not None and wait > self.settings.max_retry_after:
                return ModelError(
                    f"the endpoint asked to wait {wait:.0f} s before retrying (HTTP {status}), longer than the "
                    f"{self.settings.max_retry_after:g} s runshot waits; try again later"
                    + (f" (server said: {message})" if message else "")
                )
            return Retry(f"HTTP {status}" + (f": {message}" if message else ""), wait=wait)
        return ModelError(f"the endpoint rejected the request (HTTP {status}): {message or 'no message'}")

    # -- helpers --

    def _checked(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The response's bytes, stopping at the overall deadline."""
        for chunk in chunks:
            if time.monotonic() > self.deadline_at:
                raise _DeadlineHit()
            yield chunk

    def _streamed(self, chunks: Iterable[bytes], seconds: float) -> Iterator[bytes]:
        """A stream's bytes; a break (lost connection, stall, the overall deadline) is a StreamBroke."""
        try:
            for chunk in chunks:
                if time.monotonic() > self.deadline_at:
                    raise StreamBroke(f"the answer ran past the {self.settings.deadline:g} s deadline")
                yield chunk
        except _http.TimeoutException:
            raise StreamBroke(f"the answer stalled: nothing arrived for {seconds:g} s") from None
        except (_http.TransportError, _http.StreamError, OSError) as err:
            raise StreamBroke(f"the connection broke mid-answer ({_reason(err)})") from None

    def _token(self) -> None:
        self.tokens_now += 1
        self._progress(0)

    def _progress(self, tokens: int) -> None:
        if tokens:
            self.tokens_now = self.tokens_done + tokens
        if self.on_progress is not None:
            self.on_progress(self.tokens_now, time.monotonic() - self.started)

    def _clean(self, text: str) -> str:
        return redact(one_line(text, 300), self.settings.api_key)


def _server_message(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        return error_text(body)
    if isinstance(body, str) and body.strip():
        return re.sub(r"<[^>]*>", " ", body)
    return ""


# --- small pure helpers ----------------------------------------------------------------------------------------


def retry_after(headers) -> float | None:
    """Seconds a server asks us to wait: `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def safe_url(url: str) -> str:
    """A URL fit for messages and reports: no user:password, no query, no trailing slash."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/")


def redact(text: str, secret: str | None) -> str:
    """Text with the secret (and anything shaped like an sk- key) replaced by ***."""
    if secret:
        text = text.replace(secret, "***")
    return re.sub(r"\bsk-[A-Za-z0-9_\-*.]{6,}", "sk-***", text)


def _timeout(seconds: float) -> openai.Timeout:
    return openai.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


def _backoff(retry: int) -> float:
    """Exponential backoff with jitter: about 0.5, 1, 2, 4, 8, 8 … seconds (each 75–100 % of that)."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2**retry) * random.uniform(0.75, 1.0)


def _reason(err: BaseException) -> str:
    """The innermost cause's words, e.g. '[Errno 111] Connection refused'."""
    for _ in range(20):
        inner = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
        if inner is None:
            break
        err = inner
    return str(err) or type(err).__name__

