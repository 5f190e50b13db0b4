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

from runshot import wiring
from runshot.errors import UsageError
from runshot.settings import LOCAL_RUN_TIMEOUT, RunOptions, Settings, check_names, from_options, resolve
from runshot.values import STATE_DIR, Finding
from runshot.spec import Spec, load_spec, parse_spec_file
from runshot.validators.runner.registry import load_registry

# The validators and the repair loop are imported where they are used: loading them takes seconds (measured with
# `python -X importtime`), and the command line imports this module to build every command, `--help` included.


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


def check(path, spec=None, checks=None, settings: Settings | None = None, *, screenshot=None,
          **options) -> CheckResult:
    """Validate the web project in `path` (no model needed). `spec`: a Spec, a spec file path or prompt text
    (default: the project's `.runshot/spec.md`, else none); `checks`: names (default: every registered check).
    `settings` (a runshot.settings.Settings) and the keyword options (`strict`, `page_timeout`, ...; `registry`,
    `validator`) say how."""
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"{path}: not a folder")
    settings, parts = split_options(settings, {"checks": checks, **options}, ("registry", "validator"))
    return check_many([root], [as_spec(spec, root)], None, settings,
                      screenshots=[Path(screenshot) if screenshot else None], registry=parts.registry,
                      validator=parts.validator)[0]


def check_many(paths: list[Path], specs: list, checks=None, settings: Settings | None = None, *, screenshots=None,
               jobs: int = 1, **options) -> list[CheckResult]:
    """Validate several projects with one browser, up to `jobs` at once; results in the order of `paths`.

    Besides the settings' keywords: `on_done(result)` as each finishes, `registry`, `validator` (validate with it),
    `host` (a browser host to validate on: see `wiring.open_host`; its caller closes it), else one is started."""
    from runshot.validators.runner.project import ValidationRequest  # lazy: seconds of imports (see top)

    settings, parts = split_options(settings, {"checks": checks, **options},
                                    ("on_done", "registry", "validator", "host"))
    validator = parts.validator
    registry = validator.registry if validator is not None else _registry(parts.registry)
    selected = select_checks(check_names(settings), registry)
    shots = list(screenshots or [None] * len(paths))
    requests = [ValidationRequest(Path(p).resolve(), s, shot) for p, s, shot in zip(paths, specs, shots)]
    names = {r.project_dir: Path(p).resolve().name for r, p in zip(requests, paths)}

    def done(request, result):
        if parts.on_done is not None:
            parts.on_done(CheckResult.from_validation(result, names[request.project_dir]))

    with ExitStack() as stack:
        if validator is None:
            # An existing project: an outside host it loads from is blocked here, a warning (said once per host).
            browser = replace(settings.browser, outside="warning")
            validator = wiring.open_validator(stack, browser, registry, parts.host)
        results = validator.validate_many(requests, checks=selected, strict=settings.checks.strict, jobs=jobs,
                                          on_done=done)
    return [CheckResult.from_validation(r, names[q.project_dir]) for q, r in zip(requests, results)]


def check_site(target, spec=None, checks=None, settings: Settings | None = None, *, screenshot=None,
               **options) -> CheckResult:
    """Validate a folder or the URL of a running app, and the pages it leads to (`pages` at most, the entry page
    included) or the pages named (`page`). Outside hosts (`allow_hosts` allowed) are warnings; `waive`: rule id ->
    reason (those findings are reported as waived, not counted). A URL must be loopback or private unless
    `any_host`. Besides the settings' keywords: `registry`, `host` (a browser host, whose browser is used)."""
    from runshot.validators.runner.site import PageOptions, SiteRequest, validate_site  # lazy: see top
    from runshot.validators.serve.target import looks_like_url, parse_url

    settings, parts = split_options(settings, {"checks": checks, **options}, ("registry", "host"))
    registry = _registry(parts.registry)
    selected = select_checks(check_names(settings), registry)
    site = settings.checks
    if isinstance(target, str) and looks_like_url(target):
        where = parse_url(target, site.any_host)
        name, the_spec = where.name, as_spec(spec)
    else:
        where = Path(target)
        if not where.is_dir():
            raise UsageError(f"{target}: not a folder")
        name, the_spec = where.resolve().name, as_spec(spec, where)
    request = SiteRequest(where, the_spec, Path(screenshot) if screenshot else None)
    pages = PageOptions(limit=site.pages, named=site.page)
    browser = replace(settings.browser, outside="warning")
    with ExitStack() as stack:
        validator = wiring.open_validator(stack, browser, registry, parts.host)
        result = validate_site(validator, request, selected, site.strict, pages)
    if browser.allow_hosts:
        result.info["allow_hosts"] = list(browser.allow_hosts)
    return apply_waivers(CheckResult.from_validation(result, name), dict(site.waive))


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


