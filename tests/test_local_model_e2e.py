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


def test_new_runs_the_whole_pipeline_on_the_local_model(tmp_path):
    """`runshot new` with no endpoint configured: the embedded model generates, runshot validates, commits,
    reports. Asserts the pipeline's behaviour, not the model's luck (the app may pass or fail)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    import git

    if not local.llama_cpp_available():
        pytest.fail(local.LOCAL_EXTRA_MESSAGE)
    local.pull()
    spec = Path(__file__).resolve().parents[1] / "samples" / "counter.md"
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RUNSHOT_MODEL"))}
    proc = subprocess.run(
        [sys.executable, "-m", "runshot", "new", str(spec), "-o", str(out), "--max-iterations", "2",
         "--checks", "runtime,acceptance"],
        capture_output=True, text=True, timeout=1800, env=env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "model: local" in proc.stderr  # the one line saying which model runs and how to pick another
    report = json.loads((out / ".runshot" / "report.json").read_text())
    assert report["model"]["name"] and report["iterations"]
    assert report["usage"]["completion_tokens"] > 0
    assert report["passed"] == (proc.returncode == 0)
    committed = [it for it in report["iterations"] if it["commit"]]
    for it in report["iterations"]:
        assert (out / ".runshot" / "transcript" / f"iteration-{it['number']}.json").exists()
    for it in committed:
        assert (out / ".runshot" / "screenshots" / f"iteration-{it['number']}.png").exists()
    repo = git.Repo(out)
    assert len(list(repo.iter_commits("runshot/iterations"))) == len(committed)
    if committed:
        assert repo.head.commit.hexsha == next(
            it["commit"] for it in report["iterations"] if it["number"] == report["best_iteration"])
        assert not repo.is_dirty(untracked_files=True)
