"""Small helpers shared by the page checks: in-page JavaScript for selectors, names and visibility,
a time budget, and short element descriptions.

The JavaScript is sent with every ``evaluate`` call (nothing is installed in the page beforehand), so a page's
own scripts cannot rely on it or break it between calls.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from importlib import resources

# Defines `RS` inside the evaluated function. Keep it small: it travels with every call.
JS_LIB = resources.files("runshot.validators").joinpath("page_scripts", "rs_library.js").read_text(
    encoding="utf-8")


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
