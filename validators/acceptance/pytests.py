"""Acceptance tests written as pytest files beside the spec (pytest-playwright's `page` fixture).

They run in a subprocess against the served app (see `run_pytest_files`); each failing test is a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from runshot.rules import Rule, Rules
from runshot.spec import Spec
from runshot.validators.acceptance.targets import EVIDENCE_LIMIT
from runshot.validators.browser.context import Timeouts
from runshot.values import ERROR, Finding, truncate

RULES = Rules(
    Rule("acceptance/pytest-failed", ERROR, "A pytest acceptance test of the spec failed."),
    Rule("acceptance/pytest-error", ERROR, "A pytest acceptance test could not run."),
    Rule("acceptance/pytest-timeout", ERROR, "A pytest acceptance test ran past its deadline."),
)


def pytest_files(spec: Spec) -> list[Path]:
    """test_*.py files in the spec's folder named after the spec (test_<stem>.py, test_<stem>_*.py), plus `tests:`."""
    folder = spec.folder
    if folder is None or not Path(folder).is_dir():
        return []
    folder = Path(folder).resolve()
    found: list[Path] = []
    if spec.source != "prompt":
        stem = Path(spec.source).stem
        found += sorted(folder.glob(f"test_{stem}.py")) + sorted(folder.glob(f"test_{stem}_*.py"))
    listed = spec.extra.get("tests") or []
    if isinstance(listed, str):
        listed = [listed]
    for name in listed:
        path = (folder / str(name)).resolve()
        if path.is_file() and path.is_relative_to(folder) and path.suffix == ".py":
            found.append(path)
    return list(dict.fromkeys(found))


async def run_pytest_files(
    files: list[Path],
    base_url: str,
    deadline: float,
    timeouts: Timeouts,
    chromium: str | None = None,
    info: dict | None = None,
) -> list[Finding]:
    """Run pytest on `files` against `base_url` in a subprocess; each failing test is a finding.

    `info`, when given, receives {"acceptance_tests": {"files", "tests", "failed"}}.
    """
    findings: list[Finding] = []
    summary = {"files": [f.name for f in files], "tests": 0, "failed": 0}
    if info is not None:
        info["acceptance_tests"] = summary
    with tempfile.TemporaryDirectory(prefix="runshot-pytest-") as tmp:
        report = Path(tmp) / "report.xml"
        folder = files[0].parent
        command = [
            sys.executable, "-m", "pytest", *map(str, files),
            "-q", "-p", "no:cacheprovider", "-p", "runshot.validators.acceptance.pytest_page",
            "-c", os.devnull, "--rootdir", str(folder), "-o", "python_files=*.py",
            f"--base-url={base_url}", f"--junitxml={report}", "--tb=short",
        ]  # fmt: skip
        if not _module_exists("runshot.pytest_plugin"):
            command[4:4] = ["-p", "no:runshot"]
        env = dict(os.environ)
        env["RUNSHOT_ACTION_TIMEOUT_MS"] = str(int(timeouts.action * 1000))
        env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        if chromium:
            env["RUNSHOT_CHROMIUM"] = chromium
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(folder),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        names = ", ".join(f.name for f in files)
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), timeout=deadline)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            with _suppress_oserror():
                os.killpg(proc.pid, signal.SIGKILL)
            with _suppress_oserror():
                await asyncio.wait_for(proc.wait(), 5)
            if isinstance(exc, asyncio.CancelledError):
                raise
            message = f"the pytest acceptance tests ({names}) did not finish within {deadline:.0f} s"
            return [RULES["acceptance/pytest-timeout"].finding(message)]
        text = output.decode("utf-8", "replace")
        if report.is_file():
            findings += _junit_failures(report, summary)
        if not findings and proc.returncode not in (0, 5):
            findings.append(
                RULES["acceptance/pytest-error"].finding(
                    f"the pytest acceptance tests ({names}) could not run (exit code {proc.returncode})",
                    evidence=truncate(text[-EVIDENCE_LIMIT:], EVIDENCE_LIMIT))
            )
    return findings


def _junit_failures(report: Path, summary: dict) -> list[Finding]:
    findings = []
    try:
        root = ET.parse(report).getroot()
    except ET.ParseError:
        return []
    for case in root.iter("testcase"):
        summary["tests"] += 1
        if case.find("failure") is not None or case.find("error") is not None:
            summary["failed"] += 1
        for problem in list(case.findall("failure")) + list(case.findall("error")):
            module = case.get("classname", "").rsplit(".", 1)[-1]
            name = case.get("name", "?")
            text = (problem.get("message") or "").strip()
            first = text.splitlines()[0] if text else problem.tag
            findings.append(
                RULES["acceptance/pytest-failed"].finding(
                    f"{module}.py::{name} failed: {truncate(first, 300)}", where=f"{module}.py::{name}",
                    hint="the page must pass the spec's acceptance tests as written",
                    evidence=truncate(text or (problem.text or ""), EVIDENCE_LIMIT))
            )
    return findings


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _suppress_oserror() -> contextlib.AbstractContextManager:
    return contextlib.suppress(OSError, asyncio.TimeoutError)
