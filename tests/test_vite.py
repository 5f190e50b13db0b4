"""Stock Vite templates build and pass the build step of `runshot check`.

Each template is made exactly as a person makes it, `npm create vite@latest NAME -- --template T`, then checked
with the real CLI: runshot installs it (`npm install --ignore-scripts`), runs `npm run build` inside the sandbox
under its limits, and serves dist/. These tools use WebAssembly (Vite's rolldown, es-module-lexer): an
address-space cap breaks them, so this is what proves the build limits leave ordinary tools alone.

They need the npm registry: without it (`npm view vite version` failing or timing out) they are skipped.
React runs by default; the other templates are marked `slow` (opt-in: pytest -m slow).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runshot.validators.sandbox.confined import sandbox_available, unavailable_reason

CLI = "from runshot.cli import main; main()"
CREATE_SECONDS = 180
CHECK_SECONDS = 400


def _registry_problem() -> str | None:
    if not (shutil.which("npm") and shutil.which("node")):
        return "npm and node are not installed"
    if not sandbox_available():
        return f"builds run only inside bubblewrap, which does not work here ({unavailable_reason()})"
    try:
        probe = subprocess.run(["npm", "view", "vite", "version"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "the npm registry did not answer `npm view vite version` within 20 s"
    if probe.returncode != 0 or not probe.stdout.strip():
        return f"the npm registry is not reachable (`npm view vite version`: {probe.stderr.strip()[-200:]})"
    return None


@pytest.fixture(scope="session")
def vite_app(tmp_path_factory):
    """make(template) -> a freshly created Vite project (made once per template and test session)."""
    problem = _registry_problem()
    if problem:
        pytest.skip(problem)
    root = tmp_path_factory.mktemp("vite")
    made: dict[str, Path] = {}
    env = {**os.environ, "CI": "1", "npm_config_yes": "true", "npm_config_update_notifier": "false"}

    def make(template: str) -> Path:
        if template not in made:
            name = f"{template}-app"
            created = subprocess.run(
                ["npm", "create", "vite@latest", name, "--", "--template", template, "--no-interactive"],
                cwd=root, env=env, capture_output=True, text=True, timeout=CREATE_SECONDS,
            )
            project = root / name
            if created.returncode != 0 or not (project / "package.json").is_file():
                pytest.fail(f"npm create vite failed for {template}: {created.stdout[-500:]} {created.stderr[-500:]}")
            made[template] = project
        return made[template]

    return make


def check(project: Path, out: Path) -> tuple[subprocess.CompletedProcess, dict, float]:
    report = out / "report.json"
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", CLI, "check", str(project), "--json", str(report)],
                         capture_output=True, text=True, timeout=CHECK_SECONDS)
    seconds = time.monotonic() - started
    assert report.is_file(), f"no report (exit {run.returncode}): {run.stdout[-1500:]} {run.stderr[-1500:]}"
    return run, json.loads(report.read_text()), seconds


@pytest.mark.parametrize("template", [
    "react",
    pytest.param("vue", marks=pytest.mark.slow),
    pytest.param("svelte", marks=pytest.mark.slow),
    pytest.param("vanilla", marks=pytest.mark.slow),
])
def test_a_stock_vite_template_builds_and_is_served_from_dist(template, vite_app, tmp_path):
    project = vite_app(template)
    assert not (project / "node_modules").exists()  # runshot installs it, with --ignore-scripts
    run, report, seconds = check(project, tmp_path)
    findings = report["findings"]
    build = [f for f in findings if f["check"] == "build"]
    assert build == [], "\n".join(f"{f['message']}\n{f.get('evidence', '')}" for f in build)
    # What was built is there, with the hashed names Vite gives its assets ...
    dist = project / "dist"
    assets = list((dist / "assets").glob("index-*.js"))
    assert (dist / "index.html").is_file() and assets, sorted(p.name for p in dist.rglob("*"))
    # ... and it is what was served: the unbuilt index.html loads /src/main.* (JSX, .vue, .svelte, CSS imports),
    # which no browser runs, so serving the project folder instead would show as runtime errors.
    runtime = [f for f in findings if f["check"] == "runtime" and f["severity"] == "error"]
    assert runtime == [], runtime
    others = [f"{f['check']}: {f['message']}" for f in findings if f["severity"] == "error"]
    print(f"\n{template}: checked in {seconds:.1f} s, exit {run.returncode}; other errors: {others or 'none'}")
