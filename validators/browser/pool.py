"""Isolated pages handed from one check to the next instead of a new browser context each.

The checks that drive their own page (acceptance, keyboard, dialog, sweep, motion) each ask for a fresh one
(`CheckContext.open_session()`). A new context costs a renderer process and a first load; handing on a page
that a finished check leaves behind costs a reload. `SessionPool.open` gives such a check a parked page when
there is one, brought back to a first visit first:

- other pages of its context (popups) are closed, the mouse is moved to the top-left corner (no hover state
  carries over) and the viewport is set to the size asked for (the phone-sized check shares pages too);
- what the app stored is forgotten (local and session storage, IndexedDB, cache storage, cookies) and what the
  page did so far is cleared from its event record;
- the entry page is loaded again, as a fresh context would load it.

A page is parked only when its check ended normally and the page still answers and has not crashed; anything
else is closed, and a page that will not come back is replaced by a new context. Sessions asked for with a
path or context options are never pooled, nor are those of plugin checks (`fresh`): they may change their
context (routes, init scripts, permissions) in ways a reload does not undo. Nothing outlives
one validation: `close()` closes every parked context. The requests the server saw do not change (the app's
files are served with `Cache-Control: no-store`), and pages are never shared by two checks at once.
"""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator

from playwright.async_api import Error as PlaywrightError

from runshot.validators.browser.chromium import DEFAULT_VIEWPORT, OpenContext, PageLoadError, load_page
from runshot.validators.browser.context import CheckTimeout, PageSession, Timeouts, responds, within

_CLEAR_STORAGE = """async () => {
  try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}
  try {
    if (self.indexedDB && indexedDB.databases) for (const d of await indexedDB.databases()) indexedDB.deleteDatabase(d.name);
  } catch (e) {}
  try { if (self.caches) for (const key of await caches.keys()) await caches.delete(key); } catch (e) {}
}"""


async def clear_storage(page: Any, seconds: float) -> None:
    """Forget what the app stored (local and session storage, IndexedDB, cache storage, cookies), so that the
    next load is a first visit."""
    await within(page.evaluate(_CLEAR_STORAGE), seconds, "clearing storage")
    await within(page.context.clear_cookies(), seconds, "clearing cookies")


class SessionPool:
    """`open(...)` behaves as `BrowserHost.open_session` for one app, reusing parked pages (module docstring)."""

    def __init__(self, host: Any, base_url: str, entry: str, timeouts: Timeouts, executable: str | None = None):
        self.host, self.base_url, self.entry = host, base_url, entry
        self.timeouts, self.executable = timeouts, executable
        self._spare: list[OpenContext] = []
        self.opened = 0  # new contexts
        self.reused = 0  # parked pages handed on

    @contextlib.asynccontextmanager
    async def open(self, path: str | None = None, viewport: tuple[int, int] | None = None,
                   **options: Any) -> AsyncIterator[PageSession]:
        if path or options:
            async with self.fresh(path, viewport, **options) as session:
                yield session
            return
        opened = await self._take(viewport)
        ended = False
        try:
            yield opened.session
            ended = True
        finally:
            if ended and await self._reusable(opened):
                self._spare.append(opened)
            else:
                await self.host.close_context(opened.context)

    def fresh(self, path: str | None = None, viewport: tuple[int, int] | None = None, **options: Any):
        """A page in a new context, never pooled: what plugin checks get (they may change their context)."""
        events = options.pop("events", None)
        return self.host.open_session(self.base_url, path or self.entry, viewport, self.timeouts, events=events,
                                      context_options=options or None, executable=self.executable)

    async def close(self) -> None:
        spare, self._spare = self._spare, []
        for opened in spare:
            await self.host.close_context(opened.context)

    async def _take(self, viewport: tuple[int, int] | None) -> OpenContext:
        while self._spare:
            opened = self._spare.pop()
            try:
                await self._reset(opened, viewport or DEFAULT_VIEWPORT)
            except (CheckTimeout, PlaywrightError, PageLoadError):
                await self.host.close_context(opened.context)
                continue
            self.reused += 1
            return opened
        opened = await self.host.start_session(self.base_url, self.entry, viewport, self.timeouts,
                                               executable=self.executable)
        self.opened += 1
        return opened

    async def _reset(self, opened: OpenContext, viewport: tuple[int, int]) -> None:
        page, seconds = opened.session.page, self.timeouts.action
        for other in list(opened.context.pages):
            if other is not page:
                await within(other.close(), seconds, "closing a popup")
        await within(page.mouse.move(0, 0), seconds, "moving the mouse away")
        if page.viewport_size != {"width": viewport[0], "height": viewport[1]}:
            await within(page.set_viewport_size({"width": viewport[0], "height": viewport[1]}), seconds,
                         "sizing the page")
        await clear_storage(page, seconds)
        opened.session.events.clear()
        opened.inflight.clear()
        await load_page(page, opened.session.url, self.timeouts, opened.session.events, opened.inflight)

    async def _reusable(self, opened: OpenContext) -> bool:
        page = opened.session.page
        if opened.session.events.crashed or page.is_closed():
            return False
        return await responds(page, min(self.timeouts.action, 1.0))
