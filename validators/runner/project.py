"""Validate one project: build it if needed, serve it, load its entry page in Chromium, run the checks.

    with Validator() as validator:
        result = validator.validate(Path("out"), spec)

Every check runs under a deadline; a check that overruns or breaks becomes a finding itself, so a
validation always ends with a result. One Validator keeps its browser across many validations.
The checks of one validation follow a plan (validators/runner/plan.py): those that only read the loaded page run
in turn on it, those that open their own pages run side by side (`check_jobs`), handing their pages on to
the next instead of opening a context each (validators/browser/pool.py). `validate_many` validates
several projects at once.

Where bubblewrap works (and BrowserSettings.sandbox / $RUNSHOT_SANDBOX allow it), the app's server and
Chromium run together inside it, without network, an environment or the user's files; Playwright drives
that Chromium from outside over its pipes. One sandboxed browser serves one project folder (bound live, so
repair iterations need no relaunch); validating another folder relaunches it, except in `validate_many`, where
the folders with nothing to build are bound into one sandbox together and one browser serves them all, each on
a port of its own (validators/runner/many.py). Where bubblewrap does not work, a single line says so and the app is
served from this process as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Iterator

from runshot.errors import UsageError
from runshot.rules import Rule, Rules
from runshot.spec import Spec
from runshot.validators.browser.chromium import BrowserHost, BrowserSettings, PageLoadError, PageUnresponsive
from runshot.validators.browser.context import CheckContext, CheckTimeout, PageEvents, PageSession, Timeouts
from runshot.validators.browser.pool import SessionPool
from runshot.validators.checks.runtime import findings_from_events, screenshot
from runshot.validators.runner.many import validate_many
from runshot.validators.runner.outcome import ValidationRequest, ValidationResult
from runshot.validators.runner.plan import PAGE, Step, check_jobs_for, run_plan
from runshot.validators.runner.registry import Registry, load_registry
from runshot.validators.sandbox.confined import (
    BrowserSandbox,
    announce_fallback,
    sandbox_available,
    sandbox_mode,
    why_unavailable,
)
from runshot.validators.serve.build import build_project
from runshot.validators.serve.served import Served, proxied_findings
from runshot.validators.serve.server import serve
from runshot.values import ERROR, WARNING, Finding, dedupe

CheckFn = Callable[[CheckContext], Awaitable[list[Finding]]]

# What the runner itself reports about the entry page (under the runtime check).
RULES = Rules(
    Rule("runtime/no-entry", ERROR, "The entry page the spec names does not exist in the project."),
    Rule("runtime/load-failed", ERROR, "The entry page could not be loaded at all."),
    Rule("runtime/unresponsive", ERROR, "The page stopped responding: a script never gives the page back."),
)


def entry_file(project_dir: Path, entry: str) -> Path:
    """The file behind the entry page (query and fragment dropped; a folder means its index.html)."""
    path = entry.split("#", 1)[0].split("?", 1)[0].strip("/")
    target = project_dir / path if path else project_dir
    return target / "index.html" if target.is_dir() else target


class Validator:
    """Runs validations with one long-lived browser. Use as a context manager (or call close()).

    `sandbox_reason` is None when the browser runs inside bubblewrap, else why it does not.
    """

    def __init__(
        self,
        settings: BrowserSettings | None = None,
        timeouts: Timeouts | None = None,
        host: BrowserHost | None = None,
        check_jobs: int | None = None,
        registry: Registry | None = None,
        outside: str = ERROR,
    ):
        # The checks this validator knows (default: the built-ins and installed plugins).
        self.registry = registry if registry is not None else load_registry()
        # How many interacting checks of one validation may run at once (None: sized to the cores; 1: in turn).
        self.check_jobs = check_jobs
        # Requests to outside hosts: ERROR for a generated app (it must be self-contained), WARNING for an existing
        # one checked where it may not reach them (`runshot check`: said once per host).
        self.outside = outside
        self.timeouts = timeouts or Timeouts()
        self.settings = settings or (host.settings if host is not None else BrowserSettings())
        mode = self.settings.sandbox
        sandbox_available(mode)  # mode "require" without a working bubblewrap: EnvironmentProblem, before any launch
        self.sandbox_reason = why_unavailable(mode)
        if self.sandbox_reason and sandbox_mode(mode) != "off":
            announce_fallback(self.sandbox_reason)
        self._owns_host = host is None
        self.host = host or BrowserHost(self.settings)
        self._sandbox: BrowserSandbox | None = None  # made on first use

    @property
    def sandboxed(self) -> bool:
        return self.sandbox_reason is None

    def close(self) -> None:
        try:
            if self._owns_host:
                self.host.close()
        finally:
            sandbox, self._sandbox = self._sandbox, None
            if sandbox is not None:
                sandbox.close()

    def __enter__(self) -> "Validator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextlib.contextmanager
    def serving(self, serve_dir: Path, project_dir: Path | None = None) -> Iterator[Served]:
        """Serve `serve_dir` as validations do: inside the sandbox (binding `project_dir`, default `serve_dir`,
        which must contain it), or from this process. Open pages with
        `host.open_session(served.base_url, ..., executable=served.executable)`.
        """
        serve_dir = Path(serve_dir).resolve()
        project_dir = Path(project_dir).resolve() if project_dir is not None else serve_dir
        if not self.sandboxed:
            with serve(serve_dir) as server:
                yield Served(server.base_url, None, lambda: server.requests)
            return
        sandbox = self.browser_sandbox()
        wrapper = sandbox.wrapper(serve_dir, project_dir)
        mark = sandbox.feed.mark()
        yield Served(sandbox.base_url, str(wrapper), lambda: sandbox.feed.since(mark))

    def validate(
        self,
        project_dir: Path,
        spec: Spec,
        checks: Iterable[str] | None = None,
        screenshot_path: Path | None = None,
        strict: bool = False,
    ) -> ValidationResult:
        return self._validate(project_dir, spec, checks, screenshot_path, strict, check_jobs_for(self.check_jobs))

    def _validate(
        self,
        project_dir: Path,
        spec: Spec,
        checks: Iterable[str] | None,
        screenshot_path: Path | None,
        strict: bool,
        check_jobs: int,
        served: Served | None = None,
    ) -> ValidationResult:
        started = time.monotonic()
        run = self.new_run(project_dir, spec, checks, screenshot_path, strict, check_jobs)
        if not self.build(run):
            return run.result(started)
        shared = served is not None and run.serve_dir == run.project_dir
        with contextlib.nullcontext(served) if shared else self.serving(run.serve_dir, run.project_dir) as served:
            return self.check_served(run, served, started)

    def new_run(self, project_dir: Path, spec: Spec, checks: Iterable[str] | None, screenshot_path: Path | None,
                strict: bool, check_jobs: int) -> "_Run":
        """The record of one validation about to start (its checks validated against the registry)."""
        selected = self.registry.names() if checks is None else [c for c in checks]
        unknown = self.registry.unknown(selected)
        if unknown:
            raise UsageError(f"unknown check(s): {', '.join(unknown)} (known: {self.registry.describe_known()})")
        sandbox = "bubblewrap" if self.sandboxed else f"none ({self.sandbox_reason})"
        info: dict = {"entry": spec.entry, "sandbox": sandbox}
        return _Run(Path(project_dir).resolve(), spec, selected, screenshot_path, strict, self.timeouts, info,
                    check_jobs=check_jobs)

    def build(self, run: "_Run") -> bool:
        """A package.json with a build script: build first (inside the sandbox), then serve what it made.
        Sets `run.serve_dir`; False when the build failed (its findings are in `run`)."""
        build_started = time.monotonic()
        project_dir = run.project_dir
        serve_dir, built = build_project(project_dir, sandbox=self.settings.sandbox)
        if serve_dir != project_dir or built:
            run.info.setdefault("seconds", {})["build"] = round(time.monotonic() - build_started, 3)
            run.checks_run.append("build")
            run.findings += built
            if serve_dir == project_dir:
                run.info["stopped"] = "the build failed"
                return False
            run.info["served"] = serve_dir.relative_to(project_dir).as_posix()
        run.serve_dir = serve_dir
        return True

    def check_served(self, run: "_Run", served: Served, started: float) -> ValidationResult:
        """Load `run`'s entry page from `served` and run its checks (a folder's missing entry file is a finding)."""
        spec = run.spec
        if run.serve_dir is not None and not entry_file(run.serve_dir, spec.entry).is_file():
            run.findings.append(
                RULES["runtime/no-entry"].finding(
                    f"entry page {spec.entry} does not exist", where=spec.entry,
                    hint=f"create {spec.entry}: it is the page the browser opens first")
            )
            return run.result(started)

        # The checks' modules are imported here, on this thread, while the browser may still be starting
        # (BrowserHost.prestart); a check that cannot be loaded fails where it always did, below.
        for name in run.selected:
            with contextlib.suppress(Exception):
                self.registry.resolve(name)
        t = self.timeouts
        budget = t.load + t.action * 3 + 20 + t.check * max(1, len(run.selected))
        try:
            self.host.run(partial(self._validate_async, run, served.base_url, served.executable), timeout=budget)
        except CheckTimeout as exc:
            run.findings.append(
                RULES["runtime/unresponsive"].finding(
                    f"the page stopped responding: the validation did not finish ({exc})",
                    hint="look for endless loops or scripts that never yield")
            )
        requests = served.requests()
        run.info["requests"] = len(requests)
        if "runtime" in run.selected:
            run.findings += proxied_findings(requests, run.findings)
        return run.result(started)

    def needs_of(self, name: str) -> tuple[str, bool]:
        """(what check `name` needs, whether it said so): built-ins and checks declaring NEEDS are known."""
        check = self.registry.get(name)
        if check is None:
            return PAGE, False
        return check.needs, check.needs_declared

    def validate_many(
        self,
        requests: Iterable[ValidationRequest],
        checks: Iterable[str] | None = None,
        strict: bool = False,
        jobs: int = 1,
        on_done: Callable[[ValidationRequest, ValidationResult], None] | None = None,
    ) -> list[ValidationResult]:
        """Validate several projects, up to `jobs` at once; results in request order, as one by one would give.

        Without the sandbox all of them share this validator's browser (each in its own contexts). With it, the
        folders with nothing to build are bound into one sandbox and share one browser too, each served on a
        port of its own; a project to build gets a browser and sandbox of its own (validators/runner/many.py).
        `on_done(request, result)` is called as each finishes (from a worker thread when jobs > 1, one at a time).
        With several jobs and `check_jobs` left to size itself, each project's checks share the cores with the
        other jobs' checks.
        """
        return validate_many(self, requests, checks, strict, jobs, on_done)

    def validate_served(self, request: ValidationRequest, checks: list[str] | None, strict: bool, check_jobs: int,
                        served: Served | None = None) -> ValidationResult:
        """`request` validated with `check_jobs` isolated checks at once; on `served` (a folder this validator's
        browser already serves, see validators/runner/many.py) when it is given."""
        return self._validate(request.project_dir, request.spec, checks, request.screenshot_path, strict,
                              check_jobs, served)

    def sibling(self) -> "Validator":
        """Another validator like this one, with a browser and sandbox of its own."""
        return Validator(self.settings, self.timeouts, check_jobs=self.check_jobs, registry=self.registry,
                         outside=self.outside)

    def browser_sandbox(self) -> BrowserSandbox:
        """This validator's sandbox for its browser (made on first use)."""
        if self._sandbox is None:
            self._sandbox = BrowserSandbox(self.host.executable, setting=self.settings.sandbox)
        return self._sandbox

    async def _validate_async(self, run: "_Run", base_url: str, executable: str | None = None) -> None:
        t = self.timeouts
        events = PageEvents()
        try:
            with _timer(run.info, "load"):
                browser = await self.host.browser(executable or self.host.executable)
                run.info["browser"] = f"Chromium {browser.version}"
                opened = self.host.open_session(
                    base_url, run.spec.entry, timeouts=t, events=events, executable=executable
                )
                session = await opened.__aenter__()
            try:
                await self._run_checks(run, session, base_url, executable)
                if run.on_loaded is not None:
                    await run.on_loaded(run, session)
            finally:
                await opened.__aexit__(None, None, None)
        except PageUnresponsive as exc:
            run.findings.append(_unresponsive(exc, run.spec.entry))
            run.info["stopped"] = "the entry page did not load"
        except PageLoadError as exc:
            run.findings.append(RULES["runtime/load-failed"].finding(str(exc), where=run.spec.entry))
            run.info["stopped"] = "the entry page did not load"
        finally:
            if "runtime" in run.selected or "stopped" in run.info:
                where_base = base_url if run.serve_dir is not None else ""  # a URL's findings name whole URLs
                run.findings += findings_from_events(events, where_base, run.serve_dir, self.outside)

    async def _run_checks(
        self, run: "_Run", session: PageSession, base_url: str, executable: str | None = None
    ) -> None:
        t = self.timeouts
        pool = SessionPool(self.host, base_url, run.spec.entry, t, executable)
        if run.screenshot_path is not None:
            with _timer(run.info, "screenshot"):
                try:
                    run.screenshot = await screenshot(session.page, run.screenshot_path, t)
                except Exception:  # noqa: BLE001 (a missing screenshot is not a finding)
                    run.screenshot = None
        ctx = CheckContext(
            spec=run.spec,
            project_dir=run.serve_dir or run.project_dir,  # a URL's app: an empty folder of runshot's own
            base_url=base_url,
            entry_url=base_url + run.spec.entry.lstrip("/"),
            session=session,
            open_session=pool.open,
            timeouts=t,
            strict=run.strict,
            # The Chromium that reaches base_url: acceptance test files launch it themselves.
            info={"chromium": executable or self.host.executable},
            jobs=run.check_jobs,
        )
        steps = []
        for name in run.selected:
            fn = self.registry.resolve(name)
            if fn is None:
                run.info.setdefault("skipped", []).append(name)
                continue
            check = self.registry.get(name)
            if check is not None and not check.built_in:  # plugins get pages of their own, as documented
                fn = _with_fresh_pages(fn, pool.fresh)
            steps.append(Step(name, fn, *self.needs_of(name)))
        try:
            plan = await run_plan(steps, ctx, session, t, run.check_jobs)
        finally:
            await pool.close()
            run.info["isolated_pages"] = {"opened": pool.opened, "reused": pool.reused}
        # Merged in the checks' order, whatever order they finished in.
        # One axe problem at one place is reported once, by the first check in registry order that saw it: the
        # checks that judge later states run side by side, so which of them saw it first must not matter.
        reported: set[tuple[str, str]] = set()
        for step in steps:
            outcome = plan.outcomes.get(step.name)
            if outcome is None:
                continue
            run.checks_run.append(step.name)
            for f in outcome.findings:
                key = (f.rule, f.where)
                if f.rule and "/" not in f.rule and key in reported:
                    continue  # an axe rule id (runshot's own rules are "check/slug")
                reported.add(key)
                run.findings.append(f)
            run.info.setdefault("seconds", {})[step.name] = outcome.seconds
        if plan.skipped:
            run.info.setdefault("skipped", []).extend(plan.skipped)
            run.info["skipped"].sort(key=run.selected.index)
        if plan.stopped:
            run.info["stopped"] = plan.stopped
        ctx.info.pop("chromium", None)
        run.info.update(ctx.info)


