"""The report: what each iteration produced, which one won, and what it cost."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from runshot import __version__
from runshot.values import STATE_DIR, Finding, Usage, errors

REPORT_DIR = STATE_DIR


@dataclass
class Iteration:
    number: int
    findings: list[Finding] = field(default_factory=list)
    commit: str | None = None
    usage: Usage = field(default_factory=Usage)
    model_seconds: float = 0.0
    validate_seconds: float = 0.0
    files_changed: list[str] = field(default_factory=list)
    note: str = ""  # e.g. "no usable files", "errors repeat the previous iteration"
    validated: bool = False
    kind: str = ""  # "first", "candidates" (the best of several first attempts), "repair", "retry", "fresh"
    temperature: float | None = None  # sampling temperature asked for, when not the endpoint's default
    acceptance_passed: int = 0  # acceptance steps that passed (a tie-breaker between candidates)

    @property
    def error_count(self) -> int:
        return len(errors(self.findings))

    @property
    def passed(self) -> bool:
        return self.validated and self.error_count == 0

    def to_dict(self) -> dict:
        data = {
            "number": self.number,
            "commit": self.commit,
            "passed": self.passed,
            "errors": self.error_count,
            "findings": [f.to_dict() for f in self.findings],
            "usage": self.usage.to_dict(),
            "seconds": {"model": round(self.model_seconds, 3), "validate": round(self.validate_seconds, 3)},
            "files_changed": self.files_changed,
        }
        if self.note:
            data["note"] = self.note
        if self.kind:
            data["kind"] = self.kind
        if self.temperature is not None:
            data["temperature"] = self.temperature
        data["acceptance_steps_passed"] = self.acceptance_passed
        return data


def iteration_from_dict(data: dict) -> Iteration:
    seconds = data.get("seconds") or {}
    usage = data.get("usage") or {}
    return Iteration(
        number=int(data["number"]),
        findings=[Finding.from_dict(f) for f in data.get("findings", [])],
        commit=data.get("commit"),
        usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
        model_seconds=float(seconds.get("model", 0.0)),
        validate_seconds=float(seconds.get("validate", 0.0)),
        files_changed=list(data.get("files_changed", [])),
        note=str(data.get("note", "")),
        validated=data.get("commit") is not None,
        kind=str(data.get("kind", "")),
        temperature=data.get("temperature"),
        acceptance_passed=int(data.get("acceptance_steps_passed", 0)),
    )


@dataclass
class Report:
    spec: dict
    model: dict  # name and base_url only: never the API key
    iterations: list[Iteration] = field(default_factory=list)
    best_iteration: int | None = None
    stopped_because: str = ""
    total_seconds: float = 0.0
    info: dict = field(default_factory=dict)
    # Several first attempts (--candidates): [{"number", "commit", "branch", "errors", "warnings",
    # "acceptance_steps_passed", "tokens", "temperature", "seed", "note"}], and which one won and why.
    candidates: list[dict] = field(default_factory=list)
    winner: dict | None = None
    # Model calls that belong to no iteration (the candidates that lost, deriving checks): their tokens.
    other_usage: Usage = field(default_factory=Usage)
    # Acceptance checks written by the model from the spec's words (when the spec had none).
    derived_checks: list[dict] = field(default_factory=list)
    doubtful_checks: list[str] = field(default_factory=list)  # derived checks that possibly check the wrong thing
    # The spec's requirements and what verifies each (runshot.derivation.coverage.to_dict), and what deriving checks cost.
    coverage: dict = field(default_factory=dict)
    derivation: dict = field(default_factory=dict)

    @property
    def best(self) -> Iteration | None:
        for it in self.iterations:
            if it.number == self.best_iteration:
                return it
        return None

    @property
    def passed(self) -> bool:
        best = self.best
        return bool(best and best.passed)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for it in self.iterations:
            total.add(it.usage)
        total.add(self.other_usage)
        return total

    def to_dict(self) -> dict:
        best = self.best
        return {
            "runshot_version": __version__,
            "spec": self.spec,
            "model": self.model,
            "passed": self.passed,
            "best_iteration": self.best_iteration,
            "findings": [f.to_dict() for f in best.findings] if best else [],
            "stopped_because": self.stopped_because,
            "iterations": [it.to_dict() for it in self.iterations],
            "usage": self.usage.to_dict(),
            "seconds": {"total": round(self.total_seconds, 3)},
            "info": self.info,
        } | self._extra_fields()

    def _extra_fields(self) -> dict:
        data: dict = {}
        if self.candidates:
            data["candidates"] = self.candidates
            data["winner"] = self.winner
        if self.other_usage.total:
            data["usage_outside_iterations"] = self.other_usage.to_dict()
        if self.derived_checks:
            data["derived_checks"] = self.derived_checks
            data["possibly_wrong_checks"] = self.doubtful_checks
        if self.coverage:
            data["coverage"] = self.coverage
        if self.derivation:
            data["derivation"] = self.derivation
        return data


def load_report(path: Path) -> Report:
    """Read a report.json written by `runshot new` (for --resume and the gallery)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    report = Report(spec=data.get("spec", {}), model=data.get("model", {}))
    report.iterations = [iteration_from_dict(d) for d in data.get("iterations", [])]
    report.best_iteration = data.get("best_iteration")
    report.stopped_because = data.get("stopped_because", "")
    report.total_seconds = float((data.get("seconds") or {}).get("total", 0.0))
    report.info = data.get("info", {})
    report.candidates = list(data.get("candidates", []))
    report.winner = data.get("winner")
    other = data.get("usage_outside_iterations") or {}
    report.other_usage = Usage(int(other.get("prompt_tokens", 0)), int(other.get("completion_tokens", 0)))
    report.derived_checks = list(data.get("derived_checks", []))
    report.doubtful_checks = list(data.get("possibly_wrong_checks", []))
    report.coverage = dict(data.get("coverage") or {})
    report.derivation = dict(data.get("derivation") or {})
    return report


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a kill mid-write never leaves half a report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def pick_best(iterations: list[Iteration]) -> Iteration | None:
    """Fewest errors among validated, committed iterations; a later one wins ties."""
    best = None
    for it in iterations:
        if not it.validated or it.commit is None:
            continue
        if best is None or it.error_count <= best.error_count:
            best = it
    return best


