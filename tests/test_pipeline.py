"""End to end: the real CLI, the real openai client over HTTP to a scripted server, real Chromium, real git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

from fakeopenai import FakeOpenAI, Reply

SECRET = "sk-test-SECRET-never-written-0123456789"
FAST_CHECKS = "runtime,acceptance"

SPEC = """---
title: Counter
checks:
  - name: increments on click
    steps:
      - click: {role: button, name: Increment}
      - expect: {role: status, text: "1"}
---
A counter with an Increment button and a live status showing the count.
"""

GOOD_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Counter</title></head>
<body><main><h1>Counter</h1>
<button type="button" id="inc">Increment</button>
<p role="status" id="out">0</p>
</main><script src="app.js"></script></body></html>
"""
GOOD_JS = """let n = 0;
document.getElementById('inc').addEventListener('click', () => {
  n += 1;
  document.getElementById('out').textContent = String(n);
});
"""
# References app.js (missing) and throws at load time.
BROKEN_HTML = GOOD_HTML.replace('<script src="app.js"></script>', '<script src="app.js"></script><script>undefinedThing.run();</script>')


def answer(*files: tuple[str, str]) -> str:
    parts = ["Here is the project."]
    for path, text in files:
        lang = path.rsplit(".", 1)[-1]
        parts.append(f"### {path}\n```{lang}\n{text}```")
    return "\n\n".join(parts) + "\n"


def run_cli(*args: str, env_extra: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RUNSHOT_MODEL"))}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "runshot", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    p = tmp_path / "counter.md"
    p.write_text(SPEC)
    return p


def new(fake: FakeOpenAI, spec: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("new", str(spec), "-o", str(out), "--base-url", fake.base_url, "--model", "scripted",
                   "--api-key", SECRET, "--checks", FAST_CHECKS, *extra)


def all_written_text(out: Path) -> str:
    """Every byte runshot left in OUT, with git's history decompressed."""
    chunks = []
    for p in out.rglob("*"):
        if p.is_file():
            chunks.append(p.read_bytes().decode("utf-8", "replace"))
    repo = git.Repo(out)
    chunks.append(repo.git.log("--all", "-p", "--format=%H %an %ae%n%B"))
    return "\n".join(chunks)


def test_repair_loop_fixes_runtime_error_and_missing_file(fake_openai: FakeOpenAI, spec_file: Path, tmp_path: Path):
    out = tmp_path / "out"
    fake_openai.script(answer(("index.html", BROKEN_HTML)), answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS)))
    proc = new(fake_openai, spec_file, out)
    assert proc.returncode == 0, proc.stderr

    report = json.loads((out / ".runshot" / "report.json").read_text())
    assert report["passed"] is True and report["best_iteration"] == 2
    first, second = report["iterations"]
    checks = {f["check"] for f in first["findings"] if f["severity"] == "error"}
    assert "exception" in checks and "request" in checks, first["findings"]
    assert any("app.js" in f["message"] + f["where"] for f in first["findings"])
    assert second["passed"] and second["errors"] == 0
    assert report["usage"]["prompt_tokens"] > 0 and report["usage"]["completion_tokens"] > 0
    assert report["model"] == {"name": "scripted", "base_url": fake_openai.base_url}

    # The repair prompt carried the findings of iteration 1 and the current files.
    repair_prompt = json.dumps(fake_openai.requests[1][2]["messages"])
    assert "undefinedThing" in repair_prompt and "app.js" in repair_prompt

    repo = git.Repo(out)
    assert repo.active_branch.name == "main"
    assert not repo.is_dirty(untracked_files=True)
    commits = list(repo.iter_commits("runshot/iterations"))
    assert len(commits) == 2
    assert "iteration 1" in commits[1].message and "error" in commits[1].message
    assert repo.head.commit.hexsha == second["commit"] == commits[0].hexsha
    assert ".runshot/report.json" not in repo.git.ls_files().splitlines()
    assert (out / "app.js").read_text() == GOOD_JS
    for n in (1, 2):
        assert (out / ".runshot" / "screenshots" / f"iteration-{n}.png").stat().st_size > 1000
        assert (out / ".runshot" / "transcript" / f"iteration-{n}.json").exists()
    assert SECRET not in all_written_text(out)
    assert SECRET not in proc.stdout + proc.stderr
    assert fake_openai.api_keys_seen and all(k == SECRET for k in fake_openai.api_keys_seen)


