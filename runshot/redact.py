"""Secrets out of everything runshot prints or writes.

    redact_url("http://user:pw@host/v1?api-key=K&x=1")  ->  "http://***@host/v1?api-key=***&x=1"
    redact_text("failed: http://u:p@h/v1 with sk-abc123456", secrets=["sk-abc123456"])

A URL loses its user information and the values of query parameters whose name contains one of
SENSITIVE_PARTS ("key", "token", "sig", "password", "secret", ...). Free text loses, in addition, every
known secret value (e.g. the API key) and anything shaped like an `sk-` key.
"""

from __future__ import annotations

import re
from typing import Any, Iterable
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

MASK = "***"
# A query parameter is sensitive when its lower-cased name contains one of these (api-key, api_key, access_token,
# x-amz-signature, client_secret, passwd ...).
SENSITIVE_PARTS = ("key", "token", "sig", "password", "passwd", "secret", "auth", "credential")
# Secrets shorter than this are not searched for in free text (they would mask ordinary words).
MIN_SECRET = 4

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>`]+")
_SK_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{6,}")


def sensitive_name(name: str) -> bool:
    low = name.lower()
    return any(part in low for part in SENSITIVE_PARTS)


def redact_url(url: str | None) -> str | None:
    """`url` without user information and without the values of sensitive query parameters."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(unparsable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        host = parts.hostname or ""
        if ":" in host:  # IPv6
            host = f"[{host}]"
        netloc = f"{MASK}@{host}" + (f":{port}" if port else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(sensitive_name(k) for k, _ in pairs):
            query = "&".join(f"{quote(k, safe='-_.~')}=" + (MASK if sensitive_name(k) else quote(v, safe="-_.~/:"))
                             for k, v in pairs)
    fragment = parts.fragment
    if fragment and "=" in fragment and any(sensitive_name(k) for k, _ in parse_qsl(fragment)):
        fragment = MASK
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # nothing secret: leave the URL exactly as it was
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def strip_query(url: str) -> tuple[str, dict[str, str]]:
    """(url without its query, the query's parameters): for clients that take query parameters separately."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), params


def url_secrets(url: str | None) -> list[str]:
    """The secret values inside a URL (password, user, sensitive query values): to scrub from free text too."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [v for v in (parts.password, parts.username) if v]
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if v and sensitive_name(k)]
    return found


def _clean_secrets(secrets: Iterable[str | None]) -> list[str]:
    out = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET}
    return sorted(out, key=len, reverse=True)  # longest first: a secret containing another goes whole


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with credentials in any URL it holds, the given secret values and `sk-` keys replaced by ***."""
    if not text:
        return text
    text = _URL.sub(lambda m: redact_url(m.group(0)) or "", text)
    for secret in _clean_secrets(secrets):
        text = text.replace(secret, MASK)
        encoded = quote(secret, safe="")
        if encoded != secret:
            text = text.replace(encoded, MASK)
    return _SK_KEY.sub("sk-" + MASK, text)


def redact_data(data: Any, secrets: Iterable[str | None] = ()) -> Any:
    """A copy of JSON-like data (dicts, lists, strings) with every string passed through redact_text."""
    secrets = _clean_secrets(secrets)
    if isinstance(data, str):
        return redact_text(data, secrets)
    if isinstance(data, dict):
        return {k: redact_data(v, secrets) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_data(v, secrets) for v in data]
    return data


class RedactingStream:
    """A text stream that redacts what is written to it (for consoles: stdout, stderr)."""

    def __init__(self, stream, secrets: Iterable[str | None] = ()):
        self._stream = stream
        self.secrets = _clean_secrets(secrets)

    def write(self, text: str) -> int:
        self._stream.write(redact_text(text, self.secrets))
        return len(text)

    def __getattr__(self, name: str):  # isatty, flush, fileno, encoding ... of the real stream
        return getattr(self._stream, name)
