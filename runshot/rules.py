"""Rules and checks: everything runshot can report, each declared once.

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

A check is one `Check`, declared once in its module: its name, what it needs, its rules, its rank in repair
prompts and its entry function (see the end of this module and `runshot.validators.runner.registry`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterator, Mapping

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


# ------------------------------------------------------------------------------------------------------ checks

BUILT_IN = "built-in"  # the source of runshot's own checks (a plugin's is its distribution's name)

# What a check needs. "page": it reads the loaded entry page and does not change it; "isolated": it opens its own
# pages; "viewport": it needs a browser context of its own size (see runshot.validators.runner.plan).
PAGE, ISOLATED, VIEWPORT = "page", "isolated", "viewport"
NEEDS_VALUES = (PAGE, ISOLATED, VIEWPORT)

# A check's rank in repair prompts: its error findings are shown in this order (lowest first), warnings after all.
# What blocks the page (nothing else can be judged while it throws), then the spec's acceptance checks, then
# accessibility, then every other error.
BLOCKING, ACCEPTANCE, ACCESSIBILITY, OTHER = 0, 1, 2, 3
WARNINGS_LAST = 4
RANKS = (BLOCKING, ACCEPTANCE, ACCESSIBILITY, OTHER)

CheckFn = Callable[[Any], Awaitable[list]]


@dataclass(frozen=True)
class Check:
    """One check, declared once, in its module (a built-in's `DECLARED`; a plugin may declare one too):

        DECLARED = Check(CHECK, "check_dialogs", needs=ISOLATED, rules=RULES, rank=ACCESSIBILITY)

    `entry` is the check's coroutine function, or its name in the declaring module (which the registry fills
    in as `module` when it loads the declaration). `source` is "built-in" or the plugin's distribution."""

    name: str
    entry: str | CheckFn = field(compare=False, repr=False)
    needs: str = PAGE
    rules: Rules = field(default_factory=Rules, compare=False, repr=False)
    rank: int = OTHER
    source: str = BUILT_IN
    module: str = ""
    needs_declared: bool = True  # False: `needs` is a guess (a plugin that did not say)

    def __post_init__(self) -> None:
        if self.needs not in NEEDS_VALUES:
            raise ValueError(f"check {self.name!r}: needs must be one of {NEEDS_VALUES}, not {self.needs!r}")
        if self.rank not in RANKS:
            raise ValueError(f"check {self.name!r}: rank must be one of {RANKS}, not {self.rank!r}")
        if not isinstance(self.rules, Rules):
            raise ValueError(f"check {self.name!r}: rules must be a Rules value, not {type(self.rules).__name__}")

    @property
    def built_in(self) -> bool:
        return self.source == BUILT_IN

    def load(self) -> CheckFn | None:
        """The check's coroutine function (None while `entry` is only a name: a declaration not registered yet)."""
        return self.entry if callable(self.entry) else None

    @property
    def reported_under(self) -> tuple[str, ...]:
        """The check names its findings carry: its own, then those its rules give (runtime reports `exception`,
        `request`, `console`, ...)."""
        return tuple(dict.fromkeys([self.name, *(rule.check for rule in self.rules.values())]))


__all__ = ["ACCEPTANCE", "ACCESSIBILITY", "AXE", "BLOCKING", "BUILT_IN", "ERROR", "ISOLATED", "NEEDS_VALUES", "OTHER",
           "PAGE", "RANKS", "RUNSHOT", "VIEWPORT", "WARNING", "WARNINGS_LAST", "Check", "Rule", "Rules", "severities"]