def test_prose_without_files_becomes_a_finding_then_files(fake_openai, spec_file, tmp_path):
    out = tmp_path / "out"
    fake_openai.script("I would build a counter with a button. Let me know if you want code!",
                       answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS)))
    proc = new(fake_openai, spec_file, out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / ".runshot" / "report.json").read_text())
    first = report["iterations"][0]
    assert first["commit"] is None and not first["passed"]
    assert any(f["check"] == "format" for f in first["findings"])
    assert len(list(git.Repo(out).iter_commits("runshot/iterations"))) == 1
    # The second request told the model exactly what was wrong.
    assert "format" in json.dumps(fake_openai.requests[1][2]["messages"]).lower()


def test_best_iteration_wins_and_repeats_lead_to_a_retry_then_a_fresh_start(fake_openai, spec_file, tmp_path):
    out = tmp_path / "out"
    one_error = GOOD_HTML.replace("</main>", "</main><script>missingFn();</script>")
    worse = answer(("index.html", BROKEN_HTML.replace("</main>", '</main><img src="nope.png" alt="x">')))
    fresh = answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS))
    fake_openai.script(answer(("index.html", one_error), ("app.js", GOOD_JS)), worse, worse, worse, fresh)
    proc = new(fake_openai, spec_file, out, "--max-iterations", "5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / ".runshot" / "report.json").read_text())
    # 2 is worse than 1 and discarded; 3 repeats 2 (retried hotter); 4 repeats again: 5 starts afresh and passes.
    assert [it.get("kind") for it in report["iterations"]] == ["first", "repair", "repair", "retry", "fresh"]
    assert report["best_iteration"] == 5 and report["passed"]
    assert "repair round" in fake_openai.chat_requests[3].body["messages"][1]["content"]
    assert "repair round" not in fake_openai.chat_requests[4].body["messages"][1]["content"]
    assert "repeat" in proc.stderr
    repo = git.Repo(out)
    assert repo.head.commit.hexsha == report["iterations"][4]["commit"]
    assert "missingFn" not in (out / "index.html").read_text()
    # The fresh start was written on an empty tree: nothing of the earlier iterations is left over.
    assert sorted(repo.git.ls_files().splitlines()) == ["app.js", "index.html"]


def test_stuck_repairs_keep_the_best_iteration(fake_openai, spec_file, tmp_path):
    out = tmp_path / "out"
    one_error = GOOD_HTML.replace("</main>", "</main><script>missingFn();</script>")
    worse = answer(("index.html", BROKEN_HTML.replace("</main>", '</main><img src="nope.png" alt="x">')))
    fake_openai.script(answer(("index.html", one_error), ("app.js", GOOD_JS)), worse, worse)
    proc = new(fake_openai, spec_file, out, "--max-iterations", "3")
    assert proc.returncode == 1
    report = json.loads((out / ".runshot" / "report.json").read_text())
    assert len(report["iterations"]) == 3 and "max-iterations" in report["stopped_because"]
    assert report["best_iteration"] == 1
    repo = git.Repo(out)
    assert repo.head.commit.hexsha == report["iterations"][0]["commit"]
    assert "missingFn" in (out / "index.html").read_text()


def test_truncated_answer_is_continued(fake_openai, spec_file, tmp_path):
    out = tmp_path / "out"
    full = answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS))
    cut = len(full) // 2
    fake_openai.script(Reply(content=full[:cut], finish_reason="length"), Reply(content=full[cut:]))
    proc = new(fake_openai, spec_file, out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / ".runshot" / "report.json").read_text())
    assert len(report["iterations"]) == 1 and report["passed"]
    assert (out / "app.js").read_text() == GOOD_JS


def test_unsafe_paths_are_findings_and_never_written(fake_openai, spec_file, tmp_path):
    out = tmp_path / "out"
    victim = tmp_path / "victim.txt"
    fake_openai.script(answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS), ("../victim.txt", "pwned\n"),
                              (str(tmp_path / "abs.txt"), "pwned\n"), (".git/hooks/pre-commit", "#!/bin/sh\n")))
    proc = new(fake_openai, spec_file, out)
    report = json.loads((out / ".runshot" / "report.json").read_text())
    paths = [f for f in report["iterations"][0]["findings"] if f["check"] == "path"]
    assert len(paths) == 3, paths
    assert not victim.exists() and not (tmp_path / "abs.txt").exists()
    assert not (out / ".git" / "hooks" / "pre-commit").exists()
    assert proc.returncode in (0, 1)