def summary_lines(report: Report) -> list[str]:
    best = report.best
    verdict = "PASSED" if report.passed else "FAILED"
    lines = [f"{verdict}: {report.spec.get('title', '')}"]
    if best is not None:
        errs = best.error_count
        warns = len(best.findings) - errs
        lines.append(
            f"best iteration {best.number} of {len(report.iterations)}: {errs} error(s), {warns} warning(s) left"
        )
        for f in [f for f in best.findings if f.is_error][:5]:
            where = f" ({f.where})" if f.where else ""
            lines.append(f"  - [{f.check}] {f.message[:160]}{where}")
        if errs > 5:
            lines.append(f"  … and {errs - 5} more error(s): see .runshot/report.json")
    else:
        lines.append(f"no iteration produced a usable project ({len(report.iterations)} model answer(s))")
    if report.winner:
        lines.append(f"{len(report.candidates)} candidates: number {report.winner.get('number')} won "
                     f"({report.winner.get('reason', '')})")
        for c in report.candidates:
            result = (c.get("note") or "no answer") if c.get("errors") is None else \
                f"{c['errors']} error(s), {c.get('warnings', 0)} warning(s)"
            lines.append(f"  candidate {c.get('number')} (temperature {c.get('temperature')}): {result}, "
                         f"{c.get('tokens', 0)} tokens")
    if report.coverage:
        lines.append("spec coverage: " + coverage_line(report.coverage))
    if report.derivation.get("calls"):
        d = report.derivation
        lines.append(f"derived checks: {len(d.get('kept', []))} kept from {d['calls']} sample(s), "
                     f"{d.get('prompt_tokens', 0)} + {d.get('completion_tokens', 0)} tokens, {d.get('seconds', 0)} s")
    for name in report.doubtful_checks:
        lines.append(f"possibly a wrong check (derived from the spec, failed every time): {name}")
    if report.stopped_because:
        lines.append(f"stopped: {report.stopped_because}")
    u = report.usage
    lines.append(
        f"tokens: {u.prompt_tokens} prompt + {u.completion_tokens} completion; time: {report.total_seconds:.1f} s"
    )
    return lines


def coverage_line(data: dict) -> str:
    """'7 of 9 requirements verified; not verified: 'centred layout', …' from a coverage dict."""
    line = f"{data.get('verified', 0)} of {data.get('total', 0)} requirements verified"
    left = [r["requirement"] for r in data.get("requirements", []) if not r.get("verified_by")]
    if left:
        line += "; not verified: " + ", ".join(f"'{t}'" for t in left)
    return line
