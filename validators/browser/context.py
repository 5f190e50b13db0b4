"""What every check receives: the served app, the loaded entry page, and a way to open a fresh page.

A check is a plain coroutine function ``async def check_x(ctx: CheckContext) -> list[Finding]``.
Checks that interact with the page (press keys, open dialogs, click) should use ``ctx.open_session()``
so they start from a freshly loaded page and do not disturb each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncContextManager, Awaitable, Callable, TypeVar

from runshot.spec import Spec

T = TypeVar("T")


@dataclass
class Timeouts:
    """Deadlines in seconds."""

    load: float = 10.0  # one page load (goto until 'load')
    action: float = 3.0  # one browser action (click, evaluate, locator query)
    check: float = 30.0  # one whole check
    settle: float = 0.3  # quiet time after load/interaction before reading results


@dataclass
class PageEvents:
    """What a page did while it was open. Lists of small dicts, filled by listeners."""

    console_errors: list[dict] = field(default_factory=list)  # {"text", "url", "line", "column"}
    console_warnings: list[dict] = field(default_factory=list)
    page_errors: list[dict] = field(default_factory=list)  # {"message", "stack"}
    failed_requests: list[dict] = field(default_factory=list)  # {"url", "status"?, "failure"?, "method"}
    blocked_requests: list[dict] = field(default_factory=list)  # {"url", "kind"} outside the app's origin
    dialogs: list[dict] = field(default_factory=list)  # {"type", "message"} alert/confirm/prompt, auto-dismissed
    crashed: bool = False
    # URLs that only runshot's own scripts asked for (axe-core fetching a stylesheet's @import): what they cause
    # (a failed request, its console line) is not the page's doing.
    runshot_urls: set[str] = field(default_factory=set)

    def mark(self) -> dict[str, int]:
        """Lengths now, so a caller can later ask what happened since (see ``since``)."""
        return {name: len(getattr(self, name)) for name in _EVENT_LISTS}

    def clear(self) -> None:
        """Forget everything recorded so far (the page is about to be loaded anew for someone else)."""
        for name in _EVENT_LISTS:
            getattr(self, name).clear()
        self.runshot_urls.clear()

    def since(self, mark: dict[str, int]) -> "PageEvents":
        out = PageEvents(crashed=self.crashed, runshot_urls=self.runshot_urls)
        for name in _EVENT_LISTS:
            setattr(out, name, list(getattr(self, name))[mark.get(name, 0):])
        return out


_EVENT_LISTS = (
    "console_errors",
    "console_warnings",
    "page_errors",
    "failed_requests",
    "blocked_requests",
    "dialogs",
)


@dataclass
class PageSession:
    page: Any  # playwright.async_api.Page
    events: PageEvents
    url: str


class CheckTimeout(Exception):
    """A browser operation ran past its deadline (the page may be stuck)."""

    def __init__(self, what: str, seconds: float):
        super().__init__(f"{what} did not finish within {seconds:g} s")
        self.what = what
        self.seconds = seconds


async def within(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """Await with a deadline; raise CheckTimeout naming the operation when it runs over."""
    try:
        return await asyncio.wait_for(awaitable, timeout=seconds)
    except asyncio.TimeoutError:
        raise CheckTimeout(what, seconds) from None


# Resolves once the page is done reacting, or after `most` ms at the latest. Done means: two animation frames have
# passed, no timer of the page is due within the wait, none of its fetches or XHRs is in flight, no finite
# animation is still running, and the DOM has not changed for a frame (20 ms). Pages without the activity
# record (INIT_SCRIPT did not run there) fall back to `quiet` ms without a DOM change.
_SETTLE_JS = """([quiet, most]) => new Promise((resolve) => {
  const act = window.__runshotActivity;
  const later = act ? act.setTimeout : setTimeout;
  const started = performance.now();
  let last = started, done = false;
  const finish = () => { if (!done) { done = true; observer.disconnect(); resolve(performance.now() - started); } };
  const observer = new MutationObserver(() => { last = performance.now(); });
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  const end = started + most;
  const animating = () => {
    if (!document.getAnimations) return false;
    try {
      return document.getAnimations().some((a) => {
        if (a.playState !== 'running' || !a.effect) return false;
        const t = a.effect.getComputedTiming();
        return isFinite(t.endTime) && (t.endTime - (Number(a.currentTime) || 0)) < most;
      });
    } catch (e) { return false; }
  };
  const busy = () => {
    if (act.requests > 0) return true;
    for (const due of act.timers.values()) if (due <= end) return true;
    return animating();
  };
  const tick = () => {
    if (done) return;
    const now = performance.now();
    if (now >= end) return finish();
    if (act ? (now - last >= 20 && !busy()) : now - last >= quiet) return finish();
    later(tick, Math.min(quiet, 20));
  };
  requestAnimationFrame(() => requestAnimationFrame(() => later(tick, 0)));
  later(finish, most + 50);
})"""


async def responds(page: Any, seconds: float) -> bool:
    """Whether the page still answers a trivial script within `seconds` (stuck, crashed or closed: no)."""
    try:
        await within(page.evaluate("() => 1"), seconds, "a liveness probe")
        return True
    except Exception:  # noqa: BLE001 (every failure means the same here)
        return False


async def settle(page: Any, quiet: float = 0.08, most: float = 0.3, deadline: float = 3.0) -> None:
    """Wait until the page's DOM stops changing (`quiet` s without a mutation), at most `most` s.

    Use instead of a fixed sleep after an interaction. A page too busy to answer ends the wait at `deadline`
    with CheckTimeout, as any other browser call would.
    """
    await within(page.evaluate(_SETTLE_JS, [quiet * 1000, most * 1000]), deadline, "waiting for the page to settle")


async def settle_then(page: Any, then: str, arg: Any = None, quiet: float = 0.08, most: float = 0.3,
                      deadline: float = 3.0) -> Any:
    """`settle`, then the function expression `then` called with `arg`, in one round trip: what it returns."""
    script = f"async ([quiet, most, arg]) => {{ await ({_SETTLE_JS})([quiet, most]); return ({then})(arg); }}"
    return await within(page.evaluate(script, [quiet * 1000, most * 1000, arg]), deadline,
                        "waiting for the page to settle")


@dataclass
class CheckContext:
    spec: Spec
    project_dir: Path
    base_url: str  # "http://127.0.0.1:PORT/"
    entry_url: str  # base_url + spec.entry
    session: PageSession  # the entry page, loaded and instrumented
    open_session: Callable[..., AsyncContextManager[PageSession]]
    # open_session(path: str | None = None, viewport: tuple[int, int] | None = None)
    #   -> async context manager giving an isolated page, loaded as on a first visit and instrumented: for built-in
    #      checks possibly a page an earlier check left (validators/browser/pool.py), for plugins a new context
    timeouts: Timeouts = field(default_factory=Timeouts)
    strict: bool = False
    info: dict = field(default_factory=dict)  # facts for the report (e.g. {"axe_version": "4.12.1"})
    # How many isolated pages one check may drive at once (1: the checks run one after another). A check that
    # uses more must give the same findings whichever number it gets (acceptance: its spec checks side by side).
    jobs: int = 1
    # What the checks of one validation share while they run (not reported): e.g. axe-core's results for a state
    # that two checks reach (states.check_state).
    shared: dict = field(default_factory=dict, repr=False)

    @property
    def page(self):
        return self.session.page

    @contextlib.asynccontextmanager
    async def new_page(self, path: str | None = None, viewport: tuple[int, int] | None = None):
        """An isolated fresh page (its own browser context) with the entry page (or `path`) loaded."""
        async with self.open_session(path, viewport) as session:
            yield session.page

    async def settle(self, page: Any = None, quiet: float = 0.08, most: float | None = None) -> None:
        """Wait for `page` (default the entry page) to stop changing; at most `timeouts.settle` s."""
        await settle(page or self.page, quiet, self.timeouts.settle if most is None else most,
                     self.timeouts.action)

    async def settle_then(self, page: Any, then: str, arg: Any = None) -> Any:
        """`settle(page)`, then what the function expression `then` returns for `arg`, in one round trip."""
        return await settle_then(page or self.page, then, arg, 0.08, self.timeouts.settle, self.timeouts.action)

    async def within(self, awaitable: Awaitable[T], what: str, seconds: float | None = None) -> T:
        return await within(awaitable, seconds if seconds is not None else self.timeouts.action, what)
