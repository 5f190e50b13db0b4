"""The Validator with the sandbox wired in: the app's server and Chromium inside bubblewrap, or the fallback.

Each test picks its mode itself (RUNSHOT_SANDBOX=auto or off), so the file means the same whatever the
environment of the test run says.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from runshot.errors import EnvironmentProblem
from runshot.spec import Spec, parse_spec_file
from runshot.validators.sandbox import confined as sandbox_module
from runshot.validators.browser.chromium import BrowserSettings
from runshot.validators.browser.context import Timeouts
from runshot.validators.runner.project import ValidationRequest, Validator
from runshot.validators.serve.server import RequestFeed, RequestRecord, serve
from sandboxhelp import Listeners

FIXTURES = Path(__file__).parent / "fixtures"
PROJECTS = FIXTURES / "projects"
LEAKY = FIXTURES / "sandbox" / "leaky"
TIMEOUTS = Timeouts(load=8.0, action=3.0, check=30.0, settle=0.3)
SECRET = "sk-runshot-validation-secret-91c2"


def use_mode(monkeypatch, mode: str) -> None:
    """Validate in `mode` ("sandbox" or "off"); skip when the sandbox cannot work here."""
    monkeypatch.delenv("RUNSHOT_BWRAP", raising=False)
    monkeypatch.setenv("RUNSHOT_SANDBOX", "auto" if mode == "sandbox" else "off")
    if mode == "sandbox" and not sandbox_module.sandbox_available():
        pytest.skip(f"bubblewrap is not usable here: {sandbox_module.unavailable_reason()}")


@pytest.fixture(params=["sandbox", "off"])
def mode(request, monkeypatch) -> str:
    use_mode(monkeypatch, request.param)
    return request.param


def spec(entry: str = "index.html") -> Spec:
    return Spec(title="app", body="An app.", source="prompt", entry=entry)


def process_tree(root: int) -> dict[int, list[bytes]]:
    """pid -> argv of every process below `root` (this one's children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                try:
                    found[pid] = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                todo.append(pid)
    return found


def environ(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "environ").read_bytes()
    except OSError:
        return b""


def browser_mains(marker: str) -> list[int]:
    """Main Chromium processes carrying a host's marker switch (not its renderers, nor the sandbox around it)."""
    out = []
    for pid, argv in process_tree(os.getpid()).items():
        helper = any(a.startswith(b"--type=") for a in argv)
        name = os.path.basename(argv[0]) if argv else b""
        if marker.encode() in argv and name.startswith((b"chromium", b"chrome")) and not helper:
            out.append(pid)
    return out


# ---- what the Validator does in each mode ----


def test_leaky_app_is_reported_and_nothing_reaches_the_host(monkeypatch):
    use_mode(monkeypatch, "sandbox")
    with Listeners() as listeners, Validator(timeouts=TIMEOUTS) as validator:
        query = f"host=127.0.0.2&tcp={listeners.tcp_port}&udp={listeners.udp_port}&local={listeners.local_port}"
        result = validator.validate(LEAKY, spec(f"index.html?{query}"), checks=["runtime"])
        time.sleep(1.0)  # time for anything that got out to arrive
        assert validator.sandboxed and result.info["sandbox"] == "bubblewrap"
        network = {f.where for f in result.findings if f.check == "network"}
        outside = f"127.0.0.2:{listeners.tcp_port}"
        assert {
            f"http://{outside}/fetch",
            f"http://{outside}/img.png",
            f"ws://{outside}/ws",
            f"http://{outside}/beacon",
            f"http://127.0.0.1:{listeners.local_port}/local",
            f"stun:127.0.0.2:{listeners.udp_port}",
        } <= network, result.findings
        assert not result.passed
        assert result.info["requests"] >= 2  # index.html and leak.js, reported from inside the sandbox
        assert listeners.snapshot() == []
        # The control: the listeners do record what reaches them.
        socket.create_connection(("127.0.0.2", listeners.tcp_port), 2).close()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"ping", ("127.0.0.2", listeners.udp_port))
        time.sleep(0.5)
        assert {hit.kind for hit in listeners.snapshot()} == {"tcp", "udp"}


