"""The ways a benchmark spends test-time compute on one spec, as the loop's option values.

- one-shot: one answer, judged as it is;
- repair: one answer, then repairs while errors remain, within the token budget;
- candidates: N independent first answers, the best by the checks (no repair);
- both: N candidates, the best one repaired, within the same budget.
"""

from __future__ import annotations

from runshot.errors import UsageError

MODES = ("one-shot", "repair", "candidates", "both")


def mode_values(mode: str, budget: int | None, candidates: int, max_iterations: int) -> dict:
    """RunOptions values for one mode; the budget binds every mode but one-shot (a single answer)."""
    if mode == "one-shot":
        return {"max_iterations": 1, "candidates": 1}
    if mode == "repair":
        return {"max_iterations": max_iterations, "candidates": 1, "token_budget": budget}
    if mode == "candidates":
        return {"max_iterations": 1, "candidates": candidates, "token_budget": budget}
    if mode == "both":
        return {"max_iterations": max_iterations, "candidates": candidates, "token_budget": budget}
    raise UsageError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")


def parse_modes(text: str) -> list[str]:
    """'one-shot,repair' -> ['one-shot', 'repair'] (each known, each once)."""
    modes = list(dict.fromkeys(m.strip() for m in (text or "").split(",") if m.strip()))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise UsageError(f"--modes {text}: unknown mode(s) {', '.join(unknown) or '(none given)'} "
                         f"(known: {', '.join(MODES)})")
    return modes
