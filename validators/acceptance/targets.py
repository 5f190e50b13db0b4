"""What the acceptance step modules share: a step's target, the failure a step raises, and waiting.

A target is written as the step language says (runshot.vocab: TARGET_KINDS, or `text` alone) and becomes a
Playwright locator here. `StepFailed` carries what a step expected and what the page showed instead; the
step runner turns it into a finding.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from runshot.validators.browser.context import Timeouts, within
from runshot.vocab import TARGET_KINDS

CHECK = "acceptance"
EVIDENCE_LIMIT = 1500
POLL = 0.1  # seconds between two looks while waiting for a match


class StepFailed(Exception):
    """A step did not do what it says; `expected` and `shown` complete the finding's message."""

    def __init__(self, expected: str, shown: str, hint: str = ""):
        super().__init__(f"expected {expected}, page showed {shown}")
        self.expected = expected
        self.shown = shown
        self.hint = hint


def target_forms() -> str:
    """How a target may be written, for messages: "{role, name}, {label}, …, {css} or {text}"."""
    forms = ["{role, name}" if kind == "role" else "{" + kind + "}" for kind in TARGET_KINDS]
    return ", ".join(forms) + " or {text}"


@dataclass(frozen=True)
class Target:
    """A step's target, resolved from its arguments."""

    kind: str  # one of TARGET_KINDS, or "text"
    value: str
    name: str | None = None
    exact: bool = False
    has_text: str | None = None  # `text` beside another target key on an action step

    def describe(self) -> str:
        if self.kind == "role":
            out = f"role={self.value}" + (f' name="{self.name}"' if self.name is not None else "")
        else:
            out = f'{self.kind}="{self.value}"'
        if self.has_text is not None:
            out += f' with text "{self.has_text}"'
        return out

    def locator(self, page: Any) -> Any:
        if self.kind == "role":
            if self.name is not None:
                loc = page.get_by_role(self.value, name=self.name, exact=self.exact)
            else:
                loc = page.get_by_role(self.value)
        elif self.kind == "label":
            loc = page.get_by_label(self.value, exact=self.exact)
        elif self.kind == "testid":
            loc = page.get_by_test_id(self.value)
        elif self.kind == "css":
            loc = page.locator(self.value)
        else:
            loc = page.get_by_text(self.value, exact=self.exact)
        if self.has_text is not None:
            loc = loc.filter(has_text=self.has_text)
        return loc

    def words(self) -> list[str]:
        """Words worth finding in an accessibility snapshot."""
        return [w for w in (self.name, self.value if self.kind in ("label", "text") else None, self.has_text) if w]


def parse_target(args: dict, for_expect: bool) -> Target | None:
    exact = bool(args.get("exact", False))
    text = args.get("text")
    for kind in TARGET_KINDS:
        if kind in args:
            name = args.get("name") if kind == "role" else None
            has_text = None if for_expect or text is None else as_text(text)
            return Target(kind, as_text(args[kind]), None if name is None else as_text(name), exact, has_text)
    if text is not None:
        return Target("text", as_text(text), exact=exact)
    return None


def as_text(value: Any) -> str:
    """A step argument as the page would show it (YAML booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalize(text: str) -> str:
    return " ".join((text or "").split())


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


async def poll(probe: Callable[[], Awaitable[tuple[bool, str]]], timeouts: Timeouts) -> tuple[bool, str]:
    """Call `probe` until it says yes or the action deadline passes; the last answer wins."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeouts.action
    while True:
        ok, shown = await probe()
        if ok or loop.time() >= deadline:
            return ok, shown
        await asyncio.sleep(POLL)


async def count_matches(loc: Any, timeouts: Timeouts) -> int:
    return await within(loc.count(), timeouts.action, "counting matching elements")


async def find_one(page: Any, target: Target, timeouts: Timeouts) -> Any:
    """The element an action works on: waits for a match, prefers visible ones and an exact name."""
    loc = target.locator(page)
    visible = loc.filter(visible=True)
    matches, any_visible = 0, False

    async def present() -> tuple[bool, str]:  # visible matches first: most steps need one query, not three
        nonlocal matches, any_visible
        matches = await count_matches(visible, timeouts)
        any_visible = matches > 0
        if not any_visible:
            matches = await count_matches(loc, timeouts)
        return matches > 0, ""

    found, _ = await poll(present, timeouts)
    if not found:
        raise StepFailed(f"an element matching {target.describe()}", "no such element", missing_hint(target))
    if any_visible:
        loc = visible
    if not target.exact and target.kind in ("role", "label", "text") and matches > 1:
        exact = Target(target.kind, target.value, target.name, True, target.has_text).locator(page)
        exact_visible = exact.filter(visible=True)
        if await count_matches(exact_visible, timeouts):
            loc = exact_visible
    return loc.first


def missing_hint(target: Target) -> str:
    if target.kind == "role":
        named = f' whose accessible name contains "{target.name}"' if target.name is not None else ""
        return (
            f"the page needs a visible element with role {target.value}{named} "
            f"(a native element such as <button> has its role already; the name comes from its text, "
            f"aria-label or <label>)"
        )
    if target.kind == "label":
        return f'the page needs a form control labelled "{target.value}" (<label for=…> or aria-label)'
    if target.kind == "testid":
        return f'the page needs an element with data-testid="{target.value}"'
    if target.kind == "css":
        return f"the page needs an element matching the CSS selector {target.value}"
    return f'the page needs a visible element showing the text "{target.value}"'
