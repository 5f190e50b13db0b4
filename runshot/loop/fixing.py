"""Where `runshot fix` works: a branch in the user's repository, or a copy in a new one.

In a git repository the user's branch and working tree are never touched: the fix runs in a linked
worktree (a temporary folder) on a new branch `runshot/fix-<n>` made from HEAD; the run's report,
screenshots and transcript go to `.git/runshot/fix-<n>/`, so the working tree gains no untracked files.
Outside git (or whenever OUT is given), the folder is copied into OUT, which becomes a new repository; the folder
itself is never written.

    target = prepare_fix(Path("app"), out=None, allow_dirty=False)
    try:
        ...run the repair loop in target.project_dir, state in target.state_dir...
    finally:
        finish_fix(target, best_sha)
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runshot import gitrepo
from runshot.errors import UsageError
from runshot.generator.safepaths import read_project
from runshot.values import STATE_DIR

# Never sent to a model and never copied: dependencies, build output, caches, lockfiles.
SKIP_DIRS = {".git", STATE_DIR, "node_modules", "dist", "build", ".next", ".nuxt", ".svelte-kit", ".cache",
             ".parcel-cache", ".turbo", ".vite", "coverage", "__pycache__", ".venv", "venv", "bower_components"}
COMMIT_OPTIONS = gitrepo.COMMIT_OPTIONS
LOCKFILES = {"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock"}


@dataclass
class FixTarget:
    """What a fix run works on."""

    source: Path  # the user's folder (read, never written)
    project_dir: Path  # where the loop writes and validates: the project inside the work tree
    work_tree: Path  # the linked worktree (git) or OUT (copy)
    state_dir: Path  # report.json, screenshots/, transcript/
    branch: str  # the branch the fix commits to
    iterations_branch: str  # every iteration, in order
    start_commit: str  # the commit the fix starts from
    in_git: bool  # True: a branch of the user's repository; False: a copy in OUT
    repo_root: Path  # the repository holding `branch`
    subdir: str = ""  # the project's folder inside the repository ("" for its root)
    dirty_included: bool = False  # uncommitted changes were carried over (--allow-dirty)


find_repo = gitrepo.find_repo
dirty_paths = gitrepo.dirty_paths


def next_fix_number(repo: gitrepo.Repo, kind: str = "fix") -> int:
    """1 + the highest n of the existing `runshot/<kind>-<n>` branches (and report folders)."""
    used = {0}
    prefix = f"runshot/{kind}-"
    for name in gitrepo.branch_names(repo):
        if name.startswith(prefix):
            digits = name[len(prefix):].split("-", 1)[0]
            if digits.isdigit():
                used.add(int(digits))
    reports = gitrepo.git_dir(repo) / "runshot"
    if reports.is_dir():
        for child in reports.iterdir():
            digits = child.name[len(kind) + 1:] if child.name.startswith(f"{kind}-") else ""
            if digits.isdigit():
                used.add(int(digits))
    return max(used) + 1


def preflight(folder: Path, out: Path | None = None, allow_dirty: bool = False) -> gitrepo.Repo | None:
    """Refuse (UsageError, exit 2) what a fix cannot start from, changing nothing; returns the repository."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    folder = folder.resolve()
    repo = find_repo(folder) if out is None else None  # with OUT: a copy, wherever the folder is
    root = gitrepo.work_tree_root(repo) if repo is not None else None
    if repo is not None and root is not None:
        if gitrepo.head_sha(repo) is None:
            raise UsageError(f"{root}: the repository has no commit yet; commit the project first")
        changed = dirty_paths(repo, folder.relative_to(root).as_posix() if folder != root else "")
        if changed and not allow_dirty:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            raise UsageError(f"{folder}: uncommitted changes ({shown}); commit or stash them, or pass "
                             "--allow-dirty (nothing was changed)")
        return repo
    if out is None:
        raise UsageError(f"{folder} is not in a git repository: give -o OUT for the fixed copy "
                         "(the folder itself is never changed)")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: not empty; choose a new or empty OUT (nothing was changed)")
    if out.resolve() == folder or folder in out.resolve().parents:
        raise UsageError(f"{out}: must not be inside {folder} (the folder is never written)")
    return None


def prepare_fix(folder: Path, out: Path | None = None, allow_dirty: bool = False, kind: str = "fix") -> FixTarget:
    """Set up where a fix (or, with kind "change", a change) runs; raises UsageError (exit 2) when it cannot,
    having changed nothing."""
    repo = preflight(folder, out, allow_dirty)
    folder = Path(folder).resolve()
    if repo is not None:
        return _prepare_branch(repo, folder, kind)
    return _prepare_copy(folder, Path(out))


def _prepare_branch(repo: gitrepo.Repo, folder: Path, kind: str) -> FixTarget:
    root = gitrepo.work_tree_root(repo)
    subdir = folder.relative_to(root).as_posix() if folder != root else ""
    start = gitrepo.head_sha(repo)
    changed = dirty_paths(repo, subdir)
    number = next_fix_number(repo, kind)
    branch = f"runshot/{kind}-{number}"
    state_dir = gitrepo.git_dir(repo) / "runshot" / f"{kind}-{number}"
    state_dir.mkdir(parents=True, exist_ok=False)
    work_tree = Path(tempfile.mkdtemp(prefix=f"runshot-{kind}-{number}-"))
    work_tree.rmdir()  # git worktree add wants to create it
    iterations = f"{branch}-iterations"
    gitrepo.add_worktree(repo, work_tree, iterations, start)
    target = FixTarget(
        source=folder, project_dir=work_tree / subdir if subdir else work_tree, work_tree=work_tree,
        state_dir=state_dir, branch=branch, iterations_branch=iterations, start_commit=start, in_git=True,
        repo_root=root, subdir=subdir,
    )
    if changed:
        wt = gitrepo.open_repo(work_tree, COMMIT_OPTIONS)
        _carry_over(folder, target.project_dir, changed, root, subdir)
        target.start_commit = gitrepo.commit_all(wt, "runshot fix: start from the uncommitted working tree")
        target.dirty_included = True
    return target


