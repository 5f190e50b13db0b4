"""Re-checking projects for CI: only the folders that changed, many folders at once, and regressions
against a stored baseline.

- `changed_dirs(dirs, base)`: the folders among `dirs` holding a file that changed since `base` in the git
  repository around the current folder (committed since the merge base, uncommitted, or untracked).
- `check_projects(dirs, validate, ...)`: validate several folders, one result each.
- `load_baseline(path)` + `regressions(baseline, entry)`: which checks passed in the baseline and fail now.

A baseline is a `runshot check --json` output (one project or several), a `runshot batch` / `runshot merge`
output (`{"projects": [...]}`), or a plain JSON list of such project entries. Projects are matched by name:
the folder's name (a batch names each project folder after its run).
"""

from __future__ import annotations

import functools
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from runshot import __version__
from runshot.errors import UsageError
from runshot.reporting import outputs
from runshot.validators.runner.registry import built_in_registry
from runshot.values import STATE_DIR

OWN_FOLDER = STATE_DIR


# ------------------------------------------------------------------ what changed


def changed_files(base: str, cwd: Path | None = None) -> tuple[Path, set[Path]]:
    """(repository root, absolute paths changed since `base`): committed since the merge base of `base` and HEAD,
    plus uncommitted and untracked (not ignored) files. When `base` does not resolve to a commit because the
    history is too short or shallow (e.g. the default HEAD~1 on a first commit), everything counts as changed."""
    # Imported here (lazy, start-up): GitPython takes ~0.3 s to import, which `check` without --changed need not pay.
    from runshot import gitrepo

    repo = gitrepo.find_repo(cwd or Path.cwd())
    if repo is None:
        raise UsageError("--changed: the current folder is not inside a git repository")
    root = gitrepo.work_tree_root(repo)
    head = gitrepo.resolve_commit(repo, "HEAD")  # "": no commit yet, everything is new
    start = gitrepo.EMPTY_TREE
    if head:
        base_sha = gitrepo.resolve_commit(repo, base)
        if base_sha:
            start = gitrepo.merge_base(repo, base_sha, head) or base_sha  # unrelated histories: the revision itself
        elif not _relative_to_head(base):
            raise UsageError(f"--base {base}: no such revision in {root.name} (try a branch, tag or commit)")
    names = gitrepo.changed_names(repo, start if head else None) + gitrepo.untracked_names(repo)
    changed = set()
    for name in names:
        name = name.strip("/")
        if not name or OWN_FOLDER in Path(name).parts:  # runshot's own reports never count as a change
            continue
        changed.add(root / name)
    return root, changed


def _relative_to_head(base: str) -> bool:
    """`HEAD~N` / `HEAD^`: an ancestor that a short or shallow history may simply not have."""
    return base.strip().startswith(("HEAD~", "HEAD^", "@~", "@^"))


def changed_dirs(dirs: Iterable[Path], base: str, cwd: Path | None = None) -> list[Path]:
    """The folders among `dirs` that hold (at any depth) a file changed since `base`, in the order given."""
    root, changed = changed_files(base, cwd)
    out = []
    for d in dirs:
        full = Path(d).resolve()
        if not full.is_relative_to(root):
            raise UsageError(f"--changed: {d} is outside the git repository at {root}")
        if any(p == full or p.is_relative_to(full) for p in changed):
            out.append(Path(d))
    return out


# ------------------------------------------------------------------ checking many folders


@dataclass
class ProjectCheck:
    """One folder's verdict."""

    name: str
    path: Path
    result: object  # runshot.validators.runner.project.ValidationResult
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.result.passed)

    def to_dict(self) -> dict:
        r = self.result
        data = outputs.check_json(self.name, r.passed, r.findings, list(r.checks_run), dict(r.info))
        data["path"] = str(self.path)
        data["seconds"] = round(self.seconds, 3)
        if not r.passed:
            data["fix_command"] = outputs.fix_command(self.path)
        if r.screenshot is not None:
            data["screenshot"] = str(r.screenshot)
        return data


ValidateOne = Callable[[Path, object, Path | None], object]


def check_projects(
    dirs: Iterable[Path],
    spec_for: Callable[[Path], object],
    validate: ValidateOne,
    screenshot_dir: Path | None = None,
    on_done: Callable[[ProjectCheck], None] | None = None,
) -> list[ProjectCheck]:
    """Validate each folder in turn: `validate(folder, spec, screenshot_path)` with the spec from `spec_for`."""
    out = []
    for d in dirs:
        root = Path(d)
        if not root.is_dir():
            raise UsageError(f"{d}: not a folder")
        name = root.resolve().name
        shot = screenshot_dir / f"{name}.png" if screenshot_dir is not None else None
        started = time.monotonic()
        result = validate(root.resolve(), spec_for(root), shot)
        item = ProjectCheck(name=name, path=root, result=result, seconds=time.monotonic() - started)
        out.append(item)
        if on_done is not None:
            on_done(item)
    return out


def many_json(items: list[ProjectCheck], extra: dict | None = None) -> dict:
    return {
        "runshot_version": __version__,
        "kind": "check",
        "passed": all(i.passed for i in items),
        **(extra or {}),
        "projects": [i.to_dict() for i in items],
    }


