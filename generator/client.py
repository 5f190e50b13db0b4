"""The model client: one chat completion from any OpenAI-compatible endpoint, within a deadline.

`complete()` streams (or not), retries what is worth retrying (429, 5xx, connection trouble, stalls, a dropped
stream, a 200 that is not a chat completion), honours Retry-After, continues answers cut off at
finish_reason "length", sums token usage, and never runs past `settings.deadline`.
Everything it raises is a `UsageError` or `ModelError` with one printable line that never contains the API key.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import openai

try:  # the HTTP library under the openai package (httpx2 in recent releases, httpx before)
    import httpx2 as _http
except ImportError:  # pragma: no cover - depends on the installed openai version
    import httpx as _http

from runshot.errors import ModelError, UsageError
from runshot.generator.repeatguard import RepeatGuard
from runshot.values import Usage

log = logging.getLogger(__name__)

CONTINUE_PROMPT = (
    "Your answer was cut off. Continue exactly where you stopped, no repetition: "
    "write only the rest of the answer, starting with the very next character."
)
REFUSAL_PREFIX = "The model refused: "
CONNECT_TIMEOUT = 15.0  # seconds, capped further by the attempt's timeout
BACKOFF_BASE = 0.5  # first retry waits about this long, doubling each time
BACKOFF_CAP = 8.0
RETRY_STATUSES = frozenset({408, 409, 425, 429})  # plus every 5xx
MAX_BODY_BYTES = 32_000_000
MIN_OVERLAP = 32  # a continuation repeating at least this many characters of the text's end loses the repeat


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
        from runshot.redact import redact_url

        return {"name": self.name, "base_url": redact_url(self.base_url) if self.base_url else None}


@dataclass
class Completion:
    text: str
    finish_reason: str  # "length" means still cut off after every continuation
    usage: Usage
    seconds: float
    attempts: int  # HTTP requests made, retries and continuations included
    continuations: int
    usage_estimated: bool  # the server left usage out somewhere; those parts are ~characters/4
    refused: bool = False  # the model sent a refusal; `text` starts with REFUSAL_PREFIX


def make_client(settings: ModelSettings) -> openai.OpenAI:
    """An openai client that never retries on its own (complete() does) and has explicit timeouts."""
    return openai.OpenAI(
        api_key=settings.api_key or "not-needed",
        base_url=settings.base_url,
        max_retries=0,
        timeout=_timeout(settings.timeout),
    )


def complete(
    client: openai.OpenAI,
    settings: ModelSettings,
    messages: list[dict],
    on_progress: Callable[[int, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    *,
    temperature: float | None = None,
    seed: int | None = None,
) -> Completion:
    """One judged answer: retries and continuations included, within settings.deadline.

    on_progress(tokens_so_far, elapsed_seconds) is called as tokens arrive (once per answer when not streaming);
    after a retry the count restarts from what the earlier, complete parts held.
    temperature overrides settings.temperature for this answer; seed asks for a reproducible sample (an endpoint
    that rejects the parameter with HTTP 400 is asked again without it).
    A streamed answer that starts re-sending a file it already finished, or repeats one line over and over, is
    stopped there (see RepeatGuard): what came is kept and finish_reason is "repeat".
    """
    run = _Run(client, settings, on_progress, sleep, temperature=temperature, seed=seed)
    text = ""
    usage = Usage()
    estimated = False
    refused = False
    continuations = 0
    conversation = list(messages)
    while True:
        answer = run.request(conversation)
        piece = answer.content
        if answer.refusal:
            refused = True
            piece = REFUSAL_PREFIX + answer.refusal + (("\n" + piece) if piece else "")
        text = _join(text, piece) if continuations else piece
        if answer.usage is None:
            estimated = True
            usage.add(Usage(_estimate(_message_chars(conversation)), _estimate(len(piece))))
        else:
            usage.add(answer.usage)
        run.tokens_done = run.tokens_now
        finish = answer.finish_reason
        if finish != "length" or refused or continuations >= settings.max_continuations:
            break
        continuations += 1
        log.info("answer cut off at finish_reason=length; asking for continuation %d", continuations)
        conversation = list(messages) + [
            {"role": "assistant", "content": text},
            {"role": "user", "content": CONTINUE_PROMPT},
        ]
    return Completion(
        text=text,
        finish_reason=finish,
        usage=usage,
        seconds=time.monotonic() - run.started,
        attempts=run.attempts,
        continuations=continuations,
        usage_estimated=estimated,
        refused=refused,
    )


# --- one request, with retries ---------------------------------------------------------------------------------


@dataclass
class _Answer:
    content: str
    refusal: str
    finish_reason: str
    usage: Usage | None


class _Retry(Exception):
    """A problem worth another attempt. wait: what the server asked for (Retry-After), if anything."""

    def __init__(self, message: str, *, wait: float | None = None, unreachable: bool = False, free: bool = False):
        super().__init__(message)
        self.free = free  # not the endpoint's fault (a parameter it does not take): costs no retry
        self.message = message
        self.wait = wait
        self.unreachable = unreachable


class _DeadlineHit(Exception):
    pass


class _Run:
    """The state of one complete() call: its clock, attempt count and progress."""

    def __init__(self, client, settings: ModelSettings, on_progress, sleep, temperature=None, seed=None):
        self.client = client
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

    # -- retry loop --

    def request(self, conversation: list[dict]) -> _Answer:
        tries = 0
        last: _Retry | None = None
        while True:
            remaining = self.deadline_at - time.monotonic()
            if remaining <= 0:
                raise self._deadline_error(last)
            tries += 1
            self.attempts += 1
            self.tokens_now = self.tokens_done
            try:
                return self._attempt(conversation, min(self.settings.timeout, remaining))
            except _DeadlineHit:
                raise self._deadline_error(last) from None
            except _Retry as problem:
                last = problem
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

    def _final_error(self, last: _Retry, tries: int) -> Exception:
        if not self.reached and last.unreachable:
            return UsageError(f"no model endpoint reachable at {self.url} ({self._clean(last.message)})")
        times = "once" if tries == 1 else f"{tries} times in a row"
        return ModelError(f"the model endpoint at {self.url} failed {times}; last: {self._clean(last.message)}")

    def _deadline_error(self, last: _Retry | None) -> ModelError:
        tail = f"; last problem: {self._clean(last.message)}" if last else ""
        return ModelError(
            f"no complete answer from the model within the {self.settings.deadline:g} s deadline "
            f"({self.attempts} attempts{tail})"
        )

    # -- one attempt --

    def _attempt(self, conversation: list[dict], seconds: float) -> _Answer:
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
        try:
            with self.client.chat.completions.with_streaming_response.create(**kwargs) as response:
                self.reached = True
                http = response.http_response
                content_type = http.headers.get("content-type", "")
                chunks = self._checked(http.iter_bytes())
                if settings.stream and "event-stream" in content_type:
                    return self._read_stream(chunks)
                # not streaming, or a server that ignored stream=true and answered plain JSON
                answer = _parse_completion(_read_all(chunks), content_type)
                tokens = answer.usage.completion_tokens if answer.usage else _estimate(len(answer.content))
                self._progress(tokens)
                return answer
        except openai.APIStatusError as err:
            self.reached = True
            if err.status_code == 400 and self.seed is not None and "seed" in _server_message(err).lower():
                self.seed = None  # this endpoint takes no seed: ask again without one
                raise _Retry("the endpoint does not take a seed; asking without one", free=True) from None
            raise self._status_problem(err) from None
        except openai.APITimeoutError as err:
            if isinstance(err.__cause__, _http.ConnectTimeout):
                raise _Retry(f"connecting timed out after {seconds:g} s", unreachable=True) from None
            self.reached = True
            raise _Retry(f"no answer within {seconds:g} s (read timeout)") from None
        except openai.APIConnectionError as err:
            cause = err.__cause__
            if isinstance(cause, _http.ConnectError):
                raise _Retry(f"cannot connect: {_reason(cause)}", unreachable=True) from None
            self.reached = True
            raise _Retry(f"connection error: {_reason(cause or err)}") from None
        except _http.TimeoutException:
            raise _Retry(f"the answer stalled: nothing arrived for {seconds:g} s") from None
        except (_http.TransportError, _http.StreamError, OSError) as err:
            raise _Retry(f"the connection broke mid-answer ({_reason(err)})") from None

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
            return _Retry(f"HTTP {status}" + (f": {message}" if message else ""), wait=wait)
        return ModelError(f"the endpoint rejected the request (HTTP {status}): {message or 'no message'}")

    def _read_stream(self, chunks: Iterator[bytes]) -> _Answer:
        content: list[str] = []
        refusal: list[str] = []
        finish: str | None = None
        usage: Usage | None = None
        done = False
        guard = RepeatGuard()
        for data in _sse_data(chunks):
            if data.strip() == "[DONE]":
                done = True
                break
            try:
                event = json.loads(data)
            except ValueError:
                raise _Retry(f"the stream carried something that is not JSON: {_one_line(data, 80)!r}") from None
            if not isinstance(event, dict):
                raise _Retry(f"the stream carried something that is not a chat chunk: {_one_line(data, 80)!r}")
            if event.get("error") and not event.get("choices"):
                raise _Retry(f"the endpoint reported an error mid-stream: {_error_text(event['error'])}")
            usage = _usage(event.get("usage")) or usage
            choices = event.get("choices") or []
            choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                delta = {}
            got = False
            for key, sink in (("content", content), ("refusal", refusal)):
                piece = delta.get(key)
                if isinstance(piece, str) and piece:
                    sink.append(piece)
                    got = True
                    if key == "content" and guard.feed(piece):
                        log.info("the answer started repeating itself (%s); stopping the stream", guard.why)
                        return _Answer(guard.kept("".join(content)), "".join(refusal), "repeat", usage)
            if delta.get("reasoning_content") or delta.get("reasoning"):
                got = True  # thinking models: not part of the answer, but it is progress
            if got:
                self.tokens_now += 1
                self._progress(0)
            if choice.get("finish_reason"):
                finish = str(choice["finish_reason"])
        if not done and finish is None:
            raise _Retry("the stream ended before the answer was complete (no finish_reason, no [DONE])")
        return _Answer("".join(content), "".join(refusal), finish or "stop", usage)

    # -- helpers --

    def _checked(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The response's bytes, stopping at the overall deadline."""
        for chunk in chunks:
            if time.monotonic() > self.deadline_at:
                raise _DeadlineHit()
            yield chunk

    def _progress(self, tokens: int) -> None:
        if tokens:
            self.tokens_now = self.tokens_done + tokens
        if self.on_progress is not None:
            self.on_progress(self.tokens_now, time.monotonic() - self.started)

    def _clean(self, text: str) -> str:
        return redact(_one_line(text, 300), self.settings.api_key)


