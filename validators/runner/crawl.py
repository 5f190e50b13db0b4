"""Which pages of a site to check: same-origin links of a loaded page, and the site's `sitemap.xml` (whose URLs
name the site's public address: their paths are taken on the app's own origin).

Pages are named by path and query ("/about.html", "/list?page=2"), without the fragment; "/docs/index.html"
and "/docs/" are one page. Links to files that are not pages (images, archives, PDFs, ...) and links marked
`rel="nofollow"` (as crawlers read it: not part of this site's pages) are not followed.
Reading the links and the sitemap leaves nothing in the page's event record: a site without a sitemap is not
a failed request.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urljoin, urlsplit

from runshot.validators.browser.context import PageEvents, PageSession, Timeouts, within
from runshot.validators.browser.pages import origin_of

_LINKS = """() => Array.from(document.querySelectorAll("a[href], area[href]"))
  .filter((a) => !a.hasAttribute("download") && !/(^|\\s)nofollow(\\s|$)/i.test(a.getAttribute("rel") || ""))
  .map((a) => a.href)"""

_SITEMAP = """async (url) => {
  try {
    const r = await fetch(url, { credentials: "same-origin", redirect: "follow" });
    return r.ok ? (await r.text()).slice(0, 2000000) : "";
  } catch (e) { return ""; }
}"""

NOT_PAGES = re.compile(
    r"\.(png|jpe?g|gif|webp|avif|svg|ico|bmp|pdf|zip|gz|tgz|tar|7z|rar|mp3|mp4|webm|ogg|wav|mov|avi|woff2?|ttf|otf|"
    r"css|js|mjs|json|xml|txt|csv|map|wasm|exe|dmg|apk|doc|docx|xls|xlsx|ppt|pptx)$",
    re.IGNORECASE,
)


def page_label(url: str) -> str:
    """The page a URL names: its path and query, with a leading "/" and no fragment."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def page_key(label: str) -> str:
    """What makes two page names the same page: "/x/index.html" is "/x/"."""
    path, sep, query = label.partition("?")
    if path.endswith("/index.html"):
        path = path[: -len("index.html")]
    return path + sep + query


def is_page_link(url: str, origin: str, base_path: str = "/") -> bool:
    """A link to another page of the same app (same origin, below its base path, not a file download)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or origin_of(url) != origin:
        return False
    path = parts.path or "/"
    return path.startswith(base_path) and not NOT_PAGES.search(path)


def sitemap_urls(text: str) -> list[str]:
    """The page URLs a sitemap.xml lists (its `<loc>` elements); none for anything that is not one."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return []
    return [el.text.strip() for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "loc" and el.text]


async def page_links(session: PageSession, base_url: str, timeouts: Timeouts, sitemap: bool = False) -> list[str]:
    """The pages a loaded page links to (then, with `sitemap`, those the site's sitemap lists), as page labels."""
    origin, base_path = origin_of(base_url), urlsplit(base_url).path or "/"
    mark = session.events.mark()
    try:
        found = await within(session.page.evaluate(_LINKS), timeouts.action, "listing the page's links")
        if sitemap:
            text = await within(session.page.evaluate(_SITEMAP, urljoin(base_url, "sitemap.xml")),
                                timeouts.action + 2, "reading sitemap.xml")
            # A sitemap names the site's public address (https://www.example.com/about), not where it runs now.
            found = [*found, *(urljoin(base_url, page_label(u).lstrip("/")) for u in sitemap_urls(text or ""))]
    finally:
        forget_since(session.events, mark)
    return [page_label(u) for u in found if isinstance(u, str) and is_page_link(u, origin, base_path)]


def forget_since(events: PageEvents, mark: dict[str, int]) -> None:
    """Drop what `events` recorded after `mark` (runshot's own requests, not the app's)."""
    for name, length in mark.items():
        del getattr(events, name)[length:]
