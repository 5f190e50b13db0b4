"""The book of rules: every rule runshot can report, gathered from where each is declared.

- runshot's own rules: each built-in check's, as its declaration holds them (a `runshot.rules.Check`'s `rules`,
  its module's `RULES`), and `RULES` of the modules that report outside any check (the runner, the plan, builds,
  served files, judged states); the generator's format and path rules are added by `runshot.cli.rules`, which
  sees both sides;
- the plugins' rules, as their checks hold them (a plain dict of severities made into rules of the check);
- axe-core's rules, read from the axe-core runshot injects (validators/checks/axerules.py).
"""

from __future__ import annotations

import importlib

from runshot.rules import Rule, Rules
from runshot.validators.checks.a11y import axe_rules
from runshot.validators.runner.registry import Registry, built_in_registry

# The modules that declare rules outside the registry's checks.
OTHER_RULE_MODULES = ("runner.project", "runner.plan", "serve.build", "serve.served", "browser.states")


def _module_rules(module: str) -> Rules:
    declared = getattr(importlib.import_module(module), "RULES", None)
    return declared if isinstance(declared, Rules) else Rules()


def own_rules(registry: Registry | None = None) -> Rules:
    """runshot's own rules: every built-in check's, then the runner's and its helpers'."""
    registry = registry or built_in_registry()
    found = Rules()
    for check in registry:
        if check.built_in:
            found = found + check.rules
    for name in OTHER_RULE_MODULES:
        found = found + _module_rules(f"runshot.validators.{name}")
    return found


def lookup(rule_id: str) -> Rule | None:
    """The declared rule of this id (own or axe-core's), or None."""
    own = own_rules()
    if rule_id in own:
        return own[rule_id]
    return axe_rules().get(rule_id)


def plugin_rules(registry: Registry) -> Rules:
    """Rules plugins declare (a `Rules`, or a plain dict of rule id -> severity, made rules of their check)."""
    found = Rules()
    for check in registry:
        if not check.built_in:
            found = found + check.rules
    return found


def catalogue(registry: Registry | None = None, *more: Rules) -> Rules:
    """Every rule runshot can report: its own (checks, then `more`, such as the generator's), the plugins',
    then axe-core's."""
    registry = registry or built_in_registry()
    found = own_rules(registry)
    for extra in more:
        found = found + extra
    return found + plugin_rules(registry) + axe_rules()
