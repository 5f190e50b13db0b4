"""Stop a streamed answer that loops: a file sent again after it was finished, one line over and over, or a block
of a few lines over and over."""

from __future__ import annotations

import re
from collections import deque

_HEADING_PATH = re.compile(r"^#{1,6}\s+`?(?P<path>[\w./@+-]+\.[A-Za-z0-9]{1,12})`?\s*:?\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
REPEAT_LINES = 30  # the same non-blank line this many times in a row is a loop, not code
MAX_PERIOD = 12  # a block of up to this many lines sent again and again, REPEAT_LINES lines in all, is a loop too
MIN_BLOCKS = 3


class RepeatGuard:
    """Watches a streamed answer line by line and says when it starts repeating itself.

    Three signs: a `### path` heading for a file whose block already closed, followed by a whole file again (an
    edit block after a repeated heading is fine); one non-blank line sent REPEAT_LINES times in a row; and a block of
    2 to MAX_PERIOD non-blank lines sent again at least MIN_BLOCKS times in a row, REPEAT_LINES lines in all.
    `kept(text)` is the answer up to where the repetition began (its first round kept).
    """

    def __init__(self, repeat_lines: int = REPEAT_LINES):
        self.repeat_lines = repeat_lines
        self.partial = ""
        self.offset = 0  # characters of the answer in complete lines so far
        self.finished: set[str] = set()  # paths whose whole-file block closed
        self.current: str | None = None  # path of the block being read
        self.fence: str | None = None
        self.pending: tuple[str, int] | None = None  # (path, offset) of a heading naming a finished file
        self.pending_fence = False
        self.last = ""
        self.run = 0
        self.run_start = 0
        self.recent: deque[tuple[str, int]] = deque(maxlen=MAX_PERIOD * (repeat_lines + MIN_BLOCKS))
        self.cut: int | None = None
        self.why = ""

    def feed(self, piece: str) -> bool:
        """Take more of the answer; True once it repeats (then stop reading)."""
        self.partial += piece
        while "\n" in self.partial and self.cut is None:
            line, self.partial = self.partial.split("\n", 1)
            self._line(line)
            self.offset += len(line) + 1
        return self.cut is not None

    def kept(self, text: str) -> str:
        return text if self.cut is None else text[: self.cut]

    def _line(self, line: str) -> None:
        stripped = line.strip()
        if stripped and stripped == self.last:
            self.run += 1
            if self.run >= self.repeat_lines:
                self._stop(self.run_start + len(line) + 1, f"the same line {self.run} times in a row")
                return
        elif stripped:
            self.last, self.run, self.run_start = stripped, 1, self.offset
        if stripped:
            self.recent.append((stripped, self.offset))
            if self._block_loop():
                return
        fence = _FENCE.match(line)
        if self.fence is not None:
            if fence and fence.group(1)[0] == self.fence[0] and len(fence.group(1)) >= len(self.fence) \
                    and not fence.group(2).strip():
                if self.current:
                    self.finished.add(self.current)
                self.fence, self.current = None, None
            elif self.pending is not None and stripped:
                if "<<<<<<<" in stripped:
                    self.pending = None  # an edit block: repeating the heading is how edits are written
                else:
                    self._stop(self.pending[1], f"{self.pending[0]} sent again")
            return
        if fence:
            self.fence = fence.group(1)
            return
        heading = _HEADING_PATH.match(stripped)
        if heading:
            path = heading.group("path")
            self.current = path
            self.pending = (path, self.offset) if path in self.finished else None
        elif stripped and "<<<<<<<" in stripped:
            self.pending = None
            self.current = None

    def _block_loop(self) -> bool:
        """The last lines are one block of 2..MAX_PERIOD lines repeated back to back, REPEAT_LINES lines in all."""
        lines = self.recent
        for period in range(2, MAX_PERIOD + 1):
            blocks = max(MIN_BLOCKS, -(-self.repeat_lines // period))
            span = blocks * period
            if len(lines) < span:
                continue
            start = len(lines) - span
            if all(lines[i][0] == lines[i - period][0] for i in range(start + period, len(lines))):
                if len({lines[i][0] for i in range(start, start + period)}) == 1:
                    continue  # one line over and over: the line rule's business
                self._stop(lines[start + period][1], f"a block of {period} lines {blocks} times in a row")
                return True
        return False

    def _stop(self, at: int, why: str) -> None:
        self.cut, self.why = at, why
