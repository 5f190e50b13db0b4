"""Reading one chat-completion answer off the wire: a plain JSON body or a stream of server-sent events.

Whatever is not a complete chat completion raises `Retry` (worth another attempt): a body that is not JSON or too
large, an error inside a 200, a stream that ends before its finish_reason with nothing of the answer in it. A stream
that breaks off after the answer began keeps what arrived, with finish_reason "cut" and `problem` saying why: the
model's answer, however degenerate, is judged rather than asked for again. A streamed answer that starts repeating
itself is cut where the repetition began (see RepeatGuard), with finish_reason "repeat".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from runshot.generator.repeatguard import RepeatGuard
from runshot.values import Usage

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32_000_000


@dataclass
class Answer:
    content: str
    refusal: str
    finish_reason: str
    usage: Usage | None
    problem: str = ""  # finish_reason "cut": how the stream broke off
    tokens: int = 0  # streamed chunks that brought text


CUT = "cut"  # finish_reason of an answer whose stream broke off after it began


class Retry(Exception):
    """A problem worth another attempt. wait: what the server asked for (Retry-After), if anything."""

    def __init__(self, message: str, *, wait: float | None = None, unreachable: bool = False, free: bool = False):
        super().__init__(message)
        self.free = free  # not the endpoint's fault (a parameter it does not take): costs no retry
        self.message = message
        self.wait = wait
        self.unreachable = unreachable


class StreamBroke(Exception):
    """Raised by a stream's chunk iterator when the stream broke off (connection lost, stalled, deadline)."""


def read_stream(chunks: Iterator[bytes], on_token: Callable[[], None]) -> Answer:
    """The answer carried by a stream of chat chunks; on_token() is called for each chunk that brought text.

    `chunks` may raise StreamBroke: with part of the answer already in, that part is the answer (finish_reason
    "cut"); before that, it is a Retry.
    """
    content: list[str] = []
    refusal: list[str] = []
    finish: str | None = None
    usage: Usage | None = None
    done = False
    tokens = 0
    guard = RepeatGuard()

    def broken(problem: str) -> Answer:
        if not content and not refusal:
            raise Retry(problem)
        log.info("the stream broke off after %d chunks of the answer (%s); keeping what arrived", tokens, problem)
        return Answer("".join(content), "".join(refusal), CUT, usage, problem, tokens)

    events = sse_data(chunks)
    while True:
        try:
            data = next(events)
        except StopIteration:
            break
        except StreamBroke as exc:
            return broken(str(exc))
        if data.strip() == "[DONE]":
            done = True
            break
        try:
            event = json.loads(data)
        except ValueError:
            return broken(f"the stream carried something that is not JSON: {one_line(data, 80)!r}")
        if not isinstance(event, dict):
            return broken(f"the stream carried something that is not a chat chunk: {one_line(data, 80)!r}")
        if event.get("error") and not event.get("choices"):
            return broken(f"the endpoint reported an error mid-stream: {error_text(event['error'])}")
        usage = parse_usage(event.get("usage")) or usage
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
                    return Answer(guard.kept("".join(content)), "".join(refusal), "repeat", usage, guard.why,
                                  tokens + 1)
        if delta.get("reasoning_content") or delta.get("reasoning"):
            got = True  # thinking models: not part of the answer, but it is progress
        if got:
            tokens += 1
            on_token()
        if choice.get("finish_reason"):
            finish = str(choice["finish_reason"])
    if not done and finish is None:
        return broken("the stream ended before the answer was complete (no finish_reason, no [DONE])")
    return Answer("".join(content), "".join(refusal), finish or "stop", usage, "", tokens)


def read_all(chunks: Iterator[bytes]) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Retry(f"the answer is larger than {MAX_BODY_BYTES // 1_000_000} MB")
        parts.append(chunk)
    return b"".join(parts)


def parse_completion(raw: bytes, content_type: str) -> Answer:
    text = raw.decode("utf-8", "replace")
    kind = content_type.split(";")[0].strip() or "no content type"
    try:
        data = json.loads(text)
    except ValueError:
        raise Retry(f"the endpoint answered 200 with something that is not JSON ({kind}): {one_line(text, 80)!r}")
    if isinstance(data, dict) and data.get("error") and not data.get("choices"):
        raise Retry(f"the endpoint answered 200 with an error: {error_text(data['error'])}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise Retry(f"the endpoint answered 200 with JSON that is not a chat completion: {one_line(text, 80)!r}")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    refusal = message.get("refusal")
    return Answer(
        content if isinstance(content, str) else "",
        refusal if isinstance(refusal, str) else "",
        str(choice.get("finish_reason") or "stop"),
        parse_usage(data.get("usage")),
    )


def sse_data(chunks: Iterable[bytes]) -> Iterator[str]:
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


def parse_usage(data) -> Usage | None:
    if not isinstance(data, dict):
        return None
    prompt, completion = data.get("prompt_tokens"), data.get("completion_tokens")
    if not isinstance(prompt, int) and not isinstance(completion, int):
        return None
    return Usage(prompt if isinstance(prompt, int) else 0, completion if isinstance(completion, int) else 0)


def error_text(error) -> str:
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or error.get("error")
        if isinstance(message, (str, int, float)):
            return str(message)
        return json.dumps(error)[:300]
    return str(error)


def one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def estimate_tokens(chars: int) -> int:
    return (chars + 3) // 4
