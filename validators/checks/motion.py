"""For animated specs: something on the page must move, keep running without errors, and not look broken.

A spec is animated when its front matter says ``animated: true``, or, when the front matter is silent, when its
title or text clearly asks for motion ("animated", "bouncing", "rotating", "simulation", "game loop", ...);
``animated: false`` turns the check off. The report's info says when motion was inferred, and from which words.

Motion is seen in any of: canvas pixels (read inside an animation frame, so WebGL canvases read true; tainted
canvases fall back to screenshots of the element), DOM mutations, running CSS/Web animations, or finally a changed
screenshot of the viewport. A few downscaled frames of the largest canvas are compared for signs of a broken
animation (see ``frames.analyse``): a canvas never drawn on, a drawing never cleared, a drawing that left the canvas.
"""

from __future__ import annotations

import dataclasses
import asyncio
import base64
import hashlib
import re
from pathlib import Path

from playwright.async_api import Error as PlaywrightError

from runshot.spec import Spec
from runshot.rules import ISOLATED, Check, Rule, Rules
from runshot.values import ERROR, STATE_DIR, WARNING, Finding, truncate
from runshot.validators.browser.context import CheckContext
from runshot.validators.browser.domtools import js, label, short_url
from runshot.validators.checks.frames import Frame, analyse, save_frames

CHECK = "motion"
SAMPLES = 6  # canvas frames over about two seconds
INTERVAL = 0.45
SMALL_WIDTH = 128  # frames are downscaled to this width before they are compared
RUN_SECONDS = 3.0  # total time the page is watched for errors

RULES = Rules(
    Rule("motion/static", ERROR, "The spec asks for motion and nothing on the page moves."),
    Rule("motion/blank", ERROR, "The canvas is never drawn on (a warning when something else on the page moves)."),
    Rule("motion/never-cleared", WARNING, "Only ever adds ink: usually a missing clearRect, but may be on purpose."),
    Rule("motion/off-canvas", WARNING, "The drawing left the canvas: usually wrong coordinates, may be an ending."),
    Rule("motion/exception", ERROR, "The animation loop throws."),
    Rule("motion/console-error", ERROR, "The animation logs errors."),
    Rule("motion/crash", ERROR, "The page crashed while animating."),
)
DECLARED = Check(CHECK, "check_motion", needs=ISOLATED, rules=RULES)

# Words that clearly ask for something that moves by itself.
MOTION_WORDS = re.compile(
    r"\b(animated|animations?|animates?|animating|bouncing|spinning|rotating|revolving|orbiting|simulation|"
    r"simulates?|game[ -]loop|starfield|particles?|screensaver|flocking)\b", re.I)
_NEGATED = re.compile(r"\b(no|not|without|never|non|avoid|disabled?|reduced?)\b[\s-]+(?:\w+[\s-]+)?$", re.I)


def motion_words(spec: Spec) -> list[str]:
    """The words of the spec's title and text that ask for motion (not negated: "no animation" does not count)."""
    text = f"{spec.title}\n{spec.body}"
    found: list[str] = []
    for m in MOTION_WORDS.finditer(text):
        if _NEGATED.search(text[max(0, m.start() - 24):m.start()]):
            continue
        word = m.group(1).lower()
        if word not in found:
            found.append(word)
    return found


def wants_motion(spec: Spec) -> tuple[bool, str, list[str]]:
    """(animated?, "front matter" or "inferred", the words it was inferred from)."""
    if spec.animated:
        return True, "front matter", []
    if getattr(spec, "animated_explicit", False):
        return False, "front matter", []
    words = motion_words(spec)
    return bool(words), "inferred", words


_START = r"""
const canvases = Array.from(document.querySelectorAll('canvas')).filter(RS.shown)
  .sort((a, b) => (b.width * b.height) - (a.width * a.height));
const c = canvases[0] || null;
window.__runshotMotion = {changes: 0};
const mo = new MutationObserver((records) => { window.__runshotMotion.changes += records.length; });
mo.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
return {canvas: c ? RS.desc(c) : null, count: canvases.length};
"""

