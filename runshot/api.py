"""runshot from Python: `generate` a project from a spec, `check` an existing one.

    import runshot

    result = runshot.check("site/", checks=["runtime", "a11y"])
    if not result.passed:
        for f in result.findings:
            print(f.severity, f.check, f.message)

    report = runshot.generate("A counter with an Increment button", "out/", model="gpt-4o-mini")

The command line's `new` and `check` are thin clients of these two functions.
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from runshot.errors import UsageError
from runshot.values import STATE_DIR, Finding, Limits


@dataclass
class CheckResult:
    """The verdict on one project."""

    passed: bool
    findings: list[Finding]
    info: dict = field(default_factory=dict)  # entry page, sandbox, browser, seconds per check, ...
    seconds: float = 0.0
    checks_run: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    name: str = ""  # the project folder's name

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @classmethod
    def from_validation(cls, result, name: str = "") -> "CheckResult":
        return cls(passed=result.passed, findings=list(result.findings), info=dict(result.info),
                   seconds=result.seconds, checks_run=list(result.checks_run), screenshot=result.screenshot,
                   name=name)


def as_spec(spec, project: Path | None = None):
    """A Spec from a Spec, a spec file path, or prompt text; None means the project's kept spec, else none."""
    from runshot.spec import Spec, load_spec, parse_spec_file

    if isinstance(spec, Spec):
        return spec
    if spec is None:
        if project is not None and (project / STATE_DIR / "spec.md").is_file():
            return parse_spec_file(project / STATE_DIR / "spec.md")
        name = project.resolve().name if project is not None else "project"
        return Spec(title=name, body="", source="(none)")
    return load_spec(str(spec))


def check_spec(root: Path, spec_path: str | None):
    """The spec `runshot check` uses for `root`: the given file, else the kept `.runshot/spec.md`, else none."""
    if spec_path:
        if not Path(spec_path).exists():
            raise UsageError(f"{spec_path}: spec file not found")
        return as_spec(Path(spec_path))
    return as_spec(None, root)


def _registry(registry):
    from runshot.validators.runner.registry import load_registry

    return registry if registry is not None else load_registry()


def select_checks(names: Iterable[str] | str | None, registry) -> list[str] | None:
    """Check names (a list or 'a,b'), validated against the registry; None means every registered check."""
    if names is None:
        return None
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    if not names:
        return None
    unknown = registry.unknown(names)
    if unknown:
        raise UsageError(f"--checks: unknown check(s) {', '.join(unknown)} (known: {registry.describe_known()})")
    return names


def check(path, spec=None, checks=None, *, strict: bool = False, screenshot=None, chromium: str | None = None,
          sandbox: str | None = None, page_timeout: float = 15.0, check_timeout: float = 60.0,
          check_jobs: int | None = None, registry=None, validator=None) -> CheckResult:
    """Validate the web project in `path` (no model needed). `spec`: a Spec, a spec file path or prompt text
    (default: the project's `.runshot/spec.md`, else none); `checks`: names (default: every registered check)."""
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"{path}: not a folder")
    return check_many([root], [as_spec(spec, root)], checks, strict=strict,
                      screenshots=[Path(screenshot) if screenshot else None], chromium=chromium, sandbox=sandbox,
                      page_timeout=page_timeout, check_timeout=check_timeout, check_jobs=check_jobs,
                      registry=registry, validator=validator)[0]


