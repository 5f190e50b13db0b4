"""Every git operation runshot makes, through GitPython.

OUT as a git repository: one commit per iteration on `runshot/iterations`, `main` at the best one, each candidate
of a first round on `runshot/candidate-K`. For `runshot fix`: the user's repository, a linked worktree on a branch
of runshot's own, commits made with runshot's identity given per command.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import git

Repo = git.Repo
ITERATIONS_BRANCH = "runshot/iterations"
MAIN_BRANCH = "main"
CANDIDATE_BRANCH = "runshot/candidate-{}"
AUTHOR = git.Actor("runshot", "runshot@localhost")
EXCLUDES = (".runshot/",)
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
# Commits in someone else's repository: runshot as author and committer, no signing prompt, no hooks; given
# per command, so the repository's configuration is never changed.
COMMIT_OPTIONS = ("user.name=runshot", "user.email=runshot@localhost", "commit.gpgsign=false",
                  "core.hooksPath=/dev/null")


def init_repo(root: Path) -> git.Repo:
    """Create a repository in `root` on the iterations branch, with runshot's own folder excluded."""
    repo = git.Repo.init(root, initial_branch=ITERATIONS_BRANCH)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", AUTHOR.name)
        cfg.set_value("user", "email", AUTHOR.email)
        cfg.set_value("commit", "gpgsign", "false")
        cfg.set_value("core", "hooksPath", "/dev/null")  # the model may not install hooks that run on commit
    exclude = Path(repo.git_dir) / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    existing = exclude.read_text() if exclude.exists() else ""
    missing = [e for e in EXCLUDES if e not in existing.splitlines()]
    if missing:
        exclude.write_text(existing + ("" if existing.endswith("\n") or not existing else "\n") + "\n".join(missing) + "\n")
    return repo


def open_repo(root: Path, commit_options: tuple[str, ...] = ()) -> git.Repo:
    """The repository at `root`; `commit_options` (`name=value` settings) are given to each git command run."""
    repo = git.Repo(root)
    if commit_options:
        repo.git.set_persistent_git_options(c=list(commit_options))
    return repo


