"""The static server: what it serves, what it refuses, and how."""

from __future__ import annotations

import http.client
import os
from pathlib import Path

import pytest

from runshot.validators.serve.server import RequestRecord, serve


def fetch(server, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    """A raw request (no client-side path normalisation), so `..` reaches the server as written."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>home</title>", encoding="utf-8")
    (root / "app.js").write_text("console.log(1)", encoding="utf-8")
    (root / "mod.mjs").write_text("export const a = 1", encoding="utf-8")
    (root / "data.json").write_text('{"a": 1}', encoding="utf-8")
    (root / "style.css").write_text("body{}", encoding="utf-8")
    (root / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>", encoding="utf-8")
    (root / "lib.wasm").write_bytes(b"\x00asm\x01\x00\x00\x00")
    (root / "my file.txt").write_text("spaces", encoding="utf-8")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<p>docs</p>", encoding="utf-8")
    (root / "empty").mkdir()
    (root / "empty" / "a.txt").write_text("a", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]", encoding="utf-8")
    (root / ".runshot").mkdir()
    (root / ".runshot" / "report.json").write_text("{}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("top secret", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.txt").write_text("outside", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/app.js", "text/javascript"),
        ("/mod.mjs", "text/javascript"),
        ("/data.json", "application/json"),
        ("/style.css", "text/css"),
        ("/logo.svg", "image/svg+xml"),
        ("/lib.wasm", "application/wasm"),
        ("/index.html", "text/html"),
    ],
)
def test_serves_files_with_browser_mime_types(site: Path, path: str, expected: str) -> None:
    with serve(site) as server:
        status, headers, body = fetch(server, path)
    assert status == 200
    assert headers["content-type"].split(";")[0] == expected
    assert headers["cache-control"] == "no-store"
    assert body == (site / path.lstrip("/")).read_bytes()
    assert headers["content-length"] == str(len(body))


def test_root_and_folders_serve_their_index_without_listings(site: Path) -> None:
    with serve(site) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/"
        status, _, body = fetch(server, "/")
        assert (status, body) == (200, (site / "index.html").read_bytes())
        assert fetch(server, "/docs/")[2] == b"<p>docs</p>"
        status, headers, _ = fetch(server, "/docs")
        assert status == 301 and headers["location"] == "/docs/"
        status, _, body = fetch(server, "/empty/")
        assert status == 404 and b"a.txt" not in body
        assert fetch(server, "/index.html?v=3#top")[0] == 200
        assert fetch(server, "/my%20file.txt")[2] == b"spaces"
        assert fetch(server, "/nope.js")[0] == 404


def test_never_serves_outside_the_root(site: Path, tmp_path: Path) -> None:
    (site / "link-file.txt").symlink_to(tmp_path / "secret.txt")
    (site / "link-dir").symlink_to(tmp_path / "outside")
    (site / "inside-link.js").symlink_to(site / "app.js")
    with serve(site) as server:
        for path in (
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/docs/../../secret.txt",
            "/..%2fsecret.txt",
            "/link-file.txt",
            "/link-dir/x.txt",
            "/link-dir/",
            "/..\\secret.txt",
            "/%00app.js",
        ):
            status, _, body = fetch(server, path)
            assert status == 404, path
            assert b"secret" not in body and b"outside" not in body
        assert fetch(server, "/inside-link.js")[0] == 200


def test_never_serves_git_or_runshot_folders(site: Path) -> None:
    (site / "git-link").symlink_to(site / ".git")
    with serve(site) as server:
        for path in ("/.git/config", "/.git/", "/.GIT/config", "/.runshot/report.json", "/git-link/config",
                     "/docs/../.git/config", "/%2egit/config"):
            assert fetch(server, path)[0] == 404, path


def test_favicon_is_no_content_unless_the_project_has_one(site: Path) -> None:
    with serve(site) as server:
        status, _, body = fetch(server, "/favicon.ico")
        assert (status, body) == (204, b"")
        (site / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
        status, headers, body = fetch(server, "/favicon.ico")
        assert status == 200 and body == b"\x00\x00\x01\x00"
        assert headers["content-type"] == "image/x-icon"


def test_records_requests_and_refuses_other_methods(site: Path) -> None:
    with serve(site) as server:
        fetch(server, "/app.js")
        fetch(server, "/missing.css")
        status, headers, _ = fetch(server, "/app.js", method="HEAD")
        assert status == 200 and headers["content-length"] == str((site / "app.js").stat().st_size)
        assert fetch(server, "/app.js", method="POST")[0] == 405
    assert server.requests == [
        RequestRecord("GET", "/app.js", 200),
        RequestRecord("GET", "/missing.css", 404),
        RequestRecord("HEAD", "/app.js", 200),
        RequestRecord("POST", "/app.js", 405),
    ]


def test_refuses_to_act_as_a_proxy(site: Path) -> None:
    with serve(site) as server:
        status, _, body = fetch(server, "http://example.com/app.js")
        assert status == 403 and body != (site / "app.js").read_bytes()
        assert fetch(server, "127.0.0.2:443", method="CONNECT")[0] == 405
    assert [(r.path, r.proxied) for r in server.requests] == [("http://example.com/app.js", True),
                                                             ("127.0.0.2:443", True)]


def test_stops_listening_on_close(site: Path) -> None:
    server = serve(site).start()
    port = server.port
    assert fetch(server, "/")[0] == 200
    server.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    with pytest.raises(OSError):
        conn.request("GET", "/")
        conn.getresponse()


def test_refuses_a_missing_root(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        serve(tmp_path / "nope")


def test_binds_loopback_only(site: Path) -> None:
    with serve(site) as server:
        assert server._server.server_address[0] == "127.0.0.1"  # noqa: SLF001
        assert os.path.samefile(server.root, site)
