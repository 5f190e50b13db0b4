"""The page side of a browser session: isolation, instrumentation and the load wait.

`isolate_context()` lets a context reach only the app's own origin (request and web socket routing, plus
INIT_SCRIPT in every frame for what routing does not see). `instrument_page()` fills `PageEvents` from the page's
console, errors, failed requests, crashes and dialogs. `load_page()` navigates under the load deadline and waits
until the app's requests and DOM settle; a page that does not answer is `PageUnresponsive`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from importlib import resources
from typing import Any, Awaitable
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from runshot.validators.browser.context import CheckTimeout, PageEvents, Timeouts, within
from runshot.validators.browser.context import settle as dom_settle

DOM_QUIET = 0.08  # s without a DOM change after load (bounded by Timeouts.settle)
NETWORK_QUIET = 0.1  # s with none of the app's requests in flight after load
DIALOG_CAP = 20  # dialogs recorded per page; later ones are still dismissed
BLOCK_MARK = "__runshot_blocked__ "

# Runs in every frame before any page script: connections that bypass request routing
# (WebSocket, WebRTC, WebTransport) and beacons to other origins throw and are reported.
INIT_SCRIPT = resources.files("runshot.validators").joinpath("page_scripts", "isolation.js").read_text(
    encoding="utf-8")

_SILENCE_DIALOGS = """() => {
  window.alert = function alert() {};
  window.confirm = function confirm() { return false; };
  window.prompt = function prompt() { return null; };
}"""


class PageUnresponsive(CheckTimeout):
    """The page did not finish loading, or stopped answering right after it loaded (phase: "load" or "after load")."""

    def __init__(self, what: str, seconds: float, phase: str):
        super().__init__(what, seconds)
        self.phase = phase


class PageLoadError(RuntimeError):
    """Loading the page failed for another reason than time (the renderer crashed, the navigation was refused)."""


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def same_origin(url: str, origin: str) -> bool:
    return url.startswith(("data:", "blob:", "about:")) or origin_of(url) == origin


def _add_failed(events: PageEvents, entry: dict) -> None:
    """One entry per URL: a missing file shows up as a response and sometimes as a failed request too."""
    for existing in events.failed_requests:
        if existing["url"] == entry["url"]:
            for key, value in entry.items():
                existing.setdefault(key, value)
            return
    events.failed_requests.append(entry)


def _record_console(events: PageEvents, msg: Any) -> None:
    """A console error or warning; a warning carrying BLOCK_MARK is a connection INIT_SCRIPT blocked."""
    kind = msg.type
    if kind not in ("error", "warning"):
        return
    text = msg.text
    if kind == "warning" and text.startswith(BLOCK_MARK):
        with contextlib.suppress(ValueError, TypeError):
            data = json.loads(text[len(BLOCK_MARK):])
            events.blocked_requests.append({"url": str(data.get("url", "")), "kind": str(data.get("kind", ""))})
            return
    location = msg.location or {}
    line = location.get("lineNumber")
    column = location.get("columnNumber")
    entry = {
        "text": text,
        "url": location.get("url", "") or "",
        "line": (line + 1) if isinstance(line, int) and line >= 0 else None,
        "column": (column + 1) if isinstance(column, int) and column >= 0 else None,
    }
    (events.console_errors if kind == "error" else events.console_warnings).append(entry)


def _record_page_error(events: PageEvents, error: Any) -> None:
    message = getattr(error, "message", None) or str(error)
    name = getattr(error, "name", "") or ""
    stack = getattr(error, "stack", "") or ""
    if name and not message.startswith(name):
        message = f"{name}: {message}"
    events.page_errors.append({"message": message, "stack": stack})


def _record_response(events: PageEvents, response: Any) -> None:
    if response.status >= 400:
        _add_failed(
            events,
            {
                "url": response.url,
                "status": response.status,
                "status_text": response.status_text,
                "method": response.request.method,
                "resource": response.request.resource_type,
            },
        )


def _record_failed_request(events: PageEvents, inflight: set | None, request: Any) -> None:
    if inflight is not None:
        inflight.discard(request)
    _add_failed(
        events,
        {
            "url": request.url,
            "failure": request.failure or "failed",
            "method": request.method,
            "resource": request.resource_type,
        },
    )


def instrument_page(page: Any, events: PageEvents, inflight: set | None = None) -> None:
    """Fill `events` from the page's console, errors, failed requests, crashes and dialogs."""

    def on_crash(_page: Any) -> None:
        events.crashed = True

    async def on_dialog(dialog: Any) -> None:
        if len(events.dialogs) < DIALOG_CAP:
            events.dialogs.append({"type": dialog.type, "message": (dialog.message or "")[:300]})
        with contextlib.suppress(Exception):
            await dialog.dismiss()
        if len(events.dialogs) >= DIALOG_CAP and not silenced:
            # A dialog loop: answer further dialogs in the page itself, as a dismissal would.
            silenced.append(True)
            with contextlib.suppress(Exception):
                await within(page.evaluate(_SILENCE_DIALOGS), 2, "silencing dialogs")

    silenced: list[bool] = []

    page.on("console", lambda msg: _record_console(events, msg))
    page.on("pageerror", lambda error: _record_page_error(events, error))
    page.on("response", lambda response: _record_response(events, response))
    page.on("requestfailed", lambda request: _record_failed_request(events, inflight, request))
    page.on("crash", on_crash)
    page.on("dialog", on_dialog)
    if inflight is not None:
        page.on("request", lambda request: inflight.add(request))
        page.on("requestfinished", lambda request: inflight.discard(request))


