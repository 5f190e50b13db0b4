"""`runshot rules`: every rule runshot can report, one line each (or JSON)."""

from __future__ import annotations

import json

import click

import runshot.cli.common as common


def _columns(rule) -> list[str]:
    return [rule.id, rule.check, rule.severity, ",".join(rule.wcag) or "-", ",".join(rule.act) or "-"]


@click.command("rules")
@click.option("--json", "as_json", is_flag=True, help="Write the rules as a JSON list (with each rule's why).")
@click.option("--check", "only", default=None, metavar="NAME", help="Only the rules of this check.")
def rules_command(as_json: bool, only: str | None):
    """List the rules: id, check, severity, WCAG success criteria, ACT rule ids.

    A finding's severity is its rule's (--strict makes warnings errors). axe-core's rules are rated by one
    policy: an error only for a WCAG A/AA rule that axe-core enables by default and trusts to fail."""
    # Imported here: the rules book imports every check (and Playwright), 0.3-0.7 s that `runshot --help` and the
    # other commands would pay at start-up.
    from runshot.generator.formatfindings import RULES as FORMAT_RULES
    from runshot.generator.safepaths import RULES as PATH_RULES
    from runshot.validators.runner.rulebook import catalogue  # lazy: start-up

    book = catalogue(common.registry(), FORMAT_RULES, PATH_RULES)
    rules = [r for r in book.values() if only is None or r.check == only]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rules], indent=2))
        return
    rows = [_columns(r) for r in rules]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip())


def register(group: click.Group) -> None:
    group.add_command(rules_command, "rules")
