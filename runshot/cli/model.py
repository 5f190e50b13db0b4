"""`runshot model pull|list`: the embedded local model."""

from __future__ import annotations

import click
from rich.progress import BarColumn, DownloadColumn, TransferSpeedColumn
from rich.progress import Progress as Bar

import runshot.cli.common as common
from runshot.generator import local


@click.group()
def model() -> None:
    """The embedded local model."""


@model.command("pull")
def model_pull():
    """Fetch, assemble and verify the embedded local model."""

    console = common.console()
    with Bar("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
             console=console) as bar:
        task = bar.add_task("assembling model", total=None)

        def progress(done, total):
            bar.update(task, completed=done, total=total)

        path = local.pull(progress=progress)
    console.print(f"{local.MODEL_NAME}: installed, verified: {path}", markup=False)


@model.command("list")
def model_list():
    """One line per known local model: name, installed or missing, path."""
    for m in local.list_models():
        click.echo(f"{m.name}\t{'installed' if m.installed else 'missing'}\t{m.path}")


def register(group: click.Group) -> None:
    group.add_command(model)
