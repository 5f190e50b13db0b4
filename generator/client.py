"""The model client: one chat completion from any OpenAI-compatible endpoint, within a deadline.

`complete()` streams (or not), retries what is worth retrying (429, 5xx, connection trouble, stalls, a dropped
stream before the answer began, a 200 that is not a chat completion), honours Retry-After, continues answers cut
off at finish_reason "length", sums token usage, and never runs past `settings.deadline`. An answer whose stream
broke off after it began is kept as it is (finish_reason "cut", `problem` says how): a model's degenerate answer is
judged like any other.
Everything it raises is a `UsageError` or `ModelError` with one printable line that never contains the API key.

This module holds the answer as a whole (continuations, refusals, usage); one request with its retries and
deadline is in `attempts`, reading an answer off the wire in `answers`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Callable

import openai

from runshot.errors import ModelError
from runshot.generator.answers import CUT, MAX_BODY_BYTES, estimate_tokens
from runshot.generator.attempts import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    CONNECT_TIMEOUT,
    RETRY_STATUSES,
    ModelSettings,
    Run,
    make_client,
    redact,
    retry_after,
    safe_url,
)
from runshot.generator.localengine import NoRoom
from runshot.values import Usage

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "CONNECT_TIMEOUT",
    "CONTINUE_PROMPT",
    "CUT",
    "MAX_BODY_BYTES",
    "MIN_OVERLAP",
    "REFUSAL_PREFIX",
    "RETRY_STATUSES",
    "Completion",
    "ModelSettings",
    "complete",
    "make_client",
    "redact",
    "retry_after",
    "safe_url",
]

log = logging.getLogger(__name__)

CONTINUE_PROMPT = (
    "Your answer was cut off. Continue exactly where you stopped, no repetition: "
    "write only the rest of the answer, starting with the very next character."
)
REFUSAL_PREFIX = "The model refused: "
MIN_OVERLAP = 32  # a continuation repeating at least this many characters of the text's end loses the repeat


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
    problem: str = ""  # finish_reason "cut": how the stream broke off; "repeat": what repeated


def complete(
    client: openai.OpenAI,
    settings: ModelSettings,
    messages: list[dict],
    on_progress: Callable[[int, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    *,
    temperature: float | None = None,
    seed: int | None = None,
    schema: dict | None = None,
) -> Completion:
    """One judged answer: retries and continuations included, within settings.deadline.

    on_progress(tokens_so_far, elapsed_seconds) is called as tokens arrive (once per answer when not streaming);
    after a retry the count restarts from what the earlier, complete parts held.
    temperature overrides settings.temperature for this answer; seed asks for a reproducible sample (an endpoint
    that rejects the parameter with HTTP 400 is asked again without it). schema (a JSON schema) holds the answer to
    it on the embedded engine, whose sampler follows it as a grammar; other endpoints answer in free text.
    A streamed answer that starts re-sending a file it already finished, or repeats one line over and over, is
    stopped there (see RepeatGuard): what came is kept and finish_reason is "repeat". One that broke off after
    it began (connection lost, an error event, a stall) is kept too, with finish_reason "cut".
    """
    run = Run(client, settings, on_progress, sleep, temperature=temperature, seed=seed, schema=schema)
    text = ""
    usage = Usage()
    estimated = False
    refused = False
    continuations = 0
    finish, problem = "stop", ""
    conversation = list(messages)
    while True:
        try:
            answer = run.request(conversation)
        except NoRoom as exc:
            if not continuations:
                raise ModelError(str(exc)) from None
            log.info("no room left in the context to continue the answer (%s)", exc)
            break  # still cut off: finish stays "length"
        piece = answer.content
        if answer.refusal:
            refused = True
            piece = REFUSAL_PREFIX + answer.refusal + (("\n" + piece) if piece else "")
        text = _join(text, piece) if continuations else piece
        if answer.usage is None:
            estimated = True
            usage.add(Usage(estimate_tokens(_message_chars(conversation)), estimate_tokens(len(piece))))
        else:
            usage.add(answer.usage)
        run.tokens_done = run.tokens_now
        finish, problem = answer.finish_reason, answer.problem
        if finish != "length" or refused or continuations >= settings.max_continuations:
            break
        continuations += 1
        run.schema = None  # a continuation goes on from the middle of the answer: no grammar starts it afresh
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
        problem=problem,
    )


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
