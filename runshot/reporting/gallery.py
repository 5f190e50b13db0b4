"""A static gallery of runs: a grid of screenshots with verdicts, and one page per project with its spec, the
iteration timeline (findings and the git diff of each iteration), desktop and phone screenshots, and a copy of
the app itself at HEAD.

    SITE/index.html            the grid, plus pass rates per model
    SITE/style.css
    SITE/p/<project>/index.html
    SITE/p/<project>/desktop.png, mobile.png, iteration-N.png
    SITE/p/<project>/app/      the project's files at HEAD (what "Open the app" opens)

The pages are built from Jinja2 templates in runshot's `templates/gallery/` (StrictUndefined: a missing value is an
error, never an empty string) and pass runshot's own checks.
"""

from __future__ import annotations

import inspect
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import jinja2

import runshot.templates as package
from runshot import __version__, gitrepo
from runshot.errors import UsageError
from runshot.redact import redact_text
from runshot.report import REPORT_DIR
from runshot.scale.batch import slug, summarize
from runshot.spec import parse_spec_text
from runshot.validators.browser.chromium import BrowserSettings
from runshot.validators.browser.context import Timeouts
from runshot.validators.checks.runtime import screenshot
from runshot.validators.runner.project import Validator
from runshot.validators.runner.registry import built_in_registry
from runshot.validators.serve import server as static
from runshot.validators.serve.server import serve

MOBILE_VIEWPORT = (375, 667)
DIFF_LIMIT = 60_000  # characters of diff shown per iteration
SPEC_LIMIT = 40_000
FINDINGS_LIMIT = 40  # per iteration


@dataclass
class Built:
    site: Path
    projects: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things that could not be done (a screenshot, a diff)


def find_runs(sources: list[Path]) -> list[Path]:
    """Run folders (holding .runshot/report.json): each source itself, or its sub-folders, in name order."""
    runs: list[Path] = []
    for src in sources:
        src = Path(src)
        if not src.is_dir():
            raise UsageError(f"{src}: not a folder")
        if (src / REPORT_DIR / "report.json").is_file():
            runs.append(src)
            continue
        runs += sorted(d for d in src.iterdir() if d.is_dir() and (d / REPORT_DIR / "report.json").is_file())
    seen: set[Path] = set()
    out = []
    for r in runs:
        key = r.resolve()
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def environment() -> jinja2.Environment:
    folder = Path(package.__file__).resolve().parent / "gallery"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["duration"] = duration
    return env


def duration(seconds) -> str:
    s = float(seconds or 0)
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(int(round(s)), 60)
    return f"{minutes} min {rest} s"


def build_gallery(sources: list[Path], site: Path, mobile: bool = True, chromium: str | None = None,
                  secrets: tuple[str, ...] = ()) -> Built:
    """Build the site into `site` (created; expected empty) from the runs found in `sources`. Credentials in URLs
    and the given secret values never reach a page."""
    site = Path(site)
    site.mkdir(parents=True, exist_ok=True)
    built = Built(site=site)
    env = environment()
    used: set[str] = set()
    projects = []
    errors = _batch_errors(sources)
    for run in find_runs(sources):
        name = slug(run.resolve().name)
        base, n = name, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        projects.append(_project(run, site / "p" / name, name, built.notes, errors.get(run.resolve(), "")))
    if mobile:
        _mobile_screenshots(site, projects, chromium, built.notes)
    shutil.copyfile(Path(env.loader.searchpath[0]) / "style.css", site / "style.css")
    common = {"version": __version__, "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    entries = [{"model": p["model"], "passed": p["passed"], "tokens": p["tokens"], "seconds": p["seconds"],
                "iterations": len(p["iterations"]), "status": "passed" if p["passed"] else "failed"}
               for p in projects]
    totals = summarize(entries)
    def write(path: Path, text: str) -> None:
        path.write_text(redact_text(text, secrets), encoding="utf-8")

    write(site / "index.html", env.get_template("index.html.j2").render(
        root="", projects=projects, summary=totals["summary"], models=totals["models"], **common))
    for p in projects:
        write(site / "p" / p["slug"] / "index.html",
              env.get_template("project.html.j2").render(root="../../", p=p, **common))
    built.projects = projects
    write(site / "gallery.json", json.dumps({"runshot_version": __version__, **totals, "projects": [
        {k: v for k, v in p.items() if k in ("slug", "title", "model", "passed", "tokens", "seconds", "best_iteration")}
        for p in projects]}, indent=2) + "\n")
    return built


