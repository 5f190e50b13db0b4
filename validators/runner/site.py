"""Check a whole site: the entry page, then the pages it leads to (or the pages named), one browser for all.

    result = validate_site(validator, SiteRequest(target, spec), checks=None, pages=PageOptions(limit=10))

`target` is a project folder (built once and served once for every page) or a `UrlTarget` (an app already
running). With `PageOptions.named` empty, same-origin links are followed breadth first from the entry page (and
the site's `sitemap.xml`), up to `limit` pages in all; with names, exactly those pages (after the entry page).
Each page is one validation: page-level checks once per page, the walks (keyboard, dialogs, sweep) on every
page, on the validator's one browser. The spec's acceptance steps belong to the entry page alone.

The result is one ValidationResult: every finding names its page when more than one page was checked,
`info["pages"]` lists each page's verdict and seconds, and it passes only when every page passes.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runshot.spec import Spec
from runshot.validators.browser.context import PageSession
from runshot.validators.runner.crawl import page_key, page_label, page_links
from runshot.validators.runner.plan import check_jobs_for
from runshot.validators.runner.project import ValidationResult, Validator
from runshot.validators.serve.served import Served
from runshot.validators.serve.target import UrlTarget

DEFAULT_PAGES = 10


@dataclass(frozen=True)
class PageOptions:
    limit: int = DEFAULT_PAGES  # pages checked at most, the entry page included (1: the entry page alone)
    named: tuple[str, ...] = ()  # pages to check besides the entry page (no link following then)


@dataclass(frozen=True)
class SiteRequest:
    target: Path | UrlTarget
    spec: Spec
    screenshot_path: Path | None = None


@dataclass
class _Walk:
    """The pages still to check, those seen, and each checked page's result."""

    queue: deque
    seen: set
    limit: int
    follow: bool
    results: list = dataclasses.field(default_factory=list)  # (label, ValidationResult)

    def add(self, labels: list[str]) -> None:
        for label in labels:
            key = page_key(label)
            if key not in self.seen and len(self.seen) < self.limit:
                self.seen.add(key)
                self.queue.append(label)


def validate_site(validator: Validator, request: SiteRequest, checks: list[str] | None = None,
                  strict: bool = False, pages: PageOptions = PageOptions()) -> ValidationResult:
    """Validate the site of `request` (module docstring)."""
    started = time.monotonic()
    jobs = check_jobs_for(validator.check_jobs)
    target, spec = request.target, request.spec
    if isinstance(target, UrlTarget):
        spec = dataclasses.replace(spec, entry=target.entry)
        with tempfile.TemporaryDirectory(prefix="runshot-url-") as nowhere:  # no folder: checks keep nothing
            first = validator.new_run(Path(nowhere), spec, checks, request.screenshot_path, strict, jobs)
            first.info["url"] = target.url
            first.info["sandbox"] = "none (the app at the URL is the user's own, already running)"
            served = Served(target.base_url, None, lambda: [])
            return _walk(validator, first, served, pages, started)
    first = validator.new_run(Path(target), spec, checks, request.screenshot_path, strict, jobs)
    if not validator.build(first):
        return first.result(started)
    with validator.serving(first.serve_dir, first.project_dir) as served:
        return _walk(validator, first, served, pages, started)


def _walk(validator: Validator, first: Any, served: Served, pages: PageOptions, started: float) -> ValidationResult:
    entry = page_label("/" + first.spec.entry.lstrip("/"))
    walk = _Walk(deque([entry]), {page_key(entry)}, max(1, pages.limit) + len(pages.named), not pages.named)
    walk.add([page_label(p) if "://" in p else "/" + p.lstrip("/") for p in pages.named])
    run = first
    while walk.queue:
        label = walk.queue.popleft()
        if run is None:
            run = _page_run(validator, first, label)
        if walk.follow and len(walk.seen) < walk.limit:
            run.on_loaded = _collector(walk, served.base_url, validator, sitemap=run is first)
        walk.results.append((label, validator.check_served(run, served, time.monotonic())))
        run = None
    return merge(walk.results, started)


def _page_run(validator: Validator, first: Any, label: str) -> Any:
    """A run for another page of the same site: its own entry, no acceptance steps, no screenshot."""
    spec = dataclasses.replace(first.spec, entry=label, checks=(), folder=None, extra={})
    run = validator.new_run(first.project_dir, spec, first.selected, None, first.strict, first.check_jobs)
    run.serve_dir = first.serve_dir
    run.info = {**{k: v for k, v in first.info.items() if k in ("sandbox", "served", "url")}, "entry": label}
    return run


def _collector(walk: _Walk, base_url: str, validator: Validator, sitemap: bool):
    async def collect(run: Any, session: PageSession) -> None:
        try:
            walk.add(await page_links(session, base_url, validator.timeouts, sitemap=sitemap))
        except Exception:  # noqa: BLE001 (a page whose links cannot be read leads nowhere; its checks stand)
            pass

    return collect


def merge(results: list[tuple[str, ValidationResult]], started: float) -> ValidationResult:
    """One result for every page: findings named by page (when there are several), the entry page's info with a
    verdict per page, passed only when every page passed."""
    label, head = results[0]
    if len(results) == 1:
        return head
    findings, outside_hosts = [], set()
    checks_run: list[str] = []
    for label, result in results:
        for f in result.findings:
            if f.rule == "runtime/outside-blocked":  # said once per host for the whole site
                if f.where in outside_hosts:
                    continue
                outside_hosts.add(f.where)
            findings.append(dataclasses.replace(f, page=label))
        checks_run += [c for c in result.checks_run if c not in checks_run]
    info = dict(head.info)
    info["pages"] = [page_summary(label, r) for label, r in results]
    return ValidationResult(findings=findings, passed=all(r.passed for _, r in results), screenshot=head.screenshot,
                            seconds=round(time.monotonic() - started, 3), info=info, checks_run=checks_run)


def page_summary(label: str, result: ValidationResult) -> dict:
    errors = len(result.errors)
    return {"page": label, "passed": result.passed, "errors": errors, "warnings": len(result.findings) - errors,
            "seconds": result.seconds}
