"""The model client against a real HTTP server (FakeOpenAI), through the real openai package."""

from __future__ import annotations

import email.utils
import socket
import time

import pytest

from fakeopenai import FakeOpenAI, Reply
from runshot.errors import ModelError, UsageError
from runshot.generator.client import (
    CONTINUE_PROMPT,
    REFUSAL_PREFIX,
    ModelSettings,
    complete,
    make_client,
    retry_after,
)

KEY = "sk-test-SECRET-0123456789abcdef"
MESSAGES = [{"role": "system", "content": "You write web apps."}, {"role": "user", "content": "A counter."}]


def settings_for(fake: FakeOpenAI, **overrides) -> ModelSettings:
    values = {"name": "test-model", "base_url": fake.base_url, "api_key": KEY, "max_retries": 2}
    values.update(overrides)
    return ModelSettings(**values)


def run(fake: FakeOpenAI, sleeps: list | None = None, on_progress=None, **overrides):
    settings = settings_for(fake, **overrides)
    sleep = sleeps.append if sleeps is not None else time.sleep
    return complete(make_client(settings), settings, MESSAGES, on_progress=on_progress, sleep=sleep)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- plain answers ---------------------------------------------------------------------------------------------


def test_non_streaming_answer_and_usage(fake_openai):
    fake_openai.script(Reply("<p>hi</p>", usage=(120, 7)))
    progress = []
    result = run(fake_openai, stream=False, on_progress=lambda n, s: progress.append(n))
    assert (result.text, result.finish_reason) == ("<p>hi</p>", "stop")
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (120, 7)
    assert not result.usage_estimated
    assert (result.attempts, result.continuations) == (1, 0)
    assert progress == [7]
    [request] = fake_openai.chat_requests
    assert request.body["model"] == "test-model"
    assert request.body["messages"] == MESSAGES
    assert request.body["temperature"] == 0.2
    assert "stream" not in request.body
    assert fake_openai.api_keys_seen == [KEY]