def run_options(registry=None, **values) -> RunOptions:
    """The loop's RunOptions from keyword values; repair prompts rank findings as the checks in use declare."""
    return with_ranks(RunOptions(**values), registry)


def with_ranks(loop: RunOptions, registry=None) -> RunOptions:
    """`loop` with the repair ranks the checks of `registry` (default: built-ins and plugins) declare."""
    return loop if loop.ranks else replace(loop, ranks=_registry(registry).repair_ranks())


def _loop_for(loop: RunOptions, model, parts: Parts) -> RunOptions:
    """The loop's options for this model: repair ranks from the checks in use; on the embedded model a run time
    budget unless one was given (0: none), so that a run on a small CPU ends judged rather than interrupted."""
    loop = with_ranks(loop, parts.registry)
    if loop.run_timeout is None and model.local:
        loop = replace(loop, run_timeout=LOCAL_RUN_TIMEOUT)
        if parts.note is not None:
            parts.note(f"run time budget: {LOCAL_RUN_TIMEOUT:g} s on the embedded model (--run-timeout SECONDS to "
                       f"change, 0 for none)")
    return loop


@dataclass(frozen=True)
class Parts:
    """What a call is given besides its settings: working parts and callbacks (never options)."""

    progress: object = None  # a runshot.loop.state.Progress
    registry: object = None  # the checks to pick from (default: built-ins and installed plugins)
    on_start: Callable[[object, object, Path], None] | None = None  # (spec, model, where) once the model is ready
    note: Callable[[str], None] | None = None
    status: Callable | None = None  # text -> a context manager shown while waiting
    validator: object = None
    host: object = None
    on_done: Callable[[CheckResult], None] | None = None


def split_options(settings: Settings | None, options: dict, parts: tuple[str, ...] = ()) -> tuple[Settings, Parts]:
    """The one place the keyword conveniences become values: the keywords named in `parts` are working parts,
    every other one an option put into `settings` (an unknown keyword is a TypeError naming it)."""
    options = dict(options)
    given = {name: options.pop(name) for name in parts if name in options}
    return from_options(settings, **options), Parts(**given)


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


def generate(spec, out, settings: Settings | None = None, *, resume: bool = False, **options):
    """Generate a project for `spec` (a Spec, a spec file path, or prompt text) into `out` (absent or empty) and
    repair it until it passes; returns the Report (also in OUT/.runshot/report.json). With `resume`, `spec` may
    be None and the run in `out` continues. `settings` (a runshot.settings.Settings) and the keyword options
    (`model`, `base_url`, `max_iterations`, `checks`, `page_timeout`, ...) say how; model settings left out fall back
    to the environment and config file as on the command line. Working parts: `progress`, `registry`, `note`,
    `status`, and `on_start(spec, model, out)`, called once the model is ready (`model.description` is redacted).
    `record`/`replay` (folders) record the model calls to a cassette, or answer them from one with no endpoint at
    all (see runshot.scale.cassette)."""
    from runshot.loop.repair import run_new  # lazy: seconds of imports (see top)

    settings, parts = split_options(settings, options, MODEL_PARTS)
    out_dir = Path(out)
    if resume:
        the_spec = as_spec(spec) if spec is not None else resume_spec(out_dir)
    else:
        the_spec = as_spec(spec)
        require_empty_out(out_dir)
    parts = replace(parts, registry=_registry(parts.registry))  # loaded once: checks to run and repair ranks
    with ExitStack() as stack:
        the_model, validate = _model_and_validator(stack, settings, parts)
        if parts.on_start is not None:
            parts.on_start(the_spec, the_model, out_dir)
        if not resume:
            keep_spec_copy(the_spec, out_dir)
        # model_info is the redacted description: report, transcript and commit messages never see credentials.
        return run_new(the_spec, out_dir, the_model.ask, validate, model_info=dict(the_model.description),
                       options=_loop_for(settings.loop, the_model, parts), progress=parts.progress,
                       resume=resume)


