"""The bubblewrap sandbox: no network, no secrets, nothing writable but the project, nothing left running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from runshot.errors import EnvironmentProblem
from runshot.validators.sandbox.confined import (
    SandboxSpec,
    bwrap_argv,
    bwrap_path,
    chromium_wrapper,
    python_paths,
    run_sandboxed,
    sandbox_available,
    unavailable_reason,
)
from sandboxhelp import Listeners

FIXTURES = Path(__file__).parent / "fixtures" / "sandbox"
SECRET = "sk-runshot-test-secret-7f3a"

needs_bwrap = pytest.mark.skipif(
    not sandbox_available(),
    reason=f"bubblewrap is not usable here: {unavailable_reason()}",
)


def python_spec(**kwargs) -> SandboxSpec:
    """A spec that lets the sandbox run this Python interpreter."""
    return SandboxSpec(readonly=python_paths(), **kwargs)


def py(code: str) -> list[str]:
    return [os.path.realpath(sys.executable), "-I", "-c", code]


def processes_with(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def detach_script(tag: str, flag: str) -> str:
    """Shell: start `sleep TAG` in a session of its own plus one plain background child; wait until both run."""
    return (
        f"setsid sh -c 'touch {flag}; exec sleep {tag}' > /dev/null 2>&1 & "
        f"sleep {tag}1 > /dev/null 2>&1 & "
        f"while [ ! -e {flag} ]; do sleep 0.02; done; echo started"
    )


# ---- the sandbox itself ----


@needs_bwrap
def test_no_network_inside_but_shared_network_reaches_the_host():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        code = f"import socket; socket.create_connection(('127.0.0.1', {port}), 2); print('connected')"

        closed = run_sandboxed(py(code), python_spec(), timeout=20)
        assert closed.sandboxed
        assert closed.returncode != 0 and "connected" not in closed.stdout
        assert "ConnectionRefusedError" in closed.stderr  # a private loopback: nobody listens there
        server.settimeout(0.2)
        with pytest.raises(socket.timeout):
            server.accept()

        shared = run_sandboxed(py(code), python_spec(network=True), timeout=20)
        assert shared.returncode == 0 and "connected" in shared.stdout


@needs_bwrap
def test_environment_is_empty_even_in_proc_1(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    show = "env; echo ---; tr '\\0' '\\n' < /proc/1/environ; echo ---; tr '\\0' '\\n' < /proc/self/environ"
    command = ["sh", "-c", show]
    result = run_sandboxed(command, SandboxSpec(), timeout=20)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout
    assert "OPENAI_API_KEY" not in result.stdout
    assert "HOME=/tmp" in result.stdout
    assert set(line.split("=")[0] for line in result.stdout.split("---")[0].split()) <= {"PATH", "HOME", "LANG", "PWD"}
    # The control: --clearenv alone, with bwrap started in runshot's environment, leaves the key in /proc/1/environ.
    import subprocess

    leaky = subprocess.run(bwrap_argv(SandboxSpec(), command), capture_output=True, text=True, timeout=20)
    assert SECRET in leaky.stdout.split("---")[1] and SECRET not in leaky.stdout.split("---")[0]


@needs_bwrap
def test_only_the_writable_folder_is_writable(tmp_path):
    project, other = tmp_path / "project", tmp_path / "other"
    project.mkdir()
    other.mkdir()
    home = Path.home()
    script = (
        f"echo ok > {project}/made && echo project-ok; "
        f"echo x > {other}/made && echo other-ok; "
        f"echo x > {home}/runshot-sandbox-probe && echo home-ok; "
        "echo x > /usr/runshot-sandbox-probe && echo usr-ok; "
        "echo x > /tmp/inside && echo tmp-ok; "
        "true"
    )
    result = run_sandboxed(["sh", "-c", script], SandboxSpec(writable=[project], readonly=[other]), timeout=20)
    assert result.returncode == 0, result.stderr
    assert (project / "made").read_text() == "ok\n"
    assert "project-ok" in result.stdout and "tmp-ok" in result.stdout
    for denied in ("other-ok", "home-ok", "usr-ok"):
        assert denied not in result.stdout
    assert not (other / "made").exists()
    assert not (home / "runshot-sandbox-probe").exists()
    assert "Read-only file system" in result.stderr
    assert not Path("/tmp/inside").exists() or Path("/tmp/inside").read_text() != "x\n"


@needs_bwrap
def test_cannot_read_home_config_or_host_tmp(tmp_path):
    config = Path.home() / ".config" / f"runshot-sandbox-test-{uuid.uuid4().hex[:8]}"
    config.mkdir(parents=True)
    try:
        (config / "key").write_text(SECRET)
        (tmp_path / "key").write_text(SECRET)
        command = ["sh", "-c", f"cat {config}/key; cat {tmp_path}/key; ls -a {Path.home()}; cat /etc/shadow; true"]
        result = run_sandboxed(command, SandboxSpec(), timeout=20)
        assert result.returncode == 0
        assert SECRET not in result.stdout
        assert "No such file or directory" in result.stderr
        assert "root:" not in result.stdout  # /etc/shadow is hidden too
    finally:
        (config / "key").unlink(missing_ok=True)
        config.rmdir()


@needs_bwrap
def test_pid_namespace_ends_every_process_even_a_detached_one():
    tag = f"1000.{uuid.uuid4().int % 10**8}"
    result = run_sandboxed(["sh", "-c", detach_script(tag, "/tmp/detached")], SandboxSpec(), timeout=20)
    assert result.sandboxed and "started" in result.stdout
    time.sleep(0.3)
    assert processes_with(f"sleep\0{tag}") == []


def test_without_namespace_a_detached_process_survives(monkeypatch, tmp_path):
    """The control for the test above: without bubblewrap, a process that leaves the group outlives the run."""
    monkeypatch.setenv("RUNSHOT_SANDBOX", "off")
    tag = f"1000.{uuid.uuid4().int % 10**8}"
    script = detach_script(tag, str(tmp_path / "detached"))
    result = run_sandboxed(["sh", "-c", script], SandboxSpec(), 20)
    assert not result.sandboxed and "started" in result.stdout
    time.sleep(0.3)
    survivors = processes_with(f"sleep\0{tag}")
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors, "expected the detached process to survive outside the sandbox"


@pytest.mark.parametrize("mode", ["sandbox", "off"])
def test_timeout_kills_the_command_and_its_children(monkeypatch, mode):
    if mode == "sandbox" and not sandbox_available():
        pytest.skip(f"bubblewrap is not usable here: {unavailable_reason()}")
    if mode == "off":
        monkeypatch.setenv("RUNSHOT_SANDBOX", "off")
    tag = f"1000.{uuid.uuid4().int % 10**8}"
    started = time.monotonic()
    result = run_sandboxed(["sh", "-c", f"sleep {tag} & echo waiting; wait"], SandboxSpec(), timeout=1.0)
    assert result.timed_out and result.returncode is None
    assert time.monotonic() - started < 5
    assert "waiting" in result.stdout
    time.sleep(0.2)
    assert processes_with(f"sleep\0{tag}") == []


def test_fallback_runs_plainly_with_the_same_small_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RUNSHOT_SANDBOX", "off")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert bwrap_path() is None and not sandbox_available()
    assert "RUNSHOT_SANDBOX=off" in unavailable_reason()
    result = run_sandboxed(["sh", "-c", "pwd; env"], SandboxSpec(cwd=tmp_path), timeout=10)
    assert result.returncode == 0 and not result.sandboxed
    assert result.stdout.splitlines()[0] == str(tmp_path.resolve())
    assert SECRET not in result.stdout and "HOME=/tmp" in result.stdout


def test_missing_bwrap_falls_back_unless_required(monkeypatch):
    monkeypatch.delenv("RUNSHOT_SANDBOX", raising=False)  # the default mode, whatever the test run says
    monkeypatch.setenv("RUNSHOT_BWRAP", "/nonexistent/bwrap")
    assert bwrap_path() is None
    assert "was not found" in unavailable_reason()
    result = run_sandboxed(["true"], SandboxSpec(), timeout=10)
    assert result.returncode == 0 and not result.sandboxed
    monkeypatch.setenv("RUNSHOT_SANDBOX", "require")
    with pytest.raises(EnvironmentProblem):
        sandbox_available()


@needs_bwrap
def test_output_is_capped_keeping_both_ends():
    result = run_sandboxed(["sh", "-c", "echo FIRST; head -c 300000 /dev/zero | tr '\\0' x; echo; echo LAST"],
                           SandboxSpec(), timeout=20, output_limit=10_000)
    assert result.returncode == 0
    assert result.stdout.startswith("FIRST") and result.stdout.rstrip().endswith("LAST")
    assert len(result.stdout) < 12_000 and "bytes left out" in result.stdout


@needs_bwrap
def test_memory_and_file_size_limits(tmp_path):
    grab = run_sandboxed(py("b = bytearray(600 * 1024 * 1024); print('got it')"), python_spec(memory_mb=300), 20)
    assert grab.returncode != 0 and "MemoryError" in grab.stderr
    fine = run_sandboxed(py("b = bytearray(50 * 1024 * 1024); print('got it')"), python_spec(memory_mb=300), 20)
    assert fine.returncode == 0 and "got it" in fine.stdout
    big = run_sandboxed(["sh", "-c", f"head -c 3000000 /dev/zero > {tmp_path}/big"],
                        SandboxSpec(writable=[tmp_path], max_file_bytes=1_000_000), 20)
    assert big.returncode != 0
    assert (tmp_path / "big").stat().st_size <= 1_000_000


# ---- the browser and the app's server inside the sandbox ----


def test_serve_cli_serves_with_the_static_server_rules(tmp_path):
    import subprocess

    (tmp_path / "index.html").write_text("<h1>hi</h1>")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("secret")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "runshot.validators.serve.cli", str(tmp_path), str(port)],
                            stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                with urllib.request.urlopen(base, timeout=1) as answer:
                    body, cache = answer.read(), answer.headers["Cache-Control"]
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("serve_cli did not answer")
        assert body == b"<h1>hi</h1>" and cache == "no-store"
        with urllib.request.urlopen(base + "favicon.ico", timeout=2) as answer:
            assert answer.status == 204
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + ".git/config", timeout=2)
        assert refused.value.code == 404
    finally:
        proc.kill()
        proc.wait()



def test_serve_cli_exec_program_reaches_the_server_at_once_and_outlives_nothing(tmp_path):
    """With --exec the program starts before the server's code is loaded (the child loads it): a request it makes
    at once waits in the listening socket's queue and is answered with the server's rules, and the program
    gets neither the listening socket nor any other descriptor of the server."""
    import subprocess

    (tmp_path / "index.html").write_text("<h1>hi</h1>")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    program = (
        "import json, os, urllib.request\n"
        f"answer = urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=10)\n"
        "print(answer.read().decode(), answer.headers['Cache-Control'])\n"
        "print(json.dumps(sorted(int(fd) for fd in os.listdir('/proc/self/fd'))))\n"
    )
    done = subprocess.run([sys.executable, "-m", "runshot.validators.serve.cli", str(tmp_path), str(port),
                           "--exec", sys.executable, "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    body, fds = done.stdout.splitlines()
    assert body == "<h1>hi</h1> no-store"
    assert all(fd < 3 for fd in json.loads(fds)[:-1])  # stdin, stdout, stderr (and the listing's own one)


async def _visit(executable: str, url: str, linger: float) -> tuple[str, str]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await asyncio.wait_for(
            p.chromium.launch(executable_path=executable, args=["--disable-gpu"], timeout=30_000), 40
        )
        try:
            page = await browser.new_page()
            await asyncio.wait_for(page.goto(url, wait_until="load", timeout=15_000), 20)
            await asyncio.sleep(linger)  # give every attempt time to go out (and the listeners to see it)
            heading = await asyncio.wait_for(page.text_content("h1"), 5)
            status = await asyncio.wait_for(page.text_content("#status"), 5)
            return heading or "", status or ""
        finally:
            await asyncio.wait_for(browser.close(), 15)


@needs_bwrap
def test_browser_in_sandbox_loads_the_app_and_nothing_leaves(tmp_path):
    from runshot.validators.browser.chromium import find_chromium

    with Listeners() as listeners:
        # The app's server inside the sandbox takes the very port a host listener holds on 127.0.0.1:
        # it can, because the sandbox has its own loopback.
        port = listeners.local_port
        wrapper = chromium_wrapper(find_chromium(), FIXTURES / "leaky", port, tmp_path)
        query = f"?host=127.0.0.2&tcp={listeners.tcp_port}&udp={listeners.udp_port}&local={listeners.local_port}"
        heading, status = asyncio.run(_visit(str(wrapper), f"http://127.0.0.1:{port}/{query}", linger=1.5))
        assert heading == "Leaky app loaded"
        for attempt in ("fetch", "img", "websocket", "beacon", "local fetch", "webrtc"):
            assert attempt in status
        assert "(threw)" not in status  # nothing in the page stopped them: only the sandbox did
        assert listeners.snapshot() == []


def test_the_leaky_app_does_leak_without_a_sandbox():
    """The control for the test above: plain Chromium, no blocking at all, reaches the host's listeners."""
    from runshot.validators.browser.chromium import find_chromium
    from runshot.validators.serve.server import serve

    with Listeners() as listeners, serve(FIXTURES / "leaky") as server:
        query = f"?host=127.0.0.2&tcp={listeners.tcp_port}&udp={listeners.udp_port}&local={listeners.local_port}"
        heading, _ = asyncio.run(_visit(find_chromium(), server.base_url + query, linger=1.5))
        assert heading == "Leaky app loaded"
        kinds = {(hit.kind, hit.address) for hit in listeners.snapshot()}
        assert ("tcp", f"127.0.0.2:{listeners.tcp_port}") in kinds
        assert ("tcp", f"127.0.0.1:{listeners.local_port}") in kinds
        assert ("udp", f"127.0.0.2:{listeners.udp_port}") in kinds  # the STUN request