def test_same_findings_with_and_without_the_sandbox(monkeypatch):
    counter = parse_spec_file(FIXTURES / "specs" / "counter.md")
    cases = [
        (PROJECTS / "good", counter, ["runtime", "a11y", "semantics", "acceptance"]),
        (FIXTURES / "checks" / "bad_missing_alt", spec(), ["runtime", "a11y"]),
        (FIXTURES / "checks" / "bad_clickable_div", spec(), ["runtime", "semantics"]),
        (PROJECTS / "missing_script", spec(), ["runtime"]),
    ]
    seen = {}
    for mode in ("sandbox", "off"):
        use_mode(monkeypatch, mode)
        with Validator(timeouts=TIMEOUTS) as validator:
            assert validator.sandboxed is (mode == "sandbox")
            seen[mode] = [validator.validate(folder, s, checks=checks) for folder, s, checks in cases]
    for boxed, plain in zip(seen["sandbox"], seen["off"]):
        assert boxed.info["sandbox"] == "bubblewrap" and plain.info["sandbox"].startswith("none (")
        assert sorted((f.check, f.where) for f in boxed.findings) == sorted((f.check, f.where) for f in plain.findings)
        assert boxed.checks_run == plain.checks_run and boxed.passed == plain.passed
        # What the app's server answered, counted from inside the sandbox too (favicon timing may differ).
        assert boxed.info["requests"] >= 2 and abs(boxed.info["requests"] - plain.info["requests"]) <= 2
    good = seen["sandbox"][0]
    assert good.passed and good.findings == []
    # The spec's pytest file ran too, its Chromium launched through the same sandbox wrapper.
    assert good.info["acceptance_tests"] == {"files": ["test_counter.py"], "tests": 2, "failed": 0}
    assert [f.check for f in seen["sandbox"][1].findings] == ["a11y"]
    assert [(f.check, f.where) for f in seen["sandbox"][2].findings] == [("semantics", "#like")]
    assert [f.where for f in seen["sandbox"][3].findings] == ["js/game.js"]