class Inflight(set):
    """The page's own requests in flight (others are blocked before they start); wakes `quiet()` on changes."""

    def __init__(self) -> None:
        super().__init__()
        self.changes = 0
        self._wake: asyncio.Event | None = None

    def add(self, item: Any) -> None:
        super().add(item)
        self._changed()

    def discard(self, item: Any) -> None:
        if item in self:
            super().discard(item)
            self._changed()

    def _changed(self) -> None:
        self.changes += 1
        if self._wake is not None:
            self._wake.set()

    async def quiet(self, quiet: float, cap: float) -> None:
        """Return once nothing has been in flight for `quiet` seconds, or after `cap` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cap
        self._wake = asyncio.Event()
        try:
            while True:
                self._wake.clear()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                wait = remaining if self else min(quiet, remaining)
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except asyncio.TimeoutError:
                    if not self:
                        return  # quiet for `quiet` s (or the cap was reached)
        finally:
            self._wake = None


async def settle(inflight: set, quiet: float, cap: float) -> None:
    """Wait until no request has been in flight for `quiet` seconds, at most `cap` seconds."""
    if isinstance(inflight, Inflight):
        await inflight.quiet(quiet, cap)
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cap
    calm_since: float | None = None
    while True:
        now = loop.time()
        if inflight:
            calm_since = None
        elif calm_since is None:
            calm_since = now
        if calm_since is not None and now - calm_since >= quiet:
            return
        if now >= deadline:
            return
        await asyncio.sleep(0.02)


def allowed_host(url: str, hosts: tuple[str, ...] | list[str]) -> bool:
    """Whether `url` goes to one of `hosts` (names the user let through, compared without case or port)."""
    if not hosts:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return bool(host) and host in {h.lower() for h in hosts}


async def isolate_context(context: Any, origin: str, events: PageEvents, allow_hosts: tuple[str, ...] = ()) -> None:
    """Let the context reach only `origin` (and `allow_hosts`): route requests and web sockets, and add INIT_SCRIPT
    to every frame."""

    async def route(route: Any) -> None:
        request = route.request
        try:
            if same_origin(request.url, origin) or allowed_host(request.url, allow_hosts):
                await route.continue_()
            else:
                events.blocked_requests.append({"url": request.url, "kind": request.resource_type})
                await route.abort("blockedbyclient")
        except Exception:
            pass  # the page or context went away meanwhile

    def route_socket(ws: Any) -> None:
        http_url = ws.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)
        if same_origin(http_url, origin) or allowed_host(http_url, allow_hosts):
            ws.connect_to_server()
        else:
            events.blocked_requests.append({"url": ws.url, "kind": "websocket"})
            asyncio.ensure_future(_quiet(ws.close(code=1008, reason="blocked: outside the app")))

    await within(context.add_init_script(INIT_SCRIPT), 5, "adding the isolation script")
    # Only what leaves the origin comes back here: Playwright matches the pattern itself and lets the app's own
    # requests through without a round trip to this process.
    await within(context.route(re.compile(f"^(?!{re.escape(origin)}/)"), route), 5, "routing requests")
    await within(context.route_web_socket("**/*", route_socket), 5, "routing web sockets")


async def load_page(page: Any, url: str, timeouts: Timeouts, events: PageEvents, inflight: set | None = None) -> None:
    """Navigate under the load deadline, wait for the app's requests and DOM to settle, check the page answers."""
    where = urlsplit(url).path or "/"
    try:
        await within(
            page.goto(url, wait_until="load", timeout=timeouts.load * 1000),
            timeouts.load + 2,
            f"loading {where}",
        )
    except (CheckTimeout, PlaywrightTimeout):
        raise PageUnresponsive(f"loading {where}", timeouts.load, phase="load") from None
    except PlaywrightError as exc:
        if events.crashed:
            raise PageLoadError(f"the page crashed while loading {where}") from None
        raise PageLoadError(f"loading {where} failed: {str(exc).splitlines()[0]}") from None
    # Settled: none of the app's own requests in flight for NETWORK_QUIET (at most `timeouts.settle` + 1.5 s in
    # all) and, meanwhile, the page done reacting (its DOM quiet, no timer about to fire, no fetch or XHR in
    # flight: see context.settle), which also shows that the page still answers. A fetch chain has no gap the
    # page's own count misses, so the network wait can be short.
    network = asyncio.ensure_future(
        settle(inflight if inflight is not None else Inflight(), min(NETWORK_QUIET, timeouts.settle),
               timeouts.settle + 1.5)
    )
    try:
        await dom_settle(page, DOM_QUIET, timeouts.settle, timeouts.action)
        await network
    except CheckTimeout:
        raise PageUnresponsive("the page to respond after loading", timeouts.action, phase="after load") from None
    except PlaywrightError as exc:
        if events.crashed:
            raise PageLoadError(f"the page crashed right after loading {where}") from None
        raise PageLoadError(f"the page at {where} went away after loading: {str(exc).splitlines()[0]}") from None
    finally:
        network.cancel()


async def _quiet(awaitable: Awaitable[Any]) -> None:
    with contextlib.suppress(Exception):
        await awaitable
