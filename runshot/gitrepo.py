"""OUT as a git repository: one commit per iteration on `runshot/iterations`, `main` at the best one."""

from __future__ import annotations

from pathlib import Path

import git

ITERATIONS_BRANCH = "runshot/iterations"
MAIN_BRANCH = "main"
AUTHOR = git.Actor("runshot", "runshot@localhost")
EXCLUDES = (".runshot/",)


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


def open_repo(root: Path) -> git.Repo:
    return git.Repo(root)


def commit_all(repo: git.Repo, message: str) -> str:
    """Stage every change in the work tree (additions, edits, deletions) and commit; return the sha."""
    repo.git.add(A=True)
    repo.git.commit("--allow-empty", "--no-verify", "-q", "-m", message, author=f"{AUTHOR.name} <{AUTHOR.email}>")
    return repo.head.commit.hexsha


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