def test_no_chromium_process_sees_the_api_key(mode, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with Validator(timeouts=TIMEOUTS) as validator:
        result = validator.validate(PROJECTS / "good", spec(), checks=["runtime"])
        assert result.passed, result.findings
        tree = process_tree(os.getpid())  # the browser stays open between validations: look at it now
        environs = {pid: environ(pid) for pid in tree}
    # Chromium rewrites its helpers' command lines: "/usr/lib/chromium/chromium --type=zygote ..." in argv[0].
    chromium = [pid for pid, argv in tree.items() if b"chromium" in argv[0] or b"chrome" in argv[0]]
    assert len(chromium) >= 3, tree  # the browser and its helpers (zygotes, renderer, crash handler)
    leaking = {pid: tree[pid][0] for pid in tree if SECRET.encode() in environs[pid]}
    drivers = [pid for pid, argv in tree.items() if any(b"run-driver" in a for a in argv)]
    # The control: Playwright's driver (trusted, outside) has the key, so this test could see a leak.
    assert drivers and set(leaking) == set(drivers), {pid: tree[pid][:3] for pid in leaking}
    if mode == "sandbox":
        assert any(argv[0].endswith(b"bwrap") for argv in tree.values())


def test_one_validator_many_folders(mode, tmp_path):
    app = tmp_path / "app"
    shutil.copytree(PROJECTS / "good", app)
    with Validator(timeouts=TIMEOUTS) as validator:
        host = validator.host
        first = validator.validate(app, spec(), checks=["runtime"])
        launches = host.launches
        # The same folder, changed between iterations: no relaunch, and the change is what gets served.
        (app / "index.html").write_text((app / "index.html").read_text().replace("</body>",
                                        "<script>console.error('iteration two broke it')</script></body>"))
        second = validator.validate(app, spec(), checks=["runtime"])
        assert host.launches == launches
        # Another folder, then the first again: each shows its own files.
        other = validator.validate(PROJECTS / "console_error", spec(), checks=["runtime"])
        again = validator.validate(app, spec(), checks=["runtime"])
        # The folder deleted and written anew (a fresh checkout): its new files are served.
        shutil.rmtree(app)
        shutil.copytree(PROJECTS / "good", app)
        fresh = validator.validate(app, spec(), checks=["runtime"])
        alive = browser_mains(host._marker)  # noqa: SLF001 (which processes belong to this host)
        total = host.launches
    assert first.passed and fresh.passed
    assert [(f.check, f.message) for f in second.findings] == [("console", "console error: iteration two broke it")]
    assert [(f.check, f.where) for f in other.findings] == [("console", "app.js:2")]
    assert [f.message for f in again.findings] == ["console error: iteration two broke it"]
    assert len(alive) == 1  # one browser at a time
    # Off: one browser for everything. Sandbox: one per folder binding (app, console_error, app, new app).
    assert total == (1 if mode == "off" else 4)


def test_many_folders_share_one_sandboxed_browser_and_stay_apart(monkeypatch, tmp_path):
    """validate_many binds the folders with nothing to build into one sandbox: one launch for all of them, each
    app on a port of its own, with the findings and request counts it gets alone. An app that asks another
    app's port is blocked and reported as an outside request (and that app's server never hears of it); a
    project with a package.json is validated by a browser of its own."""
    use_mode(monkeypatch, "sandbox")
    peeker = tmp_path / "peeker"
    peeker.mkdir()
    neighbour = f"http://127.0.0.1:{sandbox_module.SANDBOX_PORT + 1}/index.html"  # where the second folder is
    (peeker / "index.html").write_text(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Peeker</title></head><body><main>"
        f"<h1>Peeker</h1><p id=out>-</p></main><script>fetch('{neighbour}').then(r => r.text())"
        ".then(t => { out.textContent = t.length }, () => { out.textContent = 'no' })</script></body></html>"
    )
    packaged = tmp_path / "packaged"
    shutil.copytree(PROJECTS / "console_error", packaged)
    (packaged / "package.json").write_text('{"name": "packaged", "private": true}')  # no build script
    folders = [peeker, PROJECTS / "good", PROJECTS / "console_error", packaged, PROJECTS / "missing_script"]
    with Validator(timeouts=TIMEOUTS) as validator:
        alone = [validator.validate(folder, spec(), checks=["runtime"]) for folder in folders]
        before = validator.host.launches
        together = validator.validate_many([ValidationRequest(f, spec()) for f in folders], checks=["runtime"],
                                           jobs=2)
        launches = validator.host.launches - before
    assert launches == 1  # four folders, one browser (the packaged one had its own)
    for one, many in zip(alone, together):
        assert sorted((f.check, f.rule, f.where) for f in many.findings) == \
            sorted((f.check, f.rule, f.where) for f in one.findings)
        assert many.info["requests"] == one.info["requests"]
    peeked = [f for f in together[0].findings if f.check == "network"]
    assert [f.where for f in peeked] == [neighbour], together[0].findings
    assert together[1].passed and together[1].info["requests"] == alone[1].info["requests"]
    assert [f.where for f in together[3].findings] == [f.where for f in alone[2].findings] == ["app.js:2"]


def test_fallback_is_announced_once(monkeypatch, capsys):
    monkeypatch.setenv("RUNSHOT_SANDBOX", "auto")
    monkeypatch.setenv("RUNSHOT_BWRAP", "/nonexistent")
    monkeypatch.setattr(sandbox_module, "_ANNOUNCED", set())
    capsys.readouterr()
    results = []
    for _ in range(2):
        with Validator(timeouts=TIMEOUTS) as validator:
            assert not validator.sandboxed
            results.append(validator.validate(PROJECTS / "good", spec(), checks=["runtime"]))
    err = capsys.readouterr().err
    line = ("bubblewrap not available (RUNSHOT_BWRAP=/nonexistent was not found): "
            "generated code runs with browser-level blocking only")
    assert [x for x in err.splitlines() if "bubblewrap" in x] == [line]
    assert all(r.passed and r.info["sandbox"] == "none (RUNSHOT_BWRAP=/nonexistent was not found)" for r in results)
    # Asked for explicitly, the sandbox's absence is an error before any browser starts.
    monkeypatch.delenv("RUNSHOT_SANDBOX")
    with pytest.raises(EnvironmentProblem, match="RUNSHOT_BWRAP=/nonexistent was not found"):
        Validator(BrowserSettings(sandbox="require"))
    # Turned off on purpose: nothing to announce.
    monkeypatch.setenv("RUNSHOT_SANDBOX", "off")
    monkeypatch.setattr(sandbox_module, "_ANNOUNCED", set())
    Validator().close()
    assert "bubblewrap" not in capsys.readouterr().err


def test_flag_beats_environment_beats_default(monkeypatch):
    monkeypatch.delenv("RUNSHOT_SANDBOX", raising=False)
    assert sandbox_module.sandbox_mode("off") == "off" and sandbox_module.sandbox_mode("require") == "require"
    with Validator(BrowserSettings(sandbox="off")) as validator:
        assert not validator.sandboxed and validator.sandbox_reason == "sandboxing is off"
    monkeypatch.setenv("RUNSHOT_SANDBOX", "off")
    # An explicit setting (the --sandbox flag) wins over the environment; "auto" (the default) defers to it.
    assert sandbox_module.sandbox_mode("require") == "require"
    assert sandbox_module.sandbox_mode("auto") == "off" and sandbox_module.sandbox_mode(None) == "off"


# ---- builds ----

BUILD_JS = """
const fs = require("fs");
fs.mkdirSync("dist", { recursive: true });
for (const name of fs.readdirSync("src")) fs.copyFileSync("src/" + name, "dist/" + name);
"""


def built_project(root: Path) -> Path:
    shutil.copytree(PROJECTS / "good", root / "src")
    (root / "build.js").write_text(BUILD_JS)
    (root / "package.json").write_text(json.dumps({"name": "app", "private": True,
                                                   "scripts": {"build": "node build.js"}}))
    return root


def test_a_project_with_a_build_script_is_built_then_served(monkeypatch, tmp_path):
    use_mode(monkeypatch, "sandbox")
    if not (shutil.which("npm") and shutil.which("node")):
        pytest.skip("npm and node are not installed")
    project = built_project(tmp_path / "app")
    with Validator(timeouts=TIMEOUTS) as validator:
        result = validator.validate(project, spec(), checks=["runtime"])
        assert result.passed, result.findings
        assert result.checks_run == ["build", "runtime"] and result.info["served"] == "dist"
        # The next iteration rebuilds dist/ from a changed source: the same browser serves the new build.
        launches = validator.host.launches
        index = project / "src" / "index.html"
        index.write_text(index.read_text().replace("</body>", "<script>console.error('rebuilt')</script></body>"))
        again = validator.validate(project, spec(), checks=["runtime"])
        assert [f.message for f in again.findings] == ["console error: rebuilt"]
        assert validator.host.launches == launches
        # A failing build is a finding, and nothing is served.
        (project / "build.js").write_text("process.exit(3)")
        broken = validator.validate(project, spec(), checks=["runtime"])
    assert [f.check for f in broken.findings] == ["build"] and "exit code 3" in broken.findings[0].message
    assert broken.checks_run == ["build"] and broken.info["stopped"] == "the build failed"


def test_without_the_sandbox_a_build_is_refused(monkeypatch, tmp_path):
    use_mode(monkeypatch, "off")
    project = built_project(tmp_path / "app")
    with Validator(timeouts=TIMEOUTS) as validator:
        result = validator.validate(project, spec(), checks=["runtime"])
    assert [f.check for f in result.findings] == ["build"] and "sandbox" in result.findings[0].message
    assert not (project / "dist").exists() and not result.passed


# ---- the pieces: a chosen port, and request records across processes ----


def test_server_on_a_chosen_port(tmp_path):
    (tmp_path / "index.html").write_text("<p>hi</p>")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with serve(tmp_path, port=port) as server:
        assert server.base_url == f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(server.base_url, timeout=5) as answer:
            assert answer.read() == b"<p>hi</p>"
        with pytest.raises(OSError):  # taken
            serve(tmp_path, port=port).start()


def test_serve_cli_reports_requests_through_a_fifo(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>hi</p>")
    (tmp_path / "log").mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with RequestFeed(tmp_path / "log" / "fifo") as feed:
        start = feed.mark()
        proc = subprocess.Popen([sys.executable, "-m", "runshot.validators.serve.cli", str(tmp_path / "site"),
                                 str(port), "--log", str(feed.path)], stderr=subprocess.PIPE)
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.05)
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/missing.js", timeout=2)
            conn = socket.create_connection(("127.0.0.1", port), 2)  # a browser using the server as its proxy
            conn.sendall(b"GET http://outside.example/x HTTP/1.0\r\n\r\n")
            conn.recv(100)
            conn.close()
            records = feed.since(start)
            deadline = time.monotonic() + 10
            while len(records) < 3 and time.monotonic() < deadline:  # each line is written after its answer
                time.sleep(0.05)
                records = feed.since(start)
        finally:
            proc.kill()
            proc.wait()
    assert records[0] == RequestRecord("GET", "/", 200)
    # the server answers on threads: the last two lines may come in either order
    later = sorted(records[1:], key=lambda r: r.path)
    assert later == [RequestRecord("GET", "/missing.js", 404), RequestRecord("GET", "http://outside.example/x", 403)]
    assert [r.proxied for r in later] == [False, True]


def test_feed_ignores_what_is_not_a_record(tmp_path):
    with RequestFeed(tmp_path / "fifo") as feed:
        fd = os.open(feed.path, os.O_WRONLY)
        os.write(fd, b'garbage\n{"m": "GET", "p": "/a", "s": 200}\n{"m": 1}\n' + b"x" * 20000 + b"\n")
        os.write(fd, b'{"m": "GET", "p": "/b", "s": 404}\n')
        os.close(fd)
        assert feed.since(0) == [RequestRecord("GET", "/a", 200), RequestRecord("GET", "/b", 404)]