@dataclass
class _Run:
    project_dir: Path
    spec: Spec
    selected: list[str]
    screenshot_path: Path | None
    strict: bool
    timeouts: Timeouts
    info: dict
    findings: list[Finding] = field(default_factory=list)
    checks_run: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    serve_dir: Path | None = None  # what is served: the project, or its build output
    check_jobs: int = 1  # isolated checks run at once
    # Called with the loaded entry page once the checks are done (e.g. to list its links), before it closes.
    on_loaded: Callable[["_Run", PageSession], Awaitable[None]] | None = None

    def result(self, started: float) -> ValidationResult:
        findings = dedupe(self.findings)
        if self.strict:
            findings = [
                dataclasses.replace(f, severity=ERROR) if f.severity == WARNING else f
                for f in findings
            ]
        passed = not any(f.is_error for f in findings)
        return ValidationResult(
            findings=findings,
            passed=passed,
            screenshot=self.screenshot,
            seconds=round(time.monotonic() - started, 3),
            info=self.info,
            checks_run=self.checks_run,
        )


def _with_fresh_pages(fn: CheckFn, fresh: Callable[..., Any]) -> CheckFn:
    """`fn` with a context whose `open_session` always opens a new browser context."""

    async def check(ctx: CheckContext) -> list[Finding]:
        return await fn(dataclasses.replace(ctx, open_session=fresh))

    return check


