"""Expectations of acceptance steps: `expect` names a target and what must hold of it.

The expectations are those of runshot.vocab.EXPECTATIONS. Each is a probe polled until it holds or the action
deadline passes; the first that does not hold raises StepFailed with what the page showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runshot.validators.acceptance.targets import (
    StepFailed,
    Target,
    as_text,
    count_matches,
    first_line,
    missing_hint,
    normalize,
    parse_target,
    poll,
    target_forms,
)
from runshot.validators.browser.context import CheckTimeout, Timeouts, within
from runshot.values import truncate
from runshot.vocab import EXPECTATIONS, SIZE_EXPECTATIONS


async def expect_step(page: Any, args: dict, timeouts: Timeouts) -> None:
    target = parse_target(args, for_expect=True)
    text_is_target = target is not None and target.kind == "text"
    wanted = {k: args[k] for k in EXPECTATIONS if k in args and not (k == "text" and text_is_target)}
    if "url" in wanted:
        await _expect_url(page, as_text(wanted.pop("url")), timeouts)
        if not wanted and target is None:
            return
    if target is None:
        raise StepFailed(
            "a target such as " + target_forms(),
            "nothing to check",
            "write the expectation with a target, e.g. expect: {role: status, text: '1'}",
        )
    if not wanted:
        wanted["visible"] = True
    loc = target.locator(page)
    probes = [_probe_for(key, value, loc, target, page, timeouts) for key, value in wanted.items()]

    async def all_hold() -> tuple[bool, str]:
        for expected, probe in probes:
            ok, shown = await probe()
            if not ok:
                return False, f"{expected}\x00{shown}"
        return True, ""

    ok, detail = await poll(all_hold, timeouts)
    if not ok:
        expected, shown = detail.split("\x00", 1)
        raise StepFailed(expected, shown, _expect_hint(target, detail))


def _expect_hint(target: Target, detail: str) -> str:
    if "no element matches" in detail:
        return missing_hint(target)
    return "after the steps before it, the page must show exactly this; update the page's state and text accordingly"


async def _expect_url(page: Any, part: str, timeouts: Timeouts) -> None:
    async def probe() -> tuple[bool, str]:
        return part in page.url, f"the address {page.url}"

    ok, shown = await poll(probe, timeouts)
    if not ok:
        raise StepFailed(
            f'the address to contain "{part}"', shown, "navigate (a link or location change) as the step says"
        )


@dataclass(frozen=True)
class _Probing:
    """What the probes of one expectation read: the target's locator and description, the page, the deadlines."""

    loc: Any
    desc: str
    page: Any
    timeouts: Timeouts

    async def count(self) -> int:
        return await count_matches(self.loc, self.timeouts)

    async def texts(self, limit: int = 3) -> list[str]:
        found = await within(self.loc.all_inner_texts(), self.timeouts.action, "reading text")
        return [normalize(t) for t in found[:limit]]

    async def pick(self) -> Any | None:
        """The first visible match, else the first match, else None."""
        visible = self.loc.filter(visible=True)
        if await count_matches(visible, self.timeouts):
            return visible.first
        return self.loc.first if await self.count() else None

    def none_match(self) -> tuple[bool, str]:
        return False, f"no element matches {self.desc}"


def _probe_for(key: str, value: Any, loc: Any, target: Target, page: Any, timeouts: Timeouts):
    """(what is expected, an async probe giving (holds, what the page shows)) for one expectation."""
    desc = target.describe()
    if key == "visible" and value is False:
        key, value = "hidden", True
    if key == "hidden" and value is False:
        key, value = "visible", True
    if key in _PROBES:
        return _PROBES[key](_Probing(loc, desc, page, timeouts), value)
    if key in SIZE_EXPECTATIONS:
        return _size_probe(key, value, loc, desc, timeouts)
    if key == "exact_text":
        return _exact_text_probe(value, loc, desc, timeouts)

    async def unknown() -> tuple[bool, str]:
        return False, f"an unknown expectation {key!r}"
    return f"a known expectation ({', '.join(EXPECTATIONS)})", unknown


def _visible_probe(p: _Probing, _value: Any):
    async def probe() -> tuple[bool, str]:
        n = await p.count()
        if n == 0:
            return p.none_match()
        shown = await count_matches(p.loc.filter(visible=True), p.timeouts)
        return shown > 0, f"{n} matching element(s), none of them visible"
    return f"{p.desc} to be visible", probe


def _hidden_probe(p: _Probing, _value: Any):
    async def probe() -> tuple[bool, str]:
        shown = await count_matches(p.loc.filter(visible=True), p.timeouts)
        if shown == 0:
            return True, ""
        return False, f"{shown} visible matching element(s): {_quote_list(await p.texts())}"
    return f"{p.desc} to be hidden", probe


def _text_probe(p: _Probing, value: Any):
    want = normalize(as_text(value))

    async def probe() -> tuple[bool, str]:
        if await p.count() == 0:
            return p.none_match()
        got = await p.texts(1000)
        if any(want in t for t in got):
            return True, ""
        shown = f"the text {_quote_list(got[:5])}"
        if any(want.lower() in t.lower() for t in got):
            shown += " (the same words in other letter case: the case must match)"
        return False, shown
    return f'{p.desc} to contain the text "{want}"', probe


def _value_probe(p: _Probing, value: Any):
    want = as_text(value)
    timeouts = p.timeouts

    async def probe() -> tuple[bool, str]:
        element = await p.pick()
        if element is None:
            return p.none_match()
        try:
            got = await within(element.input_value(timeout=timeouts.action * 1000), timeouts.action + 1, "value")
        except CheckTimeout:
            raise
        except Exception as exc:  # not an input, select or textarea
            return False, f"an element without a value ({first_line(exc)})"
        return got == want, f'the value "{got}"'
    return f'{p.desc} to have the value "{want}"', probe


