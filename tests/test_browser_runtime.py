"""Real Chromium on real fixture apps: runtime findings, isolation, hung pages, recovery."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from runshot.errors import EnvironmentProblem, UsageError
from runshot.spec import Spec
from runshot.validators.browser.chromium import DIALOG_CAP, BrowserHost, BrowserSettings, find_chromium
from runshot.validators.browser.context import CheckTimeout, PageEvents, Timeouts
from runshot.validators.sandbox.proctree import process_tree
from runshot.validators.runner.registry import function_check
from runshot.validators.runner.project import ValidationResult, Validator, validate_once
from runshot.validators.checks.runtime import findings_from_events, where_for
from runshot.validators.serve.server import serve

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
TIMEOUTS = Timeouts(load=4.0, action=2.0, check=8.0, settle=0.3)


def add_check(monkeypatch, validator: Validator, name: str, fn) -> None:
    """Register a test-only check on this validator for the length of one test."""
    monkeypatch.setattr(validator, "registry", validator.registry.with_checks(function_check(name, fn)))


@pytest.fixture(scope="module")
def validator():
    with Validator(timeouts=TIMEOUTS) as v:
        yield v


def spec(name: str = "app", entry: str = "index.html") -> Spec:
    return Spec(title=name, body="An app.", source="prompt", entry=entry)


def run(validator: Validator, name: str | Path, **kwargs) -> ValidationResult:
    folder = name if isinstance(name, Path) else PROJECTS / name
    kwargs.setdefault("checks", ["runtime"])
    return validator.validate(folder, spec(), **kwargs)


def only(result: ValidationResult, check: str):
    found = [f for f in result.findings if f.check == check]
    assert len(found) == 1, result.findings
    return found[0]


def test_good_app_passes_with_a_screenshot(validator: Validator, tmp_path: Path) -> None:
    shot = tmp_path / "shots" / "good.png"
    result = run(validator, "good", screenshot_path=shot)
    assert result.findings == []
    assert result.passed
    assert result.checks_run == ["runtime"]
    assert result.screenshot == shot and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.info["browser"].startswith("Chromium ")
    assert result.info["requests"] >= 5  # page, css, two modules, json
    assert 0 < result.seconds < 10


def test_page_is_loaded_settled_and_isolated(validator: Validator) -> None:
    """After open_session the module script has fetched data.json and rendered it."""
    host = validator.host
    with serve(PROJECTS / "good") as server:

        async def go():
            events = PageEvents()
            async with host.open_session(server.base_url, "index.html", timeouts=TIMEOUTS, events=events) as s:
                fruit = await s.page.get_by_role("listitem").all_inner_texts()
                size = s.page.viewport_size
                sw = await s.page.evaluate("typeof RTCPeerConnection === 'function' && (() => {"
                                           " try { new RTCPeerConnection(); return 'constructed'; }"
                                           " catch (e) { return e.name; } })()")
            return fruit, size, sw, events

        fruit, size, sw, events = host.run(go, 20)
    assert fruit == ["Apple", "Banana", "Cherry"]
    assert size == {"width": 1280, "height": 800}
    assert sw == "NotSupportedError"
    assert events.blocked_requests == [{"url": "RTCPeerConnection", "kind": "webrtc"}]


def test_console_error_is_reported_with_its_file_and_line(validator: Validator) -> None:
    result = run(validator, "console_error")
    finding = only(result, "console")
    assert finding.severity == "error"
    assert "could not find the score board" in finding.message
    assert finding.where == "app.js:2"
    assert not result.passed


def test_uncaught_exception_points_at_the_throwing_line(validator: Validator) -> None:
    finding = only(run(validator, "uncaught_exception"), "exception")
    assert "TypeError" in finding.message and "addEventListener" in finding.message
    assert finding.where == "app.js:3"
    assert "setup" in finding.evidence


def test_unhandled_rejection_is_an_exception(validator: Validator) -> None:
    finding = only(run(validator, "unhandled_rejection"), "exception")
    assert "scores could not be loaded" in finding.message
    assert finding.where == "app.js:2"


def test_missing_script_is_one_request_finding(validator: Validator) -> None:
    result = run(validator, "missing_script")
    assert len(result.findings) == 1, result.findings
    finding = result.findings[0]
    assert finding.check == "request" and finding.severity == "error"
    assert "js/game.js" in finding.message and "404" in finding.message
    assert finding.where == "js/game.js"


def test_blank_page_is_an_error(validator: Validator) -> None:
    result = run(validator, "blank")
    finding = only(result, "blank")
    assert finding.message.startswith("blank page")
    assert 'id="app"' in finding.evidence
    assert not result.passed


def test_missing_entry_is_a_finding_not_an_exception(validator: Validator, tmp_path: Path) -> None:
    (tmp_path / "other.html").write_text("<p>hi</p>", encoding="utf-8")
    result = run(validator, tmp_path)
    assert [f.message for f in result.findings] == ["entry page index.html does not exist"]
    assert not result.passed and result.checks_run == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("hung_before_load", "did not finish loading within 4 s"),
        ("hung_after_load", "stopped responding right after loading"),
    ],
)
def test_hung_page_costs_bounded_time_and_the_next_validation_works(
    validator: Validator, name: str, message: str
) -> None:
    started = time.monotonic()
    result = validator.validate(PROJECTS / name, spec())  # every check selected: they must be skipped
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUTS.load + 5, elapsed
    finding = only(result, "runtime")
    assert message in finding.message and finding.severity == "error"
    assert result.checks_run == []
    assert run(validator, "good").passed


def test_page_that_hangs_during_a_check_stops_the_run(validator: Validator, monkeypatch) -> None:
    async def check_freeze(ctx):
        await ctx.within(ctx.page.evaluate("setTimeout(() => { for (;;) {} }, 0)"), "starting the loop")
        await asyncio.sleep(0.2)
        await ctx.within(ctx.page.evaluate("document.title"), "reading the title")
        return []

    async def check_after(ctx):
        raise AssertionError("must not run after the page froze")

    add_check(monkeypatch, validator, "freeze", check_freeze)
    add_check(monkeypatch, validator, "after", check_after)
    started = time.monotonic()
    result = run(validator, "good", checks=["runtime", "freeze", "after"])
    assert time.monotonic() - started < TIMEOUTS.action * 3 + 6
    finding = only(result, "freeze")
    assert finding.severity == "error" and "stopped responding" in finding.message
    assert "reading the title" in finding.message
    assert result.checks_run == ["runtime", "freeze"]
    assert "freeze" in result.info["stopped"]
    assert run(validator, "good").passed


def test_crashed_page_is_a_finding_and_stops_the_checks(validator: Validator, monkeypatch) -> None:
    async def check_crash(ctx):
        try:
            await ctx.within(ctx.page.goto("chrome://crash"), "crashing the renderer")
        except Exception:
            pass  # the navigation fails as the renderer dies
        await asyncio.sleep(0.3)
        return []

    add_check(monkeypatch, validator, "crasher", check_crash)
    result = run(validator, "good", checks=["crasher", "runtime"])
    assert only(result, "crash").severity == "error"
    assert result.checks_run == ["crasher"] and result.info["skipped"] == ["runtime"]
    assert run(validator, "good").passed


def test_a_broken_check_is_a_warning_and_an_overrun_an_error(validator: Validator, monkeypatch) -> None:
    async def check_broken(ctx):
        raise KeyError("selector")

    async def check_slow(ctx):
        await asyncio.sleep(60)

    add_check(monkeypatch, validator, "broken", check_broken)
    add_check(monkeypatch, validator, "slow", check_slow)
    monkeypatch.setattr(validator, "timeouts", Timeouts(load=4, action=2, check=1.5, settle=0.3))
    result = run(validator, "good", checks=["broken", "slow", "runtime"])
    broken = only(result, "broken")
    assert broken.severity == "warning" and "KeyError" in broken.message
    slow = only(result, "slow")
    assert slow.severity == "error" and "the slow check did not finish within 1.5 s" in slow.message
    assert result.checks_run == ["broken", "slow", "runtime"]
    assert not result.passed
    assert not run(validator, "good", checks=["broken"], strict=True).passed


def test_unknown_check_names_are_refused(validator: Validator) -> None:
    with pytest.raises(UsageError, match="unknown check"):
        run(validator, "good", checks=["runtime", "spelling"])


def test_alert_loop_is_recorded_capped_and_does_not_hang(validator: Validator) -> None:
    started = time.monotonic()
    result = run(validator, "alert_loop")
    assert time.monotonic() - started < 10
    finding = only(result, "runtime")
    assert (finding.severity, finding.rule) == ("warning", "runtime/alert")
    assert "alert() dialog(s)" in finding.message and "Are you still there? 1" in finding.message
    assert result.passed
    strict = run(validator, "alert_loop", strict=True)
    assert not strict.passed and only(strict, "runtime").severity == "error"

    host = validator.host
    with serve(PROJECTS / "alert_loop") as server:

        async def linger():
            events = PageEvents()
            async with host.open_session(server.base_url, "index.html", timeouts=TIMEOUTS, events=events) as s:
                await asyncio.sleep(1.5)
                nags = await s.page.evaluate("nags")
                await asyncio.sleep(0.3)
                return events, nags, await s.page.evaluate("nags")

        events, nags, later = host.run(linger, 20)
    assert len(events.dialogs) == DIALOG_CAP
    assert later > nags > DIALOG_CAP  # the loop goes on, answered inside the page
    assert findings_from_events(events, server.base_url)[0].message.startswith(f"the page opened {DIALOG_CAP}+ alert()")


class Listener:
    """TCP and UDP on 127.0.0.2:<port>, remembering anything that arrives."""

    def __init__(self) -> None:
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.2", 0))
        self.tcp.listen(16)
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.2", self.port))
        self.received: list[tuple[str, bytes]] = []
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._recv, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            conn.settimeout(1)
            try:
                self.received.append(("tcp", conn.recv(200)))
            except OSError:
                self.received.append(("tcp", b""))
            conn.close()

    def _recv(self) -> None:
        while True:
            try:
                data, _ = self.udp.recvfrom(2048)
            except OSError:
                return
            self.received.append(("udp", data[:20]))

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


@pytest.fixture
def outside_app(tmp_path: Path):
    listener = Listener()
    app = tmp_path / "external_fetch"
    shutil.copytree(PROJECTS / "external_fetch", app)
    (app / "config.js").write_text(f'window.OUTSIDE = "127.0.0.2:{listener.port}";\n', encoding="utf-8")
    yield app, listener
    listener.close()


def test_outside_connections_are_blocked_reported_and_never_arrive(validator: Validator, outside_app) -> None:
    app, listener = outside_app
    outside = f"127.0.0.2:{listener.port}"
    result = run(validator, app)
    network = {f.where for f in result.findings if f.check == "network"}
    assert {
        f"http://{outside}/api/scores",
        "https://cdn.example.com/data.json",
        f"http://{outside}/pixel.png",
        f"http://{outside}/beacon",
        f"ws://{outside}/socket",
        f"ws://{outside}/frame-socket",
        f"stun:{outside}",
        f"http://{outside}/from-worker",
    } <= network
    assert all(f.severity == "error" for f in result.findings if f.check == "network")
    assert not [f for f in result.findings if f.check in ("console", "request")], result.findings
    time.sleep(0.3)
    assert listener.received == []


def test_page_guards_alone_stop_outside_connections(outside_app) -> None:
    """Without Chromium's resolver rules, routing and the init script still keep everything in."""
    app, listener = outside_app
    with BrowserHost(BrowserSettings(network_flags=False)) as host, serve(app) as server:

        async def linger():
            events = PageEvents()
            async with host.open_session(server.base_url, "index.html", timeouts=TIMEOUTS, events=events) as s:
                await asyncio.sleep(1.5)  # time for ICE gathering, retries, worker start-up
                return events, await s.page.locator("#log").inner_text()

        events, log = host.run(linger, 30)
        assert log == "Tried everything."
        assert {b["kind"] for b in events.blocked_requests} >= {"fetch", "image", "beacon", "websocket", "webrtc"}
        time.sleep(0.3)
        assert listener.received == []
        # The worker's WebSocket bypasses routing and the init script; it ends at our server, refused.
        assert ("CONNECT", f"127.0.0.2:{listener.port}") in [(r.method, r.path) for r in server.requests]

        async def control():
            # The same browser without runshot's guards reaches the listener: the test can fail.
            context = await (await host.browser()).new_context()
            try:
                page = await context.new_page()
                await page.goto(server.base_url + "index.html")
                await asyncio.sleep(1.0)
            finally:
                await context.close()

        host.run(control, 20)
    time.sleep(0.3)
    kinds = {kind for kind, _ in listener.received}
    assert "tcp" in kinds and "udp" in kinds, listener.received


