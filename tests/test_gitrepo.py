"""runshot.gitrepo against real git: candidates on branches of their own, clearing the work tree, and what
`runshot fix` needs of a user's repository (worktrees, branches, status, listed files)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runshot import gitrepo


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _user_repo(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "index.html").write_text("<p>hi</p>\n")
    (root / "README.md").write_text("hello\n")
    (root / ".gitignore").write_text("*.log\n")
    _git(root, "init", "-q", "-b", "trunk")
    _git(root, "-c", "user.name=u", "-c", "user.email=u@x", "add", "-A")
    _git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-m", "start")
    return root


def test_a_candidate_is_a_root_commit_on_its_own_branch_and_head_stays(tmp_path):
    repo = gitrepo.init_repo(tmp_path)
    (tmp_path / "index.html").write_text("<p>iteration</p>\n")
    first = gitrepo.commit_all(repo, "iteration 1")
    (tmp_path / "index.html").write_text("<p>candidate two</p>\n")
    (tmp_path / "app.js").write_text("let x = 1;\n")
    sha = gitrepo.commit_candidate(repo, 2, "runshot candidate 2: passes")
    assert _git(tmp_path, "rev-parse", "runshot/candidate-2").strip() == sha
    assert _git(tmp_path, "rev-list", "--parents", "-n", "1", sha).split() == [sha]  # no parent
    assert _git(tmp_path, "show", f"{sha}:app.js") == "let x = 1;\n"
    assert _git(tmp_path, "log", "-1", "--format=%s", sha).strip() == "runshot candidate 2: passes"
    assert _git(tmp_path, "log", "-1", "--format=%an <%ae>", sha).strip() == "runshot <runshot@localhost>"
    assert _git(tmp_path, "rev-parse", gitrepo.ITERATIONS_BRANCH).strip() == first
    assert _git(tmp_path, "symbolic-ref", "HEAD").strip() == f"refs/heads/{gitrepo.ITERATIONS_BRANCH}"
    assert ".runshot" not in _git(tmp_path, "ls-tree", "-r", "--name-only", sha)
    # Committed again, the branch moves to the new commit.
    (tmp_path / "app.js").write_text("let x = 2;\n")
    again = gitrepo.commit_candidate(repo, 2, "runshot candidate 2 again")
    assert again != sha and _git(tmp_path, "rev-parse", "runshot/candidate-2").strip() == again


def test_clearing_the_work_tree_keeps_runshots_folder_and_history(tmp_path):
    repo = gitrepo.init_repo(tmp_path)
    (tmp_path / "index.html").write_text("<p>one</p>\n")
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "a.css").write_text("p {}\n")
    sha = gitrepo.commit_all(repo, "iteration 1")
    (tmp_path / "loose.txt").write_text("untracked\n")
    (tmp_path / ".runshot").mkdir()
    (tmp_path / ".runshot" / "report.json").write_text("{}")
    gitrepo.clear_work_tree(repo)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if ".git" not in p.parts)
    assert left == [".runshot", ".runshot/report.json"]
    assert gitrepo.head_sha(repo) == sha
    gitrepo.checkout_commit_files(repo, sha)
    assert (tmp_path / "css" / "a.css").read_text() == "p {}\n"


def test_a_users_repository_seen_from_a_subfolder(tmp_path):
    root = _user_repo(tmp_path / "repo")
    assert gitrepo.find_repo(tmp_path) is None
    repo = gitrepo.find_repo(root / "app")
    assert repo is not None and gitrepo.work_tree_root(repo) == root.resolve()
    assert gitrepo.git_dir(repo) == (root / ".git").resolve()
    assert gitrepo.head_sha(repo) == _git(root, "rev-parse", "HEAD").strip()
    assert gitrepo.branch_names(repo) == ["trunk"]
    assert gitrepo.dirty_paths(repo) == []
    (root / "app" / "index.html").write_text("<p>changed</p>\n")
    (root / "app" / "new.js").write_text("1;\n")
    (root / "app" / "debug.log").write_text("ignored\n")
    (root / "README.md").unlink()
    assert sorted(gitrepo.dirty_paths(repo)) == ["README.md", "app/index.html", "app/new.js"]
    assert sorted(gitrepo.dirty_paths(repo, "app")) == ["app/index.html", "app/new.js"]
    assert sorted(gitrepo.listed_files(repo, root / "app")) == ["app/index.html", "app/new.js"]


def test_an_empty_repository_has_no_head(tmp_path):
    _git(tmp_path, "init", "-q")
    assert gitrepo.head_sha(gitrepo.open_repo(tmp_path)) is None


def test_a_worktree_on_a_new_branch_commits_as_runshot_and_is_removed(tmp_path):
    root = _user_repo(tmp_path / "repo")
    repo = gitrepo.open_repo(root)
    start = gitrepo.head_sha(repo)
    work = tmp_path / "work"
    gitrepo.add_worktree(repo, work, "runshot/fix-1-iterations", start)
    assert (work / "app" / "index.html").read_text() == "<p>hi</p>\n"
    # The user's repository has no identity configured: the per-command options give runshot's, and the
    # repository's configuration stays as it was.
    config_before = (root / ".git" / "config").read_text()
    wt = gitrepo.open_repo(work, gitrepo.COMMIT_OPTIONS)
    (work / "app" / "index.html").write_text("<p>fixed</p>\n")
    sha = gitrepo.commit_all(wt, "runshot fix 1")
    assert _git(root, "log", "-1", "--format=%an <%ae>|%cn", sha).strip() == "runshot <runshot@localhost>|runshot"
    assert (root / ".git" / "config").read_text() == config_before
    gitrepo.set_branch(repo, "runshot/fix-1", sha)
    assert sorted(gitrepo.branch_names(repo)) == ["runshot/fix-1", "runshot/fix-1-iterations", "trunk"]
    assert _git(root, "show", "runshot/fix-1:app/index.html") == "<p>fixed</p>\n"
    gitrepo.remove_worktree(repo, work)
    assert not work.exists()
    assert str(work) not in _git(root, "worktree", "list")
    assert _git(root, "symbolic-ref", "HEAD").strip() == "refs/heads/trunk"
    assert (root / "app" / "index.html").read_text() == "<p>hi</p>\n"


def test_a_worktree_git_cannot_remove_is_deleted_and_pruned(tmp_path):
    root = _user_repo(tmp_path / "repo")
    repo = gitrepo.open_repo(root)
    work = tmp_path / "work"
    gitrepo.add_worktree(repo, work, "side", gitrepo.head_sha(repo))
    (work / ".git").unlink()  # no longer a worktree git recognises: `git worktree remove --force` refuses it
    (work / "left.txt").write_text("x\n")
    gitrepo.remove_worktree(repo, work)
    assert not work.exists()
    assert str(work) not in _git(root, "worktree", "list")


def test_revisions_and_what_changed_since_one(tmp_path):
    root = _user_repo(tmp_path / "repo")
    repo = gitrepo.open_repo(root)
    start = gitrepo.resolve_commit(repo, "HEAD")
    assert start == _git(root, "rev-parse", "HEAD").strip()
    assert gitrepo.resolve_commit(repo, "no-such-branch") == "" and gitrepo.resolve_commit(repo, "HEAD~1") == ""
    _git(root, "checkout", "-q", "-b", "feature")
    (root / "app" / "more.js").write_text("2;\n")
    _git(root, "-c", "user.name=u", "-c", "user.email=u@x", "add", "-A")
    _git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-m", "more")
    assert gitrepo.merge_base(repo, "trunk", "feature") == start
    (root / "README.md").write_text("changed\n")
    (root / "notes.txt").write_text("new\n")
    (root / "out.log").write_text("ignored\n")
    assert sorted(gitrepo.changed_names(repo, start)) == ["README.md", "app/more.js"]
    assert gitrepo.untracked_names(repo) == ["notes.txt"]
    assert sorted(gitrepo.changed_names(repo, None)) == [".gitignore", "README.md", "app/index.html", "app/more.js"]
    _git(root, "checkout", "-q", "--orphan", "other")
    _git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-m", "unrelated")
    assert gitrepo.merge_base(repo, "trunk", "other") == ""


def test_a_runs_committed_files_without_links(tmp_path):
    assert gitrepo.open_committed(tmp_path) is None
    repo = gitrepo.init_repo(tmp_path)
    assert gitrepo.open_committed(tmp_path) is None  # no commit yet
    (tmp_path / "index.html").write_text("<p>one</p>\n")
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "app.js").write_bytes(b"let \xc3\xa9 = 1;\n")
    (tmp_path / "link.html").symlink_to("/etc/passwd")
    gitrepo.commit_all(repo, "iteration 1")
    (tmp_path / "index.html").write_text("<p>not committed</p>\n")
    committed = gitrepo.open_committed(tmp_path)
    assert committed is not None
    assert dict(gitrepo.head_files(committed)) == {"index.html": b"<p>one</p>\n", "js/app.js": b"let \xc3\xa9 = 1;\n"}
