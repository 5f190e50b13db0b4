"""Record and replay: a run recorded against the scripted server (real openai client over real HTTP, real Chromium,
real git) is replayed with the server stopped; a changed prompt template makes the replay fail, naming the request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import git
import urllib.error
import urllib.request
import pytest

from fakeopenai import FakeOpenAI, Reply
from runshot.scale.cassette import Player, Recorder, first_difference
from runshot.errors import UsageError
from test_pipeline import BROKEN_HTML, FAST_CHECKS, GOOD_HTML, GOOD_JS, SECRET, SPEC, answer, run_cli


def tree_of(out: Path) -> dict[str, str]:
    """Every file of the project (not git's, not runshot's state) with its text."""
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*"))
            if p.is_file() and ".git" not in p.parts and ".runshot" not in p.parts}


def commit_trees(out: Path) -> list[str]:
    return [c.tree.hexsha for c in git.Repo(out).iter_commits("runshot/iterations")]


def verdict(out: Path) -> dict:
    r = json.loads((out / ".runshot" / "report.json").read_text())
    return {"passed": r["passed"], "best": r["best_iteration"], "model": r["model"], "usage": r["usage"],
            "findings": [(f["check"], f["severity"], f["message"]) for it in r["iterations"] for f in it["findings"]]}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, Path, str]:
    """A run recorded against the scripted server (a 500, a broken answer, its repair), the server then stopped:
    (spec, tape, the server's base URL). The tests only read it: each replays into a folder of its own."""
    root = tmp_path_factory.mktemp("recorded")
    spec = root / "counter.md"
    spec.write_text(SPEC)
    tape = root / "tape"
    with FakeOpenAI(Reply(status=500, content="try again"), answer(("index.html", BROKEN_HTML)),
                    answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS))) as fake:
        base_url = fake.base_url
        proc = run_cli("new", str(spec), "-o", str(root / "first"), "--base-url", base_url, "--model", "scripted",
                       "--api-key", SECRET, "--checks", FAST_CHECKS, "--record", str(tape))
        assert proc.returncode == 0, proc.stderr
        assert len(fake.chat_requests) == 3
    return spec, tape, base_url


def test_a_recorded_run_replays_with_no_endpoint(recorded, tmp_path: Path):
    spec, tape, base_url = recorded
    lines = (tape / "cassette.jsonl").read_text()
    assert SECRET not in lines and "authorization" not in lines.lower()
    entries = [json.loads(line) for line in lines.splitlines()]
    assert entries[0] == {"cassette": 1, "model": "scripted", "base_url": base_url}
    assert [e["response"]["status"] for e in entries[1:]] == [500, 200, 200]
    assert entries[1]["request"]["path"] == "chat/completions" and entries[1]["key"] == entries[2]["key"]

    # The server is gone: the replay reaches no endpoint at all, and reproduces the run.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base_url + "/models", timeout=2)
    proc = run_cli("new", str(spec), "-o", str(tmp_path / "again"), "--checks", FAST_CHECKS, "--replay", str(tape))
    assert proc.returncode == 0, proc.stderr
    first, again = spec.parent / "first", tmp_path / "again"
    assert tree_of(again) == tree_of(first) and "app.js" in tree_of(again)
    assert commit_trees(again) == commit_trees(first) and len(commit_trees(first)) == 2
    assert verdict(again) == verdict(first)


