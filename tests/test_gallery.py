"""The gallery: built from real batch runs (scripted model over HTTP, real Chromium, real git), browsed in Chromium
through `runshot serve`, and checked by runshot itself."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import git
import pytest

from counterapp import answer
from fakeopenai import FakeOpenAI

CLI = "from runshot.cli import main; main()"

def model(body: dict) -> str:
    """'Repaired' is broken at first and fixed once the repair prompt names the error; 'Stuck' stays broken."""
    text = json.dumps(body["messages"])
    if "Repaired" in text:
        return answer("Repaired", broken="notDefinedAnywhere" not in text)
    return answer("Stuck", broken=True)


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gallery")
    specs = root / "specs"
    specs.mkdir()
    for title in ("Repaired", "Stuck"):
        (specs / f"{title.lower()}.md").write_text(
            f"---\ntitle: {title}\n---\nA page called {title} with an Increment button and a count.\n")
    runs = root / "runs"
    with FakeOpenAI(*[model] * 16) as fake:  # derived checks: up to 3 samples a spec, then the iterations
        proc = run_cli("batch", str(specs), "-o", str(runs), "--base-url", fake.base_url, "--model", "scripted",
                       "--api-key", "k", "--checks", "runtime", "--max-iterations", "2", "--jobs", "2")
    assert proc.returncode == 1, proc.stderr  # Stuck never passes
    out = root / "site"
    proc = run_cli("gallery", str(runs), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return runs, out


def test_gallery_files(site):
    runs, out = site
    assert (out / "index.html").is_file() and (out / "style.css").is_file()
    for name in ("repaired", "stuck"):
        page = out / "p" / name
        report = json.loads((runs / name / ".runshot" / "report.json").read_text())
        assert (page / "index.html").is_file()
        assert png_size(page / "desktop.png") == (1280, 800)
        assert png_size(page / "mobile.png") == (375, 667)
        # The app is the project's files at HEAD (the best iteration), byte for byte.
        head = git.Repo(runs / name).head.commit
        assert head.hexsha == next(it["commit"] for it in report["iterations"]
                                   if it["number"] == report["best_iteration"])
        for blob in head.tree.traverse():
            assert (page / "app" / blob.path).read_bytes() == blob.data_stream.read()
        assert sorted(p.name for p in (page / "app").iterdir()) == ["app.js", "index.html"]
    html = (out / "p" / "repaired" / "index.html").read_text()
    assert "notDefinedAnywhere" in html  # iteration 1's finding and the diff that removed it
    assert "-</main><script src=\"app.js\"></script><script>notDefinedAnywhere();</script>" in \
        html.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')


def test_gallery_in_chromium(site):
    from playwright.sync_api import sync_playwright

    from runshot.validators.browser.chromium import find_chromium

    _, out = site
    server = subprocess.Popen([sys.executable, "-c", CLI, "serve", str(out), "--port", "0"],
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        url = line.split(" on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=find_chromium(), args=["--disable-gpu", "--disable-quic"])
            page = browser.new_page()
            page.goto(url)
            assert page.locator("h1").inner_text() == "Generated projects"
            cards = page.locator(".card")
            assert cards.count() == 2
            verdicts = {cards.nth(i).locator("h3").inner_text(): cards.nth(i).locator(".badge").inner_text()
                        for i in range(2)}
            assert verdicts == {"Repaired": "Passed", "Stuck": "Failed"}
            images = page.locator("img")
            assert images.count() == 2
            for i in range(2):
                assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") == 1280
            assert "50 %" in page.locator(".lead").inner_text()

            page.get_by_role("link", name="Repaired").click()
            assert page.locator("h1").inner_text() == "Repaired"
            timeline = page.locator(".timeline > li")
            assert timeline.count() == 2
            assert "1 error" in timeline.nth(0).locator("h3").inner_text()
            assert "passes" in timeline.nth(1).locator("h3").inner_text()
            timeline.nth(1).locator("summary").click()
            assert "notDefinedAnywhere" in timeline.nth(1).locator("pre.diff").inner_text()
            assert page.locator("img[alt*='phone size']").evaluate("img => img.naturalWidth") == 375

            with page.expect_popup() as popup_info:
                page.get_by_role("link", name="Open the app (new tab)").click()
            app = popup_info.value
            app.wait_for_load_state()
            app.get_by_role("button", name="Increment").click()
            assert app.get_by_role("status").inner_text() == "1"
            browser.close()
    finally:
        server.terminate()
        server.wait(10)


def test_gallery_passes_runshot_check(site, tmp_path: Path):
    _, out = site
    proc = run_cli("check", str(out))
    assert proc.returncode == 0, proc.stderr
    spec = tmp_path / "page.md"
    spec.write_text("---\ntitle: A project page\nentry: p/repaired/index.html\n---\nOne project of the gallery.\n")
    proc = run_cli("check", str(out), "--spec", str(spec))
    assert proc.returncode == 0, proc.stderr


def test_gallery_into_a_non_empty_folder_is_exit_2(site, tmp_path: Path):
    runs, _ = site
    (tmp_path / "keep.txt").write_text("x")
    proc = run_cli("gallery", str(runs), "-o", str(tmp_path))
    assert proc.returncode == 2 and "not empty" in proc.stderr
