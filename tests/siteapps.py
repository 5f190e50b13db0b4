"""Small real apps for the site checks: a JSON API app on http.server, static sites, an outside host."""

from __future__ import annotations

import json
import socket
import struct
import sys
import zlib
from pathlib import Path

HEAD = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>{extra}</head>')

# An app with a JSON API: the page lists what /api/notes returns. argv: PORT [SECONDS TO WAIT BEFORE SERVING]
API_APP = r'''
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Notes</title></head>
<body><main><h1>Notes</h1><ul id="list"></ul><p><a href="/about">About</a></p></main>
<script>
fetch("/api/notes").then((r) => r.json()).then((items) => {
  for (const n of items) {
    const li = document.createElement("li");
    li.textContent = n.text;
    document.getElementById("list").append(li);
  }
  document.body.dataset.loaded = String(items.length);
});
</script></body></html>"""
ABOUT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>About</title></head>
<body><main><h1>About</h1><p>Notes, served with an API.</p><p><a href="/">Home</a></p></main></body></html>"""

BROKEN = PAGE.replace("/api/notes", "/api/missing").replace("<title>Notes", "<title>Broken")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/api/notes":
            body, kind = json.dumps([{"text": "first"}, {"text": "second"}]).encode(), "application/json"
        elif self.path == "/":
            body, kind = PAGE.encode(), "text/html; charset=utf-8"
        elif self.path == "/about":
            body, kind = ABOUT.encode(), "text/html; charset=utf-8"
        elif self.path == "/broken":
            body, kind = BROKEN.encode(), "text/html; charset=utf-8"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        print("served", self.path, flush=True)


if len(sys.argv) > 2:
    print("warming up", flush=True)
    time.sleep(float(sys.argv[2]))
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_api_app(folder: Path) -> list[str]:
    """The API app's script in `folder`; returns the argv that runs it (append PORT and the delay)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "notes_app.py"
    script.write_text(API_APP, encoding="utf-8")
    return [sys.executable, str(script)]


def png_bytes() -> bytes:
    """A 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def page(title: str, body: str, extra: str = "") -> str:
    return HEAD.format(title=title, extra=extra) + f"<body>{body}</body></html>\n"


def three_page_site(root: Path) -> Path:
    """index -> page2 -> page3; only page 3 has a defect (an image without a text alternative)."""
    root.mkdir(parents=True, exist_ok=True)
    nav = '<header><nav><a href="index.html">Home</a> <a href="page2.html">Two</a></nav></header>'
    (root / "index.html").write_text(page("Home", nav + '<main><h1>Home</h1><p>Welcome. <a href="#top">Top</a>'
                                                       "</p></main>"))
    (root / "page2.html").write_text(page("Two", nav + '<main><h1>Two</h1><p>More in <a href="page3.html">part '
                                                       "three</a>.</p></main>"))
    (root / "page3.html").write_text(page("Three", nav + '<main><h1>Three</h1><img src="pic.png"><p>Done.</p>'
                                                         "</main>"))
    (root / "pic.png").write_bytes(png_bytes())
    return root


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
