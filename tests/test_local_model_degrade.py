"""The real embedded engine when answers go wrong (opt-in: `pytest -m local_model`): an answer longer than the
context ends as cut off, not as a server error; an abandoned answer stops; a whole run with answers too short for
any app is judged iteration after iteration, never an endpoint failure."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runshot.generator import local
from runshot.generator.client import ModelSettings, complete, make_client

pytestmark = pytest.mark.local_model

LONG = [{"role": "user", "content": "Write every whole number from 1 to 5000 in words, one per line, nothing else."}]


@pytest.fixture(scope="module")
def model_path():
    if not local.llama_cpp_available():
        pytest.fail(local.LOCAL_EXTRA_MESSAGE)
    return local.pull()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def test_an_answer_longer_than_the_context_ends_cut_off_not_failed(model_path, tmp_path):
    with local.LocalServer(model_path, log_dir=tmp_path, n_ctx=512) as server:
        settings = ModelSettings(name=server.model_name, base_url=server.base_url, timeout=300, deadline=900,
                                 max_retries=0, temperature=0.2)
        result = complete(make_client(settings), settings, LONG)
    assert result.finish_reason == "length"  # asked to continue while it fitted, then judged as cut off
    assert 0 < result.usage.completion_tokens < 512 and result.text.strip()
    log = (tmp_path / "local-server.log").read_text(errors="replace")
    assert "exceed context window" not in log


def test_an_abandoned_answer_stops_generating(model_path, tmp_path):
    openai = pytest.importorskip("openai")
    with local.LocalServer(model_path, log_dir=tmp_path, n_ctx=2048) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="local", timeout=300, max_retries=0)
        stream = client.chat.completions.create(model=server.model_name, messages=LONG, max_tokens=1500, stream=True)
        for seen, _chunk in enumerate(stream):
            if seen >= 10:
                break
        stream.close()  # runshot gives up on this answer (a repeat, its deadline)
        time.sleep(3)
        before = cpu_seconds(server.pid)
        time.sleep(5)
        idle = cpu_seconds(server.pid) - before
        # the next request is answered at once, not after 1500 tokens of the abandoned one
        started = time.monotonic()
        client.chat.completions.create(model=server.model_name, max_tokens=4,
                                       messages=[{"role": "user", "content": "Say OK."}])
        waited = time.monotonic() - started
    assert idle < 1.0, f"the server kept computing after the client left ({idle:.1f} CPU s in 5 s)"
    assert waited < 60


def test_answers_too_short_for_any_app_give_judged_iterations_not_exit_3(model_path, tmp_path):
    """Every answer is capped at 60 tokens (continued three times at most): no app fits, so each iteration is judged
    with a format finding and the loop goes on. Asserts the pipeline's behaviour, not the model's luck."""
    import runshot

    with local.LocalServer(model_path, log_dir=tmp_path, n_ctx=2048) as server:
        report = runshot.generate(
            "A page with a heading Hello and a button labelled Greet that shows 'Hi!' in a status region.",
            tmp_path / "out", model=server.model_name, base_url=server.base_url, max_tokens=60, max_iterations=2,
            timeout=600, checks=["runtime"], derive_checks=False)
    assert report.iterations and (report.passed or len(report.iterations) == 2)  # a further attempt, no exit 3
    first = report.iterations[0]
    assert first.passed or any(f.check == "format" for f in first.findings)