def test_streaming_answer_usage_and_live_progress(fake_openai):
    text = "<!doctype html><title>Counter</title><button>Increment</button>"
    fake_openai.script(Reply(text, usage=(300, 40)))
    progress = []
    result = run(fake_openai, max_tokens=500, on_progress=lambda n, s: progress.append((n, s)))
    assert result.text == text
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (300, 40)
    assert not result.usage_estimated
    body = fake_openai.chat_requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 500
    counts = [n for n, _ in progress]
    assert counts == list(range(1, len(counts) + 1)) and len(counts) == -(-len(text) // 4)
    seconds = [s for _, s in progress]
    assert seconds == sorted(seconds) and seconds[-1] <= result.seconds


def test_missing_usage_is_estimated(fake_openai):
    fake_openai.script(Reply("x" * 400, usage=None), Reply("y" * 40, usage=None))
    streamed = run(fake_openai)
    assert streamed.usage_estimated and streamed.usage.completion_tokens == 100
    assert streamed.usage.prompt_tokens == -(-sum(len(m["content"]) for m in MESSAGES) // 4)
    plain = run(fake_openai, stream=False)
    assert plain.usage_estimated and plain.usage.completion_tokens == 10


def test_server_that_ignores_stream_true_still_works(fake_openai):
    # some servers answer plain JSON to a streaming request
    fake_openai.script(
        Reply(body='{"choices":[{"message":{"content":"plain"},"finish_reason":"stop"}]}',
              headers={"Content-Type": "application/json"})
    )
    assert run(fake_openai).text == "plain"


def test_empty_answer_and_refusal_are_returned_as_text(fake_openai):
    fake_openai.script(Reply(""), Reply("", refusal="I can't help with that."), Reply(None, refusal="No.", usage=None))
    empty = run(fake_openai)
    assert (empty.text, empty.finish_reason, empty.refused) == ("", "stop", False)
    refused = run(fake_openai)
    assert refused.refused and refused.text == REFUSAL_PREFIX + "I can't help with that."
    plain = run(fake_openai, stream=False)
    assert plain.refused and plain.text == REFUSAL_PREFIX + "No."


# --- retries ---------------------------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(fake_openai):
    fake_openai.script(Reply(status=429, headers={"Retry-After": "1"}), "ok")
    sleeps = []
    result = run(fake_openai, sleeps)
    assert result.text == "ok" and result.attempts == 2
    assert sleeps == [1.0]


def test_429_without_retry_after_backs_off(fake_openai):
    fake_openai.script(Reply(status=429), Reply(status=429), "ok")
    sleeps = []
    assert run(fake_openai, sleeps).text == "ok"
    assert len(sleeps) == 2
    assert 0.25 < sleeps[0] <= 0.5 and 0.5 < sleeps[1] <= 1.0


def test_retry_after_ms_is_honoured(fake_openai):
    fake_openai.script(Reply(status=503, headers={"retry-after-ms": "250"}), "ok")
    sleeps = []
    assert run(fake_openai, sleeps).text == "ok"
    assert sleeps == [0.25]


def test_real_retry_after_wait(fake_openai):
    fake_openai.script(Reply(status=429, headers={"Retry-After": "1"}), "ok")
    started = time.monotonic()
    result = run(fake_openai)
    elapsed = time.monotonic() - started
    assert result.text == "ok" and result.attempts == 2
    assert 0.9 <= elapsed < 4


def test_long_retry_after_is_an_error_not_a_silent_wait(fake_openai):
    fake_openai.script(Reply(status=429, headers={"Retry-After": "120"}), "never reached")
    sleeps = []
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        run(fake_openai, sleeps)
    assert time.monotonic() - started < 2
    assert "asked to wait 120 s" in str(caught.value)
    assert sleeps == [] and len(fake_openai.chat_requests) == 1


def test_retry_after_parsing():
    assert retry_after({"retry-after": "2.5"}) == 2.5
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after({}) is None and retry_after({"retry-after": "soon"}) is None
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= retry_after({"retry-after": later}) <= 60
    earlier = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after({"retry-after": earlier}) == 0


def test_5xx_twice_then_success(fake_openai):
    fake_openai.script(Reply(status=500), Reply(status=502, body="<html>Bad Gateway</html>"), "done")
    sleeps = []
    result = run(fake_openai, sleeps)
    assert result.text == "done" and result.attempts == 3 and len(sleeps) == 2
    assert len(fake_openai.chat_requests) == 3


def test_persistent_5xx_ends_in_model_error_with_the_servers_words(fake_openai):
    sleeps = []  # the script is empty: the fake answers 500 "the script ran out" every time
    with pytest.raises(ModelError) as caught:
        run(fake_openai, sleeps, max_retries=2)
    message = str(caught.value)
    assert "failed 3 times" in message and "script ran out" in message and "\n" not in message
    assert len(fake_openai.chat_requests) == 3 and len(sleeps) == 2


def test_stream_dropped_before_the_answer_is_retried(fake_openai):
    fake_openai.script(Reply("abcdefghijklmnopqrstuvwxyz", drop_after_chunks=0), "abcdefghijklmnopqrstuvwxyz")
    result = run(fake_openai, [])
    assert result.text == "abcdefghijklmnopqrstuvwxyz" and result.attempts == 2
    assert result.finish_reason == "stop" and result.problem == ""


def test_stream_dropped_mid_answer_keeps_what_arrived(fake_openai):
    fake_openai.script(Reply("abcdefghijklmnopqrstuvwxyz", drop_after_chunks=3), "never asked for")
    progress = []
    result = run(fake_openai, [], on_progress=lambda n, s: progress.append(n))
    assert result.text == "abcdefghijkl" and result.attempts == 1
    assert result.finish_reason == "cut" and "connection broke mid-answer" in result.problem
    assert progress == [1, 2, 3]
    assert len(fake_openai.chat_requests) == 1 and fake_openai.unused == 1


def test_error_event_mid_stream_keeps_what_arrived(fake_openai):
    fake_openai.script(Reply("abcdefghijklmnopqrstuvwxyz", error_after_chunks=2,
                             error="Requested tokens (8232) exceed context window of 8192"))
    result = run(fake_openai, [])
    assert (result.text, result.finish_reason) == ("abcdefgh", "cut")
    assert "error mid-stream: Requested tokens (8232) exceed context window" in result.problem


def test_error_event_before_the_answer_is_retried(fake_openai):
    fake_openai.script(Reply("abc", error_after_chunks=0), "whole answer")
    result = run(fake_openai, [])
    assert (result.text, result.finish_reason, result.attempts) == ("whole answer", "stop", 2)


def test_stream_that_ends_cleanly_without_finish_keeps_what_arrived(fake_openai):
    # a proxy that closes the body politely mid-answer: no protocol error, just no finish_reason and no [DONE]
    cut = 'data: {"choices":[{"index":0,"delta":{"content":"half an ans"}}]}\n\n'
    fake_openai.script(Reply(body=cut, headers={"Content-Type": "text/event-stream"}), "whole answer")
    result = run(fake_openai, [])
    assert (result.text, result.finish_reason, result.attempts) == ("half an ans", "cut", 1)
    assert "no finish_reason" in result.problem


def test_stalled_stream_mid_answer_keeps_what_arrived(fake_openai):
    fake_openai.script(Reply("abcdefgh", stall_after_chunks=1))
    start = time.monotonic()
    result = run(fake_openai, [], timeout=0.6)
    assert (result.text, result.finish_reason) == ("abcd", "cut") and "stalled" in result.problem
    assert time.monotonic() - start < 5


def test_html_200_is_retried_then_model_error(fake_openai):
    page = "<!DOCTYPE html><html><body>Welcome to nginx!</body></html>"
    fake_openai.script(*[Reply(body=page)] * 3)
    sleeps = []
    with pytest.raises(ModelError) as caught:
        run(fake_openai, sleeps, stream=False)
    assert len(fake_openai.chat_requests) == 3
    assert "not JSON (text/html)" in str(caught.value) and "nginx" in str(caught.value)


def test_html_200_on_a_stream_is_retried(fake_openai):
    fake_openai.script(Reply(body="<html>captive portal</html>"), "real answer")
    assert run(fake_openai, []).text == "real answer"


def test_json_that_is_not_a_chat_completion_is_retried(fake_openai):
    fake_openai.script(
        Reply(body='{"status": "ok"}', headers={"Content-Type": "application/json"}),
        Reply(body='{"error": {"message": "overloaded"}}', headers={"Content-Type": "application/json"}),
        "fine",
    )
    result = run(fake_openai, [], stream=False)
    assert result.text == "fine" and result.attempts == 3


# --- errors that must not be retried ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_is_a_usage_error_without_retry(fake_openai, status):
    fake_openai.script(Reply(status=status, content=f"Incorrect API key provided: {KEY}"), "never")
    with pytest.raises(UsageError) as caught:
        run(fake_openai, [])
    assert str(caught.value).startswith(f"the endpoint refused the API key ({status}): check --api-key")
    assert KEY not in str(caught.value)
    assert len(fake_openai.chat_requests) == 1


def test_404_names_model_and_url(fake_openai):
    fake_openai.script(Reply(status=404, content="model 'test-model' not found"))
    with pytest.raises(UsageError) as caught:
        run(fake_openai, [])
    assert "test-model" in str(caught.value) and fake_openai.base_url in str(caught.value)
    assert len(fake_openai.chat_requests) == 1


def test_400_is_a_model_error_with_the_servers_message(fake_openai):
    fake_openai.script(Reply(status=400, content="This model's maximum context length is 4096 tokens."))
    with pytest.raises(ModelError) as caught:
        run(fake_openai, [])
    assert str(caught.value) == (
        "the endpoint rejected the request (HTTP 400): This model's maximum context length is 4096 tokens."
    )
    assert len(fake_openai.chat_requests) == 1


def test_connection_refused_is_a_usage_error():
    settings = ModelSettings("test-model", f"http://127.0.0.1:{closed_port()}/v1", api_key=KEY, max_retries=2)
    sleeps = []
    with pytest.raises(UsageError) as caught:
        complete(make_client(settings), settings, MESSAGES, sleep=sleeps.append)
    assert str(caught.value).startswith(f"no model endpoint reachable at {settings.base_url}")
    assert "refused" in str(caught.value) and len(sleeps) == 2


# --- time limits -----------------------------------------------------------------------------------------------


def test_hung_socket_is_bounded_by_the_timeout(fake_openai):
    fake_openai.script(Reply(hang=True), Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        run(fake_openai, timeout=1, max_retries=1)
    assert time.monotonic() - started < 5
    assert "read timeout" in str(caught.value)
    assert len(fake_openai.chat_requests) == 2


def test_deadline_caps_a_hung_request(fake_openai):
    fake_openai.script(Reply(hang=True), "too late")
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        run(fake_openai, timeout=60, deadline=1.5)
    assert time.monotonic() - started < 3
    assert "1.5 s deadline" in str(caught.value)


def test_deadline_caps_a_trickling_stream(fake_openai):
    # every chunk arrives well within the read timeout, but the whole answer would take ~10 s: what came by the
    # deadline is the answer, cut
    fake_openai.script(Reply("x" * 200, chunk_delay=0.2))
    started = time.monotonic()
    result = run(fake_openai, timeout=5, deadline=1.2)
    assert time.monotonic() - started < 2.5
    assert result.finish_reason == "cut" and "1.2 s deadline" in result.problem
    assert 0 < len(result.text) < 200 and set(result.text) == {"x"}


def test_deadline_stops_retry_waits(fake_openai):
    fake_openai.script(Reply(status=503, headers={"Retry-After": "5"}), "too late")
    sleeps = []
    with pytest.raises(ModelError) as caught:
        run(fake_openai, sleeps, deadline=2)
    assert sleeps == [] and "deadline" in str(caught.value) and "HTTP 503" in str(caught.value)


# --- cut-off answers -------------------------------------------------------------------------------------------


def test_length_is_continued_and_concatenated(fake_openai):
    fake_openai.script(
        Reply("<html><body><h1>Cou", finish_reason="length", usage=(100, 10)),
        Reply("nter</h1></body></html>", usage=(130, 8)),
    )
    result = run(fake_openai)
    assert result.text == "<html><body><h1>Counter</h1></body></html>"
    assert (result.finish_reason, result.continuations, result.attempts) == ("stop", 1, 2)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (230, 18)
    follow_up = fake_openai.chat_requests[1].body["messages"]
    assert follow_up[: len(MESSAGES)] == MESSAGES
    assert follow_up[len(MESSAGES):] == [
        {"role": "assistant", "content": "<html><body><h1>Cou"},
        {"role": "user", "content": CONTINUE_PROMPT},
    ]
    assert "continue exactly where you stopped, no repetition" in CONTINUE_PROMPT.lower()


def test_still_cut_after_max_continuations_reports_length(fake_openai):
    def cut(body: dict) -> Reply:  # each continuation sees everything so far as the assistant turn
        so_far = body["messages"][-2]["content"] if body["messages"][-1]["content"] == CONTINUE_PROMPT else ""
        return Reply(f"part{len(so_far) // 5};", finish_reason="length")

    fake_openai.script(cut, cut, cut)
    result = run(fake_openai, stream=False, max_continuations=2)
    assert (result.text, result.finish_reason, result.continuations) == ("part0;part1;part2;", "length", 2)
    assert fake_openai.unused == 0


def test_continuation_repeating_the_tail_is_not_duplicated(fake_openai):
    first = "function render() {\n  const list = document.querySelector('#list');\n  list.inner"
    again = "  const list = document.querySelector('#list');\n  list.innerHTML = '';\n}\n"
    fake_openai.script(Reply(first, finish_reason="length"), Reply(again))
    result = run(fake_openai)
    assert result.text == (
        "function render() {\n  const list = document.querySelector('#list');\n  list.innerHTML = '';\n}\n"
    )


def test_retry_inside_a_continuation_belongs_to_the_same_completion(fake_openai):
    fake_openai.script(Reply("abc", finish_reason="length"), Reply(status=500), Reply("def"))
    sleeps = []
    result = run(fake_openai, sleeps)
    assert (result.text, result.attempts, result.continuations, len(sleeps)) == ("abcdef", 3, 1, 1)


# --- secrets ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [KEY, "local-SECRET-token-42"])
def test_api_key_never_appears_in_errors_or_settings(fake_openai, key):
    settings = settings_for(fake_openai, api_key=key)
    assert key not in repr(settings) and key not in str(settings) and key not in str(settings.redacted())
    fake_openai.script(
        Reply(status=401, content=f"bad key {key}"),
        Reply(status=400, content=f"invalid request for key {key}"),
        Reply(status=429, headers={"Retry-After": "999"}, content=f"slow down {key}"),
        *[Reply(status=500, content=f"boom {key}")] * 3,
        *[Reply(body=f"<html>{key}</html>")] * 3,
    )
    messages = []
    for _ in range(5):
        with pytest.raises((UsageError, ModelError)) as caught:
            run(fake_openai, [], api_key=key)
        messages.append(str(caught.value))
        messages.append(repr(caught.value))
    assert fake_openai.unused == 0 and set(fake_openai.api_keys_seen) == {key}
    assert sum("***" in message for message in messages) >= 8  # the servers' words were kept, the key was not
    for message in messages:
        assert key not in message and "SECRET" not in message, message


def test_no_api_key_sends_a_placeholder(fake_openai):
    fake_openai.script("ok")
    settings = ModelSettings("m", fake_openai.base_url)
    assert complete(make_client(settings), settings, MESSAGES).text == "ok"
    assert fake_openai.api_keys_seen == ["not-needed"]


def test_redacted_drops_credentials_in_the_url():
    settings = ModelSettings("qwen", "https://user:pw@example.test:8443/v1/?key=abc", api_key=KEY)
    assert settings.redacted() == {"name": "qwen", "base_url": "https://***@example.test:8443/v1/?key=***"}
