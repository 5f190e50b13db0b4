"""A model's degenerate answer is judged, not retried as an endpoint failure: the real CLI, the real openai client
over HTTP to the scripted server, real Chromium and git. A stream that breaks off mid-answer (connection dropped
without finish_reason, or an error event) keeps what arrived, gets a `format` finding and the loop goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakeopenai import FakeOpenAI, Reply
from test_pipeline import FAST_CHECKS, GOOD_HTML as HTML, GOOD_JS as JS, SPEC

WHOLE = f"### index.html\n```html\n{HTML}```\n\n### app.js\n```js\n{JS}```\n"
KEY = "sk-test-broken-answers-0123456789"
CHUNK = 4  # characters per streamed chunk (FakeOpenAI's default)
CUT_AT = (WHOLE.index("### app.js") + 40) // CHUNK  # inside app.js's block: index.html arrived whole


def run_new(fake: FakeOpenAI, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict, float]:
    spec = tmp_path / "counter.md"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RUNSHOT_MODEL"))}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "runshot", "new", str(spec), "-o", str(out), "--base-url", fake.base_url,
         "--model", "scripted", "--api-key", KEY, "--checks", FAST_CHECKS, "--retries", "2", *extra],
        capture_output=True, text=True, timeout=240, env=env)
    seconds = time.monotonic() - started
    report = json.loads((out / ".runshot" / "report.json").read_text())
    return proc, report, seconds


def broken_off(iteration: dict) -> list[dict]:
    return [f for f in iteration["findings"] if f["rule"] == "format/broken-off"]


@pytest.mark.parametrize("cut", [
    Reply(WHOLE, drop_after_chunks=CUT_AT, finish_reason=None),
    Reply(WHOLE, error_after_chunks=CUT_AT, error="Requested tokens (8232) exceed context window of 8192"),
], ids=["dropped", "error-event"])
def test_an_answer_cut_mid_stream_is_judged_and_the_loop_goes_on(fake_openai, tmp_path, cut):
    fake_openai.script(cut, WHOLE)
    proc, report, seconds = run_new(fake_openai, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert seconds < 120
    first, second = report["iterations"]
    # What arrived was judged: index.html was written, committed and validated; app.js (cut) was not taken.
    assert first["commit"] and first["files_changed"] == ["index.html"]
    [finding] = broken_off(first)
    assert finding["check"] == "format" and finding["severity"] == "error" and finding["where"] == "app.js"
    assert "inside the block for app.js" in finding["message"]
    if cut.error_after_chunks is not None:
        assert "exceed context window" in finding["message"]
    else:
        assert "broke" in finding["message"]
    assert any(f["check"] == "request" for f in first["findings"])  # the missing app.js, as the browser saw it
    assert second["passed"] and report["best_iteration"] == 2
    transcript = json.loads((tmp_path / "out" / ".runshot" / "transcript" / "iteration-1.json").read_text())
    assert transcript["finish_reason"] == "cut" and transcript["problem"] and "### app.js" in transcript["response"]
    # One request per iteration: the cut answer was not asked for again as if the endpoint had failed; the next
    # attempt is re-seeded and its prompt says what was cut.
    requests = fake_openai.chat_requests
    assert len(requests) == 2
    assert "seed" not in requests[0].body and requests[1].body.get("seed") == 1
    assert "app.js" in json.dumps(requests[1].body["messages"]) and "broke off" in json.dumps(
        requests[1].body["messages"])


def test_every_answer_cut_ends_with_checks_failed_not_an_endpoint_failure(fake_openai, tmp_path):
    fake_openai.script(*[Reply(WHOLE, drop_after_chunks=CUT_AT, finish_reason=None)] * 2)
    proc, report, _ = run_new(fake_openai, tmp_path, "--max-iterations", "2")
    assert proc.returncode == 1, proc.stderr
    assert len(report["iterations"]) == 2 and all(broken_off(it) for it in report["iterations"])
    assert len(fake_openai.chat_requests) == 2


def test_an_answer_cut_before_any_file_is_a_judged_iteration_too(fake_openai, tmp_path):
    # only prose arrived before the stream broke: nothing to write, but still the model's answer, and a finding
    prose = "Here is the counter app you asked for. " * 10 + WHOLE
    fake_openai.script(Reply(prose, drop_after_chunks=20, finish_reason=None), WHOLE)
    proc, report, _ = run_new(fake_openai, tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = report["iterations"][0]
    assert first["commit"] is None and broken_off(first) and report["iterations"][1]["passed"]


def test_an_answer_that_loops_is_judged_and_asked_for_again_hotter(fake_openai, tmp_path):
    looping = WHOLE.replace("let n = 0;\n", "let n = 0;\n" + "n = 0;\n" * 200)
    fake_openai.script(looping, WHOLE)
    proc, report, _ = run_new(fake_openai, tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = report["iterations"][0]
    assert any(f["rule"] == "format/repeating" and "the same line" in f["message"] for f in first["findings"])
    second = fake_openai.chat_requests[1].body
    assert second["temperature"] == 0.9 and second["seed"] == 1


def test_an_endpoint_that_never_answers_is_still_exit_3(fake_openai, tmp_path):
    fake_openai.script(*[Reply(WHOLE, drop_after_chunks=0, finish_reason=None)] * 3)
    proc, report, _ = run_new(fake_openai, tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "failed 3 times in a row" in proc.stderr and "connection broke" in proc.stderr
    assert report["iterations"] == []