# Read inside an animation frame, after the page's own frame callback: a WebGL drawing buffer still holds the frame.
_CANVAS_SAMPLE = r"""
const c = document.querySelector(arg.sel);
if (!c) return {error: 'gone'};
const read = () => {
  let hash = '';
  try {
    const url = c.toDataURL();
    let h = 0;
    for (let i = 0; i < url.length; i += 7) h = (h * 31 + url.charCodeAt(i)) | 0;
    hash = url.length + ':' + h;
  } catch (e) { return {error: String(e && e.name || e)}; }
  const w = Math.max(1, Math.min(arg.w, c.width));
  const h = Math.max(1, Math.min(arg.w, Math.round(w * c.height / Math.max(1, c.width))));
  const small = document.createElement('canvas');
  small.width = w; small.height = h;
  const g = small.getContext('2d', {willReadFrequently: true});
  g.imageSmoothingEnabled = true; g.imageSmoothingQuality = 'high';
  g.drawImage(c, 0, 0, w, h);
  const d = g.getImageData(0, 0, w, h).data;
  let s = '';
  for (let i = 0; i < d.length; i += 8192) s += String.fromCharCode.apply(null, d.subarray(i, i + 8192));
  return {hash, w, h, data: btoa(s)};
};
return new Promise((resolve) => {
  const timer = setTimeout(() => resolve(read()), 400);
  requestAnimationFrame(() => { clearTimeout(timer); resolve(read()); });
});
"""

# Decode a PNG (a screenshot) in the page and downscale it the same way.
_PNG_SAMPLE = r"""
const img = new Image();
img.src = 'data:image/png;base64,' + arg.png;
await img.decode();
const w = Math.max(1, Math.min(arg.w, img.naturalWidth));
const h = Math.max(1, Math.min(arg.w, Math.round(w * img.naturalHeight / Math.max(1, img.naturalWidth))));
const small = document.createElement('canvas');
small.width = w; small.height = h;
const g = small.getContext('2d', {willReadFrequently: true});
g.imageSmoothingEnabled = true; g.imageSmoothingQuality = 'high';
g.drawImage(img, 0, 0, w, h);
const d = g.getImageData(0, 0, w, h).data;
let s = '';
for (let i = 0; i < d.length; i += 8192) s += String.fromCharCode.apply(null, d.subarray(i, i + 8192));
return {w, h, data: btoa(s)};
"""

_CONTENT_BOX = r"""
const c = document.querySelector(arg);
if (!c) return null;
const r = c.getBoundingClientRect(), s = getComputedStyle(c);
const px = (v) => parseFloat(v) || 0;
const x = r.left + px(s.borderLeftWidth) + px(s.paddingLeft), y = r.top + px(s.borderTopWidth) + px(s.paddingTop);
const w = r.width - px(s.borderLeftWidth) - px(s.borderRightWidth) - px(s.paddingLeft) - px(s.paddingRight);
const h = r.height - px(s.borderTopWidth) - px(s.borderBottomWidth) - px(s.paddingTop) - px(s.paddingBottom);
const vx = Math.max(0, x), vy = Math.max(0, y);
const vw = Math.min(innerWidth, x + w) - vx, vh = Math.min(innerHeight, y + h) - vy;
return vw >= 1 && vh >= 1 ? {x: vx, y: vy, width: vw, height: vh} : null;
"""

_DOM_MOTION = r"""
const m = window.__runshotMotion || {changes: 0};
let running = 0;
try { running = document.getAnimations().filter((a) => a.playState === 'running').length; } catch (e) {}
return {changes: m.changes, animations: running};
"""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _frame(sample: dict) -> Frame:
    return Frame(int(sample["w"]), int(sample["h"]), base64.b64decode(sample["data"]))