def _unresponsive(exc: PageUnresponsive, entry: str) -> Finding:
    if exc.phase == "load":
        message = (
            f"the page did not finish loading within {exc.seconds:g} s: a script never returns "
            "(an endless loop during start-up?)"
        )
    else:
        message = (
            f"the page stopped responding right after loading (no answer within {exc.seconds:g} s): "
            "a script keeps the page busy (an endless loop in a timer or event handler?)"
        )
    return RULES["runtime/unresponsive"].finding(
        message, where=entry,
        hint="make every loop end; run long work in small steps (requestAnimationFrame/setTimeout), never while(true)")


class _timer:
    def __init__(self, info: dict, name: str):
        self.info, self.name = info, name

    def __enter__(self) -> None:
        self.start = time.monotonic()

    def __exit__(self, *exc: Any) -> None:
        self.info.setdefault("seconds", {})[self.name] = round(time.monotonic() - self.start, 3)


def validate_once(
    project_dir: Path,
    spec: Spec,
    checks: Iterable[str] | None = None,
    screenshot_path: Path | None = None,
    strict: bool = False,
    settings: BrowserSettings | None = None,
    timeouts: Timeouts | None = None,
) -> ValidationResult:
    """Validate one project with a browser started and stopped for it."""
    with Validator(settings, timeouts) as validator:
        return validator.validate(project_dir, spec, checks, screenshot_path, strict)
