"""`runshot gallery` (a static site of runs) and `runshot serve` (serve a folder on loopback)."""

from __future__ import annotations

import time
from pathlib import Path

import click

import runshot.cli.common as common
from runshot.errors import UsageError


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="RUNS_DIR...")
@click.option("-o", "--out", "site", required=True, metavar="SITE", help="Folder for the static site (absent or empty).")
@click.option("--no-mobile", is_flag=True, help="Skip the phone-sized screenshots (no browser needed then).")
@click.option("--chromium", "chromium", metavar="PATH", envvar="RUNSHOT_CHROMIUM",
              help="Chromium/Chrome executable (default: chromium on PATH).")
def gallery(sources, site, no_mobile, chromium):
    """Build a static site of runs: a screenshot grid and a page per project (spec, iterations, diffs, the app)."""
    from runshot.reporting.gallery import build_gallery  # lazy: start-up

    console = common.console()
    out = Path(site)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{site}: not empty; choose a new or empty SITE")
    with console.status("building the gallery…"):
        built = build_gallery([Path(s) for s in sources], out, mobile=not no_mobile, chromium=chromium,
                              secrets=common.secrets())
    for note in built.notes:
        console.print(note, style="yellow", markup=False)
    console.print(f"gallery: {len(built.projects)} project(s) → {out / 'index.html'}  "
                  f"(view it with: runshot serve {out})", markup=False)


@click.command()
@click.argument("site", metavar="SITE")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
def serve(site, port):
    """Serve a folder (a gallery, a project) on http://127.0.0.1:PORT/ until interrupted."""
    from runshot.reporting.gallery import serve_site  # lazy: start-up

    root = Path(site)
    if not root.is_dir():
        raise UsageError(f"{site}: not a folder")
    try:
        server = serve_site(root, port)
    except OSError as exc:
        raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    with server:
        click.echo(f"serving {root} on {server.base_url}  (Ctrl-C stops)", err=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)


def register(group: click.Group) -> None:
    group.add_command(gallery)
    group.add_command(serve)
