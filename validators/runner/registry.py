"""Every check runshot knows, in the order they run: the built-ins, then installed plugins.

A built-in check is one module in validators/ plus one line in BUILT_INS. The module holds
`async def check_x(ctx) -> list[Finding]` and declares its `RULES` (a `runshot.rules.Rules`; a plugin may give a
plain dict of rule id -> severity) and
`NEEDS` ("page": reads the loaded entry page; "isolated": opens its own pages; "viewport": needs a context of
its own size). Modules are imported only when a check runs or its RULES/NEEDS are read.

A plugin is an installed distribution with an entry point in the group `runshot.checks`:
name = the check's name, value = `module:function`. Plugins run after the built-ins, by name. A plugin
that fails to import, or whose name is taken, is skipped with one warning line.

    registry = load_registry()            # built-ins and plugins
    registry.names()                      # ["runtime", "a11y", ..., "my-plugin"]
    fn = registry.get("a11y").load()      # the check's coroutine function
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Iterable

from runshot.rules import severities

BUILT_IN = "built-in"
ENTRY_POINT_GROUP = "runshot.checks"
NEEDS_VALUES = ("page", "isolated", "viewport")

CheckFn = Callable[[Any], Awaitable[list]]
Warn = Callable[[str], None]


@dataclass(frozen=True)
class Check:
    """One registered check. `module:function` names its coroutine; `fn`, when given, is used instead."""

    name: str
    source: str  # "built-in", or the plugin's distribution name
    module: str = ""
    function: str = ""
    default_needs: str = "page"  # when the module declares no NEEDS
    fn: CheckFn | None = field(default=None, compare=False, repr=False)
    declares_needs: bool = False  # default_needs was said by whoever registered it, not guessed

    def _module(self):
        return importlib.import_module(self.module) if self.module else None

    def load(self) -> CheckFn | None:
        """The check's function; None when its module is not installed (the check is then skipped)."""
        if self.fn is not None:
            return self.fn
        try:
            mod = self._module()
        except ModuleNotFoundError as exc:
            if exc.name and self.module.startswith(exc.name):
                return None
            raise
        return getattr(mod, self.function, None) if mod is not None else None

    def _declared(self, attr: str, default: Any) -> Any:
        if self.fn is not None and hasattr(self.fn, attr.lower()):
            return getattr(self.fn, attr.lower())
        try:
            mod = self._module()
        except ImportError:
            return default
        return getattr(mod, attr, default) if mod is not None else default

    @property
    def needs_declared(self) -> bool:
        """Whether `needs` is known (a built-in, or a module that declares NEEDS) rather than a guess."""
        return self.built_in or self.declares_needs or self._declared("NEEDS", None) is not None

    @property
    def needs(self) -> str:
        value = self._declared("NEEDS", self.default_needs)
        return value if value in NEEDS_VALUES else self.default_needs

    @property
    def rules(self) -> dict[str, str]:
        """Rule id -> severity, as the check declares them (a `runshot.rules.Rules`, or a plugin's plain dict)."""
        return severities(self._declared("RULES", {}))

    @property
    def built_in(self) -> bool:
        return self.source == BUILT_IN


def _built_in(name: str, module: str, function: str, needs: str = "page") -> Check:
    return Check(name, BUILT_IN, f"runshot.validators.{module}", function, needs)


# One line per built-in check, in the order they run. `runtime` stays first: it collects what the entry page did.
BUILT_INS: tuple[Check, ...] = (
    _built_in("runtime", "checks.runtime", "check_blank"),
    _built_in("a11y", "checks.a11y", "check_a11y"),
    _built_in("semantics", "checks.semantics", "check_semantics"),
    _built_in("acceptance", "acceptance.check", "check_acceptance", "isolated"),
    _built_in("keyboard", "checks.keyboard.walk", "check_keyboard", "isolated"),
    _built_in("dialog", "checks.dialogs", "check_dialogs", "isolated"),
    _built_in("motion", "checks.motion", "check_motion", "isolated"),
    _built_in("mobile", "checks.mobile", "check_mobile", "viewport"),
    _built_in("sweep", "checks.sweep", "check_sweep", "isolated"),
    _built_in("forms", "checks.forms", "check_forms", "isolated"),
)


@dataclass(frozen=True)
class Registry:
    """An ordered, immutable set of checks; `with_checks` gives a new registry with more."""

    checks: tuple[Check, ...] = BUILT_INS
    warnings: tuple[str, ...] = ()  # what went wrong while loading plugins, one line each

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
        return replace(self, checks=tuple(c for c in self.checks if c.name not in taken) + tuple(checks))


def function_check(name: str, fn: CheckFn, source: str = "python", needs: str | None = None) -> Check:
    """A check given as a function (from Python code or tests) rather than by module name; without `needs` it
    is taken to use the shared page in ways the plan cannot know (it runs alone)."""
    return Check(name, source, default_needs=needs or "page", fn=fn, declares_needs=needs is not None)


def plugin_checks(entry_points: Iterable | None = None, taken: Iterable[str] = ()) -> tuple[list[Check], list[str]]:
    """Checks from entry points in the `runshot.checks` group: (checks, warning lines). Each plugin module is
    imported here, so a broken one is reported now (and skipped) instead of failing a validation later."""
    if entry_points is None:
        from importlib.metadata import entry_points as all_entry_points

        try:
            entry_points = all_entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:  # noqa: BLE001 (broken metadata of some distribution must not stop runshot)
            return [], [f"runshot: plugins not loaded: {type(exc).__name__}: {exc}"]
    seen = set(taken)
    checks: list[Check] = []
    warnings: list[str] = []
    for ep in sorted(entry_points, key=lambda e: e.name):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "unknown distribution"
        where = f"plugin check {ep.name!r} from {dist}"
        if ep.name in seen:
            warnings.append(f"runshot: warning: {where} skipped: the name {ep.name!r} is already taken")
            continue
        module, _, function = ep.value.partition(":")
        module, function = module.strip(), function.strip()
        if not module or not function:
            warnings.append(f"runshot: warning: {where} skipped: entry point {ep.value!r} is not 'module:function'")
            continue
        try:
            fn = getattr(importlib.import_module(module), function)
        except Exception as exc:  # noqa: BLE001 (a broken plugin is one warning, never a crash)
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            warnings.append(f"runshot: warning: {where} skipped: cannot load {ep.value}: {reason}")
            continue
        if not callable(fn):
            warnings.append(f"runshot: warning: {where} skipped: {ep.value} is not a function")
            continue
        seen.add(ep.name)
        checks.append(Check(ep.name, dist, module, function))
    return checks, warnings


def print_warning(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def load_registry(plugins: bool = True, warn: Warn | None = print_warning, entry_points: Iterable | None = None
                  ) -> Registry:
    """The built-ins, then (with `plugins`) every installed plugin check. Each warning line goes to `warn`."""
    if not plugins:
        return Registry()
    found, warnings = plugin_checks(entry_points, taken=[c.name for c in BUILT_INS])
    if warn is not None:
        for line in warnings:
            warn(line)
    return Registry(BUILT_INS + tuple(found), tuple(warnings))


def built_in_registry() -> Registry:
    """Only the built-in checks (no plugin discovery)."""
    return Registry()