def test_browser_is_relaunched_after_it_dies(validator: Validator) -> None:
    host = validator.host
    host.run(host.browser, 30)
    before = host.launches
    host.kill_browser()
    time.sleep(0.3)
    result = run(validator, "good")
    assert result.passed, result.findings
    assert host.launches == before + 1


def test_run_enforces_its_outer_deadline(validator: Validator) -> None:
    host = validator.host
    started = time.monotonic()
    with pytest.raises(CheckTimeout):
        host.run(lambda: asyncio.sleep(60), 1.0)
    assert time.monotonic() - started < 8
    assert run(validator, "good").passed


def test_validate_once_starts_and_stops_its_own_browser() -> None:
    result = validate_once(PROJECTS / "console_error", spec(), checks=["runtime"], timeouts=TIMEOUTS)
    assert only(result, "console").where == "app.js:2"


def test_where_is_relative_to_the_project() -> None:
    base = "http://127.0.0.1:8000/"
    assert where_for("http://127.0.0.1:8000/", 3, base, PROJECTS / "good") == "index.html:3"
    assert where_for("http://127.0.0.1:8000/js/a%20b.js", 7, base) == "js/a b.js:7"
    assert where_for("http://127.0.0.1:8000/docs/", None, base) == "docs/index.html"
    assert where_for("https://cdn.example.com/x.js", 1, base) == "https://cdn.example.com/x.js:1"
    events = PageEvents(
        console_errors=[{"text": "Failed to load resource: 404", "url": base + "a.js", "line": 1, "column": 1}],
        failed_requests=[{"url": base + "a.js", "status": 404, "status_text": "Not Found", "method": "GET"},
                         {"url": base + "b.js", "failure": "net::ERR_ABORTED", "method": "GET"}],
        page_errors=[{"message": "Error: x", "stack": f"Error: x\n    at f ({base}lib/m.js:4:2)"}],
    )
    found = {(f.check, f.where) for f in findings_from_events(events, base)}
    assert found == {("request", "a.js"), ("exception", "lib/m.js:4")}