def _count_probe(p: _Probing, value: Any):
    try:
        want_n = int(value)
    except (TypeError, ValueError):
        want_n = -1

    async def probe() -> tuple[bool, str]:
        n = await p.count()
        return n == want_n, f"{n} matching element(s)" + (f": {_quote_list(await p.texts())}" if n else "")
    return f"{want_n} element(s) matching {p.desc}", probe


def _attribute_probe(p: _Probing, value: Any):
    wanted = {str(k): as_text(v) for k, v in (value or {}).items()} if isinstance(value, dict) else {}
    timeouts = p.timeouts

    async def probe() -> tuple[bool, str]:
        element = await p.pick()
        if element is None:
            return p.none_match()
        for name, want in wanted.items():
            got = await within(
                element.get_attribute(name, timeout=timeouts.action * 1000), timeouts.action + 1, "attribute"
            )
            if got != want:
                return False, f"{name}=" + ("(absent)" if got is None else f'"{got}"')
        return True, ""
    shown_want = ", ".join(f'{k}="{v}"' for k, v in wanted.items()) or "(no attribute given)"
    return f"{p.desc} to have {shown_want}", probe


def _focused_probe(p: _Probing, value: Any):
    want_focus = value is not False

    async def probe() -> tuple[bool, str]:
        element = await p.pick()
        if element is None:
            return p.none_match()
        focused = await within(element.evaluate(_HAS_FOCUS), p.timeouts.action, "reading focus")
        if focused == want_focus:
            return True, ""
        active = await within(p.page.evaluate(_ACTIVE_ELEMENT), p.timeouts.action, "reading focus")
        return False, f"focus on {active}"
    return f"{p.desc} to {'have' if want_focus else 'not have'} keyboard focus", probe


def _state_probe(state: str, p: _Probing, value: Any):
    """Whether the first visible match is checked / disabled (`value` true) or not (false), as Playwright reads it:
    the checked property or aria-checked; the disabled attribute, a disabled fieldset, or aria-disabled."""
    want = value is not False
    timeouts = p.timeouts

    async def probe() -> tuple[bool, str]:
        element = await p.pick()
        if element is None:
            return p.none_match()
        read = element.is_checked if state == "checked" else element.is_disabled
        try:
            got = await within(read(timeout=timeouts.action * 1000), timeouts.action + 1, state)
        except CheckTimeout:
            raise
        except Exception as exc:  # is_checked of an element that is no checkbox, radio button or switch
            return False, f"an element that cannot be checked ({first_line(exc)})"
        if state == "checked":
            return got == want, "checked" if got else "not checked"
        return got == want, "disabled" if got else "enabled"
    words = {("checked", True): "checked", ("checked", False): "not checked", ("disabled", True): "disabled",
             ("disabled", False): "enabled"}
    return f"{p.desc} to be {words[(state, want)]}", probe


_PROBES = {
    "visible": _visible_probe,
    "hidden": _hidden_probe,
    "text": _text_probe,
    "value": _value_probe,
    "count": _count_probe,
    "attribute": _attribute_probe,
    "focused": _focused_probe,
    "checked": lambda p, value: _state_probe("checked", p, value),
    "disabled": lambda p, value: _state_probe("disabled", p, value),
}


def _exact_text_probe(value: Any, loc: Any, desc: str, timeouts: Timeouts):
    """Some element matching the target shows exactly this text (spaces trimmed and collapsed)."""
    want = normalize(as_text(value))

    async def probe() -> tuple[bool, str]:
        if await count_matches(loc, timeouts) == 0:
            return False, f"no element matches {desc}"
        found = await within(loc.all_inner_texts(), timeouts.action, "reading text")
        got = [normalize(t) for t in found]
        return want in got, f"the text {_quote_list(got[:5])}"
    return f'{desc} to show exactly the text "{want}"', probe


MAX_SIZED = 50  # matching elements measured by min_height / min_width


def _size_probe(key: str, value: Any, loc: Any, desc: str, timeouts: Timeouts):
    """Every visible element matching the target has a box at least `value` CSS px tall (or wide)."""
    want = float(value)
    side, word = ("height", "tall") if key == "min_height" else ("width", "wide")

    async def probe() -> tuple[bool, str]:
        visible = loc.filter(visible=True)
        n = await count_matches(visible, timeouts)
        if n == 0:
            return False, f"no visible element matches {desc}"
        sizes = await within(
            visible.evaluate_all(_SIZES, [MAX_SIZED, side]),
            timeouts.action,
            "measuring",
        )
        small = min(sizes)
        if small + 0.01 >= want:
            return True, ""
        return False, f"a box {small:g} px {word} ({sum(s < want for s in sizes)} of {len(sizes)} too small)"
    return f"{desc} to be at least {want:g} px {word}", probe


# The sizes (`side`: "height" or "width") of the first `n` elements' boxes.
_SIZES = "(els, [n, side]) => els.slice(0, n).map(e => e.getBoundingClientRect()[side])"
_HAS_FOCUS = ("el => el === document.activeElement || el.contains(document.activeElement) && "
              "document.activeElement !== document.body")
_ACTIVE_ELEMENT = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "the page itself (nothing focused)";
  const name = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim().slice(0, 40);
  return "<" + el.tagName.toLowerCase() + (el.id ? " id=" + el.id : "") + ">" + (name ? ' "' + name + '"' : "");
}"""


def _quote_list(items: list[str]) -> str:
    if not items:
        return "(none)"
    return ", ".join(f'"{truncate(t, 120)}"' for t in items)