def _carry_over(folder: Path, dest: Path, changed: list[str], root: Path, subdir: str) -> None:
    """Copy the working tree's uncommitted state of the changed paths into the fix's work tree."""
    for rel in changed:
        rel = rel.strip('"')
        if " -> " in rel:  # a rename: the new name holds the content
            rel = rel.split(" -> ", 1)[1]
        inside = rel[len(subdir) + 1:] if subdir and rel.startswith(subdir + "/") else rel
        src = root / rel
        target = dest / inside
        if src.is_symlink():
            continue
        if src.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
        elif not src.exists() and target.is_file():
            target.unlink()


def _prepare_copy(folder: Path, out: Path) -> FixTarget:
    out.mkdir(parents=True, exist_ok=True)
    copy_project(folder, out)
    repo = gitrepo.init_repo(out)
    start = gitrepo.commit_all(repo, f"runshot fix: copy of {folder.name}")
    return FixTarget(
        source=folder, project_dir=out.resolve(), work_tree=out.resolve(), state_dir=out.resolve() / STATE_DIR,
        branch=gitrepo.MAIN_BRANCH, iterations_branch=gitrepo.ITERATIONS_BRANCH, start_commit=start,
        in_git=False, repo_root=out.resolve(),
    )


def copy_project(src: Path, dest: Path) -> int:
    """Copy a project's own files (no dependencies, build output, links or runshot state); returns the count."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not os.path.islink(os.path.join(dirpath, d)))
        rel_dir = Path(dirpath).relative_to(src)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            target = dest / rel_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            count += 1
    return count


def finish_fix(target: FixTarget, best_sha: str | None) -> None:
    """Leave the fix branch at the best iteration and remove the temporary work tree (git), or check out
    the best iteration in OUT (copy)."""
    if not target.in_git:
        if best_sha is not None:
            gitrepo.finish(gitrepo.open_repo(target.work_tree), best_sha)
        return
    repo = gitrepo.open_repo(target.repo_root)
    gitrepo.set_branch(repo, target.branch, best_sha or target.start_commit)
    gitrepo.remove_worktree(repo, target.work_tree)


def model_visible(path: str) -> bool:
    """Whether a project file may be shown to a model: no dependencies, build output, lockfiles or state."""
    parts = path.split("/")
    if any(p in SKIP_DIRS for p in parts[:-1]):
        return False
    return parts[-1] not in LOCKFILES and not parts[-1].endswith((".min.js", ".map"))


def tracked_and_unignored(project_dir: Path) -> set[str] | None:
    """The project's files as git sees them (tracked plus untracked-not-ignored), relative to project_dir;
    None outside git."""
    repo = gitrepo.find_repo(project_dir)
    root = gitrepo.work_tree_root(repo) if repo is not None else None
    if repo is None or root is None:
        return None
    base = project_dir.resolve().relative_to(root).as_posix()
    names = set()
    for line in gitrepo.listed_files(repo, project_dir):
        rel = line[len(base) + 1:] if base != "." and line.startswith(base + "/") else line
        names.add(rel)
    return names


def fix_files(project_dir: Path, limits) -> dict[str, str]:
    """The text files a fix may show the model: what read_project allows, minus dependencies, build output,
    lockfiles and whatever the repository's .gitignore excludes."""
    generous = dataclasses.replace(limits, max_files=max(limits.max_files, 5000),
                                   max_total_bytes=max(limits.max_total_bytes, 50_000_000))
    files = read_project(project_dir, generous, skip_dirs=SKIP_DIRS)
    known = tracked_and_unignored(project_dir)
    return {p: c for p, c in files.items() if model_visible(p) and (known is None or p in known)}


# Local references in HTML (src=, href=) and JavaScript/CSS (import ... from, import(), url()).
_REFERENCE = re.compile(
    r"""(?:\bsrc|\bhref)\s*=\s*["']([^"'#?]+)|\bfrom\s*["']([^"'#?]+)["']|\bimport\s*\(?\s*["']([^"'#?]+)["']"""
    r"""|@import\s+(?:url\()?\s*["']?([^"')\s;]+)|url\(\s*["']?([^"')#?]+)""")


def loaded_by(path: str, text: str) -> list[str]:
    """The project files `path` (an HTML, JS or CSS file) refers to, as project-relative paths."""
    base = posixpath.dirname(path)
    out = []
    for match in _REFERENCE.finditer(text):
        ref = next(g for g in match.groups() if g)
        if "//" in ref or ref.startswith(("data:", "mailto:", "javascript:")):
            continue
        target = posixpath.normpath(ref.lstrip("/") if ref.startswith("/") else posixpath.join(base, ref))
        if not target.startswith(".."):
            out.append(target)
    return out


def relevant_files(files: dict[str, str], entry: str, pointed_at: list[str]) -> tuple[dict[str, str], list[str]]:
    """What a repair of an existing project needs: the files the findings point at, the entry page and what it
    loads (followed through scripts and styles); (those files, the paths left out)."""
    wanted = [p for p in pointed_at if p in files]
    queue = [entry] if entry in files else []
    seen: set[str] = set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        wanted.append(path)
        queue += [p for p in loaded_by(path, files[path]) if p in files and p not in seen]
    keep = dict.fromkeys(wanted)
    return {p: files[p] for p in keep}, [p for p in files if p not in keep]
