"""What one validation is asked for and what it gives: the values the runner and its callers pass around."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runshot.spec import Spec
from runshot.values import Finding


@dataclass
class ValidationResult:
    findings: list[Finding]
    passed: bool
    screenshot: Path | None = None
    seconds: float = 0.0
    info: dict = field(default_factory=dict)
    checks_run: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]


@dataclass(frozen=True)
class ValidationRequest:
    """One project to validate in `Validator.validate_many`."""

    project_dir: Path
    spec: Spec
    screenshot_path: Path | None = None