@needs_bwrap
def test_browser_host_runs_through_the_wrapper_with_both_layers(tmp_path):
    """The wiring the validator uses: BrowserHost with the wrapper as its executable, base URL on the sandbox port.

    One browser serves many validations of one project folder: the folder is bound, not copied, so a rebuilt
    dist/ (deleted and made again) is what the next page load sees.
    """
    import shutil

    from runshot.validators.browser.chromium import BrowserHost, BrowserSettings, find_chromium

    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "leaky", project / "dist")
    with Listeners() as listeners:
        port = 8765  # any port: the sandbox's loopback is its own
        wrapper = chromium_wrapper(find_chromium(), project / "dist", port, tmp_path / "wrap", mount_root=project)
        query = f"?host=127.0.0.2&tcp={listeners.tcp_port}&udp={listeners.udp_port}&local={listeners.local_port}"

        async def visit():
            async with host.open_session(f"http://127.0.0.1:{port}/", query) as session:
                await asyncio.sleep(1.0)
                return await session.page.text_content("h1"), list(session.events.blocked_requests)

        host = BrowserHost(BrowserSettings(executable=str(wrapper)))
        try:
            heading, blocked = host.run(visit, 60)
            shutil.rmtree(project / "dist")
            shutil.copytree(FIXTURES / "leaky", project / "dist")
            index = project / "dist" / "index.html"
            index.write_text(index.read_text().replace("Leaky app loaded", "Rebuilt app loaded"))
            heading_after, _ = host.run(visit, 60)
            launches = host.launches
        finally:
            host.close()
        assert heading == "Leaky app loaded" and heading_after == "Rebuilt app loaded" and launches == 1
        assert {entry["kind"] for entry in blocked} >= {"fetch", "websocket", "webrtc"}  # the browser layer saw them
        assert listeners.snapshot() == []


