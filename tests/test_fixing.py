"""Where `runshot fix` works: a branch beside the user's, or a copy; the user's files are never touched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from runshot.errors import UsageError
from runshot.loop.fixing import copy_project, finish_fix, fix_files, next_fix_number, prepare_fix
from runshot.values import Limits


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _user_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "index.html").write_text("<!doctype html><title>x</title><script src=app.js></script>\n")
    (root / "app" / "app.js").write_text("document.getElementById('nope').textContent = 1;\n")
    (root / "README.md").write_text("hello\n")
    _git(root, "init", "-q", "-b", "trunk")
    _git(root, "-c", "user.name=u", "-c", "user.email=u@x", "add", "-A")
    _git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-m", "start")
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def test_branch_in_the_users_repository_leaves_branch_and_tree_alone(tmp_path):
    root = _user_repo(tmp_path)
    before_files = _snapshot(root)
    head = _git(root, "rev-parse", "HEAD").strip()
    target = prepare_fix(root / "app")
    assert target.in_git and target.branch == "runshot/fix-1" and target.subdir == "app"
    assert target.start_commit == head
    assert (target.project_dir / "app.js").is_file()
    assert target.state_dir == (root / ".git" / "runshot" / "fix-1").resolve()
    # The loop's work: a change committed in the work tree.
    (target.project_dir / "app.js").write_text("// fixed\n")
    wt = git.Repo(target.work_tree)
    wt.git.add(A=True)
    wt.git.commit("-q", "-m", "fix", author="runshot <runshot@localhost>")
    best = wt.head.commit.hexsha
    finish_fix(target, best)
    assert _git(root, "rev-parse", "runshot/fix-1").strip() == best
    assert _git(root, "show", "runshot/fix-1:app/app.js") == "// fixed\n"
    assert _git(root, "rev-parse", "--abbrev-ref", "HEAD").strip() == "trunk"
    assert _git(root, "rev-parse", "HEAD").strip() == head
    assert _snapshot(root) == before_files
    assert _git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert not target.work_tree.exists()
    assert next_fix_number(git.Repo(root)) == 2


def test_dirty_tree_is_refused_and_nothing_changes(tmp_path):
    root = _user_repo(tmp_path)
    (root / "app" / "app.js").write_text("// my work in progress\n")
    branches = _git(root, "branch", "--list")
    with pytest.raises(UsageError, match="uncommitted changes.*--allow-dirty"):
        prepare_fix(root / "app")
    assert _git(root, "branch", "--list") == branches
    assert not (root / ".git" / "runshot").exists()
    assert (root / "app" / "app.js").read_text() == "// my work in progress\n"


def test_allow_dirty_starts_from_the_working_tree(tmp_path):
    root = _user_repo(tmp_path)
    (root / "app" / "app.js").write_text("// my work in progress\n")
    (root / "app" / "new.css").write_text("body{}\n")
    target = prepare_fix(root / "app", allow_dirty=True)
    assert target.dirty_included
    assert (target.project_dir / "app.js").read_text() == "// my work in progress\n"
    assert (target.project_dir / "new.css").is_file()
    finish_fix(target, None)
    assert _git(root, "show", "runshot/fix-1:app/new.css") == "body{}\n"
    assert (root / "app" / "app.js").read_text() == "// my work in progress\n"


def test_outside_git_needs_out_and_copies(tmp_path):
    src = tmp_path / "plain"
    (src / "node_modules" / "dep").mkdir(parents=True)
    (src / "node_modules" / "dep" / "index.js").write_text("x")
    (src / "index.html").write_text("<!doctype html>\n")
    before = _snapshot(src)
    with pytest.raises(UsageError, match="-o OUT"):
        prepare_fix(src)
    target = prepare_fix(src, out=tmp_path / "out")
    assert not target.in_git and (target.project_dir / "index.html").is_file()
    assert not (target.project_dir / "node_modules").exists()
    assert _git(target.work_tree, "log", "--format=%s").strip().startswith("runshot fix: copy of plain")
    assert _snapshot(src) == before
    with pytest.raises(UsageError, match="not empty"):
        prepare_fix(src, out=tmp_path / "out")
    with pytest.raises(UsageError, match="must not be inside"):
        prepare_fix(src, out=src / "fixed")


def test_files_for_the_model_skip_dependencies_builds_lockfiles_and_ignored(tmp_path):
    root = tmp_path / "big"
    (root / "src").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><script type=module src=/src/main.js></script>\n")
    (root / "src" / "main.js").write_text("console.log(1)\n")
    for i in range(300):
        (root / "node_modules" / f"p{i}").mkdir(parents=True)
        (root / "node_modules" / f"p{i}" / "index.js").write_text("module.exports = 1\n")
        (root / "dist" / "assets").mkdir(parents=True, exist_ok=True)
        (root / "dist" / "assets" / f"chunk-{i}.js").write_text("x\n")
    (root / "package-lock.json").write_text("{}\n")
    (root / "secret-notes.txt").write_text("ignored\n")
    (root / ".gitignore").write_text("secret-notes.txt\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    _git(root, "init", "-q")
    files = fix_files(root, Limits())
    assert set(files) == {"index.html", "src/main.js", ".gitignore"}
    assert copy_project(root, tmp_path / "copy") > 0
    assert not (tmp_path / "copy" / "dist").exists()