def test_a_changed_prompt_template_fails_the_replay_naming_the_request(recorded, tmp_path: Path):
    spec, tape, _ = recorded
    # The same command with one sentence added to the generation template (a real Jinja2 template, loaded first).
    patched = (
        "import jinja2, runshot.generator.prompts as p\n"
        "env = p._environment()\n"
        "text = env.loader.get_source(env, 'generate.j2')[0]\n"
        "env.loader = jinja2.ChoiceLoader([jinja2.DictLoader({'generate.j2': 'Use tabs for indentation.\\n' + text}),"
        " env.loader])\n"
        "from runshot.cli import main; main()\n")
    out = tmp_path / "again"
    proc = subprocess.run([sys.executable, "-c", patched, "new", str(spec), "-o", str(out), "--checks", FAST_CHECKS,
                           "--replay", str(tape)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 3, proc.stderr
    assert "replay: request 1 (POST /chat/completions) is not in the cassette" in proc.stderr, proc.stderr
    assert "recorded request 1 at messages[1].content, character 1" in proc.stderr
    assert "Use tabs" in proc.stderr and "Traceback" not in proc.stderr


def test_cassette_mistakes_are_usage_errors(tmp_path: Path):
    proc = run_cli("new", "A counter.", "-o", str(tmp_path / "out"), "--replay", str(tmp_path / "none"))
    assert proc.returncode == 2 and "no cassette to replay" in proc.stderr, proc.stderr
    (tmp_path / "tape").mkdir()
    (tmp_path / "tape" / "cassette.jsonl").write_text("{}\n")
    with pytest.raises(UsageError, match="a cassette is there already"):
        Recorder(tmp_path / "tape", {}, "/v1")
    with pytest.raises(UsageError, match="not a runshot cassette"):
        Player(tmp_path / "tape")
    proc = run_cli("new", "A counter.", "-o", str(tmp_path / "out"), "--replay", "a", "--record", "b")
    assert proc.returncode == 2 and "cannot be used together" in proc.stderr


def test_first_difference_names_the_place():
    rec = {"model": "m", "messages": [{"role": "user", "content": "make a counter"}], "seed": 1}
    assert first_difference(rec, {**rec, "seed": 2}) == ("seed", "'1'", "'2'")
    now = {**rec, "messages": [{"role": "user", "content": "make a timer"}]}
    assert first_difference(rec, now) == ("messages[0].content, character 8", "'make a counter'", "'make a timer'")
    assert first_difference(rec, {"model": "m", "messages": rec["messages"]}) == ("seed", "'1'", "(absent)")


@pytest.mark.slow
def test_a_batch_records_each_run_and_replays_it(tmp_path: Path):
    from test_batch import Recorder, batch, write_specs

    titles = ["Alpha", "Beta"]
    specs = write_specs(tmp_path / "specs", titles)
    tapes = tmp_path / "tapes"
    with FakeOpenAI(*[Recorder(titles, broken={"Beta"})] * 2) as fake:
        proc = batch(fake, specs, tmp_path / "runs", "--model", "m", "--max-iterations", "1", "--record", str(tapes))
        assert proc.returncode == 1, proc.stderr
        proc = batch(fake, specs, tmp_path / "more", "--model", "m", "--record", str(tapes))
        assert proc.returncode == 2 and "a cassette is there already" in proc.stderr
        stopped = fake
    assert sorted(p.name for p in tapes.iterdir()) == ["alpha", "beta"]
    proc = batch(stopped, specs, tmp_path / "again", "--model", "m", "--max-iterations", "1", "--replay", str(tapes))
    assert proc.returncode == 1, proc.stderr
    first, again = (json.loads((tmp_path / d / "batch.json").read_text())["projects"] for d in ("runs", "again"))
    assert [(p["project"], p["passed"], p["tokens"]) for p in again] == \
           [(p["project"], p["passed"], p["tokens"]) for p in first] == [("alpha", True, 30), ("beta", False, 30)]
    assert tree_of(tmp_path / "again" / "alpha") == tree_of(tmp_path / "runs" / "alpha")


@pytest.mark.slow
def test_a_recorded_fix_replays_with_no_endpoint(tmp_path: Path):
    from test_fix import CHECKS, _broken_project, _snapshot

    src = _broken_project(tmp_path / "plain")
    tape = tmp_path / "tape"
    with FakeOpenAI(answer(("app.js", GOOD_JS))) as fake:
        proc = run_cli("fix", str(src), "-o", str(tmp_path / "first"), "--base-url", fake.base_url, "--model", "s",
                       "--checks", CHECKS, "--record", str(tape))
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("fix", str(src), "-o", str(tmp_path / "again"), "--checks", CHECKS, "--replay", str(tape))
    assert proc.returncode == 0, proc.stderr
    first, again = (_snapshot(tmp_path / d) for d in ("first", "again"))
    assert {k: v for k, v in again.items() if not k.startswith(".runshot/")} == \
           {k: v for k, v in first.items() if not k.startswith(".runshot/")}
    assert again["app.js"].decode() == GOOD_JS