def fix(path, spec=None, out=None, settings: Settings | None = None, *, allow_dirty: bool = False, change=None,
        **options) -> FixResult:
    """Repair the existing project in `path` until it passes. In a git repository the fix goes to a new branch
    `runshot/fix-<n>` (the user's branch and files untouched, the report under `.git/runshot/fix-<n>/`);
    outside git, `out` (absent or empty) receives a fixed copy. `spec` defaults to the project's own
    `.runshot/spec.md`, else the default checks alone. Settings and keyword options as for `generate`.
    `record`/`replay` (folders) record the model calls to a cassette, or answer them from one (see
    runshot.scale.cassette). With `change` (a change request: a Spec, a spec file or prompt text) the project is
    changed as asked first (`runshot new --from`): the result goes to `out`, or to a branch `runshot/change-<n>`
    when `path` is in git and no `out` is given; both specs' checks run."""
    from runshot.loop.fixing import preflight  # lazy: seconds of imports (see top)
    from runshot.loop.fixrun import FixRequest, project_spec, run_fix

    settings, parts = split_options(settings, options, MODEL_PARTS)
    folder = Path(path)
    out_dir = Path(out) if out is not None else None
    preflight(folder, out_dir, allow_dirty)  # refuse before any model starts
    the_spec = project_spec(folder, as_spec(spec) if spec is not None else None)
    request = FixRequest(the_spec, out_dir, allow_dirty, as_spec(change) if change is not None else None)
    parts = replace(parts, registry=_registry(parts.registry))  # loaded once: checks to run and repair ranks
    with ExitStack() as stack:
        the_model, validate = _model_and_validator(stack, settings, parts)
        if parts.on_start is not None:
            parts.on_start(the_spec, the_model, folder)
        loop = replace(_loop_for(settings.loop, the_model, parts), candidates=1)  # a fix repairs one answer at a time
        report, target = run_fix(folder, the_model.ask, validate, dict(the_model.description), request, loop,
                                 parts.progress)
    return FixResult(report, target.branch, target.state_dir, target.in_git,
                     target.repo_root if target.in_git else target.work_tree)


MODEL_PARTS = ("progress", "registry", "on_start", "note", "status")


def _model_and_validator(stack: ExitStack, settings: Settings, parts: Parts):
    """The model (started, redacted description) and a `validate(project_dir, spec, shot)` for the loop."""
    registry = _registry(parts.registry)
    selected = select_checks(check_names(settings), registry)
    if settings.model.endpoint is None:
        settings = resolve(settings)  # flags, then environment, then config file, then the embedded default
    wiring.check_browser(settings.browser)  # no browser: fail before spending tokens
    the_model = wiring.open_model(stack, settings.model.endpoint, settings.model, note=parts.note,
                                  status=parts.status)
    validator = wiring.open_validator(stack, settings.browser, registry)
    strict = settings.checks.strict

    def validate(project_dir, s, shot):
        return validator.validate(project_dir, s, checks=selected, screenshot_path=shot, strict=strict)

    return the_model, validate
