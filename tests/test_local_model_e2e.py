"""The real embedded model end to end (opt-in: `pytest -m local_model`): pull, serve, one chat completion."""

from __future__ import annotations

import os

import pytest

from runshot.generator import local

pytestmark = pytest.mark.local_model


def test_real_model_answers_a_chat_completion(tmp_path):
    openai = pytest.importorskip("openai")
    if not local.llama_cpp_available():
        pytest.fail(local.LOCAL_EXTRA_MESSAGE)
    path = local.pull()
    assert path == local.model_path()
    assert local.sidecar_matches(path, local.MODEL_SHA256)
    assert local.resolve_local("local") == path
    with local.LocalServer(path, log_dir=tmp_path, n_ctx=2048) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="local", timeout=120, max_retries=0)
        listed = [m.id for m in client.models.list().data]
        assert server.model_name in listed
        response = client.chat.completions.create(
            model=server.model_name,
            messages=[{"role": "user", "content": "Write a one-line JavaScript function that adds two numbers."}],
            max_tokens=48,
            temperature=0,
        )
        pid = server.pid
    text = response.choices[0].message.content or ""
    assert text.strip()
    assert response.usage.completion_tokens > 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
