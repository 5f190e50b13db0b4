"""One headless Chromium, driven through Playwright's async API on a private event loop.

`BrowserHost` starts Playwright and Chromium once, in a background thread, and keeps them across
validations. Callers on any thread hand it coroutines with `run(coro_fn, timeout)`. Inside the loop,
`open_session()` gives a fresh, isolated browser context with one loaded and instrumented page.

Generated code is untrusted: every browser call has a deadline, the page may reach only the app's own
origin, and a page that hangs (an endless loop before or after load) costs a bounded amount of time.
If closing a context hangs too, the browser is killed and launched again on the next use.
The page side (isolation, instrumentation, the load wait) is in `pages`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import signal
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar
from urllib.parse import urljoin, urlsplit

from playwright.async_api import async_playwright

from runshot.errors import EnvironmentProblem
from runshot.validators.browser.context import CheckTimeout, PageEvents, PageSession, Timeouts, within
from runshot.validators.browser.pages import (
    BLOCK_MARK,
    DIALOG_CAP,
    DOM_QUIET,
    INIT_SCRIPT,
    Inflight,
    PageLoadError,
    PageUnresponsive,
    instrument_page,
    isolate_context,
    load_page,
    origin_of,
    same_origin,
    settle,
)
from runshot.validators.sandbox.confined import minimal_env

__all__ = [  # the page side stays importable from here
    "BLOCK_MARK",
    "DIALOG_CAP",
    "DOM_QUIET",
    "INIT_SCRIPT",
    "BrowserHost",
    "BrowserSettings",
    "Inflight",
    "PageLoadError",
    "PageUnresponsive",
    "find_chromium",
    "instrument_page",
    "load_page",
    "origin_of",
    "same_origin",
    "settle",
]

T = TypeVar("T")

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Chromium's headless shell (Debian's chromium-headless-shell; chrome-headless-shell from Google): the browser
# without its desktop UI, which is what Playwright itself runs headless. On 2 cores a full check of a small app
# costs it less than half the CPU of the full browser in headless mode, so it comes first when found.
HEADLESS_NAMES = ("chromium-headless-shell", "chrome-headless-shell")
# Debian's /usr/bin/chromium-headless-shell is a shell script that runs this binary and waits for it: when that
# is the one found, the binary is launched itself (one process less per launch).
WRAPPED = {"/usr/bin/chromium-headless-shell": "/usr/lib/chromium/chromium-headless-shell"}
INSTALL_HINT = (
    "sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium"
    " chromium-headless-shell"
)

# Flags on top of the ones Playwright adds (--no-sandbox, --headless, a temporary profile, ...).
# Chromium-level network isolation: no name (nor IP literal) resolves except localhost and 127.0.0.1.
NETWORK_ARGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
)
ISOLATION_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    *NETWORK_ARGS,
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--no-first-run",
    "--no-pings",
)

DEFAULT_VIEWPORT = (1280, 800)


@dataclass
class OpenContext:
    """A context with its one loaded, instrumented page (see `BrowserHost.start_session`)."""

    context: Any  # playwright.async_api.BrowserContext
    session: PageSession
    inflight: Any  # the page's requests in flight (pages.Inflight)


@dataclass
class BrowserSettings:
    executable: str | None = None  # None: find_chromium(headless)
    headless: bool = True
    extra_args: tuple[str, ...] = ()
    memory_mb: int | None = None  # JavaScript heap limit per page (V8 old space), None for Chromium's default
    # Chromium-level network isolation (NETWORK_ARGS). The page-level guards (request routing, the init
    # script) always apply; turning this off is only for diagnosing them on their own.
    network_flags: bool = True
    # Run the app's server and Chromium inside bubblewrap: "auto" (when it works), "off", or "require"
    # (its absence is an error). $RUNSHOT_SANDBOX, when set, wins. Used by the Validator.
    sandbox: str = "auto"
    # Hosts outside the app that pages may reach (`--allow-host`): routed through, resolvable, not proxied.
    allow_hosts: tuple[str, ...] = ()
    # Hosts Chromium may resolve besides loopback: the checked URL's own host (when it is not loopback).
    reach: tuple[str, ...] = ()
    # Where whatever escapes request routing is sent, a server that refuses it (None: the app's own server,
    # which does for a served folder; a URL's app gets a guard of its own, see validators/serve/target.py).
    escape_proxy: str | None = None

    def resolve_executable(self) -> str:
        if self.executable:
            path = shutil.which(self.executable) or self.executable
            if not Path(path).is_file():
                raise EnvironmentProblem(f"Chromium not found at {self.executable}")
            return path
        return find_chromium(self.headless)

    def launch_args(self) -> list[str]:
        args = [a for a in ISOLATION_ARGS if self.network_flags or a not in NETWORK_ARGS]
        extra = [h for h in (*self.reach, *self.allow_hosts) if h]
        if extra and self.network_flags:
            rules = NETWORK_ARGS[0] + "".join(f", EXCLUDE {h}" for h in dict.fromkeys(extra))
            args = [rules if a == NETWORK_ARGS[0] else a for a in args]
        if self.memory_mb:
            args.append(f"--js-flags=--max-old-space-size={int(self.memory_mb)}")
        args.extend(self.extra_args)
        return args


def find_chromium(headless: bool = True) -> str:
    """Chromium's path: $RUNSHOT_CHROMIUM, else (headless) the first headless shell on PATH, else the first of
    chromium, chromium-browser, google-chrome on PATH."""
    configured = os.environ.get("RUNSHOT_CHROMIUM", "").strip()
    if configured:
        path = shutil.which(configured) or configured
        if Path(path).is_file():
            return path
        raise EnvironmentProblem(f"RUNSHOT_CHROMIUM={configured} does not name a Chromium executable")
    for name in (*HEADLESS_NAMES, *CHROMIUM_NAMES) if headless else CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            binary = WRAPPED.get(path)
            return binary if binary and os.access(binary, os.X_OK) else path
    raise EnvironmentProblem(
        f"Chromium is not installed (looked for {', '.join(CHROMIUM_NAMES)} and $RUNSHOT_CHROMIUM); "
        f"install it with: {INSTALL_HINT}"
    )


class BrowserHost:
    """Playwright + Chromium, started once on a private event loop thread and kept for many validations.

    One browser runs at a time. Callers may name the Chromium to use per call (`browser(executable)`,
    `open_session(..., executable=...)`), e.g. the sandbox wrapper for one project folder; asking for another
    executable than the running browser's closes it and launches that one. Without a name, `open_session`
    uses the host's own Chromium (`executable`) and `browser()` the running browser.
    """

    def __init__(self, settings: BrowserSettings | None = None):
        self.settings = settings or BrowserSettings()
        self.executable = self.settings.resolve_executable()
        self._marker = f"--runshot-host={uuid.uuid4().hex}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._playwright: Any = None
        self._starting: Any = None  # the task starting Playwright, on the loop (see prestart)
        self._browser: Any = None
        self._running: str | None = None  # the executable the current (or last) browser was launched from
        self._home: str | None = None  # a private HOME for Chromium (crash reports, dconf): never a shared /tmp
        self._stale = False  # set when the browser must be replaced before the next use
        self._start_lock = threading.Lock()
        self._launch_lock: asyncio.Lock | None = None  # on the loop: one launch at a time (see browser())
        self.launches = 0  # how many times Chromium was launched (relaunches included)

    # ---- the loop thread ----

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None or not self._thread or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run_loop() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run_loop, name="runshot-browser", daemon=True)
                thread.start()
                ready.wait(10)
                self._loop, self._thread = loop, thread
                self._playwright = self._browser = self._starting = self._launch_lock = None
            return self._loop

    def prestart(self) -> None:
        """Start Playwright's driver now, in the background, so that its start-up (most of a second of a
        process of its own) overlaps what the caller does before the first validation. Optional: the first
        launch starts it otherwise; close() stops it either way."""
        loop = self._ensure_loop()
        asyncio.run_coroutine_threadsafe(self._quiet_start(), loop)

    async def _quiet_start(self) -> None:
        with contextlib.suppress(Exception):  # a failed start is reported by the launch that needs it
            await self._start_playwright()

    async def _start_playwright(self) -> Any:
        """The running Playwright, started once even when several callers ask at the same time."""
        if self._playwright is None:
            if self._starting is None:
                self._starting = asyncio.ensure_future(within(async_playwright().start(), 60, "starting Playwright"))
            starting = self._starting
            try:
                playwright = await asyncio.shield(starting)
            finally:
                if self._starting is starting and starting.done():
                    self._starting = None
            if self._playwright is None:
                self._playwright = playwright
        return self._playwright

    def run(self, coro_fn: Callable[[], Awaitable[T]], timeout: float) -> T:
        """Run `coro_fn()` on the browser loop and wait for it at most `timeout` seconds.

        On overrun the coroutine is cancelled (its cleanup gets a few seconds), the browser is replaced,
        and CheckTimeout is raised.
        """
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(_call(coro_fn), loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            with contextlib.suppress(BaseException):
                future.result(5)
            self._stale = True
            self.kill_browser()
            if not future.done():
                self._abandon_loop()
            raise CheckTimeout("the browser work", timeout) from None

    # ---- Playwright and Chromium, inside the loop ----

    async def browser(self, executable: str | None = None) -> Any:
        """The running browser, launched (again) if needed. Call on the host's loop.

        `executable`: the Chromium wanted (None: the running one, else the host's own). A browser launched
        from another executable is closed first.
        """
        if self._launch_lock is None:
            self._launch_lock = asyncio.Lock()
        async with self._launch_lock:  # validations running side by side ask at once: launch one browser only
            return await self._browser_for(executable)

    async def _browser_for(self, executable: str | None) -> Any:
        wanted = executable or self._running or self.executable
        if self._browser is not None and (
            self._stale or wanted != self._running or not self._browser.is_connected()
        ):
            old, self._browser = self._browser, None
            self._stale = False
            with contextlib.suppress(Exception):
                await within(old.close(), 3, "closing a stale browser")
            self.kill_browser()
        self._stale = False
        if self._browser is None:
            try:
                self._browser = await self._launch(wanted)
            except Exception:
                # The driver itself may be gone: start Playwright again once.
                await self._stop_playwright()
                try:
                    self._browser = await self._launch(wanted)
                except Exception as exc:
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise EnvironmentProblem(f"Chromium ({wanted}) could not be started: {first}") from exc
        return self._browser

    async def _launch(self, executable: str) -> Any:
        playwright = await self._start_playwright()
        browser = await within(
            playwright.chromium.launch(
                executable_path=executable,
                headless=self.settings.headless,
                args=[*self.settings.launch_args(), self._marker],
                # Only a small fixed environment: Chromium never sees runshot's (API keys, tokens).
                env=self._environment(),
                timeout=60_000,
            ),
            70,
            "launching Chromium",
        )
        self._running = executable
        self.launches += 1
        return browser

    def _environment(self) -> dict[str, str]:
        if self._home is None or not os.path.isdir(self._home):
            self._home = tempfile.mkdtemp(prefix="runshot-chromium-home-")
        return {**minimal_env(), "HOME": self._home}

    async def _stop_playwright(self) -> None:
        starting, self._starting = self._starting, None
        if starting is not None and self._playwright is None:  # still starting (prestart): let it finish, then stop
            with contextlib.suppress(BaseException):
                self._playwright = await within(asyncio.shield(starting), 20, "starting Playwright")
        pw, self._playwright = self._playwright, None
        if pw is not None:
            with contextlib.suppress(Exception):
                await within(pw.stop(), 10, "stopping Playwright")

    async def version(self) -> str:
        return (await self.browser()).version

    @contextlib.asynccontextmanager
    async def open_session(self, base_url: str, *args: Any, **kwargs: Any) -> AsyncIterator[PageSession]:
        """A fresh isolated context with one page loaded from `base_url` + `path`, instrumented (the arguments are
        those of `start_session`).

        Raises PageUnresponsive (a CheckTimeout) when the page does not load or stops answering right
        after, PageLoadError when loading fails otherwise. Pass `events` to keep what the page did
        even when opening fails. The context is closed on exit, whatever happens. `executable` names the
        Chromium to open it in (default: the host's own, which reaches servers on this machine's loopback).
        """
        opened = await self.start_session(base_url, *args, **kwargs)
        try:
            yield opened.session
        finally:
            await self.close_context(opened.context)

    async def start_session(
        self,
        base_url: str,
        path: str | None = None,
        viewport: tuple[int, int] | None = None,
        timeouts: Timeouts | None = None,
        events: PageEvents | None = None,
        context_options: dict | None = None,
        executable: str | None = None,
    ) -> "OpenContext":
        """What `open_session` yields, with its context and request tracker: the caller closes the context
        (`close_context`). On failure the context is closed here and the error raised."""
        timeouts = timeouts or Timeouts()
        events = events if events is not None else PageEvents()
        width, height = viewport or DEFAULT_VIEWPORT
        url = urljoin(base_url, (path or "").lstrip("/"))
        origin = origin_of(base_url)
        options = {"viewport": {"width": width, "height": height}, **(context_options or {})}
        options["service_workers"] = "block"
        # Whatever escapes request routing (e.g. a WebSocket opened by a worker) goes to a "proxy" that is
        # the app's own server, which refuses it. Loopback is proxied too, except the app's origin itself.
        app_host = urlsplit(base_url).netloc
        bypass = ",".join([app_host, *self.settings.allow_hosts])
        proxy = self.settings.escape_proxy or f"http://{app_host}"
        options["proxy"] = {"server": proxy, "bypass": f"<-loopback>,{bypass}"}

        context = None
        for attempt in (1, 2):
            browser = await self.browser(executable or self.executable)
            try:
                context = await within(browser.new_context(**options), max(timeouts.action, 5), "opening a context")
                break
            except Exception:
                self._stale = True
                if attempt == 2:
                    raise
        try:
            await isolate_context(context, origin, events, self.settings.allow_hosts)
            context.set_default_timeout(timeouts.action * 1000)
            context.set_default_navigation_timeout(timeouts.load * 1000)
            page = await within(context.new_page(), max(timeouts.action, 5), "opening a page")
            inflight = Inflight()
            instrument_page(page, events, inflight)
            await load_page(page, url, timeouts, events, inflight)
        except BaseException:
            await self.close_context(context)
            raise
        return OpenContext(context=context, session=PageSession(page=page, events=events, url=url), inflight=inflight)

    async def close_context(self, context: Any) -> None:
        """Close a context within a few seconds; if even that hangs, kill the browser (relaunched on next use)."""
        if context is None:
            return
        try:
            await within(context.close(), 6, "closing a browser context")
        except CheckTimeout:
            self._stale = True
            self.kill_browser()
        except Exception:
            pass  # already closed, or the browser is gone (noticed on next use)

    # ---- hard stops ----

    def kill_browser(self) -> None:
        """SIGKILL this host's Chromium (found by a marker switch only it carries); Linux only, best effort."""
        needle = self._marker.encode()
        proc = Path("/proc")
        if not proc.is_dir():
            return
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if needle in cmdline:
                with contextlib.suppress(OSError):
                    os.kill(int(entry.name), signal.SIGKILL)

    def _abandon_loop(self) -> None:
        """The loop did not come back after cancellation: leave it and start afresh next time."""
        loop = self._loop
        self._loop = None
        self._thread = None
        self._playwright = self._browser = self._starting = None
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)

    def close(self) -> None:
        """Stop the browser, Playwright and the loop thread. Always returns; kills what does not stop."""
        loop, thread = self._loop, self._thread
        if loop is None:
            return

        async def shutdown() -> None:
            browser, self._browser = self._browser, None
            if browser is not None:
                with contextlib.suppress(Exception):
                    await within(browser.close(), 5, "closing the browser")
            await self._stop_playwright()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(20)
        except BaseException:
            pass
        finally:
            self.kill_browser()
            self._loop = self._thread = None
            self._playwright = self._browser = None
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(5)
            if thread is None or not thread.is_alive():
                with contextlib.suppress(Exception):
                    loop.close()
            self._running = None
            home, self._home = self._home, None
            if home:
                shutil.rmtree(home, ignore_errors=True)

    def __enter__(self) -> "BrowserHost":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


async def _call(coro_fn: Callable[[], Awaitable[T]]) -> T:
    return await coro_fn()
