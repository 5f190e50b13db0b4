"""`runshot checks`: every registered check, built-in or plugin, one line each."""

from __future__ import annotations

import click

import runshot.cli.common as common


@click.command("checks")
def checks_command():
    """List the checks: name, where it comes from (built-in or the plugin's distribution), what it needs."""
    registry = common.registry()
    width = max((len(c.name) for c in registry), default=0)
    source_width = max((len(c.source) for c in registry), default=0)
    for c in registry:
        click.echo(f"{c.name:<{width}}  {c.source:<{source_width}}  {c.needs}")


def register(group: click.Group) -> None:
    group.add_command(checks_command, "checks")
