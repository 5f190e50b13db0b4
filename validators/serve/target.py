"""What `runshot check` judges: a folder it serves itself, or the URL of an app that is already running.

A URL names the user's own app: it is reached directly (no sandbox: runshot does not run it), and by default only
on a loopback or private address (`any_host` lifts that). What escapes the browser's request routing is sent to a
guard, a server of runshot's own on an empty folder that refuses it, never to the app.
"""

from __future__ import annotations

import contextlib
import ipaddress
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from runshot.errors import UsageError
from runshot.validators.serve.server import serve

LOCAL_NAMES = ("localhost",)


@dataclass(frozen=True)
class UrlTarget:
    """A running app's URL, split into what the validation needs."""

    url: str  # as given, without its fragment
    origin: str  # scheme://host:port
    host: str  # the host name or address, lower case
    entry: str  # the entry page's path and query ("/", "/app/?x=1")

    @property
    def base_url(self) -> str:
        return self.origin + "/"

    @property
    def name(self) -> str:
        """A name for reports: host:port."""
        return urlsplit(self.origin).netloc.rsplit("@", 1)[-1]


def looks_like_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def local_host(host: str) -> bool:
    """A loopback or private address, or `localhost` (and names below `.localhost`)."""
    host = host.strip("[]").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def parse_url(text: str, any_host: bool = False) -> UrlTarget:
    """The URL target for `text`; a UsageError (one line) when it is not an http(s) URL runshot may open."""
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{text}: not an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise UsageError(f"{text}: bad port") from None
    host = parts.hostname.lower()
    if not any_host and not local_host(host):
        raise UsageError(f"{host}: not a loopback or private address; pass --any-host to check a site elsewhere")
    origin = f"{parts.scheme.lower()}://{parts.netloc}"
    entry = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    url = origin + entry
    return UrlTarget(url=url, origin=origin, host=host, entry=entry)


def reach_for(target: UrlTarget) -> tuple[str, ...]:
    """Hosts Chromium must be able to resolve for `target` (loopback always resolves)."""
    return () if target.host in ("127.0.0.1", "localhost") else (target.host.strip("[]"),)


@contextlib.contextmanager
def guard() -> Iterator[str]:
    """A server on an empty folder that refuses whatever is sent to it as a proxy: `yield` its URL."""
    with tempfile.TemporaryDirectory(prefix="runshot-guard-") as empty:
        with serve(Path(empty)) as server:
            yield server.base_url.rstrip("/")