def check_many(paths: list[Path], specs: list, checks=None, *, strict: bool = False, screenshots=None, jobs: int = 1,
               on_done: Callable[[CheckResult], None] | None = None, chromium: str | None = None,
               sandbox: str | None = None, page_timeout: float = 15.0, check_timeout: float = 60.0,
               check_jobs: int | None = None, registry=None, validator=None, host=None) -> list[CheckResult]:
    """Validate several projects with one browser, up to `jobs` at once; results in the order of `paths`.

    `host`: a browser host to validate on (see `wiring.open_host`; its caller closes it), else one is started."""
    from runshot import wiring
    from runshot.validators.runner.project import ValidationRequest

    registry = validator.registry if validator is not None else _registry(registry)
    selected = select_checks(checks, registry)
    shots = list(screenshots or [None] * len(paths))
    requests = [ValidationRequest(Path(p).resolve(), s, shot) for p, s, shot in zip(paths, specs, shots)]
    names = {r.project_dir: Path(p).resolve().name for r, p in zip(requests, paths)}

    def done(request, result):
        if on_done is not None:
            on_done(CheckResult.from_validation(result, names[request.project_dir]))

    with ExitStack() as stack:
        if validator is None:
            # An existing project: an outside host it loads from is blocked here, a warning (said once per host).
            browser = wiring.BrowserOptions(chromium=chromium, sandbox=sandbox, page_timeout=page_timeout,
                                            check_timeout=check_timeout, check_jobs=check_jobs, outside="warning")
            validator = wiring.open_validator(stack, browser, registry, host)
        results = validator.validate_many(requests, checks=selected, strict=strict, jobs=jobs, on_done=done)
    return [CheckResult.from_validation(r, names[q.project_dir]) for q, r in zip(requests, results)]


def check_site(target, spec=None, checks=None, *, pages: int = 10, page: Iterable[str] = (),
               allow_hosts: Iterable[str] = (), any_host: bool = False, strict: bool = False, screenshot=None,
               waive: dict[str, str] | None = None, browser=None, registry=None, host=None) -> CheckResult:
    """Validate a folder or the URL of a running app, and the pages it leads to (`pages` at most, the entry page
    included) or the pages named (`page`). `browser`: a wiring.BrowserOptions (its allowed hosts and outside
    severity are set here); `waive`: rule id -> reason (those findings are reported as waived, not counted).
    A URL must be loopback or private unless `any_host`; with `host`, `browser` is that host's."""
    from runshot import wiring
    from runshot.validators.runner.site import PageOptions, SiteRequest, validate_site
    from runshot.validators.serve.target import looks_like_url, parse_url

    registry = _registry(registry)
    selected = select_checks(checks, registry)
    if isinstance(target, str) and looks_like_url(target):
        where = parse_url(target, any_host)
        name, the_spec = where.name, as_spec(spec)
    else:
        where = Path(target)
        if not where.is_dir():
            raise UsageError(f"{target}: not a folder")
        name, the_spec = where.resolve().name, as_spec(spec, where)
    request = SiteRequest(where, the_spec, Path(screenshot) if screenshot else None)
    options = PageOptions(limit=pages, named=tuple(page))
    with ExitStack() as stack:
        browser = browser or wiring.BrowserOptions(allow_hosts=tuple(allow_hosts), outside="warning")
        validator = wiring.open_validator(stack, browser, registry, host)
        result = validate_site(validator, request, selected, strict, options)
    if browser.allow_hosts:
        result.info["allow_hosts"] = list(browser.allow_hosts)
    return apply_waivers(CheckResult.from_validation(result, name), waive or {})


def apply_waivers(result: CheckResult, waive: dict[str, str]) -> CheckResult:
    """`result` without the findings of waived rules (listed in `info["waived"]` with their reasons)."""
    if not waive:
        return result
    kept = [f for f in result.findings if f.rule not in waive]
    waived = [{**f.to_dict(), "reason": waive[f.rule]} for f in result.findings if f.rule in waive]
    info = {**result.info, "waived": waived}
    if "pages" in info:
        info["pages"] = [_recount(page, [f for f in kept if f.page == page["page"]]) for page in info["pages"]]
    passed = not any(f.is_error for f in kept)
    if "stopped" in result.info and not result.passed:
        passed = False  # a validation that did not finish is not passed by waiving what it found
    return replace(result, findings=kept, info=info, passed=passed)


def _recount(page: dict, findings: list[Finding]) -> dict:
    errors = sum(1 for f in findings if f.is_error)
    return {**page, "passed": page["passed"] or errors == 0, "errors": errors, "warnings": len(findings) - errors}