def many_junit(items: list[ProjectCheck]) -> str:
    """JUnit XML with one <testsuite> per project (one <testcase> per check) inside one <testsuites>."""
    suites = ET.Element("testsuites", name="runshot")
    tests = failures = 0
    total = 0.0
    for item in items:
        r = item.result
        one = ET.fromstring(outputs.junit_xml(item.name, r.findings, list(r.checks_run), r.seconds).split("\n", 1)[1])
        for suite in one.findall("testsuite"):
            suites.append(suite)
            tests += int(suite.get("tests", "0"))
            failures += int(suite.get("failures", "0"))
            total += float(suite.get("time", "0") or 0)
    suites.set("tests", str(tests))
    suites.set("failures", str(failures))
    suites.set("time", f"{total:.3f}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def many_markdown(items: list[ProjectCheck], heading: str = "") -> str:
    parts = [heading + "\n"] if heading else []
    for item in items:
        r = item.result
        parts.append(outputs.markdown_summary(item.name, r.passed, r.findings, list(r.checks_run),
                                              outputs.fix_command(item.path), coverage=r.info.get("coverage")))
    if not items:
        parts.append("No project to check.\n")
    return "\n".join(parts)


# ------------------------------------------------------------------ baselines and regressions


@dataclass
class BaselineProject:
    name: str
    checks: list[str]  # the checks that ran
    failing: set[str]  # check names with error findings
    reported: set[str]  # every check name that reported anything
    usable: bool = True  # False when the baseline run produced no project to judge

    def was_checked(self, check: str) -> bool:
        """Whether the baseline judged findings named `check`: it ran that check, reported it, or ran the check
        that reports under that name (`runtime` reports `exception`, `console`, ...: see `reported_by`)."""
        return check in self.checks or check in self.reported or reported_by(check) in self.checks

    def passed_check(self, check: str) -> bool:
        return self.usable and self.was_checked(check) and check not in self.failing


@functools.cache
def _owners() -> dict[str, str]:
    return built_in_registry().owners()


def reported_by(name: str) -> str | None:
    """The check whose findings carry the check name `name`, as the checks declare it (None: none does)."""
    return _owners().get(name)


def load_baseline(path: Path) -> dict[str, BaselineProject]:
    """Project name -> what the baseline knew about it. Unreadable or foreign JSON is a usage error."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--baseline {path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UsageError(f"--baseline {path}: not JSON ({exc})") from None
    if isinstance(data, list):
        entries = data
    elif isinstance(data, dict) and isinstance(data.get("projects"), list):
        entries = data["projects"]
    elif isinstance(data, dict) and "project" in data and "findings" in data:
        entries = [data]
    else:
        raise UsageError(f"--baseline {path}: not a runshot check, batch or merge output")
    out: dict[str, BaselineProject] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("project"), str):
            raise UsageError(f"--baseline {path}: a project entry has no 'project' name")
        base = baseline_project(entry)
        if base.name in out:
            raise UsageError(f"--baseline {path}: two projects are named {base.name!r}")
        out[base.name] = base
    return out


def baseline_project(entry: dict) -> BaselineProject:
    findings = [f for f in entry.get("findings") or [] if isinstance(f, dict)]
    checks = [str(c) for c in entry.get("checks") or []]
    usable = entry.get("status", "passed" if entry.get("passed") else "failed") != "error"
    return BaselineProject(
        name=entry["project"],
        checks=checks,
        failing={str(f.get("check")) for f in findings if f.get("severity") == "error"},
        reported={str(f.get("check")) for f in findings},
        usable=usable,
    )


@dataclass
class Regression:
    project: str
    check: str
    errors: list[dict] = field(default_factory=list)  # the current error findings of that check

    def describe(self) -> str:
        first = self.errors[0] if self.errors else {}
        where = f" ({first.get('where')})" if first.get("where") else ""
        return (f"{self.project}: '{self.check}' passed in the baseline, now {len(self.errors)} error(s): "
                f"{str(first.get('message', ''))[:200]}{where}")


def checks_to_rerun(baseline: BaselineProject, known: Iterable[str]) -> list[str] | None:
    """The checks the baseline ran that are still registered (None: it names none of them, so run every check)."""
    names = set(known)
    return [c for c in baseline.checks if c in names] or None


def regressions(baseline: BaselineProject, current: dict) -> list[Regression]:
    """Checks that passed in the baseline and have error findings in `current` (a check JSON entry)."""
    by_check: dict[str, list[dict]] = {}
    for f in current.get("findings") or []:
        if f.get("severity") == "error":
            by_check.setdefault(str(f.get("check")), []).append(f)
    return [Regression(current.get("project", baseline.name), check, errs)
            for check, errs in sorted(by_check.items()) if baseline.passed_check(check)]


def fixed(baseline: BaselineProject, current: dict) -> list[str]:
    """Checks that failed in the baseline and pass now."""
    now_failing = {str(f.get("check")) for f in current.get("findings") or [] if f.get("severity") == "error"}
    return sorted(c for c in baseline.failing if c not in now_failing)