def find_repo(folder: Path) -> git.Repo | None:
    """The git repository holding `folder` (in it or above it), or None."""
    try:
        return git.Repo(folder, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def open_committed(root: Path) -> git.Repo | None:
    """The repository at `root` when it is one with at least one commit, else None."""
    try:
        repo = git.Repo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    return repo if repo.head.is_valid() else None


def resolve_commit(repo: git.Repo, rev: str) -> str:
    """The sha of the commit `rev` names, or "" when it names none."""
    try:
        return repo.git.rev_parse("--verify", "-q", f"{rev}^{{commit}}")
    except git.GitCommandError:
        return ""


def merge_base(repo: git.Repo, a: str, b: str) -> str:
    """The best common ancestor of commits `a` and `b`, or "" for unrelated histories."""
    try:
        return repo.git.merge_base(a, b).strip()
    except git.GitCommandError:
        return ""


def changed_names(repo: git.Repo, start: str | None) -> list[str]:
    """Paths (from the root) that differ between `start` and the work tree, tracked ones only; with `start` None
    (no commit yet) every tracked path. Untracked files are `untracked_names`."""
    if start is None:
        return [n for n in repo.git.ls_files("--cached", "-z").split("\0") if n]
    return [n for n in repo.git.diff("--name-only", "--no-renames", "-z", start).split("\0") if n]


def untracked_names(repo: git.Repo) -> list[str]:
    """Untracked files that are not ignored, as paths from the root."""
    return [n for n in repo.git.ls_files("--others", "--exclude-standard", "-z").split("\0") if n]


def head_files(repo: git.Repo) -> Iterator[tuple[str, bytes]]:
    """(path, content) of each file committed at HEAD (symbolic links left out: their targets are not content)."""
    for item in repo.head.commit.tree.traverse():
        if item.type == "blob" and item.mode != 0o120000:
            yield item.path, item.data_stream.read()


def work_tree_root(repo: git.Repo) -> Path | None:
    """The repository's work tree, resolved; None for a bare repository."""
    return Path(repo.working_tree_dir).resolve() if repo.working_tree_dir is not None else None


def git_dir(repo: git.Repo) -> Path:
    """The repository's .git folder (for a linked worktree: its own one)."""
    return Path(repo.git_dir).resolve()


def head_sha(repo: git.Repo) -> str | None:
    """The commit HEAD points at; None before the first commit."""
    try:
        return repo.head.commit.hexsha
    except ValueError:
        return None


def branch_names(repo: git.Repo) -> list[str]:
    """The local branches."""
    return [head.name for head in repo.heads]


def set_branch(repo: git.Repo, branch: str, sha: str) -> None:
    """Point `branch` at `sha` (made if missing) without checking anything out."""
    repo.git.branch("-f", branch, sha)


def dirty_paths(repo: git.Repo, subdir: str = "") -> list[str]:
    """Uncommitted changes under `subdir`: modified, staged, deleted and untracked (not ignored) files, as
    `git status --porcelain` names them (a rename as `old -> new`)."""
    lines = repo.git.status("--porcelain", "--untracked-files=all", "--", subdir or ".").splitlines()
    return [line[3:] for line in lines if line.strip()]


def listed_files(repo: git.Repo, folder: Path) -> list[str]:
    """The files under `folder` git knows of: tracked, and untracked but not ignored (relative to the root)."""
    return repo.git.ls_files("--cached", "--others", "--exclude-standard", "--", str(folder)).splitlines()


def add_worktree(repo: git.Repo, path: Path, branch: str, start: str) -> None:
    """A linked worktree at `path` (which must not exist) on the new branch `branch`, made at `start`."""
    repo.git.worktree("add", "-q", "-b", branch, str(path), start)


def remove_worktree(repo: git.Repo, path: Path) -> None:
    """Remove the linked worktree at `path`; where git cannot, delete the folder and prune git's record of it."""
    try:
        repo.git.worktree("remove", "--force", str(path))
    except git.GitCommandError:
        shutil.rmtree(path, ignore_errors=True)
        repo.git.worktree("prune")


def commit_all(repo: git.Repo, message: str) -> str:
    """Stage every change in the work tree (additions, edits, deletions) and commit; return the sha."""
    repo.git.add(A=True)
    repo.git.commit("--allow-empty", "--no-verify", "-q", "-m", message, author=f"{AUTHOR.name} <{AUTHOR.email}>")
    return repo.head.commit.hexsha


def commit_candidate(repo: git.Repo, number: int, message: str) -> str:
    """The work tree as a root commit on `runshot/candidate-NUMBER` (HEAD and the iterations branch stay where
    they are); returns the sha."""
    repo.git.add(A=True)
    tree = repo.git.write_tree()
    sha = repo.git.commit_tree(tree, "-m", message)
    set_branch(repo, CANDIDATE_BRANCH.format(number), sha)
    return sha


def clear_work_tree(repo: git.Repo) -> None:
    """No tracked and no untracked project files left (runshot's own folder stays)."""
    repo.git.read_tree("-u", "--reset", EMPTY_TREE)
    repo.git.clean("-fdq", "-e", ".runshot")


def checkout_commit_files(repo: git.Repo, sha: str) -> None:
    """Make the work tree (tracked files) exactly the tree of `sha`, staying on the current branch."""
    repo.git.read_tree("-u", "--reset", sha)


def finish(repo: git.Repo, best_sha: str) -> None:
    """Point `main` at the best iteration and check it out with a clean work tree."""
    repo.git.branch("-f", MAIN_BRANCH, best_sha)
    repo.git.checkout("-q", "-f", MAIN_BRANCH)
    repo.git.clean("-fdq", "-e", ".runshot")


def iteration_shas(repo: git.Repo) -> list[str]:
    """Commits on the iterations branch, oldest first."""
    try:
        return [c.hexsha for c in reversed(list(repo.iter_commits(ITERATIONS_BRANCH)))]
    except git.GitCommandError:
        return []


def diff_between(repo: git.Repo, a: str, b: str, limit: int = 200_000) -> str:
    text = repo.git.diff(a, b, "--stat", "--patch", "--no-color")
    return text if len(text) <= limit else text[:limit] + "\n… diff truncated …\n"


def files_at(repo: git.Repo, sha: str) -> dict[str, str]:
    """The text files of commit `sha` (path -> content)."""
    out: dict[str, str] = {}
    for item in repo.commit(sha).tree.traverse():
        if item.type == "blob":
            try:
                out[item.path] = item.data_stream.read().decode("utf-8")
            except UnicodeDecodeError:
                continue
    return out


def reset_iterations_branch(repo: git.Repo, sha: str) -> None:
    """Continue an interrupted run: the iterations branch at `sha`, checked out, clean."""
    repo.git.checkout("-q", "-f", "-B", ITERATIONS_BRANCH, sha)
    repo.git.clean("-fdq", "-e", ".runshot")