async def _screenshot_frame(ctx: CheckContext, page, sel: str) -> tuple[Frame | None, str]:
    """What the compositor shows inside the canvas's content box, downscaled; and a digest of it."""
    try:
        box = await ctx.within(page.evaluate(js(_CONTENT_BOX), sel), "measuring the canvas")
        if not box:
            return None, ""
        png = await ctx.within(page.screenshot(clip=box, timeout=ctx.timeouts.action * 800, animations="allow"),
                               "screenshotting the canvas")
        sample = await ctx.within(page.evaluate("async " + js(_PNG_SAMPLE),
                                                {"png": base64.b64encode(png).decode("ascii"), "w": SMALL_WIDTH}),
                                  "reading the canvas screenshot")
    except PlaywrightError:
        return None, ""
    return _frame(sample), _digest(png)


async def _sample_canvas(ctx: CheckContext, page, sel: str) -> tuple[list[Frame], bool, bool]:
    """(downscaled frames, whether the pixels changed, whether they came from screenshots)."""
    frames: list[Frame] = []
    hashes: set[str] = set()
    shots = False
    for i in range(SAMPLES):
        if i:
            await asyncio.sleep(INTERVAL)
        if not shots:
            r = await ctx.within(page.evaluate(js(_CANVAS_SAMPLE), {"sel": sel, "w": SMALL_WIDTH}),
                                 "reading canvas pixels")
            if "error" in r:
                if r["error"] == "gone":
                    break
                shots = True  # a tainted canvas: read what is on screen instead
            else:
                hashes.add(r["hash"])
                frames.append(_frame(r))
                continue
        frame, digest = await _screenshot_frame(ctx, page, sel)
        if frame is None:
            break
        hashes.add(digest)
        frames.append(frame)
    return frames, len(hashes) > 1, shots


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


def _evidence(ctx: CheckContext, frames: list[Frame], stem: str, summary: str) -> str:
    """The frames' summary, and where they were saved when the project has a runshot state folder."""
    state = Path(ctx.project_dir) / STATE_DIR
    if not state.is_dir():
        return summary
    try:
        paths = save_frames(frames, state / "motion", stem)
    except OSError:
        return summary
    rel = ", ".join(p.relative_to(ctx.project_dir).as_posix() for p in paths)
    return f"{summary}; frames: {rel}"


def _frame_findings(ctx: CheckContext, canvas: dict, frames: list[Frame], moving_elsewhere: bool) -> list[Finding]:
    verdict = analyse(frames)
    if verdict is None:
        return []
    ctx.info.setdefault("motion", {})["frames"] = verdict.summary()
    where, name = canvas.get("sel", ""), label(canvas)
    summary = f"{len(frames)} frames {INTERVAL:g} s apart, {frames[0].width}x{frames[0].height} px; " + \
        verdict.summary()
    if verdict.blank:
        return [RULES["motion/blank"].finding(
            f"The spec asks for an animation, but nothing is ever drawn on {name}: every frame is one flat colour",
            where=where,
            hint="Get the 2D/WebGL context of this canvas and draw the scene in the requestAnimationFrame loop.",
            evidence=_evidence(ctx, frames[:2], "blank", summary), review=moving_elsewhere)]
    if verdict.never_cleared:
        return [RULES["motion/never-cleared"].finding(
            f"The animation on {name} is never cleared: each frame is drawn over the last, so the drawing only "
            f"grows (to {verdict.coverage[-1]:.0%} of the canvas) instead of moving",
            where=where,
            hint="Clear the canvas at the start of every frame (ctx.clearRect(0, 0, canvas.width, canvas.height) "
            "or fill the background) before drawing.",
            evidence=_evidence(ctx, [frames[0], frames[-1]], "never-cleared", summary))]
    if verdict.left_canvas:
        return [RULES["motion/off-canvas"].finding(
            f"The drawing on {name} moved out of the canvas: the last frames show only the background", where=where,
            hint="Keep the drawing inside the canvas: check the coordinates, the scale and the bounce or wrap "
            "at the edges (use canvas.width and canvas.height).",
            evidence=_evidence(ctx, [frames[0], frames[-1]], "off-canvas", summary))]
    return []


