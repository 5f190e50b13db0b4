"""The stock Vite React template judged by URL (`vite preview`, started by `--start`) and as a folder: one verdict.

Made with real npm as tests/test_vite.py makes it (skipped with its reason when the npm registry is unreachable).
Slow (an npm create, an install and two checks): opt-in with `pytest -m slow`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from siteapps import free_port
from test_vite import vite_app  # noqa: F401 (the fixture that creates stock templates with real npm)

CLI = "from runshot.cli import main; main()"


def _check(*args: str, report: Path, cwd: Path | None = None) -> dict:
    run = subprocess.run([sys.executable, "-c", CLI, "check", *args, "--json", str(report)], capture_output=True,
                         text=True, timeout=600, cwd=cwd)
    assert report.is_file(), f"no report (exit {run.returncode}): {run.stdout[-1500:]} {run.stderr[-1500:]}"
    data = json.loads(report.read_text())
    data["exit"] = run.returncode
    return data


def _verdict(data: dict) -> tuple:
    """What must agree: pass or fail, exit code, and which rules failed where (pages named alike)."""
    errors = sorted({(f["check"], f.get("rule", "")) for f in data["findings"] if f["severity"] == "error"})
    return data["passed"], data["exit"], errors


@pytest.mark.slow
def test_vite_preview_by_url_gives_the_folder_verdict(vite_app, tmp_path):  # noqa: F811
    project = tmp_path / "react-app"
    shutil.copytree(vite_app("react"), project)
    folder = _check(str(project), report=tmp_path / "folder.json")
    assert (project / "dist" / "index.html").is_file()  # the folder check built it (node_modules installed)
    port = free_port()
    start = f"{project / 'node_modules' / '.bin' / 'vite'} preview --host 127.0.0.1 --port {port} --strictPort"
    by_url = _check("--start", start, "--url", f"http://127.0.0.1:{port}/", "--start-timeout", "120",
                    report=tmp_path / "url.json", cwd=project)
    assert by_url["info"]["url"] == f"http://127.0.0.1:{port}/"
    assert _verdict(by_url) == _verdict(folder), (folder["findings"], by_url["findings"])