def run_options(**values):
    """The loop's RunOptions from keyword values; repair prompts rank findings as the installed checks declare."""
    from runshot.loop.repair import RunOptions
    from runshot.validators.runner.registry import load_registry

    values.setdefault("ranks", load_registry(warn=None).repair_ranks())
    return RunOptions(**values)


def require_empty_out(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"{out_dir}: exists and is not a folder; choose a new OUT (nothing was changed)")
        if any(out_dir.iterdir()):
            raise UsageError(f"{out_dir}: not empty; choose a new or empty OUT (nothing was changed)")


def keep_spec_copy(spec, out_dir: Path) -> None:
    """Keep the spec beside the report so `runshot check OUT` re-runs the same acceptance checks."""
    src = Path(spec.source)
    dest = out_dir / STATE_DIR / "spec.md"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if spec.source != "prompt" and src.is_file():
        shutil.copyfile(src, dest)
    else:
        dest.write_text(f"---\ntitle: {json.dumps(spec.title)}\n---\n{spec.body}\n", encoding="utf-8")


def resume_spec(out_dir: Path):
    """The spec of an interrupted run in `out_dir` (the copy kept there)."""
    from runshot.spec import parse_spec_file

    kept = out_dir / STATE_DIR / "spec.md"
    if not (out_dir / STATE_DIR / "report.json").is_file() or not kept.is_file():
        raise UsageError(f"{out_dir}: not a runshot project to resume (no {STATE_DIR}/report.json and spec.md)")
    return parse_spec_file(kept)


@dataclass
class FixResult:
    """What `fix` did: the report, and where the fixed project is (a branch, or the folder OUT)."""

    report: object  # runshot.report.Report
    branch: str
    state_dir: Path  # report.json, screenshots/, transcript/
    in_git: bool
    work: Path  # the user's repository (in git) or OUT

    @property
    def passed(self) -> bool:
        return bool(self.report.passed)


def generate(spec, out, *, model: str | None = None, base_url: str | None = None, api_key: str | None = None,
             max_iterations: int = 4, max_tokens: int | None = None, token_budget: int | None = None,
             timeout: float | None = None, deadline: float | None = None, retries: int = 4,
             limits: Limits | None = None, run_timeout: float | None = None, checks=None, strict: bool = False,
             candidates: int = 1, derive_checks: bool = True, chromium: str | None = None,
             sandbox: str | None = None, page_timeout: float = 15.0, check_timeout: float = 60.0,
             check_jobs: int | None = None, resume: bool = False, progress=None, registry=None,
             on_start: Callable[[object, object, Path], None] | None = None,
             note: Callable[[str], None] | None = None, status=None, record=None, replay=None):
    """Generate a project for `spec` (a Spec, a spec file path, or prompt text) into `out` (absent or empty) and
    repair it until it passes; returns the Report (also in OUT/.runshot/report.json). With `resume`, `spec` may
    be None and the run in `out` continues. Model settings fall back to the environment and config file as on
    the command line. `on_start(spec, model, out)` is called once the model is ready (`model.description` is
    redacted). `record`/`replay` (folders) record the model calls to a cassette, or answer them from one with no
    endpoint at all (see runshot.scale.cassette)."""
    from runshot.loop.repair import run_new

    out_dir = Path(out)
    if resume:
        the_spec = as_spec(spec) if spec is not None else resume_spec(out_dir)
    else:
        the_spec = as_spec(spec)
        require_empty_out(out_dir)
    with ExitStack() as stack:
        the_model, validate = _model_and_validator(
            stack, model, base_url, api_key, _model_options(timeout, deadline, max_tokens, retries, record, replay),
            checks, strict, chromium, sandbox, page_timeout, check_timeout, check_jobs, registry, note, status)
        if on_start is not None:
            on_start(the_spec, the_model, out_dir)
        if not resume:
            keep_spec_copy(the_spec, out_dir)
        # model_info is the redacted description: report, transcript and commit messages never see credentials.
        return run_new(
            the_spec, out_dir, the_model.ask, validate,
            model_info=dict(the_model.description),
            options=run_options(max_iterations=max_iterations, limits=limits or Limits(), token_budget=token_budget,
                                run_timeout=run_timeout, candidates=candidates, derive_checks=derive_checks),
            progress=progress,
            resume=resume,
        )


