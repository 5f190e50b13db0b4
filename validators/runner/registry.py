"""Every check runshot knows, in the order they run: the built-ins, then installed plugins.

A check is one `runshot.rules.Check`, declared once in its module: name, needs, rules, rank in repair prompts
and entry function. A built-in check is one module holding `async def check_x(ctx) -> list[Finding]` and its
declaration, `DECLARED = Check(CHECK, "check_x", needs=..., rules=RULES, rank=...)`, plus one line in
`BUILT_IN_MODULES`. Everything else that depends on checks (the plan's needs, `runshot checks`, `runshot rules`,
the order of findings in repair prompts, which findings a check reports in baselines) is read from the
declarations.

A plugin is an installed distribution with an entry point in the group `runshot.checks`: name = the check's
name, value = `module:function` (the module may declare `NEEDS` and `RULES`, a `runshot.rules.Rules` or a plain
dict of rule id -> severity) or `module:attribute` naming a `Check`. Plugins run after the built-ins, by name. A
plugin that fails to load, or whose name is taken, is skipped with one warning line.

Built-ins and plugins are read by the same loader, `load_check` (as `llm` registers its default plugins through
its own hook): a built-in's line is the value of an entry point without a name. The built-ins' modules are
imported when a check's name or declaration is first asked for, so a validation imports them while its browser
starts.

    registry = load_registry()            # built-ins and plugins
    registry.names()                      # ["runtime", "a11y", ..., "my-plugin"]
    fn = registry.get("a11y").load()      # the check's coroutine function
"""

from __future__ import annotations

import functools
import importlib
import sys
from dataclasses import dataclass, replace
from importlib.metadata import entry_points as all_entry_points
from typing import Any, Callable, Iterable

from runshot.rules import BUILT_IN, NEEDS_VALUES, OTHER, PAGE, Check, CheckFn, Rule, Rules

__all__ = ["BUILT_IN", "BUILT_IN_MODULES", "DECLARATION", "ENTRY_POINT_GROUP", "NEEDS_VALUES", "Check",
           "CheckLoadError", "Registry", "built_in_checks", "built_in_registry", "function_check", "load_check",
           "load_registry", "plugin_checks"]

ENTRY_POINT_GROUP = "runshot.checks"
DECLARATION = "DECLARED"  # the name a check module declares its Check under

Warn = Callable[[str], None]

# One line per built-in check, in the order they run: the module that declares it. `runtime` stays first: it
# collects what the entry page did.
BUILT_IN_MODULES: tuple[str, ...] = (
    "runshot.validators.checks.runtime",
    "runshot.validators.checks.a11y",
    "runshot.validators.checks.semantics",
    "runshot.validators.acceptance.check",
    "runshot.validators.checks.keyboard.walk",
    "runshot.validators.checks.dialogs",
    "runshot.validators.checks.motion",
    "runshot.validators.checks.mobile",
    "runshot.validators.checks.sweep",
    "runshot.validators.checks.forms",
)


class CheckLoadError(Exception):
    """A declaration or entry point that gives no usable check (one line, for the warning)."""


# ---------------------------------------------------------------------------------------------- loading checks


def load_check(value: str, name: str | None = None, source: str = BUILT_IN) -> Check:
    """The check `value` names: `module` (its `DECLARED` Check) or `module:attribute` (a Check, or a plugin's
    coroutine function, whose module may declare NEEDS and RULES). `name`, when given (an entry point's), is the
    check's name. Raises CheckLoadError when `value` names no check, and whatever importing the module raises."""
    module_name, colon, attribute = (part.strip() for part in value.partition(":"))
    if not module_name or (colon and not attribute) or (not colon and name is not None):
        raise CheckLoadError(f"entry point {value!r} is not 'module:function'")
    module = importlib.import_module(module_name)
    target = getattr(module, attribute) if attribute else getattr(module, DECLARATION, None)
    if isinstance(target, Check):
        return _registered(target, module, name, source)
    if attribute and callable(target):
        return _from_function(name or attribute, target, module, source)
    if attribute:
        raise CheckLoadError(f"{value} is not a function")
    raise CheckLoadError(f"{value} declares no check (no {DECLARATION})")


def _registered(check: Check, module: Any, name: str | None, source: str) -> Check:
    """A declaration as registered: its entry resolved to the function, its name and source the registration's."""
    entry = check.entry
    if isinstance(entry, str):
        entry = getattr(module, entry, None)
    if not callable(entry):
        raise CheckLoadError(f"check {check.name!r} in {module.__name__}: its entry {check.entry!r} is not a function")
    name = name or check.name
    rules = check.rules if source == BUILT_IN else _plugin_rules(name, source, check.rules)
    return replace(check, name=name, entry=entry, rules=rules, source=source, module=module.__name__)


def _from_function(name: str, fn: CheckFn, module: Any, source: str) -> Check:
    """A plugin given as a function: its NEEDS and RULES from the function's attributes or its module."""
    needs = _declared(fn, module, "NEEDS")
    rules = _plugin_rules(name, source, _declared(fn, module, "RULES"))
    known = needs in NEEDS_VALUES
    return Check(name, fn, needs=needs if known else PAGE, rules=rules, rank=OTHER, source=source,
                 module=module.__name__ if module is not None else "", needs_declared=known)


def _declared(fn: Any, module: Any, attribute: str) -> Any:
    value = getattr(fn, attribute.lower(), None)
    return value if value is not None or module is None else getattr(module, attribute, None)