def test_missing_chromium_is_an_environment_problem(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUNSHOT_CHROMIUM", str(tmp_path / "no-such-chrome"))
    with pytest.raises(EnvironmentProblem, match="RUNSHOT_CHROMIUM"):
        find_chromium()
    monkeypatch.delenv("RUNSHOT_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnvironmentProblem, match="apt-get install -y --no-install-recommends chromium"):
        find_chromium()
    with pytest.raises(EnvironmentProblem):
        BrowserSettings(executable=str(tmp_path / "chrome")).resolve_executable()


def _drivers() -> list[int]:
    """Playwright driver processes below this test process."""
    found = []
    for pid in process_tree(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"run-driver" in cmdline:
            found.append(pid)
    return found


def _wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_prestart_starts_the_driver_before_any_launch_and_the_launch_uses_it(tmp_path: Path) -> None:
    before = set(_drivers())
    host = BrowserHost()
    try:
        host.prestart()
        assert _wait_for(lambda: set(_drivers()) - before), "no Playwright driver was started"
        started = set(_drivers()) - before
        with Validator(host=host, timeouts=TIMEOUTS) as validator:
            result = validator.validate(PROJECTS / "good", spec(), checks=["runtime"])
        assert result.passed, result.findings
        assert host.launches == 1
        assert set(_drivers()) - before == started  # the launch used the driver prestart started
    finally:
        host.close()
    assert _wait_for(lambda: not set(_drivers()) - before, 10), "close() left the driver running"


def test_close_right_after_prestart_stops_the_starting_driver() -> None:
    before = set(_drivers())
    host = BrowserHost()
    host.prestart()
    host.close()
    assert _wait_for(lambda: not set(_drivers()) - before, 10), "a driver still starting outlived close()"


def test_the_headless_shell_is_preferred_when_headless(monkeypatch, tmp_path: Path) -> None:
    for name in ("chromium", "chromium-headless-shell"):
        exe = tmp_path / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.delenv("RUNSHOT_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium() == str(tmp_path / "chromium-headless-shell")
    assert find_chromium(headless=False) == str(tmp_path / "chromium")
    assert BrowserSettings(headless=False).resolve_executable() == str(tmp_path / "chromium")
    (tmp_path / "chromium-headless-shell").unlink()
    assert find_chromium() == str(tmp_path / "chromium")
