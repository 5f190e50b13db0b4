"""The JSON of many runs: one project entry per run, totals per model, `batch.json` and merged summaries.

Every string written passes through `runshot.redact`: no credentials of a base URL, no API key.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from runshot import __version__
from runshot.errors import UsageError
from runshot.redact import redact_data
from runshot.report import REPORT_DIR
from runshot.report import write_json as atomic

BATCH_FILE = "batch.json"
BENCH_FILE = "bench.json"  # what `runshot bench` writes: a batch's JSON whose projects also name their mode



def project_entry(result, checks: list[str]) -> dict:
    """One run as a project entry of batch.json (also a baseline entry for `runshot regress`)."""
    job = result.job
    report = result.report or {}
    its = report.get("iterations") or []
    best = next((it for it in its if it.get("number") == report.get("best_iteration")), None)
    findings = report.get("findings") or []
    usage = report.get("usage") or {"prompt_tokens": 0, "completion_tokens": 0}
    errors = sum(1 for f in findings if f.get("severity") == "error")
    shot = f"{job.name}/{REPORT_DIR}/screenshots/iteration-{best['number']}.png" if best is not None else None
    entry = {
        "project": job.name,
        "dir": job.name,
        "spec": {"title": (report.get("spec") or {}).get("title", job.stem), "stem": job.stem,
                 "source": str(job.spec_path)},
        "model": (report.get("model") or {}).get("name") or job.model or "",
        "status": result.status,
        "passed": result.passed,
        "best_iteration": report.get("best_iteration"),
        "iterations": len(its),
        "errors": errors,
        "warnings": len(findings) - errors,
        "checks": list(checks),
        "findings": findings,
        "usage": usage,
        "tokens": int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)),
        "seconds": round(float((report.get("seconds") or {}).get("total", result.seconds)), 3),
        "stopped_because": report.get("stopped_because", ""),
        "screenshot": shot,
    }
    if result.reused:
        entry["reused"] = True
    if result.error:
        entry["error"] = result.error
    return entry


def _rate(passed: int, runs: int) -> float:
    return round(passed / runs, 4) if runs else 0.0


def summarize(entries: list[dict]) -> dict:
    """Totals over all projects and per model: runs, passes, pass rate, tokens, tokens per pass, time."""

    def block(items: list[dict]) -> dict:
        runs = len(items)
        passed = sum(1 for e in items if e.get("passed"))
        tokens = sum(int(e.get("tokens") or 0) for e in items)
        return {
            "runs": runs,
            "passed": passed,
            "failed": sum(1 for e in items if e.get("status") == "failed"),
            "errors": sum(1 for e in items if e.get("status") == "error"),
            "pass_rate": _rate(passed, runs),
            "iterations": sum(int(e.get("iterations") or 0) for e in items),
            "tokens": tokens,
            "tokens_per_pass": round(tokens / passed) if passed else None,
            "seconds": round(sum(float(e.get("seconds") or 0) for e in items), 3),
        }

    models: dict[str, list[dict]] = {}
    for e in entries:
        models.setdefault(e.get("model") or "", []).append(e)
    return {
        "summary": block(entries),
        "models": [{"model": m, **block(items)} for m, items in sorted(models.items())],
    }


def batch_json(entries: list[dict], options: dict, shard_spec: tuple[int, int] | None) -> dict:
    return {
        "runshot_version": __version__,
        "kind": "batch",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "shard": {"index": shard_spec[0], "count": shard_spec[1]} if shard_spec else None,
        "options": options,
        **summarize(entries),
        "projects": entries,
    }


def load_batch(path: Path) -> dict:
    """A batch.json or bench.json (or a RUNS_DIR holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / BATCH_FILE if (p / BATCH_FILE).is_file() or not (p / BENCH_FILE).is_file() else p / BENCH_FILE
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UsageError(f"{p}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("projects"), list):
        raise UsageError(f"{p}: not a runshot batch or merge output (no 'projects' list)")
    data["_path"] = str(p)
    return data


def merge(paths: list[Path], out_path: Path) -> dict:
    """One summary over several batch outputs (e.g. the shards of one batch). Each project's `dir` is rewritten
    relative to the merged file's folder. A project name seen twice is a usage error."""
    entries: list[dict] = []
    seen: dict[str, str] = {}
    sources = []
    shards = []
    out_dir = Path(out_path).resolve().parent
    for path in paths:
        data = load_batch(path)
        src = Path(data.pop("_path")).resolve()
        sources.append(os.path.relpath(src, out_dir))
        if data.get("shard"):
            shards.append(data["shard"])
        for e in data["projects"]:
            name = e.get("project")
            if name in seen:
                raise UsageError(f"project {name!r} is in both {seen[name]} and {src}")
            seen[name] = str(src)
            e = dict(e)
            base = src.parent
            for key in ("dir", "screenshot"):
                if e.get(key):
                    e[key] = os.path.relpath((base / e[key]).resolve(), out_dir)
            entries.append(e)
    entries.sort(key=lambda e: str(e.get("project")))
    counts = {s.get("count") for s in shards}
    complete = None
    if shards and len(counts) == 1:
        complete = sorted(s.get("index") for s in shards) == list(range(1, counts.pop() + 1))
    return {
        "runshot_version": __version__,
        "kind": "merge",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sources": sources,
        "shards": shards,
        "all_shards": complete,
        **summarize(entries),
        "projects": entries,
    }


def write_json(path: Path, data: dict, secrets: tuple[str, ...] = ()) -> None:
    """Write `data` atomically, with credentials in URLs and the given secret values redacted."""
    atomic(Path(path), redact_data(data, secrets))