def _batch_errors(sources: list[Path]) -> dict[Path, str]:
    """Why a batch run ended without a project (from RUNS_DIR/batch.json), by run folder."""
    out: dict[Path, str] = {}
    for src in sources:
        path = Path(src) / "batch.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in data.get("projects") or [] if isinstance(data, dict) else []:
            if isinstance(entry, dict) and entry.get("error") and entry.get("dir"):
                out[(Path(src) / str(entry["dir"])).resolve()] = str(entry["error"])
    return out


def _project(run: Path, dest: Path, name: str, notes: list[str], error: str = "") -> dict:
    """Copy what the project page shows into `dest` and return the template's values."""
    dest.mkdir(parents=True, exist_ok=True)
    state = run / REPORT_DIR
    report = json.loads((state / "report.json").read_text(encoding="utf-8"))
    spec_info = report.get("spec") or {}
    model = (report.get("model") or {}).get("name") or "unknown model"
    spec_text, acceptance = _spec(state / "spec.md", spec_info)
    usage = report.get("usage") or {}
    best = report.get("best_iteration")

    iterations = []
    repo = gitrepo.open_committed(run)
    previous: tuple[int, str] | None = None  # (number, commit) of the last committed iteration
    for it in report.get("iterations") or []:
        if not it.get("commit") and not it.get("findings") and not any((it.get("usage") or {}).values()):
            continue  # a model call that failed outright: nothing was judged
        number = int(it.get("number", 0))
        entry = {
            "number": number,
            "passed": bool(it.get("passed")),
            "commit": it.get("commit"),
            "errors": int(it.get("errors", sum(1 for f in it.get("findings") or [] if f.get("severity") == "error"))),
            "usage": {"prompt_tokens": int((it.get("usage") or {}).get("prompt_tokens", 0)),
                      "completion_tokens": int((it.get("usage") or {}).get("completion_tokens", 0))},
            "seconds": {"model": float((it.get("seconds") or {}).get("model", 0)),
                        "validate": float((it.get("seconds") or {}).get("validate", 0))},
            "files_changed": list(it.get("files_changed") or []),
            "note": it.get("note", ""),
            "findings": [_finding(f) for f in (it.get("findings") or [])[:FINDINGS_LIMIT]],
            "diff": "",
            "diff_from": None,
            "shot": None,
        }
        shot = state / "screenshots" / f"iteration-{number}.png"
        if shot.is_file():
            shutil.copyfile(shot, dest / f"iteration-{number}.png")
            entry["shot"] = f"iteration-{number}.png"
        if entry["commit"] and repo is not None:
            entry["diff"], entry["diff_from"] = _diff(repo, previous, entry["commit"], notes, run)
            previous = (number, entry["commit"])
        iterations.append(entry)

    desktop = None
    if best is not None and (dest / f"iteration-{best}.png").is_file():
        shutil.copyfile(dest / f"iteration-{best}.png", dest / "desktop.png")
        desktop = "desktop.png"
    app_files = _export_head(repo, dest / "app", notes, run) if repo is not None else []
    entry_page = spec_info.get("entry") or "index.html"
    has_app = bool(app_files) and (dest / "app" / entry_page.split("?")[0].split("#")[0]).is_file()
    return {
        "slug": name,
        "href": f"p/{name}/",
        "run": str(run),
        "title": str(spec_info.get("title") or run.name),
        "model": model,
        "passed": bool(report.get("passed")),
        "best_iteration": best,
        "stopped_because": report.get("stopped_because") or error,
        "iterations": iterations,
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", 0)),
        "tokens": int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)),
        "seconds": float((report.get("seconds") or {}).get("total", 0)),
        "spec_text": spec_text,
        "acceptance": acceptance,
        "desktop": desktop,
        "mobile": None,
        "app": f"app/{entry_page}" if has_app else None,
        "entry": entry_page,
    }