async def check_motion(ctx: CheckContext) -> list[Finding]:
    animated, source, words = wants_motion(ctx.spec)
    if words:
        ctx.info["motion"] = {"animated": True, "source": source, "words": words}
    if not animated:
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
        frames: list[Frame] = []
        if canvas:
            frames, moving, from_shots = await _sample_canvas(ctx, page, canvas["sel"])
            verdict = analyse(frames)
            if verdict is not None and verdict.blank and not from_shots:
                # Confirm with what is on screen (a WebGL canvas drawn outside animation frames reads blank).
                shot, _ = await _screenshot_frame(ctx, page, canvas["sel"])
                if shot is not None and not analyse([shot, shot, shot]).blank:
                    frames = []
                    moving = moving or await _viewport_moves(ctx, page)
        canvas_moving = moving
        if not moving:
            await asyncio.sleep(max(0.0, 1.0 - (loop.time() - started)))
            dom = await ctx.within(page.evaluate(js(_DOM_MOTION)), "reading DOM changes")
            moving = dom["changes"] > 0 or dom["animations"] > 0
        if not moving:
            moving = await _viewport_moves(ctx, page)
        signs = _frame_findings(ctx, canvas, frames, moving and not canvas_moving) if canvas and frames else []
        findings += signs
        if not moving and not any(f.rule == "motion/blank" for f in signs):
            where = canvas["sel"] if canvas else "body"
            what = label(canvas) if canvas else "the page (no canvas, no DOM change, no CSS animation)"
            findings.append(RULES["motion/static"].finding(
                f"The spec asks for an animation, but nothing moved on {what} during about two seconds after load",
                where=where,
                hint="Start the animation loop on load with requestAnimationFrame(draw) and redraw every frame.",
                evidence=truncate(canvas.get("html", "") if canvas else "", 300)))
        if source == "inferred":
            for f in list(findings):
                findings[findings.index(f)] = _inferred(f, words)
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
            findings.append(RULES["motion/exception"].finding(
                f"While the animation ran, the page threw an uncaught exception: {msg}",
                where=short_url(_first_frame(err.get("stack", "")), ctx.base_url) or ctx.spec.entry,
                hint="Fix the exception thrown inside the animation loop; it fires on every frame.",
                evidence=truncate(err.get("stack", "") or "", 300)))
        for err in new.console_errors:
            if err.get("text", "") in seen or len(seen) >= 10:
                continue
            seen.add(err.get("text", ""))
            where = (f"{short_url(err['url'], ctx.base_url)}:{int(err.get('line', 0)) + 1}" if err.get("url")
                     else ctx.spec.entry)
            findings.append(RULES["motion/console-error"].finding(
                f"While the animation ran, the console logged an error: {truncate(err.get('text', ''), 200)}",
                where=where, hint="Fix what logs this error during the animation.",
                evidence=truncate(err.get("text", ""), 300)))
        if new.crashed or s.events.crashed:
            findings.append(RULES["motion/crash"].finding(
                "The page crashed while the animation ran (out of memory?)", where=ctx.spec.entry,
                hint="Do not allocate new objects or arrays without bound on every frame."))
    return findings


def _inferred(f: Finding, words: list[str]) -> Finding:
    """Say in the message that the spec's words, not its front matter, asked for motion."""
    quoted = ", ".join(f'"{w}"' for w in words[:4])
    return dataclasses.replace(f, message=f"{f.message} (motion inferred from the spec's words {quoted}; "
                               "write 'animated: false' in its front matter if it should stand still)")


def _first_frame(stack: str) -> str:
    for line in (stack or "").splitlines()[1:]:
        line = line.strip()
        if line.startswith("at "):
            inner = line[line.find("(") + 1: line.rfind(")")] if "(" in line else line[3:]
            return inner
    return ""
