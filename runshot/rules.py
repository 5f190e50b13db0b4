"""Rules: everything runshot can report, each declared once.

A rule says what one kind of finding means: its id (`"<check>/<slug>"` for runshot's own rules, the axe-core rule
id for axe's), the check it is reported under, its severity, the WCAG 2.x success criteria it tests, the W3C ACT
rules it implements, and one sentence of why. A finding is made *from* its rule, so its severity is the rule's:

    RULES = Rules(
        Rule("keyboard/trap", ERROR, "Tab cannot leave a part of the page.", wcag=("2.1.2",), act=("80af7b",)),
    )
    finding = RULES["keyboard/trap"].finding("The page traps focus in #editor", where="#editor")

`review=True` makes a finding of an error rule a warning: the machine saw the symptom but a person has to judge it
("needs review", as axe-core's incomplete results). Nothing makes a warning rule an error but `--strict`.

`runshot rules` lists every declared rule (`catalogue()` in `runshot.validators.runner.rulebook` gathers them).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator, Mapping

from runshot.values import ERROR, SEVERITIES, WARNING, Finding

RUNSHOT = "runshot"
AXE = "axe-core"


@dataclass(frozen=True)
class Rule:
    """One kind of finding. `check` defaults to the part of the id before its slash."""

    id: str
    severity: str
    why: str
    wcag: tuple[str, ...] = ()
    act: tuple[str, ...] = ()
    check: str = ""
    source: str = RUNSHOT

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.id!r}: severity must be one of {SEVERITIES}, not {self.severity!r}")
        if not self.check:
            object.__setattr__(self, "check", self.id.split("/", 1)[0])

    def finding(self, message: str, where: str = "", hint: str = "", evidence: str = "",
                review: bool = False, check: str = "") -> Finding:
        """A finding of this rule; `review` turns an error into a warning that a person must judge; `check`
        names the check that reports it when that is not the rule's own (a state another check reached)."""
        severity = WARNING if review else self.severity
        return Finding(check or self.check, severity, message, where=where, hint=hint, evidence=evidence,
                       rule=self.id)

    def of_check(self, check: str) -> "Rule":
        """This rule as reported by a named check: `check/timeout` of `keyboard` is `keyboard/timeout`."""
        return dataclasses.replace(self, id=f"{check}/{self.id.split('/', 1)[-1]}", check=check)

    def to_dict(self) -> dict:
        return {"id": self.id, "check": self.check, "severity": self.severity, "wcag": list(self.wcag),
                "act": list(self.act), "why": self.why, "source": self.source}


class Rules(Mapping[str, Rule]):
    """An ordered, read-only set of rules by id (a check module's `RULES`)."""

    __slots__ = ("by_id",)

    def __init__(self, *rules: Rule) -> None:
        by_id: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in by_id:
                raise ValueError(f"rule {rule.id!r} is declared twice")
            by_id[rule.id] = rule
        self.by_id = by_id

    def __repr__(self) -> str:
        return f"Rules({', '.join(self.by_id)})"

    def __getitem__(self, rule_id: str) -> Rule:
        return self.by_id[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_id)

    def __len__(self) -> int:
        return len(self.by_id)

    def severities(self) -> dict[str, str]:
        return {rule_id: rule.severity for rule_id, rule in self.by_id.items()}

    def __add__(self, other: "Rules") -> "Rules":
        return Rules(*self.by_id.values(), *other.by_id.values())


def severities(declared) -> dict[str, str]:
    """A module's RULES as rule id -> severity: a `Rules` value, or (plugins) a plain dict of severities."""
    if isinstance(declared, Rules):
        return declared.severities()
    if isinstance(declared, dict):
        return {str(k): (v.severity if isinstance(v, Rule) else str(v)) for k, v in declared.items()}
    return {}


__all__ = ["AXE", "ERROR", "RUNSHOT", "Rule", "Rules", "WARNING", "severities"]