# --- parsing ---------------------------------------------------------------------------------------------------


def _read_all(chunks: Iterator[bytes]) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Retry(f"the answer is larger than {MAX_BODY_BYTES // 1_000_000} MB")
        parts.append(chunk)
    return b"".join(parts)


def _parse_completion(raw: bytes, content_type: str) -> _Answer:
    text = raw.decode("utf-8", "replace")
    kind = content_type.split(";")[0].strip() or "no content type"
    try:
        data = json.loads(text)
    except ValueError:
        raise _Retry(f"the endpoint answered 200 with something that is not JSON ({kind}): {_one_line(text, 80)!r}")
    if isinstance(data, dict) and data.get("error") and not data.get("choices"):
        raise _Retry(f"the endpoint answered 200 with an error: {_error_text(data['error'])}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _Retry(f"the endpoint answered 200 with JSON that is not a chat completion: {_one_line(text, 80)!r}")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    refusal = message.get("refusal")
    return _Answer(
        content if isinstance(content, str) else "",
        refusal if isinstance(refusal, str) else "",
        str(choice.get("finish_reason") or "stop"),
        _usage(data.get("usage")),
    )


def _sse_data(chunks: Iterable[bytes]) -> Iterator[str]:
    """The `data` of each server-sent event (multi-line data joined with newlines)."""
    buffer = b""
    lines: list[str] = []
    for chunk in chunks:
        buffer += chunk
        *complete_lines, buffer = buffer.split(b"\n")
        for raw in complete_lines:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if not line:
                if lines:
                    yield "\n".join(lines)
                    lines = []
            elif line.startswith("data:"):
                lines.append(line[5:].removeprefix(" "))
            # comments (":"), event:, id:, retry: carry nothing we need
    tail = buffer.rstrip(b"\r").decode("utf-8", "replace")
    if tail.startswith("data:"):
        lines.append(tail[5:].removeprefix(" "))
    if lines:
        yield "\n".join(lines)


def _usage(data) -> Usage | None:
    if not isinstance(data, dict):
        return None
    prompt, completion = data.get("prompt_tokens"), data.get("completion_tokens")
    if not isinstance(prompt, int) and not isinstance(completion, int):
        return None
    return Usage(prompt if isinstance(prompt, int) else 0, completion if isinstance(completion, int) else 0)


def _server_message(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        return _error_text(body)
    if isinstance(body, str) and body.strip():
        return re.sub(r"<[^>]*>", " ", body)
    return ""


def _error_text(error) -> str:
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or error.get("error")
        if isinstance(message, (str, int, float)):
            return str(message)
        return json.dumps(error)[:300]
    return str(error)


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


def _one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(err: BaseException) -> str:
    """The innermost cause's words, e.g. '[Errno 111] Connection refused'."""
    for _ in range(20):
        inner = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
        if inner is None:
            break
        err = inner
    return str(err) or type(err).__name__


def _estimate(chars: int) -> int:
    return (chars + 3) // 4


def _message_chars(messages: list[dict]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        total += len(content) if isinstance(content, str) else len(json.dumps(content or ""))
    return total


def _join(previous: str, more: str) -> str:
    """previous + more, dropping a repeat of previous's end at more's start (at least MIN_OVERLAP characters)."""
    limit = min(len(previous), len(more), 4000)
    for size in range(limit, MIN_OVERLAP - 1, -1):
        if previous.endswith(more[:size]):
            return previous + more[size:]
    return previous + more