def fix(path, spec=None, out=None, *, allow_dirty: bool = False, model: str | None = None,
        base_url: str | None = None, api_key: str | None = None, max_iterations: int = 4,
        max_tokens: int | None = None, token_budget: int | None = None, timeout: float | None = None,
        deadline: float | None = None, retries: int = 4, limits: Limits | None = None,
        run_timeout: float | None = None, checks=None, strict: bool = False, chromium: str | None = None,
        sandbox: str | None = None, page_timeout: float = 15.0, check_timeout: float = 60.0,
        check_jobs: int | None = None, progress=None, registry=None,
        on_start: Callable[[object, object, Path], None] | None = None,
        note: Callable[[str], None] | None = None, status=None, change=None, record=None,
        replay=None) -> FixResult:
    """Repair the existing project in `path` until it passes. In a git repository the fix goes to a new branch
    `runshot/fix-<n>` (the user's branch and files untouched, the report under `.git/runshot/fix-<n>/`);
    outside git, `out` (absent or empty) receives a fixed copy. `spec` defaults to the project's own
    `.runshot/spec.md`, else the default checks alone. `record`/`replay` (folders) record the model calls to
    a cassette, or answer them from one (see runshot.scale.cassette). With `change` (a change request: a Spec, a spec file or
    prompt text) the project is changed as asked first (`runshot new --from`): the result goes to `out`, or to a
    branch `runshot/change-<n>` when `path` is in git and no `out` is given; both specs' checks run."""
    from runshot.loop.fixing import preflight
    from runshot.loop.fixrun import project_spec, run_fix

    folder = Path(path)
    preflight(folder, Path(out) if out is not None else None, allow_dirty)  # refuse before any model starts
    the_spec = project_spec(folder, as_spec(spec) if spec is not None else None)
    the_change = as_spec(change) if change is not None else None
    with ExitStack() as stack:
        the_model, validate = _model_and_validator(
            stack, model, base_url, api_key, _model_options(timeout, deadline, max_tokens, retries, record, replay),
            checks, strict, chromium, sandbox, page_timeout, check_timeout, check_jobs, registry, note, status)
        if on_start is not None:
            on_start(the_spec, the_model, folder)
        report, target = run_fix(
            folder, the_model.ask, validate, dict(the_model.description), spec=the_spec,
            out=Path(out) if out is not None else None, allow_dirty=allow_dirty, change=the_change,
            options=run_options(max_iterations=max_iterations, limits=limits or Limits(), token_budget=token_budget,
                                run_timeout=run_timeout),
            progress=progress)
    return FixResult(report, target.branch, target.state_dir, target.in_git,
                     target.repo_root if target.in_git else target.work_tree)


def _model_options(timeout, deadline, max_tokens, retries, record, replay):
    from runshot import wiring

    return wiring.ModelOptions(timeout, deadline, max_tokens, retries, record=str(record) if record else None,
                               replay=str(replay) if replay else None)


def _model_and_validator(stack, model, base_url, api_key, model_options, checks, strict,
                         chromium, sandbox, page_timeout, check_timeout, check_jobs, registry, note, status):
    """The model (started, redacted description) and a `validate(project_dir, spec, shot)` for the loop."""
    from runshot import wiring
    from runshot.config import resolve_endpoint

    registry = _registry(registry)
    selected = select_checks(checks, registry)
    endpoint = resolve_endpoint(model, base_url, api_key)
    browser = wiring.BrowserOptions(chromium=chromium, sandbox=sandbox, page_timeout=page_timeout,
                                    check_timeout=check_timeout, check_jobs=check_jobs)
    wiring.check_browser(browser)  # no browser: fail before spending tokens
    the_model = wiring.open_model(stack, endpoint, model_options, note=note, status=status)
    validator = wiring.open_validator(stack, browser, registry)

    def validate(project_dir, s, shot):
        return validator.validate(project_dir, s, checks=selected, screenshot_path=shot, strict=strict)

    return the_model, validate
