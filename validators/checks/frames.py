"""Reading a few downscaled canvas frames for signs of a broken animation, and saving them as evidence.

A frame is a small RGBA image (``Frame``). ``analyse`` compares frames taken a fraction of a second apart:

- blank: every frame is one flat colour (nothing is ever drawn, or only the background);
- never cleared: ink (pixels unlike the background) is only ever added, never taken away, and keeps growing —
  the drawing is painted over the last frame instead of a cleared canvas, until it becomes a solid tangle;
- left the canvas: early frames show a drawing, the last ones show nothing but background.

Plain Python on a few thousand pixels per frame; no image library needed.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

TOLERANCE = 24  # per channel (0-255): smaller differences are smoothing noise of the downscale
NEVER_CLEARED_COVERAGE = 0.5  # covered share at the end that makes an only-growing drawing a tangle
NEVER_CLEARED_GROWTH = 0.02  # or, short of that: covered share it gained while never losing a pixel


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    rgba: bytes  # width * height * 4 bytes, not premultiplied

    def pixels(self) -> list[tuple[int, int, int, int]]:
        b = self.rgba
        return [(b[i], b[i + 1], b[i + 2], b[i + 3]) for i in range(0, len(b) - 3, 4)]


def _quantize(p: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    if p[3] < 8:
        return (0, 0, 0, 0)  # any transparent pixel
    return (p[0] // 16, p[1] // 16, p[2] // 16, p[3] // 16)


def _differs(p, bg) -> bool:
    if p[3] < 8 and bg[3] < 8:
        return False
    return any(abs(a - b) > TOLERANCE for a, b in zip(p, bg))


def _background(frame: Frame) -> tuple[int, int, int, int]:
    """The most common colour of a frame, as a representative pixel."""
    pixels = frame.pixels()
    if not pixels:
        return (0, 0, 0, 0)
    common, _ = Counter(_quantize(p) for p in pixels).most_common(1)[0]
    return next(p for p in pixels if _quantize(p) == common)


def ink_masks(frames: list[Frame]) -> tuple[list[list[bool]], tuple[int, int, int, int]]:
    """For each frame, which pixels differ from the background (the first frame's most common colour)."""
    bg = _background(frames[0])
    return [[_differs(p, bg) for p in f.pixels()] for f in frames], bg


@dataclass(frozen=True)
class Verdict:
    blank: bool
    never_cleared: bool
    left_canvas: bool
    coverage: tuple[float, ...]  # share of inked pixels per frame
    cleared: tuple[int, ...]  # pixels that went back to background between consecutive frames

    def summary(self) -> str:
        cov = ", ".join(f"{c:.0%}" for c in self.coverage)
        gone = ", ".join(str(n) for n in self.cleared)
        return f"covered share per frame: {cov}; pixels cleared between frames: {gone or 'none'}"


def analyse(frames: list[Frame]) -> Verdict | None:
    """What a few frames (same size, in time order) say about the animation; None when there are too few."""
    frames = [f for f in frames if f.width * f.height > 0 and len(f.rgba) == f.width * f.height * 4]
    if len(frames) < 3 or len({(f.width, f.height) for f in frames}) != 1:
        return None
    masks, _ = ink_masks(frames)
    total = len(masks[0])
    coverage = tuple(sum(m) / total for m in masks)
    cleared = tuple(sum(1 for a, b in zip(m0, m1) if a and not b) for m0, m1 in zip(masks, masks[1:]))
    added = tuple(sum(1 for a, b in zip(m0, m1) if b and not a) for m0, m1 in zip(masks, masks[1:]))
    flat = [len({_quantize(p) for p in f.pixels()}) <= 1 for f in frames]
    blank = all(flat)
    removed_share = sum(cleared) / total
    grows = sum(added) > 0 and coverage[-1] > coverage[0]
    never_cleared = (
        not blank
        and removed_share <= 0.002
        and grows
        and (coverage[-1] >= NEVER_CLEARED_COVERAGE or coverage[-1] - coverage[0] >= NEVER_CLEARED_GROWTH)
    )
    had_ink = any(c > 0.0005 for c in coverage[:-2])
    left_canvas = not blank and had_ink and all(c == 0 for c in coverage[-2:])
    return Verdict(blank, never_cleared, left_canvas, coverage, cleared)


def png_bytes(frame: Frame) -> bytes:
    """A frame as a PNG file (8-bit RGBA, no filtering)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = frame.width * 4
    raw = b"".join(b"\x00" + frame.rgba[y * row:(y + 1) * row] for y in range(frame.height))
    header = struct.pack(">IIBBBBB", frame.width, frame.height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def save_frames(frames: list[Frame], folder: Path, stem: str) -> list[Path]:
    """Write the frames as PNGs into `folder` (created); their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, frame in enumerate(frames, 1):
        path = folder / f"{stem}-{i}.png"
        path.write_bytes(png_bytes(frame))
        out.append(path)
    return out
