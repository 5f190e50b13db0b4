"""`runshot fix`, end to end: the real CLI, the real openai client to a scripted server, real Chromium, real git."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from fakeopenai import FakeOpenAI, Reply
from test_pipeline import GOOD_HTML, GOOD_JS, SECRET, SPEC, answer, run_cli

BROKEN_JS = GOOD_JS.replace("getElementById('inc')", "getElementById('increment')")
EDIT = """The button's id is `inc`, not `increment`.

### app.js
```
<<<<<<< SEARCH
document.getElementById('increment').addEventListener('click', () => {
=======
document.getElementById('inc').addEventListener('click', () => {
>>>>>>> REPLACE
```
"""
CHECKS = "runtime,acceptance"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _broken_project(root: Path) -> Path:
    (root / ".runshot").mkdir(parents=True)
    (root / ".runshot" / "spec.md").write_text(SPEC)
    (root / "index.html").write_text(GOOD_HTML)
    (root / "app.js").write_text(BROKEN_JS)
    return root


def _commit_all(root: Path) -> None:
    _git(root, "-c", "user.name=u", "-c", "user.email=u@example.test", "add", "-A")
    _git(root, "-c", "user.name=u", "-c", "user.email=u@example.test", "commit", "-q", "-m", "my app")


def _user_repo(tmp_path: Path) -> Path:
    root = _broken_project(tmp_path / "app")
    (root / ".gitignore").write_text(".runshot/\n")
    _git(root, "init", "-q", "-b", "trunk")
    _commit_all(root)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def fix(fake: FakeOpenAI, *args: str) -> subprocess.CompletedProcess:
    return run_cli("fix", *args, "--base-url", fake.base_url, "--model", "scripted", "--api-key", SECRET,
                   "--checks", CHECKS)


def test_fix_in_a_repository_commits_to_a_branch_and_leaves_the_users_alone(fake_openai: FakeOpenAI, tmp_path):
    root = _user_repo(tmp_path)
    before, head = _snapshot(root), _git(root, "rev-parse", "HEAD").strip()
    fake_openai.script(EDIT)
    proc = fix(fake_openai, str(root))
    assert proc.returncode == 0, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "branch: runshot/fix-1" in last and str(root / ".git" / "runshot" / "fix-1") in last
    # The user's branch, HEAD, files and status are as they were.
    assert _git(root, "rev-parse", "--abbrev-ref", "HEAD").strip() == "trunk"
    assert _git(root, "rev-parse", "HEAD").strip() == head
    assert _snapshot(root) == before
    assert _git(root, "status", "--porcelain", "--untracked-files=all") == ""
    # The fix is on its branch, one commit on top of the user's HEAD.
    assert _git(root, "show", "runshot/fix-1:app.js") == GOOD_JS
    assert _git(root, "rev-list", "--count", f"{head}..runshot/fix-1").strip() == "1"
    assert _git(root, "log", "-1", "--format=%an", "runshot/fix-1").strip() == "runshot"
    report = json.loads((root / ".git" / "runshot" / "fix-1" / "report.json").read_text())
    assert report["passed"] and report["best_iteration"] == 1
    assert report["info"]["start"]["commit"] == head
    start = report["iterations"][0]
    assert start["number"] == 0 and not start["passed"]
    assert any(f["check"] == "acceptance" for f in start["findings"])
    # What the model was shown: the findings and the project's files, not runshot's own state.
    prompt = fake_openai.chat_requests[0].body["messages"][-1]["content"]
    assert "getElementById('increment')" in prompt and "increments on click" in prompt
    transcript = (root / ".git" / "runshot" / "fix-1" / "transcript").iterdir()
    assert SECRET not in "".join(p.read_text() for p in transcript)
    assert (root / ".git" / "runshot" / "fix-1" / "screenshots" / "start.png").is_file()
    # A second fix gets the next number.
    fake_openai.script(EDIT)
    (root / "app.js").write_text(BROKEN_JS.replace("increment", "incr"))
    _commit_all(root)
    fake_openai.script("### app.js\n```js\n" + GOOD_JS + "```\n")
    assert fix(fake_openai, str(root)).returncode == 0
    assert _git(root, "show", "runshot/fix-2:app.js") == GOOD_JS


def test_a_dirty_tree_is_refused_and_nothing_changes(fake_openai: FakeOpenAI, tmp_path):
    root = _user_repo(tmp_path)
    (root / "app.js").write_text(BROKEN_JS + "// my unsaved work\n")
    before, branches = _snapshot(root), _git(root, "branch", "--list")
    proc = fix(fake_openai, str(root))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "uncommitted changes" in proc.stderr and "--allow-dirty" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(root) == before and _git(root, "branch", "--list") == branches
    assert not (root / ".git" / "runshot").exists()
    assert fake_openai.chat_requests == []


def test_a_folder_outside_git_is_copied_and_never_written(fake_openai: FakeOpenAI, tmp_path):
    src = _broken_project(tmp_path / "plain")
    before = _snapshot(src)
    proc = fix(fake_openai, str(src))
    assert proc.returncode == 2 and "-o OUT" in proc.stderr
    fake_openai.script(answer(("app.js", GOOD_JS)))
    out = tmp_path / "fixed"
    proc = fix(fake_openai, str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(src) == before
    assert (out / "app.js").read_text() == GOOD_JS
    assert _git(out, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert _git(out, "status", "--porcelain") == ""
    log = _git(out, "log", "--format=%s", "main").splitlines()
    assert log[-1] == "runshot fix: copy of plain" and log[0].startswith("runshot iteration 1: passes")
    assert json.loads((out / ".runshot" / "report.json").read_text())["passed"]


def test_a_large_project_sends_only_what_matters(fake_openai: FakeOpenAI, tmp_path):
    root = _broken_project(tmp_path / "big")
    (root / ".gitignore").write_text("node_modules/\ndist/\nnotes-private.txt\n")
    for i in range(120):
        (root / "node_modules" / f"dep{i}").mkdir(parents=True)
        (root / "node_modules" / f"dep{i}" / "index.js").write_text(f"module.exports = 'DEPENDENCY-{i}';\n")
    (root / "dist").mkdir()
    for i in range(60):
        (root / "dist" / f"chunk-{i}.js").write_text(f"console.log('BUILT-{i}')\n")
    (root / "docs").mkdir()
    for i in range(200):
        (root / "docs" / f"page-{i:03}.md").write_text(f"# page {i}\n" + "lorem ipsum " * 400 + "\n")
    (root / "package-lock.json").write_text('{"lockfileVersion": 3, "LOCKFILE": true}\n')
    (root / "notes-private.txt").write_text("IGNORED-BY-GIT\n")
    _git(root, "init", "-q", "-b", "trunk")
    _commit_all(root)
    fake_openai.script(EDIT)
    proc = fix(fake_openai, str(root))
    assert proc.returncode == 0, proc.stderr
    prompt = fake_openai.chat_requests[0].body["messages"][-1]["content"]
    assert "getElementById('increment')" in prompt and "<button" in prompt  # app.js and the entry page, whole
    for absent in ("DEPENDENCY-", "BUILT-", "LOCKFILE", "IGNORED-BY-GIT"):
        assert absent not in prompt
    assert prompt.count("lorem ipsum") < 2000  # most docs left out, within the prompt budget
    assert "other file(s) of the project are not shown: .gitignore, docs/page-000.md" in prompt


def test_a_failing_check_says_the_fix_command(tmp_path):
    root = _broken_project(tmp_path / "my app")
    proc = run_cli("check", str(root), "--checks", CHECKS, "--json", str(tmp_path / "v.json"),
                   "--summary", str(tmp_path / "s.md"))
    assert proc.returncode == 1
    expected = f"runshot fix '{root}' --checks {CHECKS}"
    assert f"repair it with a model: {expected}" in proc.stderr
    assert json.loads((tmp_path / "v.json").read_text())["fix_command"] == expected
    assert f"`{expected}`" in (tmp_path / "s.md").read_text()


CHANGE = """---
title: Counter with decrement
checks:
  - name: decrements on click
    steps:
      - click: {role: button, name: Decrement}
      - expect: {role: status, text: "-1"}