def _finding(f: dict) -> dict:
    return {"severity": str(f.get("severity", "")), "check": str(f.get("check", "")),
            "message": str(f.get("message", ""))[:600], "where": str(f.get("where", ""))}


def _spec(path: Path, info: dict) -> tuple[str, list[dict]]:
    """The spec's text and its acceptance checks (as readable steps), from the copy kept beside the report."""
    candidates = [path]
    source = info.get("source")
    if source and source not in ("prompt", "(none)"):
        candidates.append(Path(source))
    for p in candidates:
        if p.is_file():
            text = p.read_text(encoding="utf-8", errors="replace")
            acceptance: list[dict] = []
            try:
                spec = parse_spec_text(text, source=str(p))
                acceptance = [{"name": c.name, "steps": [s.describe() for s in c.steps]} for c in spec.checks]
            except Exception:  # noqa: BLE001 (an unreadable spec still shows as text)
                pass
            return text[:SPEC_LIMIT], acceptance
    return "", []


def _diff(repo, previous: tuple[int, str] | None, commit: str, notes: list[str], run: Path) -> tuple[str, int | None]:
    start = previous[1] if previous else gitrepo.EMPTY_TREE
    try:
        return gitrepo.diff_between(repo, start, commit, limit=DIFF_LIMIT), (previous[0] if previous else None)
    except Exception as exc:  # noqa: BLE001 (a missing commit costs only its diff)
        notes.append(f"{run.name}: no diff for commit {commit[:10]}: {str(exc).splitlines()[0][:200]}")
        return "", None


def _export_head(repo, dest: Path, notes: list[str], run: Path) -> list[str]:
    """Write the files of HEAD's tree (not the work tree: only what was committed) below `dest`."""
    written = []
    root = dest.resolve()
    for path, content in gitrepo.head_files(repo):  # files only; never a symlink
        target = (dest / path).resolve()
        if not target.is_relative_to(root):
            notes.append(f"{run.name}: skipped {path}: outside the app folder")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(path)
    return written


def _mobile_screenshots(site: Path, projects: list[dict], chromium: str | None, notes: list[str]) -> None:
    """Phone-sized screenshots of each exported app, taken with one browser for all."""
    todo = [p for p in projects if p["app"]]
    if not todo:
        return

    timeouts = Timeouts()

    async def shoot(host, base_url: str, entry: str, path: Path) -> None:
        async with host.open_session(base_url, entry, viewport=MOBILE_VIEWPORT, timeouts=timeouts,
                                     context_options={"is_mobile": True, "has_touch": True}) as session:
            await screenshot(session.page, path, timeouts)

    with Validator(BrowserSettings(executable=chromium), timeouts, registry=built_in_registry()) as validator:
        for p in todo:
            folder = site / "p" / p["slug"]
            target = folder / "mobile.png"
            try:
                with serve(folder / "app") as server:
                    validator.host.run(partial(shoot, validator.host, server.base_url, p["entry"], target),
                                       timeout=timeouts.load + timeouts.action * 4 + 10)
                p["mobile"] = "mobile.png"
            except Exception as exc:  # noqa: BLE001 (a page that will not load gets no phone screenshot)
                notes.append(f"{p['slug']}: no phone screenshot: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}")


def serve_site(root: Path, port: int = 0):
    """A started static server for `root` on 127.0.0.1:`port` (0: a free port): runshot's own file server, which
    never serves `.git` or `.runshot` and nothing outside `root`."""

    if port == 0:
        return static.serve(root).start()
    if "port" in inspect.signature(static.StaticServer).parameters:
        return static.StaticServer(root, port=port).start()

    class _FixedPort(static._Server):  # the same server and handler, bound to the asked port
        def server_bind(self) -> None:
            self.server_address = ("127.0.0.1", port)
            super().server_bind()

    site = static.StaticServer(root)
    saved = static._Server
    static._Server = _FixedPort
    try:
        return site.start()
    finally:
        static._Server = saved
