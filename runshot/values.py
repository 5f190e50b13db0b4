"""The plain values that flow through runshot: findings, token usage, files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

STATE_DIR = ".runshot"  # runshot's own folder inside a project: report, spec copy, screenshots, transcript

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)

# A project as the model sees it: relative POSIX path -> full text.
Files = dict[str, str]


@dataclass(frozen=True)
class Finding:
    """One thing a careful reviewer would point out.

    check: which check found it ("console", "request", "a11y", "format", "path", ...)
    severity: "error" blocks a pass, "warning" never does
    message: what is wrong, in words a model can act on
    where: "file:line", a selector, or a URL when known
    hint: a one-line suggestion for the fix
    evidence: a short excerpt (HTML, accessibility tree, page text), already truncated
    rule: the rule that produced it: an axe-core rule id ("color-contrast") or the check's own
          ("semantics/no-main", "keyboard/trap"); the severity policy maps rule ids to default severities
    page: the page it was found on, when a check covers several ("/about.html"); empty for the entry page alone
    """

    check: str
    severity: str
    message: str
    where: str = ""
    hint: str = ""
    evidence: str = ""
    rule: str = ""
    page: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def fingerprint(self) -> tuple[str, ...]:
        """What makes two findings 'the same' for repeat detection and de-duplication (on one page)."""
        return (self.check, self.severity, self.message, self.where, self.page)

    def to_dict(self) -> dict:
        data = {"check": self.check, "severity": self.severity, "message": self.message, "where": self.where}
        if self.hint:
            data["hint"] = self.hint
        if self.evidence:
            data["evidence"] = self.evidence
        if self.rule:
            data["rule"] = self.rule
        if self.page:
            data["page"] = self.page
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        return cls(
            check=str(data.get("check", "")),
            severity=str(data.get("severity", ERROR)),
            message=str(data.get("message", "")),
            where=str(data.get("where", "")),
            hint=str(data.get("hint", "")),
            evidence=str(data.get("evidence", "")),
            rule=str(data.get("rule", "")),
            page=str(data.get("page", "")),
        )


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_error]


def dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop repeats (same fingerprint), keeping first-seen order."""
    seen: set[tuple[str, ...]] = set()
    out: list[Finding] = []
    for f in findings:
        key = f.fingerprint()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def truncate(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters left out]"


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: "Usage") -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Limits:
    """Caps on what the model may write (defaults can be overridden by flags)."""

    max_files: int = 200
    max_file_bytes: int = 1_000_000
    max_total_bytes: int = 5_000_000
    max_depth: int = 8
    extra: dict = field(default_factory=dict)
