"""`runshot check` of running apps by URL, `--start`, several pages, outside hosts and runshot.toml.

Everything is real: the CLI in a subprocess, apps served by real `http.server` processes, headless Chromium.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runshot.spec import Spec
from runshot.validators.browser.chromium import BrowserSettings
from runshot.validators.runner.project import validate_once
from siteapps import free_port, page, read_json, three_page_site, write_api_app

CLI = "from runshot.cli import main; main()"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def processes_with(marker: str) -> list[str]:
    """Command lines of running processes that contain `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z" and "runshot.cli" not in cmdline:  # the app's, not runshot's own
            found.append(cmdline)
    return found


@pytest.fixture
def api_app(tmp_path: Path):
    """The notes app (JSON API) running on a free port: yields its URL; stopped afterwards."""
    port = free_port()
    argv = write_api_app(tmp_path / "app")
    proc = subprocess.Popen([*argv, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            import urllib.request

            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield url
    proc.kill()
    proc.wait(5)


class _Cors(SimpleHTTPRequestHandler):
    """A static server that lets any origin read its files (as font and stylesheet hosts do)."""

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, *args):
        self.server.paths.append(self.path)


@pytest.fixture
def outside_host(tmp_path: Path):
    """Another origin (http://localhost:PORT) serving style.css; yields (origin, paths it was asked for)."""
    root = tmp_path / "cdn"
    root.mkdir()
    (root / "style.css").write_text("body { color: #222; }\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Cors, directory=str(root)))
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}", server.paths
    server.shutdown()
    server.server_close()


def test_url_of_a_running_app_with_a_json_api(api_app: str, tmp_path: Path):
    out = tmp_path / "out"
    run = run_cli("check", api_app, "--json", str(out / "r.json"), "--junit", str(out / "r.xml"),
                  "--summary", str(out / "s.md"))
    assert run.returncode == 0, run.stderr
    data = read_json(out / "r.json")
    assert data["passed"] and data["errors"] == 0
    assert data["info"]["url"] == api_app
    # The entry page's link was followed: both pages checked, each named.
    assert [p["page"] for p in data["pages"]] == ["/", "/about"]
    assert all(p["passed"] for p in data["pages"])
    assert len(ET.parse(out / "r.xml").getroot().findall("testsuite")) == 2
    assert "| `/about` | ✅ |" in (out / "s.md").read_text()


def test_url_findings_name_urls_and_pages(api_app: str, tmp_path: Path):
    report = tmp_path / "r.json"
    run = run_cli("check", api_app, "--page", "/broken", "--checks", "runtime", "--json", str(report))
    assert run.returncode == 1, run.stderr
    data = read_json(report)
    failed = [f for f in data["findings"] if f.get("rule") == "runtime/request-failed"]
    assert failed and failed[0]["page"] == "/broken"
    assert failed[0]["where"] == api_app + "api/missing"  # no folder: the URL itself, not a file path
    assert [p["page"] for p in data["pages"]] == ["/", "/broken"]  # named pages: no link following
    assert "/broken: [request]" in run.stderr


def test_nothing_to_check_is_a_usage_error(tmp_path: Path):
    run = run_cli("check", cwd=tmp_path, timeout=60)
    assert run.returncode == 2 and "nothing to check" in run.stderr


def test_url_elsewhere_needs_any_host():
    run = run_cli("check", "http://example.com/")
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "--any-host" in run.stderr


def test_start_waits_for_a_late_server_and_stops_it(tmp_path: Path):
    port = free_port()
    argv = write_api_app(tmp_path / "app")
    command = " ".join([*argv, str(port), "2"])
    started = time.monotonic()
    run = run_cli("check", "--start", command, "--url", f"http://127.0.0.1:{port}/", "--pages", "1")
    assert run.returncode == 0, run.stderr
    assert time.monotonic() - started > 2
    assert processes_with(f"notes_app.py {port}") == []


def test_start_that_never_serves_is_a_clear_error_and_leaves_nothing(tmp_path: Path):
    port = free_port()
    marker = f"never-serves-{port}"
    command = f"{sys.executable} -c \"import time; print('booting {marker}', flush=True); time.sleep(120)\""
    started = time.monotonic()
    run = run_cli("check", "--start", command, "--url", f"http://127.0.0.1:{port}/", "--start-timeout", "3")
    assert run.returncode == 2
    assert time.monotonic() - started < 60
    assert "did not make" in run.stderr and "within 3 s" in run.stderr
    assert marker in run.stderr and "booting" in run.stderr  # names the command and its last output
    assert "Traceback" not in run.stderr
    assert processes_with(marker) == []


def test_start_that_dies_is_a_clear_error(tmp_path: Path):
    port = free_port()
    command = f"{sys.executable} -c \"import sys; print('port {port} is taken', file=sys.stderr); sys.exit(3)\""
    run = run_cli("check", "--start", command, "--url", f"http://127.0.0.1:{port}/")
    assert run.returncode == 2
    assert "exited with code 3" in run.stderr and f"port {port} is taken" in run.stderr
    assert "Traceback" not in run.stderr


def test_three_pages_only_the_third_fails(tmp_path: Path):
    site = three_page_site(tmp_path / "site")
    out = tmp_path / "out"
    run = run_cli("check", str(site), "--json", str(out / "r.json"), "--junit", str(out / "r.xml"),
                  "--summary", str(out / "s.md"))
    assert run.returncode == 1, run.stderr
    data = read_json(out / "r.json")
    pages = {p["page"]: p for p in data["pages"]}
    assert list(pages) == ["/index.html", "/page2.html", "/page3.html"]
    assert pages["/index.html"]["passed"] and pages["/index.html"]["errors"] == 0
    assert pages["/page2.html"]["passed"] and pages["/page2.html"]["errors"] == 0
    assert not pages["/page3.html"]["passed"]
    errors = [f for f in data["findings"] if f["severity"] == "error"]
    assert errors and {f["page"] for f in errors} == {"/page3.html"}
    assert any(f.get("rule") == "image-alt" for f in errors)
    suites = ET.parse(out / "r.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["runshot: site /index.html", "runshot: site /page2.html",
                                               "runshot: site /page3.html"]
    assert [s.get("failures") for s in suites][:2] == ["0", "0"] and suites[2].get("failures") != "0"
    assert "| `/page3.html` | ❌ |" in (out / "s.md").read_text()


def test_pages_one_is_the_entry_page_alone(tmp_path: Path):
    site = three_page_site(tmp_path / "site")
    report = tmp_path / "r.json"
    run = run_cli("check", str(site), "--pages", "1", "--checks", "runtime,a11y", "--json", str(report))
    assert run.returncode == 0, run.stderr
    data = read_json(report)
    assert "pages" not in data and all("page" not in f for f in data["findings"])


def _outside_site(root: Path, origin: str) -> Path:
    root.mkdir(parents=True)
    links = f'<link rel="stylesheet" href="{origin}/style.css"><link rel="stylesheet" href="{origin}/print.css" ' \
            'media="print">'
    (root / "index.html").write_text(page("Outside", "<main><h1>Styled elsewhere</h1><p>Text.</p></main>", links))
    return root


def test_outside_host_is_one_warning_and_allow_host_lets_it_through(tmp_path: Path, outside_host):
    origin, asked = outside_host
    site = _outside_site(tmp_path / "site", origin)
    report = tmp_path / "r.json"
    run = run_cli("check", str(site), "--checks", "runtime,a11y", "--json", str(report))
    assert run.returncode == 0, run.stderr
    outside = [f for f in read_json(report)["findings"] if f.get("rule") == "runtime/outside-blocked"]
    assert len(outside) == 1 and outside[0]["severity"] == "warning" and outside[0]["where"] == "localhost"
    assert "--allow-host localhost" in outside[0]["hint"]
    assert asked == []

    run = run_cli("check", str(site), "--checks", "runtime", "--allow-host", "localhost", "--json", str(report))
    data = read_json(report)
    assert "/style.css" in asked
    assert not [f for f in data["findings"] if f.get("rule") == "runtime/outside-blocked"]
    # print.css does not exist there: a real failure of the page, now that the host is reachable.
    assert any(f.get("rule") == "runtime/request-failed" and "print.css" in f["where"] for f in data["findings"])
    assert run.returncode == 1


def test_a_generated_app_must_stay_self_contained(tmp_path: Path, outside_host):
    origin, _ = outside_host
    site = _outside_site(tmp_path / "site", origin)
    result = validate_once(site, Spec(title="t", body="", source="prompt"), checks=["runtime"],
                           settings=BrowserSettings(sandbox="off"))
    blocked = [f for f in result.findings if f.rule == "runtime/blocked-request"]
    assert blocked and all(f.is_error for f in blocked) and not result.passed


def test_config_file_sets_what_the_flags_do(tmp_path: Path):
    three_page_site(tmp_path / "site")
    (tmp_path / "runshot.toml").write_text(
        'folder = "site"\n'
        "pages = 2\n"
        'checks = ["runtime", "a11y"]\n'
        "strict = false\n"
        'json = "out/r.json"\n'
        'junit = "out/r.xml"\n'
        'summary = "out/s.md"\n'
        'screenshot = "out/shot.png"\n'
        "page_timeout = 20\n"
        "check_timeout = 50\n"
        'sandbox = "off"\n'
        "timings = true\n"
        'page = ["page3.html"]\n'
        'allow_hosts = ["fonts.example.org"]\n'
        'baseline = "out/r.json"\n'
        "[waive]\n"
        '"image-alt" = "decorative pictures, tracked in #12"\n'
    )
    run = run_cli("check", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    data = read_json(tmp_path / "out" / "r.json")
    assert data["checks"] == ["runtime", "a11y"]
    assert [p["page"] for p in data["pages"]] == ["/index.html", "/page3.html"]  # named: page2 not followed
    assert [w["rule"] for w in data["waived"]] == ["image-alt"]
    assert data["waived"][0]["reason"] == "decorative pictures, tracked in #12" and data["waived"][0]["page"]
    assert all(p["passed"] for p in data["pages"])
    assert (tmp_path / "out" / "r.xml").is_file() and (tmp_path / "out" / "shot.png").is_file()
    assert "Waived (1, not counted)" in (tmp_path / "out" / "s.md").read_text()
    assert "timings:" in run.stderr and "waived  [image-alt]" in run.stderr
    assert data["info"]["allow_hosts"] == ["fonts.example.org"] and data["info"]["sandbox"].startswith("none")

    # Flags override the file.
    run = run_cli("check", "--checks", "runtime", "--pages", "1", "--page", "page2.html", cwd=tmp_path)
    data = read_json(tmp_path / "out" / "r.json")
    assert data["checks"] == ["runtime"] and [p["page"] for p in data["pages"]] == ["/index.html", "/page2.html"]

    # `runshot regress` takes its baseline from the file.
    run = run_cli("regress", "site", "--checks", "runtime", cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_config_with_url_and_start(tmp_path: Path):
    port = free_port()
    argv = write_api_app(tmp_path / "app")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.runshot]\n'
        f'url = "http://127.0.0.1:{port}/"\n'
        f'start = "{" ".join(argv)} {port} 1"\n'
        "start_timeout = 30\n"
        'json = "r.json"\n'
        "any_host = false\n"
    )
    run = run_cli("check", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert read_json(tmp_path / "r.json")["info"]["url"] == f"http://127.0.0.1:{port}/"
    assert processes_with(f"notes_app.py {port}") == []


@pytest.mark.parametrize("text, says", [
    ("pagez = 3\n", "unknown setting 'pagez'"),
    ('pages = "many"\n', "pages must be an integer"),
    ("[waive]\ncolor-contrast = \"\"\n", "waive.color-contrast needs a reason"),
    ("pages = [\n", "not valid TOML"),
    ('start = "serve"\n', "start needs url"),
])
def test_bad_config_is_one_line_exit_2(tmp_path: Path, text: str, says: str):
    (tmp_path / "runshot.toml").write_text(text)
    run = run_cli("check", cwd=tmp_path, timeout=60)
    assert run.returncode == 2
    assert says in run.stderr and run.stderr.strip().count("\n") == 0, run.stderr


def test_ctrl_c_stops_the_started_app(tmp_path: Path):
    port = free_port()
    argv = write_api_app(tmp_path / "app")
    # The app warms up for 60 s before it serves, so the interrupt surely comes while runshot is still running.
    command = " ".join([*argv, str(port), "60"])
    # Ctrl-C in a terminal: SIGINT at its default in runshot. A test runner's worker may run with SIGINT ignored
    # (its children inherit that, and Python then leaves it ignored), which is no state a user's Ctrl-C meets.
    proc = subprocess.Popen([sys.executable, "-c", CLI, "check", "--start", command, "--url",
                             f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not processes_with(f"notes_app.py {port}"):
        time.sleep(0.05)
    assert processes_with(f"notes_app.py {port}"), "the app never started"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert processes_with(f"notes_app.py {port}") == []


def test_a_target_argument_replaces_the_configured_one(tmp_path: Path):
    (tmp_path / "runshot.toml").write_text('url = "http://127.0.0.1:9/"\nstart = "exit 1"\n')
    run = run_cli("check", "missing-folder", cwd=tmp_path, timeout=60)
    assert run.returncode == 2 and "missing-folder: not a folder" in run.stderr, run.stderr


def test_sitemap_pages_are_checked_too(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(page("Home", "<main><h1>Home</h1><p>No links here.</p></main>"))
    (site / "hidden.html").write_text(page("Hidden", "<main><h1>Hidden</h1><p>Only in the sitemap.</p></main>"))
    (site / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://www.example.com/</loc></url><url><loc>https://www.example.com/hidden.html</loc></url>"
        "</urlset>\n")
    report = tmp_path / "r.json"
    run = run_cli("check", str(site), "--checks", "runtime,a11y", "--json", str(report))
    assert run.returncode == 0, run.stderr
    assert [p["page"] for p in read_json(report)["pages"]] == ["/index.html", "/hidden.html"]


def test_no_sitemap_is_no_finding(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(page("Home", '<main><h1>Home</h1><p><a href="two.html">Two</a></p></main>'))
    (site / "two.html").write_text(page("Two", '<main><h1>Two</h1><p><a href="index.html#x">Home</a></p></main>'))
    report = tmp_path / "r.json"
    run = run_cli("check", str(site), "--checks", "runtime", "--json", str(report))
    assert run.returncode == 0, run.stderr
    data = read_json(report)
    assert data["findings"] == [] and [p["page"] for p in data["pages"]] == ["/index.html", "/two.html"]


def test_a_url_nothing_answers_at_is_a_usage_error():
    run = run_cli("check", f"http://127.0.0.1:{free_port()}/", timeout=60)
    assert run.returncode == 2 and "does not answer" in run.stderr and run.stderr.strip().count("\n") == 0
