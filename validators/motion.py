"""For specs marked ``animated: true``: something on the page must move, and keep running without errors.

Motion is seen in any of: canvas pixels (``toDataURL`` hashes; tainted or WebGL canvases fall back to screenshots
of the element), DOM mutations, running CSS/Web animations, or finally a changed screenshot of the viewport.
"""

from __future__ import annotations

import asyncio
import hashlib

from playwright.async_api import Error as PlaywrightError

from runshot.values import ERROR, Finding, truncate
from runshot.validators.context import CheckContext
from runshot.validators.domtools import js, label, short_url

CHECK = "motion"
SAMPLES = 5  # canvas samples over about one second
INTERVAL = 0.25
RUN_SECONDS = 3.0  # total time the page is watched for errors

_START = r"""
const canvases = Array.from(document.querySelectorAll('canvas')).filter(RS.shown)
  .sort((a, b) => (b.width * b.height) - (a.width * a.height));
const c = canvases[0] || null;
window.__runshotMotion = {changes: 0};
const mo = new MutationObserver((records) => { window.__runshotMotion.changes += records.length; });
mo.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
return {canvas: c ? RS.desc(c) : null, count: canvases.length};
"""

_CANVAS_PIXELS = r"""
const c = document.querySelector(arg);
if (!c) return {error: 'gone'};
try {
  const url = c.toDataURL();
  let h = 0;
  for (let i = 0; i < url.length; i += 7) h = (h * 31 + url.charCodeAt(i)) | 0;
  return {hash: url.length + ':' + h};
} catch (e) { return {error: String(e && e.name || e)}; }
"""

_DOM_MOTION = r"""
const m = window.__runshotMotion || {changes: 0};
let running = 0;
try { running = document.getAnimations().filter((a) => a.playState === 'running').length; } catch (e) {}
return {changes: m.changes, animations: running};
"""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _canvas_moves(ctx: CheckContext, page, sel: str) -> bool:
    hashes = set()
    for i in range(SAMPLES):
        if i:
            await asyncio.sleep(INTERVAL)
        r = await ctx.within(page.evaluate(js(_CANVAS_PIXELS), sel), "reading canvas pixels")
        if "hash" in r:
            hashes.add(r["hash"])
            if len(hashes) > 1:
                return True
        else:
            break
    # Identical pixels can also mean WebGL without preserveDrawingBuffer (toDataURL gives a blank image),
    # and a tainted canvas cannot be read at all: look at what is on screen instead.
    shots = set()
    loc = page.locator(sel).first
    for i in range(3):
        if i:
            await asyncio.sleep(INTERVAL)
        try:
            data = await ctx.within(loc.screenshot(timeout=ctx.timeouts.action * 800, animations="allow"),
                                    "screenshotting the canvas")
        except PlaywrightError:
            return False
        shots.add(_digest(data))
        if len(shots) > 1:
            return True
    return False


async def _viewport_moves(ctx: CheckContext, page) -> bool:
    shots = set()
    for i in range(3):
        if i:
            await asyncio.sleep(INTERVAL)
        data = await ctx.within(page.screenshot(timeout=ctx.timeouts.action * 800, animations="allow"),
                                "screenshotting the page")
        shots.add(_digest(data))
        if len(shots) > 1:
            return True
    return False


async def check_motion(ctx: CheckContext) -> list[Finding]:
    if not ctx.spec.animated:
        return []
    findings: list[Finding] = []
    loop = asyncio.get_running_loop()
    async with ctx.open_session() as s:
        page = s.page
        mark = s.events.mark()
        started = loop.time()
        info = await ctx.within(page.evaluate(js(_START)), "starting to watch the page")
        canvas = info.get("canvas")
        moving = False
        if canvas:
            moving = await _canvas_moves(ctx, page, canvas["sel"])
        if not moving:
            await asyncio.sleep(max(0.0, 1.0 - (loop.time() - started)))
            dom = await ctx.within(page.evaluate(js(_DOM_MOTION)), "reading DOM changes")
            moving = dom["changes"] > 0 or dom["animations"] > 0
        if not moving:
            moving = await _viewport_moves(ctx, page)
        if not moving:
            where = canvas["sel"] if canvas else "body"
            what = label(canvas) if canvas else "the page (no canvas, no DOM change, no CSS animation)"
            findings.append(Finding(
                CHECK, ERROR,
                f"The spec asks for an animation, but nothing moved on {what} during about one second after load",
                where=where,
                hint="Start the animation loop on load with requestAnimationFrame(draw) and redraw every frame.",
                evidence=truncate(canvas.get("html", "") if canvas else "", 300)))
        await asyncio.sleep(max(0.0, RUN_SECONDS - (loop.time() - started)))
        # Force a last read so errors thrown by the page's frame loop have been delivered to us.
        try:
            await ctx.within(page.evaluate("() => 0"), "checking the page still responds")
        except PlaywrightError:
            pass  # crashed: reported below
        new = s.events.since(mark)
        seen: set[str] = set()
        for err in new.page_errors:
            msg = (err.get("message") or "").strip().splitlines()[0] if err.get("message") else "unknown error"
            if msg in seen or len(seen) >= 5:
                continue
            seen.add(msg)
            findings.append(Finding(
                CHECK, ERROR, f"While the animation ran, the page threw an uncaught exception: {msg}",
                where=short_url(_first_frame(err.get("stack", "")), ctx.base_url) or ctx.spec.entry,
                hint="Fix the exception thrown inside the animation loop; it fires on every frame.",
                evidence=truncate(err.get("stack", "") or "", 300)))
        for err in new.console_errors:
            if err.get("text", "") in seen or len(seen) >= 10:
                continue
            seen.add(err.get("text", ""))
            where = (f"{short_url(err['url'], ctx.base_url)}:{int(err.get('line', 0)) + 1}" if err.get("url")
                     else ctx.spec.entry)
            findings.append(Finding(
                CHECK, ERROR,
                f"While the animation ran, the console logged an error: {truncate(err.get('text', ''), 200)}",
                where=where, hint="Fix what logs this error during the animation.",
                evidence=truncate(err.get("text", ""), 300)))
        if new.crashed or s.events.crashed:
            findings.append(Finding(CHECK, ERROR, "The page crashed while the animation ran (out of memory?)",
                                    where=ctx.spec.entry,
                                    hint="Do not allocate new objects or arrays without bound on every frame."))
    return findings


def _first_frame(stack: str) -> str:
    for line in (stack or "").splitlines()[1:]:
        line = line.strip()
        if line.startswith("at "):
            inner = line[line.find("(") + 1: line.rfind(")")] if "(" in line else line[3:]
            return inner
    return ""
