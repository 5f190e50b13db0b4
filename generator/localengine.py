"""Requests to the local engine, shaped so that whatever a small model writes stays an answer.

llama.cpp's server fails a stream mid-answer once prompt and answer outgrow its context, and without a seed it
samples from a chain fixed at start-up. So each request asks for at most what fits (the prompt measured with the
engine's own tokenizer, or a generous estimate when it does not answer in time) and carries a seed of its own.
"""

from __future__ import annotations

import random

PER_MESSAGE = 8  # chat-template tokens around each message (role markers, separators)
TEMPLATE = 32  # a default system line some templates add, and the assistant's opening
MARGIN = 64  # tokens kept free: the template's exact count, the end-of-answer token
MIN_ANSWER = 256  # a prompt leaving less room than this is too long for the context
SEED_STEP = 1_000_003  # retries of a seeded answer: seed, seed + step, seed + 2 step, …
SEED_RANGE = 2**31


class NoRoom(Exception):
    """The prompt leaves no room for an answer in the engine's context."""

    def __init__(self, prompt: int, context: int):
        super().__init__(f"the prompt ({prompt} tokens) leaves no room for an answer in the local model's context "
                         f"of {context} tokens")
        self.prompt = prompt


def safe_estimate(text: str) -> int:
    """More tokens than `text` has for any tokenizer of a coder model (they average 3–4 bytes a token on code)."""
    return (len(text.encode("utf-8")) + 1) // 2


def prompt_tokens(server, messages: list[dict]) -> int:
    """The prompt's tokens as the engine counts them, template included (estimated when it cannot say)."""
    text = "\n".join(m["content"] for m in messages if isinstance(m.get("content"), str))
    counted = server.count_tokens(text)
    if counted is None:
        counted = safe_estimate(text)
    return counted + PER_MESSAGE * len(messages) + TEMPLATE


def answer_room(server, messages: list[dict], asked: int | None) -> int:
    """max_tokens for this request: what fits in the context (never more than `asked`); NoRoom when too little."""
    prompt = prompt_tokens(server, messages)
    room = server.n_ctx - prompt - MARGIN
    if room < MIN_ANSWER:
        raise NoRoom(prompt, server.n_ctx)
    return min(room, asked) if asked else room


def attempt_seed(seed: int | None, attempt: int, rng: random.Random | None = None) -> int:
    """The seed of an answer's attempt (1 for the first): derived from the caller's seed, so a seeded run samples
    the same again; random without one. Every attempt gets another."""
    if seed is None:
        return (rng or random).randrange(SEED_RANGE)
    return (seed + (attempt - 1) * SEED_STEP) % SEED_RANGE
