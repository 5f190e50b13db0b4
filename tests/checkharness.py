"""A small, self-contained harness for testing checks against fixture folders.

It serves a folder over HTTP on 127.0.0.1 (a thread per server), drives a real headless Chromium through
Playwright's async API, and builds a ``CheckContext`` whose ``open_session`` opens a fresh, instrumented page.
Everything runs on one private event loop so plain (non-async) pytest tests can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import async_playwright

from runshot.spec import Spec
from runshot.validators.context import CheckContext, PageEvents, PageSession, Timeouts, within

LAUNCH_ARGS = ["--disable-gpu", "--disable-quic"]


def chromium_path() -> str | None:
    env = os.environ.get("RUNSHOT_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def send_head(self):
        if self.path.split("?")[0] == "/favicon.ico" and not os.path.exists(self.translate_path(self.path)):
            self.send_response(204)
            self.end_headers()
            return None
        return super().send_head()


class FolderServer:
    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _instrument(page) -> PageEvents:
    events = PageEvents()

    def on_console(msg):
        loc = msg.location or {}
        item = {"text": msg.text, "url": loc.get("url", ""), "line": loc.get("lineNumber", 0),
                "column": loc.get("columnNumber", 0)}
        if msg.type == "error":
            events.console_errors.append(item)
        elif msg.type == "warning":
            events.console_warnings.append(item)

    def on_page_error(err):
        events.page_errors.append({"message": getattr(err, "message", str(err)), "stack": getattr(err, "stack", "")})

    def on_response(resp):
        if resp.status >= 400:
            events.failed_requests.append({"url": resp.url, "status": resp.status, "method": resp.request.method})

    def on_request_failed(req):
        events.failed_requests.append({"url": req.url, "failure": req.failure or "", "method": req.method})

    async def on_dialog(dialog):
        events.dialogs.append({"type": dialog.type, "message": dialog.message})
        with contextlib.suppress(Exception):
            await dialog.dismiss()

    def on_crash(_page):
        events.crashed = True

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    page.on("dialog", on_dialog)
    page.on("crash", on_crash)
    return events


@dataclass
class Harness:
    """One Playwright driver and one Chromium for a whole test module."""

    loop: asyncio.AbstractEventLoop
    timeouts: Timeouts = field(default_factory=lambda: Timeouts(load=10.0, action=3.0, check=40.0, settle=0.25))
    playwright: object = None
    browser: object = None
    servers: list = field(default_factory=list)

    @classmethod
    def start(cls) -> "Harness":
        loop = asyncio.new_event_loop()
        h = cls(loop=loop)
        h.run(h._launch())
        return h

    async def _launch(self):
        self.playwright = await async_playwright().start()
        self.browser = await self.playwright.chromium.launch(
            executable_path=chromium_path(), args=LAUNCH_ARGS, headless=True
        )

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def close(self):
        async def _stop():
            with contextlib.suppress(Exception):
                await self.browser.close()
            with contextlib.suppress(Exception):
                await self.playwright.stop()

        self.run(_stop())
        for s in self.servers:
            s.close()
        self.loop.close()

    def serve(self, root: Path) -> str:
        server = FolderServer(root)
        self.servers.append(server)
        return server.base_url

    @contextlib.asynccontextmanager
    async def _session(self, url: str, viewport=None):
        size = viewport or (1280, 800)
        context = await within(
            self.browser.new_context(viewport={"width": size[0], "height": size[1]}, service_workers="block"),
            self.timeouts.action, "new browser context",
        )
        try:
            page = await context.new_page()
            page.set_default_timeout(self.timeouts.action * 1000)
            events = _instrument(page)
            await within(page.goto(url, wait_until="load", timeout=self.timeouts.load * 1000),
                         self.timeouts.load + 1, f"loading {url}")
            await asyncio.sleep(self.timeouts.settle)
            yield PageSession(page=page, events=events, url=url)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), timeout=5)

    async def context_for(self, folder: Path, spec: Spec, stack: contextlib.AsyncExitStack) -> CheckContext:
        base = self.serve(folder)
        entry_url = base + spec.entry

        def open_session(path: str | None = None, viewport: tuple[int, int] | None = None):
            return self._session(base + path if path else entry_url, viewport)

        main = await stack.enter_async_context(open_session())
        return CheckContext(spec=spec, project_dir=folder, base_url=base, entry_url=entry_url, session=main,
                            open_session=open_session, timeouts=self.timeouts)

    def run_check(self, check, folder: Path, spec: Spec) -> tuple[list, CheckContext, float]:
        """Run one check function on a served folder; return (findings, ctx, seconds)."""

        async def go():
            async with contextlib.AsyncExitStack() as stack:
                ctx = await self.context_for(folder, spec, stack)
                t0 = time.monotonic()
                findings = await within(check(ctx), self.timeouts.check + 10, check.__name__)
                return findings, ctx, time.monotonic() - t0

        return self.run(go())
