"""Where the app is served for one validation, and what its server was asked for that the browser should not ask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from runshot.rules import Rule, Rules
from runshot.values import ERROR, Finding

RULES = Rules(
    Rule("network/blocked-connection", ERROR,
         "The app's server side tried to reach outside the sandbox; the app must work offline.", check="network"),
)


@dataclass
class Served:
    """Where the app is served for one validation, and what its server was asked for."""

    base_url: str
    executable: str | None  # the Chromium that can reach base_url (None: the host's own)
    requests: Callable[[], list]  # RequestRecords answered so far in this validation


def proxied_findings(requests: list, findings: list[Finding]) -> list[Finding]:
    """Connections that slipped past request routing and reached our server acting as the browser's proxy."""
    known = {f.where for f in findings if f.check == "network"}
    out = []
    for record in requests:
        if record.proxied and record.path not in known and not _browser_service(record.path):
            known.add(record.path)
            out.append(
                RULES["network/blocked-connection"].finding(
                    f"blocked connection to {record.path}: the app must be self-contained and work offline",
                    where=record.path, hint="no sockets, APIs or files outside the project (check workers too)")
            )
    return out


# Chromium's own background traffic (autofill, updates, safe browsing) also goes through the proxy.
_BROWSER_SERVICES = (".googleapis.com", ".google.com", ".gstatic.com", ".gvt1.com", ".googleusercontent.com")


def _browser_service(target: str) -> bool:
    host = urlsplit(target if "//" in target else f"//{target}").hostname or ""
    return host.endswith(_BROWSER_SERVICES) or host in {s.lstrip(".") for s in _BROWSER_SERVICES}
