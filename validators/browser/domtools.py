"""Small helpers shared by the page checks: in-page JavaScript for selectors, names and visibility,
a time budget, and short element descriptions.

The JavaScript is sent with every ``evaluate`` call (nothing is installed in the page beforehand), so a page's
own scripts cannot rely on it or break it between calls.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

# Defines `RS` inside the evaluated function. Keep it small: it travels with every call.
JS_LIB = r"""
const RS = (() => {
  const esc = (s) => (window.CSS && CSS.escape) ? CSS.escape(s) : String(s).replace(/[^\w-]/g, '\\$&');
  function sel(el) {
    if (!el || el.nodeType !== 1) return '';
    const parts = [];
    let node = el;
    while (node && node.nodeType === 1) {
      const root = node.getRootNode();
      if (node.id && root.querySelectorAll('#' + esc(node.id)).length === 1) { parts.unshift('#' + esc(node.id)); break; }
      const tag = node.localName;
      if (tag === 'html' || tag === 'body') { parts.unshift(tag); break; }
      let part = tag;
      const parent = node.parentElement;
      if (parent) {
        const same = Array.from(parent.children).filter((c) => c.localName === tag);
        if (same.length > 1) part += ':nth-of-type(' + (same.indexOf(node) + 1) + ')';
      }
      parts.unshift(part);
      if (!parent && root.host) { parts.unshift(sel(root.host) + ' >>'); break; }
      node = parent;
    }
    return parts.join(' > ').replace(' >> >', ' >>');
  }
  function html(el, n) {
    if (!el || el.nodeType !== 1) return '';
    let s = el.outerHTML || '';
    n = n || 240;
    if (s.length > n) {
      const open = s.slice(0, s.indexOf('>') + 1);
      s = open.length >= n ? open.slice(0, n) + '…' : s.slice(0, n) + '…';
    }
    return s.replace(/\s+/g, ' ');
  }
  function shown(el) {
    if (!el || el.nodeType !== 1 || !el.isConnected) return false;
    if (el.checkVisibility && !el.checkVisibility({checkVisibilityCSS: true, checkOpacity: false})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  function inert(el) {
    return !!(el.closest && (el.closest('[inert]') || (el.matches(':disabled'))));
  }
  function text(el) { return ((el && (el.innerText || el.textContent)) || '').replace(/\s+/g, ' ').trim(); }
  function nameText(el) {  // text that names an element: content hidden with aria-hidden does not count
    if (!el || !el.querySelector || !el.querySelector('[aria-hidden=true]')) return text(el);
    const copy = el.cloneNode(true);
    copy.querySelectorAll('[aria-hidden=true]').forEach((e) => e.remove());
    return (copy.textContent || '').replace(/\s+/g, ' ').trim();
  }
  function generated(el) {  // CSS content such as .close::before { content: "×" } also names an element
    return ['::before', '::after'].map((p) => getComputedStyle(el, p).content)
      .filter((c) => c && c !== 'none' && c !== 'normal').map((c) => c.replace(/^["']|["']$/g, '')).join(' ').trim();
  }
  function byIds(ids) {
    return (ids || '').split(/\s+/).filter(Boolean).map((id) => document.getElementById(id))
      .filter(Boolean).map((e) => text(e) || (e.getAttribute('aria-label') || '')).join(' ').trim();
  }
  function name(el) {
    if (!el || el.nodeType !== 1) return '';
    let n = byIds(el.getAttribute('aria-labelledby'));
    if (n) return n;
    n = (el.getAttribute('aria-label') || '').trim();
    if (n) return n;
    if (el.labels && el.labels.length) {
      n = Array.from(el.labels).map(nameText).join(' ').trim();
      if (n) return n;
    }
    const tag = el.localName;
    if (tag === 'img' || (tag === 'input' && el.type === 'image')) { n = (el.getAttribute('alt') || '').trim(); if (n) return n; }
    if (tag === 'input' && ['button', 'submit', 'reset'].includes(el.type)) {
      n = (el.value || (el.type === 'submit' ? 'Submit' : el.type === 'reset' ? 'Reset' : '')).trim(); if (n) return n;
    }
    const textual = ['button', 'a', 'summary', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'legend', 'caption', 'label', 'option', 'li', 'td', 'th'];
    const r = (el.getAttribute('role') || '').trim();
    if (textual.includes(tag) || ['button', 'link', 'tab', 'menuitem', 'option', 'checkbox', 'radio', 'switch', 'heading', 'treeitem', 'cell'].includes(r)) {
      n = nameText(el);
      if (!n) {
        n = Array.from(el.querySelectorAll('img[alt],[aria-label],svg title')).filter((e) => !e.closest('[aria-hidden=true]'))
          .map((e) => e.getAttribute('alt') || e.getAttribute('aria-label') || e.textContent).join(' ').trim();
      }
      if (!n) n = generated(el);
      if (n) return n;
    }
    n = (el.getAttribute('title') || '').trim();
    return n;
  }
  function tabbable(el) {
    if (!shown(el) || inert(el)) return false;
    if (el.tabIndex < 0) return false;
    const tag = el.localName;
    if (tag === 'a' && !el.hasAttribute('href') && !el.hasAttribute('tabindex')) return false;
    return true;
  }
  const FOCUSABLE = 'a[href],button,input:not([type=hidden]),select,textarea,summary,iframe,audio[controls],video[controls],[contenteditable]:not([contenteditable=false]),[tabindex]';
  function focusables(root) {
    return Array.from((root || document).querySelectorAll(FOCUSABLE)).filter(tabbable);
  }
  function active() {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    return a;
  }
  // The element a link only jumps to on this page (#id; not a #/ or #! route, which runs code), else null.
  function jumpTarget(el) {
    let u;
    try { u = new URL(el.getAttribute('href') || '', location.href); } catch (e) { return null; }
    if (u.origin !== location.origin || u.pathname !== location.pathname || u.search !== location.search) return null;
    if (u.hash.length < 2 || /^#[!/]/.test(u.hash)) return null;
    try { return document.getElementById(decodeURIComponent(u.hash.slice(1))); } catch (e) { return null; }
  }
  function desc(el) {
    if (!el || el.nodeType !== 1) return {sel: '', tag: '', name: '', html: ''};
    return {sel: sel(el), tag: el.localName, role: el.getAttribute('role') || '', name: name(el).slice(0, 80), html: html(el)};
  }
  return {sel, html, shown, inert, text, name, tabbable, focusables, active, jumpTarget, desc, FOCUSABLE};
})();
"""


def js(body: str, params: str = "arg") -> str:
    """A function expression for ``page.evaluate`` with ``RS`` helpers in scope; ``body`` uses ``return``."""
    return f"({params}) => {{\n{JS_LIB}\n{body}\n}}"


# Whether a click at the element's centre would reach it, as Playwright's own check sees it: scrolled into view,
# centre inside the viewport, the element (or something inside it) on top there. 'absent': nothing matches any
# more. null: cannot tell from here (a selector that crosses a shadow root); the caller then clicks as usual.
_HIT_TEST = r"""(sel) => {
  let el = null;
  try { el = document.querySelector(sel); } catch (e) { return null; }
  if (!el) return 'absent';
  try { el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'}); } catch (e) {}
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return false;
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) return false;
  let hit = document.elementFromPoint(x, y);
  while (hit && hit.shadowRoot) {
    const inner = hit.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === hit) break;
    hit = inner;
  }
  if (!hit) return false;
  if (hit === el || el.contains(hit)) return true;
  const host = hit.getRootNode && hit.getRootNode().host;
  if (host && (host === el || el.contains(host))) return true;
  return !!(hit.localName === 'label' && hit.control === el);
}"""


async def clickable(ctx, page, sel: str) -> bool:
    """False when a click on `sel` cannot land (off screen, covered, zero-sized), so that a probe skips it at
    once instead of waiting out Playwright's retries (a skip link parked at left: -999px took the whole action
    timeout per probe). Asked again once the page settles, for content still moving into place. False at once
    when nothing matches `sel` any more (so callers need not count the matches first)."""
    for attempt in range(2):
        verdict = await ctx.within(page.evaluate(_HIT_TEST, sel), "hit-testing the control")
        if verdict == "absent":
            return False
        if verdict is None or verdict:
            return True
        if attempt == 0:
            await ctx.settle(page)
    return False


def short_url(url: str, base_url: str) -> str:
    """A URL inside the app as a project path ("app.js:12:5"), anything else unchanged."""
    if base_url and url.startswith(base_url):
        return url[len(base_url):] or "index.html"
    return url


def label(info: dict) -> str:
    """A short human description of an element from an ``RS.desc`` dict: tag "name" (selector)."""
    role = info.get("role") or ""
    tag = info.get("tag") or "element"
    kind = f'{tag} role="{role}"' if role else tag
    name = (info.get("name") or "").strip()
    out = f'{kind} "{name}"' if name else kind
    sel = info.get("sel") or ""
    return f"{out} ({sel})" if sel else out


@dataclass
class Budget:
    """A soft deadline for one check: probes stop when it runs out, leaving time to report."""

    seconds: float
    start: float = 0.0

    def __post_init__(self):
        self.start = time.monotonic()

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    @property
    def spent(self) -> bool:
        return self.left() <= 0


def budget_for(ctx, share: float = 0.8) -> Budget:
    """The part of the check's deadline a check may spend on optional probing."""
    return Budget(max(1.0, ctx.timeouts.check * share))


async def run_limited(jobs, limit: int, budget: Budget | None = None) -> list:
    """Run async jobs (zero-argument callables returning awaitables) at most `limit` at a time.

    Results come back in the jobs' order; a job not started because the budget ran out gives None.
    """
    gate = asyncio.Semaphore(max(1, limit))

    async def one(job):
        async with gate:
            if budget is not None and budget.spent:
                return None
            return await job()

    return list(await asyncio.gather(*(one(j) for j in jobs)))