---
Add a Decrement button that lowers the count by one.
"""
CHANGED_HTML = GOOD_HTML.replace('<p role="status"', '<button type="button" id="dec">Decrement</button>\n<p role="status"')
CHANGED_JS = GOOD_JS + """document.getElementById('dec').addEventListener('click', () => {
  n -= 1;
  document.getElementById('out').textContent = String(n);
});
"""


def test_a_change_request_runs_the_checks_of_both_specs(fake_openai: FakeOpenAI, tmp_path):
    root = _broken_project(tmp_path / "counter")
    (root / "app.js").write_text(GOOD_JS)
    _git(root, "init", "-q", "-b", "trunk")
    _commit_all(root)
    head = _git(root, "rev-parse", "HEAD").strip()
    change = tmp_path / "decrement.md"
    change.write_text(CHANGE)
    # First answer: adds Decrement but breaks Increment (the old spec's check must catch it); then a repair.
    broken = CHANGED_JS.replace("n += 1", "n += 2", 1)
    fake_openai.script(answer(("index.html", CHANGED_HTML), ("app.js", broken)), answer(("app.js", CHANGED_JS)))
    out = tmp_path / "out"
    proc = run_cli("new", "--from", str(root), str(change), "-o", str(out), "--base-url", fake_openai.base_url,
                   "--model", "scripted", "--api-key", SECRET, "--checks", CHECKS)
    assert proc.returncode == 0, proc.stderr
    first = fake_openai.chat_requests[0].body["messages"][-1]["content"]
    assert "Add a Decrement button" in first and "# The change to make" in first and "<button" in first
    report = json.loads((out / ".runshot" / "report.json").read_text())
    assert report["info"]["start"]["change"].startswith("Add a Decrement button")
    start, changed, repaired = report["iterations"]
    assert start["number"] == 0 and start["commit"] and start["commit"] != head  # the copy's own first commit
    # The start fails only the new check; the change fails only the old one; the repair passes both.
    names = lambda it: {f["where"].rpartition(" / step ")[0] for f in it["findings"] if f["check"] == "acceptance"}
    assert names(start) == {"decrements on click"}
    assert names(changed) == {"increments on click"}
    assert repaired["passed"] and names(repaired) == set()
    assert (out / "app.js").read_text() == CHANGED_JS
    assert _git(root, "rev-parse", "HEAD").strip() == head and (root / "app.js").read_text() == GOOD_JS


BROKEN_SAMPLE = Path(__file__).parent.parent / "samples" / "broken" / "tip-calculator"
SAMPLE_EDIT = """### index.html
```html
<<<<<<< SEARCH
  <link rel="stylesheet" href="css/style.css">
=======
  <link rel="stylesheet" href="style.css">
>>>>>>> REPLACE
<<<<<<< SEARCH
      <input id="guests" type="number" min="1" step="1" value="1" placeholder="Number of people">
=======
      <label for="people">Number of people</label>
      <input id="people" type="number" min="1" step="1" value="1">
>>>>>>> REPLACE
```
"""


def test_the_broken_sample_fails_as_described_and_a_right_repair_passes(fake_openai: FakeOpenAI, tmp_path):
    """samples/broken/tip-calculator: its bugs are findings at the start, the file it never loads is left out of
    the prompt, and a repair of the real causes passes its own spec's checks."""
    import shutil

    root = tmp_path / "tip"
    shutil.copytree(BROKEN_SAMPLE, root)
    _git(root, "init", "-q", "-b", "main")
    _commit_all(root)
    fake_openai.script(SAMPLE_EDIT)
    proc = run_cli("fix", str(root), "--max-iterations", "3", "--base-url", fake_openai.base_url, "--model",
                   "scripted", "--api-key", SECRET)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"iteration 0: [1-9]\d* error\(s\) \(the project as it was\)", proc.stderr), proc.stderr
    report = json.loads((root / ".git" / "runshot" / "fix-1" / "report.json").read_text())
    start = report["iterations"][0]
    assert {"acceptance", "exception", "request"} <= {f["check"] for f in start["findings"] if f["severity"] == "error"}
    assert report["passed"] and report["best_iteration"] == 1
    prompt = fake_openai.chat_requests[0].body["messages"][-1]["content"]
    assert 'document.getElementById("people")' in prompt and "### style.css" not in prompt
    assert "style.css" in prompt  # named as left out
    assert "runshot iteration 1: passes" in _git(root, "log", "-1", "--format=%s", "runshot/fix-1")


def test_an_endpoint_that_keeps_failing_is_exit_3_and_leaves_the_user_alone(fake_openai: FakeOpenAI, tmp_path):
    root = _user_repo(tmp_path)
    before = _snapshot(root)
    fake_openai.script(*[Reply(status=503, content="overloaded")] * 3)
    proc = fix(fake_openai, str(root), "--retries", "1")
    assert proc.returncode == 3, proc.stderr
    assert "model endpoint" in proc.stderr.strip().splitlines()[-1] and "Traceback" not in proc.stderr
    assert _snapshot(root) == before
    assert _git(root, "rev-parse", "runshot/fix-1") == _git(root, "rev-parse", "HEAD")  # at the start, unchanged