def _plugin_rules(check: str, source: str, declared: Any) -> Rules:
    """A plugin's RULES as rules of its check and its distribution: a `Rules`, or a plain dict of id -> severity
    (or Rule). A severity runshot does not know is left out (`runshot rules` could not rate it)."""
    if isinstance(declared, Rules):
        return Rules(*(replace(rule, check=check, source=source) for rule in declared.values()))
    found = []
    for rule_id, value in (declared.items() if isinstance(declared, dict) else ()):
        severity = value.severity if isinstance(value, Rule) else str(value)
        try:
            found.append(Rule(str(rule_id), severity, getattr(value, "why", ""), check=check, source=source))
        except ValueError:
            continue
    return Rules(*found)


@functools.cache
def built_in_checks() -> tuple[Check, ...]:
    """The built-in checks, read from their modules' declarations (imported on first call)."""
    return tuple(load_check(module) for module in BUILT_IN_MODULES)


def plugin_checks(entry_points: Iterable | None = None, taken: Iterable[str] = ()) -> tuple[list[Check], list[str]]:
    """Checks from entry points in the `runshot.checks` group: (checks, warning lines). Each plugin module is
    imported here, so a broken one is reported now (and skipped) instead of failing a validation later."""
    if entry_points is None:
        entry_points, warnings = _installed_entry_points()
        if warnings:
            return [], warnings
    seen = set(taken)
    checks: list[Check] = []
    warnings = []
    for ep in sorted(entry_points, key=lambda e: e.name):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "unknown distribution"
        where = f"plugin check {ep.name!r} from {dist}"
        if ep.name in seen:
            warnings.append(f"runshot: warning: {where} skipped: the name {ep.name!r} is already taken")
            continue
        try:
            check = load_check(ep.value, ep.name, dist)
        except CheckLoadError as exc:
            warnings.append(f"runshot: warning: {where} skipped: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 (a broken plugin is one warning, never a crash)
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            warnings.append(f"runshot: warning: {where} skipped: cannot load {ep.value}: {reason}")
            continue
        seen.add(ep.name)
        checks.append(check)
    return checks, warnings


def _installed_entry_points() -> tuple[list, list[str]]:
    try:
        return list(all_entry_points(group=ENTRY_POINT_GROUP)), []
    except Exception as exc:  # noqa: BLE001 (broken metadata of some distribution must not stop runshot)
        return [], [f"runshot: plugins not loaded: {type(exc).__name__}: {exc}"]


def function_check(name: str, fn: CheckFn, source: str = "python", needs: str | None = None,
                   rank: int = OTHER) -> Check:
    """A check given as a function (from Python code or tests) rather than by module name; without `needs` it
    is taken to use the shared page in ways the plan cannot know (it runs alone)."""
    return Check(name, fn, needs=needs or PAGE, rank=rank, source=source, needs_declared=needs is not None)


# ---------------------------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Registry:
    """An ordered, immutable set of checks; `with_checks` gives a new registry with more. Made without checks,
    it holds the built-ins, read when first needed."""

    declared: tuple[Check, ...] | None = None
    warnings: tuple[str, ...] = ()  # what went wrong while loading plugins, one line each

    @property
    def checks(self) -> tuple[Check, ...]:
        return built_in_checks() if self.declared is None else self.declared

    def names(self) -> list[str]:
        return [c.name for c in self.checks]

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.checks)

    def __iter__(self):
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def get(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def resolve(self, name: str) -> CheckFn | None:
        check = self.get(name)
        return check.load() if check is not None else None

    def unknown(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n not in self]

    def describe_known(self) -> str:
        return ", ".join(self.names())

    def with_checks(self, *checks: Check) -> "Registry":
        """A registry with these checks added (or replacing the ones of the same name), after the others."""
        taken = {c.name for c in checks}
        return replace(self, declared=tuple(c for c in self.checks if c.name not in taken) + tuple(checks))

    def owners(self) -> dict[str, str]:
        """Check name a finding carries -> the registered check that reports it (`exception` -> `runtime`)."""
        found: dict[str, str] = {}
        for check in self.checks:
            found.setdefault(check.name, check.name)
        for check in self.checks:
            for part in check.reported_under:
                found.setdefault(part, check.name)
        return found

    def repair_ranks(self) -> dict[str, int]:
        """Check name a finding carries -> its check's rank in repair prompts (a plain value for the generator)."""
        by_name = {c.name: c.rank for c in self.checks}
        return {part: by_name[owner] for part, owner in self.owners().items()}


def print_warning(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def load_registry(plugins: bool = True, warn: Warn | None = print_warning, entry_points: Iterable | None = None
                  ) -> Registry:
    """The built-ins, then (with `plugins`) every installed plugin check. Each warning line goes to `warn`.
    With no plugin installed, the built-ins' modules are imported only when first needed."""
    if not plugins:
        return Registry()
    if entry_points is None:
        entry_points, warnings = _installed_entry_points()
    else:
        entry_points, warnings = list(entry_points), []
    found: list[Check] = []
    if entry_points:
        found, more = plugin_checks(entry_points, taken=[c.name for c in built_in_checks()])
        warnings += more
    if warn is not None:
        for line in warnings:
            warn(line)
    return Registry(built_in_checks() + tuple(found) if found else None, tuple(warnings))


def built_in_registry() -> Registry:
    """Only the built-in checks (no plugin discovery)."""
    return Registry()


def __getattr__(name: str) -> Any:
    """`BUILT_INS`: the built-in checks as loaded (read on first use; the registration lines are BUILT_IN_MODULES)."""
    if name == "BUILT_INS":
        return built_in_checks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