def test_model_failure_before_any_project_is_exit_3(fake_openai, spec_file, tmp_path):
    out = tmp_path / "out"
    fake_openai.script(*[Reply(status=503, content="down")] * 10)
    proc = new(fake_openai, spec_file, out, "--retries", "1", "--deadline", "20")
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()[-1]) < 400


@pytest.mark.parametrize(
    "content,needle",
    [(b"---\ntitle: [unclosed\n---\nbody\n", "front matter"), (b"\x89PNG\x00\x00binary", "not a text file"),
     (b"\xff\xfe\xfa bad utf8", "UTF-8")],
)
def test_bad_spec_is_exit_2_with_one_line(tmp_path, content, needle):
    spec = tmp_path / "bad.md"
    spec.write_bytes(content)
    proc = run_cli("new", str(spec), "-o", str(tmp_path / "out"), "--base-url", "http://127.0.0.1:9/v1",
                   "--model", "x")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(spec) in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_spec_that_is_a_directory_is_exit_2(tmp_path):
    proc = run_cli("new", str(tmp_path), "-o", str(tmp_path / "out"), "--model", "x", "--base-url", "http://127.0.0.1:9/v1")
    assert proc.returncode == 2 and "directory" in proc.stderr


def test_non_empty_out_is_exit_2_and_untouched(spec_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    keep = out / "precious.txt"
    keep.write_text("do not touch")
    proc = run_cli("new", str(spec_file), "-o", str(out), "--base-url", "http://127.0.0.1:9/v1", "--model", "x")
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"] and keep.read_text() == "do not touch"


def test_unknown_flag_is_exit_2_one_line(tmp_path):
    proc = run_cli("check", str(tmp_path), "--no-such-flag")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def _descendants(root: int) -> set[int]:
    """Every live process below `root` (children, grandchildren, ...)."""
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parent[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    live = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            live.add(pid)
    return live


def test_sigterm_mid_run_keeps_out_consistent_and_resume_continues(fake_openai, spec_file, tmp_path):
    import signal
    import time

    out = tmp_path / "out"
    fake_openai.script(answer(("index.html", BROKEN_HTML)), Reply(hang=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RUNSHOT_MODEL"))}
    proc = subprocess.Popen([sys.executable, "-m", "runshot", "new", str(spec_file), "-o", str(out),
                             "--base-url", fake_openai.base_url, "--model", "scripted", "--api-key", SECRET,
                             "--checks", FAST_CHECKS], env=env, stderr=subprocess.PIPE, text=True)
    report_path = out / ".runshot" / "report.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(fake_openai.requests) < 2:
        time.sleep(0.2)
    assert len(fake_openai.requests) >= 2, "the second model call never started"
    children = _descendants(proc.pid)
    assert children, "runshot started no browser"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "resume" in err

    report = json.loads(report_path.read_text())
    assert [it["number"] for it in report["iterations"] if it["commit"]] == [1]
    repo = git.Repo(out)
    assert repo.active_branch.name == "main" and not repo.is_dirty(untracked_files=True)
    assert repo.head.commit.hexsha == report["iterations"][0]["commit"]
    gone_by = time.monotonic() + 3  # a child still there 3 s after runshot exited outlived it
    while _alive(children) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not _alive(children), "a child process outlived runshot"

    fake_openai.script(answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS)))
    proc2 = run_cli("--help")  # the CLI still answers
    assert proc2.returncode == 0
    resumed = run_cli("new", "--resume", str(out), "--base-url", fake_openai.base_url, "--model", "scripted",
                      "--api-key", SECRET, "--checks", FAST_CHECKS)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(report_path.read_text())
    assert [it["number"] for it in report["iterations"]] == [1, 2]
    assert report["passed"] and report["best_iteration"] == 2
    assert len(list(git.Repo(out).iter_commits("runshot/iterations"))) == 2
    # The resumed repair started from iteration 1's files and findings.
    assert "undefinedThing" in json.dumps(fake_openai.requests[-1][2]["messages"])