def test_serve_cli_serves_several_folders_each_on_its_port_and_logs_which(tmp_path):
    """One serve_cli for two folders (as one sandboxed browser checking several apps runs it): each folder on its
    own port, every request recorded with the port that answered it, and a port given twice is a usage error."""
    import subprocess

    from runshot.validators.serve.server import RequestFeed, RequestRecord

    roots = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(f"<h1>{name}</h1>")
        roots.append(tmp_path / name)
    ports = []
    for _ in roots:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    program = (
        "import urllib.request\n"
        f"for port in {ports}:\n"
        "    print(urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=10).read().decode())\n"
        f"urllib.request.urlopen('http://127.0.0.1:{ports[1]}/nothing', timeout=10)\n"
    )
    (tmp_path / "log").mkdir()
    with RequestFeed(tmp_path / "log" / "requests") as feed:
        done = subprocess.run([sys.executable, "-m", "runshot.validators.serve.cli", str(roots[0]), str(ports[0]),
                               str(roots[1]), str(ports[1]), "--log", str(feed.path), "--exec", sys.executable,
                               "-c", program], capture_output=True, text=True, timeout=30)
        assert done.stdout.splitlines()[:2] == ["<h1>one</h1>", "<h1>two</h1>"], done.stderr
        assert "HTTP Error 404" in done.stderr  # the last request: a file that folder two does not have
        for _ in range(50):
            if len(feed.since(0)) == 3:
                break
            time.sleep(0.05)
        assert feed.since(0, ports[0]) == [RequestRecord("GET", "/", 200)]
        assert feed.since(0, ports[1]) == [RequestRecord("GET", "/", 200), RequestRecord("GET", "/nothing", 404)]
    twice = subprocess.run([sys.executable, "-m", "runshot.validators.serve.cli", str(roots[0]), str(ports[0]),
                            str(roots[1]), str(ports[0])], capture_output=True, text=True, timeout=30)
    assert twice.returncode == 2 and twice.stderr.startswith("usage:") and len(twice.stderr.splitlines()) == 1
