"""More commands on runshot's click group: CI checks (`check DIR... --changed`, `regress`), many runs at once
(`batch`, `merge`) and the demo gallery (`gallery`, `serve`).

Importing this module registers them on `runshot.cli.cli`; `check` is replaced by a superset that takes several
folders and `--changed`, and behaves exactly as before for a single folder.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from runshot.cli import (
    CHECK_NAMES,
    _browser_options,
    _model_options,
    _console,
    _parse_checks,
    _print_findings,
    _spec_for_check,
    _validator,
    cli,
)
from runshot.errors import UsageError

# ---------------------------------------------------------------- check DIR... [--changed [--base REV]]

_single_check = cli.commands["check"]


def _check_many(directories, changed, base, **opts):
    """`runshot check` for one folder (unchanged behaviour), several folders, or only the changed ones."""
    if len(directories) == 1 and not changed:
        return _single_check.callback(directory=directories[0], **opts)
    from runshot import outputs, regress

    console = _console()
    dirs = [Path(d) for d in directories]
    for d in dirs:
        if not d.is_dir():
            raise UsageError(f"{d}: not a folder")
    names = [d.resolve().name for d in dirs]
    if len(set(names)) != len(names):
        raise UsageError("two folders share a name; their results could not be told apart")
    extra: dict = {}
    if changed:
        picked = regress.changed_dirs(dirs, base)
        extra["changed"] = {"base": base, "checked": [str(d) for d in picked],
                            "unchanged": [str(d) for d in dirs if d not in picked]}
        for d in dirs:
            if d not in picked:
                console.print(f"unchanged since {base}: {d} (skipped)", markup=False)
        dirs = picked
    selected = _parse_checks(opts.get("checks"))
    shot_dir = Path(opts["screenshot_path"]) if opts.get("screenshot_path") else None
    with ExitStack() as stack:
        validator = None
        if dirs:
            validator = _validator(stack, opts.get("chromium"), opts["page_timeout"], opts["check_timeout"],
                                   opts.get("sandbox"))

        def validate(root, spec, shot):
            with console.status(f"checking {root} in headless Chromium…"):
                return validator.validate(root, spec, checks=selected, strict=opts.get("strict", False),
                                          screenshot_path=shot)

        items = regress.check_projects(
            dirs, lambda d: _spec_for_check(d, opts.get("spec_path")), validate, screenshot_dir=shot_dir,
            on_done=lambda item: _print_findings(console, item.name, item.result))
    if opts.get("json_path"):
        outputs.write_text(opts["json_path"], json.dumps(regress.many_json(items, extra), indent=2,
                                                          ensure_ascii=False) + "\n")
    if opts.get("junit_path"):
        outputs.write_text(opts["junit_path"], regress.many_junit(items))
    if opts.get("summary_path"):
        outputs.write_text(opts["summary_path"], regress.many_markdown(items))
    failed = [i.name for i in items if not i.passed]
    if not items:
        console.print(f"nothing to check: no folder changed since {base}" if changed else "nothing to check",
                      markup=False)
    else:
        console.print(f"{len(items)} project(s) checked: {len(items) - len(failed)} passed, {len(failed)} failed"
                      + (f" ({', '.join(failed)})" if failed else ""),
                      style="bold red" if failed else "bold green", markup=False)
    sys.exit(1 if failed else 0)


def _register_check() -> None:
    params = [p for p in _single_check.params if p.name != "directory"]
    params.insert(0, click.Argument(["directories"], nargs=-1, required=True, metavar="DIR..."))
    params.insert(1, click.Option(["--changed"], is_flag=True,
                                  help="Check only the folders holding a file changed since --base (git): "
                                       "committed since the merge base, uncommitted or untracked."))
    params.insert(2, click.Option(["--base"], metavar="REV", default="HEAD~1", show_default=True,
                                  help="With --changed: the revision to compare with (e.g. origin/main). "
                                       "A HEAD~N beyond a short or shallow history counts everything as changed."))
    help_text = (
        "Validate existing projects (no model needed): one DIR, several, or with --changed only those that "
        "changed since --base.\n\nWith several DIRs or --changed, --json writes {\"projects\": [...]}, --junit one "
        "testsuite per project, and --screenshot names a folder (DIR-NAME.png inside)."
    )
    command = click.Command("check", callback=_check_many, params=params, help=help_text,
                            short_help="Validate existing projects (no model needed).")
    cli.add_command(command, "check")


_register_check()


# ---------------------------------------------------------------- regress


@cli.command()
@click.argument("directories", nargs=-1, required=True, metavar="DIR...")
@click.option("--baseline", "baseline_path", required=True, metavar="PATH",
              help="A `check --json`, `batch` (batch.json) or `merge` output to compare with.")
@click.option("--spec", "spec_path", metavar="SPEC", help="Spec file (default: DIR/.runshot/spec.md when present).")
@click.option("--json", "json_path", metavar="PATH", help="Write the current verdicts and regressions as JSON.")
@_browser_options
def regress(directories, baseline_path, spec_path, json_path, chromium, sandbox, checks, strict, page_timeout,
            check_timeout):
    """Re-check projects and fail (exit 1) when a check that passed in the baseline fails now.

    Each DIR is matched to the baseline project of the same name and re-checked with the checks the baseline ran
    (or --checks). Checks that failed in the baseline and still fail are not regressions.
    """
    from runshot import outputs, regress as rg

    console = _console()
    baseline = rg.load_baseline(Path(baseline_path))
    selected = _parse_checks(checks)
    pairs = []
    for d in directories:
        root = Path(d)
        if not root.is_dir():
            raise UsageError(f"{d}: not a folder")
        base = baseline.get(root.resolve().name)
        if base is None:
            console.print(f"no baseline for {root.resolve().name} in {baseline_path}: skipped", style="yellow",
                          markup=False)
            continue
        pairs.append((root, base))
    if not pairs:
        raise UsageError(f"none of the folders has a project in {baseline_path} (projects are matched by folder name)")
    found: list = []
    out_projects = []
    with ExitStack() as stack:
        validator = _validator(stack, chromium, page_timeout, check_timeout, sandbox)
        for root, base in pairs:
            names = selected or [c for c in base.checks if c in CHECK_NAMES] or None
            with console.status(f"re-checking {root}…"):
                result = validator.validate(root.resolve(), _spec_for_check(root, spec_path), checks=names,
                                            strict=strict)
            entry = rg.ProjectCheck(root.resolve().name, root, result, result.seconds).to_dict()
            regs = rg.regressions(base, entry)
            fixed = rg.fixed(base, entry)
            entry["regressions"] = [{"check": r.check, "errors": r.errors} for r in regs]
            entry["fixed"] = fixed
            out_projects.append(entry)
            found += regs
            for r in regs:
                console.print(f"REGRESSED {r.describe()}", style="bold red", markup=False, soft_wrap=True)
            if fixed:
                console.print(f"fixed     {entry['project']}: {', '.join(fixed)} failed in the baseline, pass now",
                              style="green", markup=False)
            if not regs:
                still = sorted(base.failing & {f["check"] for f in entry["findings"] if f["severity"] == "error"})
                tail = f" (still failing as in the baseline: {', '.join(still)})" if still else ""
                console.print(f"ok        {entry['project']}: no regression{tail}", markup=False)
    if json_path:
        data = {"kind": "regress", "baseline": str(baseline_path), "regressions": len(found),
                "projects": out_projects}
        outputs.write_text(json_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    if found:
        console.print(f"{len(found)} regression(s) in {len({r.project for r in found})} project(s)",
                      style="bold red", markup=False)
        sys.exit(1)
    console.print(f"no regressions in {len(pairs)} project(s)", style="bold green", markup=False)
    sys.exit(0)


# ---------------------------------------------------------------- batch


def _spec_files(args: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted(x for x in p.glob("*.md") if x.is_file())
            if not found:
                raise UsageError(f"{a}: no *.md spec files in that folder")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{a}: spec file not found (batch takes spec files or folders of them)")
    return list(dict.fromkeys(out))


class _Models:
    """One client per --model, sharing one local model server per GGUF file."""

    def __init__(self, stack: ExitStack, console: Console, names: list[str], base_url, api_key, timeout, deadline,
                 max_tokens, retries, runs_dir: Path):
        from runshot.cli import _only_model, _start_local
        from runshot.config import resolve_endpoint
        from runshot.generator.client import ModelSettings, make_client

        self.entries: dict[str, tuple] = {}
        local_servers: dict[str, tuple[str, str]] = {}
        for name in names or [""]:
            endpoint = resolve_endpoint(name or None, base_url, api_key)
            if endpoint.is_local:
                if endpoint.model not in local_servers:
                    local_servers[endpoint.model] = _start_local(stack, endpoint, console, runs_dir)
                base, model_name = local_servers[endpoint.model]
                settings = ModelSettings(name=model_name, base_url=base, api_key=None, timeout=timeout or 600,
                                         deadline=deadline or 1800, max_tokens=max_tokens, max_retries=retries)
            else:
                model_name = endpoint.model or _only_model(endpoint)
                settings = ModelSettings(name=model_name, base_url=endpoint.base_url, api_key=endpoint.api_key,
                                         timeout=timeout or 120, deadline=deadline or 900, max_tokens=max_tokens,
                                         max_retries=retries)
            self.entries[name] = (settings, make_client(settings))

    def ask_for(self, job):
        from runshot.generator.client import complete

        settings, client = self.entries[job.model]

        def ask(messages, on_progress):
            return complete(client, settings, messages, on_progress=on_progress)

        return ask

    def info(self, job) -> dict:
        settings, _ = self.entries[job.model]
        return {"name": settings.name, "base_url": settings.base_url}


def _live_board(jobs, console: Console):
    from runshot.batch import Board

    class LiveBoard(Board):
        def on_done(self, result) -> None:
            r = result.report or {}
            tokens = sum((r.get("usage") or {}).values()) if r else 0
            if result.status == "error":
                text, style = f"error   {result.job.name}: {result.error}", "red"
            else:
                text = (f"{'passed ' if result.passed else 'FAILED '} {result.job.name}: "
                        f"{len(r.get('iterations') or [])} iteration(s), {tokens} tokens, "
                        f"{float((r.get('seconds') or {}).get('total', 0)):.1f} s" + (" (reused)" if result.reused else ""))
                style = "green" if result.passed else "red"
            console.print(text, style=style, markup=False)

        def render(self):
            rows = self.snapshot()
            done = [r for r in rows if r["state"] in ("passed", "failed", "error")]
            running = [r for r in rows if r["state"] in ("model", "validate")]
            passed = sum(1 for r in done if r["state"] == "passed")
            table = Table(title=f"runshot batch: {len(done)}/{len(rows)} done, {passed} passed, "
                                f"{len(running)} running, {len(rows) - len(done) - len(running)} queued",
                          title_justify="left", show_edge=False, box=None)
            for col in ("run", "doing", "iteration", "tokens", "time"):
                table.add_column(col, justify="right" if col in ("iteration", "tokens", "time") else "left")
            now = time.monotonic()
            for r in running:
                doing = "waiting for the model" if r["state"] == "model" else "validating in Chromium"
                secs = now - r["started"] if r["started"] else 0
                table.add_row(r["job"].name, doing, str(r["iteration"]), str(r["tokens"]), f"{secs:.0f} s")
            return table

    return LiveBoard(jobs)


def _stdout() -> Console:
    probe = Console(file=sys.stdout)
    return Console(file=sys.stdout, highlight=False, soft_wrap=False, width=None if probe.is_terminal else 120)


def _print_summary(data: dict, console: Console) -> None:
    """Tables: every run, then per model (pass rate, tokens per pass), then specs × models when several."""
    projects = data["projects"]
    runs = Table(title="runs", title_justify="left")
    for col in ("project", "model", "result", "iterations", "tokens", "time"):
        runs.add_column(col, justify="right" if col in ("iterations", "tokens", "time") else "left")
    for e in projects:
        result = "passed" if e.get("passed") else ("error" if e.get("status") == "error" else "FAILED")
        runs.add_row(e["project"], e.get("model") or "", result, str(e.get("iterations", 0)), str(e.get("tokens", 0)),
                     f"{float(e.get('seconds') or 0):.1f} s")
    console.print(runs)
    models = Table(title="per model", title_justify="left")
    for col in ("model", "runs", "passed", "pass rate", "iterations", "tokens", "tokens/pass", "time"):
        models.add_column(col, justify="left" if col == "model" else "right")
    for m in data["models"] + [{"model": "all", **data["summary"]}]:
        per_pass = m["tokens_per_pass"]
        models.add_row(m["model"] or "(default)", str(m["runs"]), str(m["passed"]), f"{m['pass_rate'] * 100:.0f} %",
                       str(m["iterations"]), str(m["tokens"]), "—" if per_pass is None else str(per_pass),
                       f"{m['seconds']:.1f} s")
    console.print(models)
    names = sorted({e.get("model") or "" for e in projects})
    if len(names) > 1:
        grid = Table(title="specs × models", title_justify="left")
        grid.add_column("spec")
        for m in names:
            grid.add_column(m or "(default)", justify="center")
        cells: dict[str, dict[str, str]] = {}
        for e in projects:
            stem = (e.get("spec") or {}).get("stem") or e["project"]
            mark = ("pass" if e.get("passed") else "error" if e.get("status") == "error" else "fail")
            cells.setdefault(stem, {})[e.get("model") or ""] = f"{mark} ({e.get('iterations', 0)})"
        for stem in sorted(cells):
            grid.add_row(stem, *[cells[stem].get(m, "") for m in names])
        grid.add_row("pass rate", *[f"{m['pass_rate'] * 100:.0f} %" for m in data["models"]])
        console.print(grid)


@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("-o", "--out", "runs_dir", required=True, metavar="RUNS_DIR",
              help="Folder for the runs: RUNS_DIR/<spec-stem>[--<model>]/ each, and RUNS_DIR/batch.json.")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Runs at the same time (so model requests at the same time).")
@click.option("--browser-jobs", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Validations at the same time (each on a browser of its own).")
@click.option("--model", "models", multiple=True, metavar="M",
              help="Model to run every spec with; repeat to compare models side by side.")
@click.option("--shard", "shard_text", metavar="K/N", help="Run only the K-th of N slices of the sorted runs.")
@click.option("--resume", is_flag=True, help="Reuse runs in RUNS_DIR that already finished.")
@_model_options
@_browser_options
def batch(specs, runs_dir, jobs, browser_jobs, models, shard_text, resume, base_url, api_key, max_iterations,
          max_tokens, token_budget, call_timeout, deadline, retries, chromium, sandbox, checks, strict, page_timeout,
          check_timeout):
    """Generate and validate many specs (files, or folders of *.md) with one or more models.

    Exit 0 when every run passed, 1 when some did not, 2/3 when every run failed for the same usage/endpoint
    reason. The summary goes to standard output and RUNS_DIR/batch.json.
    """
    from runshot import batch as b
    from runshot.cli import _keep_spec_copy
    from runshot.spec import parse_spec_file
    from runshot.validators.browser import BrowserSettings, find_chromium
    from runshot.validators.context import Timeouts
    from runshot.validators.runner import Validator

    console = _console()
    out = _stdout()
    paths = _spec_files(specs)
    parsed = {p: parse_spec_file(p) for p in paths}
    selected = _parse_checks(checks)
    all_jobs = b.plan(paths, list(models))
    shard_spec = b.parse_shard(shard_text) if shard_text else None
    todo = b.shard(all_jobs, *shard_spec) if shard_spec else all_jobs
    root = Path(runs_dir)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{runs_dir}: exists and is not a folder")
    b.check_run_dirs(todo, root, resume)
    if chromium:
        BrowserSettings(executable=chromium).resolve_executable()
    else:
        find_chromium()
    shard_note = f" (shard {shard_spec[0]}/{shard_spec[1]} of {len(all_jobs)})" if shard_spec else ""
    console.print(f"[bold]runshot batch[/bold]: {len(todo)} run(s){shard_note} → {root}; "
                  f"{jobs} at a time, {browser_jobs} browser(s)")
    options = b.BatchOptions(jobs=jobs, max_iterations=max_iterations, token_budget=token_budget, checks=selected,
                             resume=resume)
    stop = threading.Event()
    started = time.monotonic()
    with ExitStack() as stack:
        needed = sorted({j.model for j in todo})
        setup = _Models(stack, console, needed, base_url, api_key, call_timeout, deadline, max_tokens, retries,
                        root) if todo else None
        settings = BrowserSettings(executable=chromium, sandbox=sandbox or "auto")
        timeouts = Timeouts(load=page_timeout, check=check_timeout)
        pool = stack.enter_context(b.ValidatorPool(browser_jobs, lambda: Validator(settings, timeouts)))

        def validate(project_dir, spec, shot):
            return pool.validate(project_dir, spec, checks=selected, screenshot_path=shot, strict=strict)

        board = _live_board(todo, console)
        from rich.live import Live

        with Live(console=console, get_renderable=board.render, refresh_per_second=4, transient=True,
                  redirect_stdout=False, redirect_stderr=False):
            try:
                results = b.run_batch(todo, root, parsed, setup.ask_for if setup else None,
                                      setup.info if setup else None, validate, options, board=board, stop=stop,
                                      finish=lambda job, spec, d: _keep_spec_copy(spec, d))
            except KeyboardInterrupt:
                stop.set()
                raise
        pool_stats = {"validations": pool.validations, "max_at_once": pool.max_active,
                      "seconds_waiting": round(pool.waited, 3)}
    entries = [b.project_entry(r, selected or list(CHECK_NAMES)) for r in results]
    opts = {"jobs": jobs, "browser_jobs": browser_jobs, "max_iterations": max_iterations, "token_budget": token_budget,
            "checks": selected or list(CHECK_NAMES), "strict": strict, "models": list(models)}
    data = b.batch_json(entries, opts, shard_spec)
    data["seconds"] = round(time.monotonic() - started, 3)
    data["browser"] = pool_stats
    b.write_json(root / b.BATCH_FILE, data)
    if entries:
        _print_summary(data, out)
    console.print(f"batch summary: {root / b.BATCH_FILE}", markup=False)
    errors = [r for r in results if r.status == "error"]
    if results and len(errors) == len(results) and len({r.exit_code for r in errors}) == 1 \
            and errors[0].exit_code in (2, 3):
        console.print(f"runshot: every run failed: {errors[0].error}", markup=False)
        sys.exit(errors[0].exit_code)
    sys.exit(0 if all(r.passed for r in results) else 1)


# ---------------------------------------------------------------- merge


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="RUNS_DIR...")
@click.option("-o", "--out", "out_path", required=True, metavar="PATH", help="The merged summary (JSON).")
def merge(sources, out_path):
    """Combine batch outputs (RUNS_DIRs or batch.json files, one per shard) into one summary."""
    from runshot import batch as b

    data = b.merge([Path(s) for s in sources], Path(out_path))
    b.write_json(Path(out_path), data)
    if data["projects"]:
        _print_summary(data, _stdout())
    note = ""
    if data["all_shards"] is False:
        note = " (some shards are missing)"
    _console().print(f"merged {len(data['projects'])} project(s) from {len(sources)} source(s) into {out_path}{note}",
                     markup=False)


# ---------------------------------------------------------------- gallery and serve


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="RUNS_DIR...")
@click.option("-o", "--out", "site", required=True, metavar="SITE", help="Folder for the static site (absent or empty).")
@click.option("--no-mobile", is_flag=True, help="Skip the phone-sized screenshots (no browser needed then).")
@click.option("--chromium", "chromium", metavar="PATH", envvar="RUNSHOT_CHROMIUM",
              help="Chromium/Chrome executable (default: chromium on PATH).")
def gallery(sources, site, no_mobile, chromium):
    """Build a static site of runs: a screenshot grid and a page per project (spec, iterations, diffs, the app)."""
    from runshot.gallery import build_gallery

    console = _console()
    out = Path(site)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{site}: not empty; choose a new or empty SITE")
    with console.status("building the gallery…"):
        built = build_gallery([Path(s) for s in sources], out, mobile=not no_mobile, chromium=chromium)
    for note in built.notes:
        console.print(note, style="yellow", markup=False)
    console.print(f"gallery: {len(built.projects)} project(s) → {out / 'index.html'}  "
                  f"(view it with: runshot serve {out})", markup=False)


@cli.command()
@click.argument("site", metavar="SITE")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
def serve(site, port):
    """Serve a folder (a gallery, a project) on http://127.0.0.1:PORT/ until interrupted."""
    from runshot.gallery import serve_site

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
