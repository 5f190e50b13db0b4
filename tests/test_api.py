"""The Python API: `runshot.check` against real Chromium, `runshot.generate` against the scripted server over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import runshot
from counterapp import answer
from fakeopenai import FakeOpenAI
from runshot.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "ci"


def test_import_runshot_is_cheap_and_exports_the_api():
    code = ("import sys, runshot; heavy = [m for m in ('runshot.api', 'runshot.validators.runner.project', 'playwright', "
            "'openai', 'git') if m in sys.modules]; print(heavy); from runshot import Finding, CheckResult, check, "
            "generate; print(Finding('c', 'error', 'm').is_error, CheckResult.__name__, callable(check))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["[]", "True CheckResult True"]


def test_check_good_and_broken_projects():
    good = runshot.check(FIXTURES / "good_app", checks=["runtime"])
    assert isinstance(good, runshot.CheckResult)
    assert good.passed and good.findings == [] and good.checks_run == ["runtime"]
    assert good.seconds > 0 and "runtime" in good.info["seconds"] and good.name == "good_app"
    broken = runshot.check(str(FIXTURES / "broken_app"), spec="a page", checks="runtime")
    assert not broken.passed and broken.errors
    assert {f.check for f in broken.errors} >= {"exception", "request"}
    with pytest.raises(UsageError, match="unknown check"):
        runshot.check(FIXTURES / "good_app", checks=["nope"])
    with pytest.raises(UsageError, match="not a folder"):
        runshot.check(FIXTURES / "no_such_app")


def test_check_takes_a_spec_with_acceptance_steps():
    from runshot.spec import parse_spec_text

    spec = parse_spec_text("---\ntitle: Counter\nchecks:\n  - name: counts\n    steps:\n"
                           "      - click: {role: button, name: Increment}\n"
                           "      - expect: {role: status, text: \"9\"}\n---\nA counter.\n")
    result = runshot.check(FIXTURES / "good_app", spec=spec, checks=["acceptance"])
    assert not result.passed and result.checks_run == ["acceptance"]
    assert any(f.check == "acceptance" for f in result.errors)


def test_generate_against_the_scripted_server(tmp_path: Path):
    out = tmp_path / "out"
    seen = []
    with FakeOpenAI(answer("Counter", broken=True), answer("Counter")) as fake:
        report = runshot.generate("A counter with an Increment button", out, model="scripted",
                                  base_url=fake.base_url, api_key="sk-api-test-0000000000", checks=["runtime"],
                                  derive_checks=False,
                                  max_iterations=3, on_start=lambda spec, model, where: seen.append(model.name))
        assert len(fake.chat_requests) == 2
    assert isinstance(report, runshot.Report)
    assert report.passed and report.best.number == 2 and seen == ["scripted"]
    data = json.loads((out / ".runshot" / "report.json").read_text())
    assert data["passed"] is True and data["model"] == {"name": "scripted", "base_url": fake.base_url}
    assert (out / ".runshot" / "spec.md").is_file() and (out / "index.html").is_file()
    with pytest.raises(UsageError, match="not empty"):
        runshot.generate("again", out, model="scripted", base_url=fake.base_url)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("OPENAI_", "RUNSHOT_MODEL"))}
    return subprocess.run([sys.executable, "-m", "runshot", *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=cwd)


def test_check_jobs_and_timings(tmp_path: Path):
    out = tmp_path / "many.json"
    proc = cli("check", str(FIXTURES / "good_app"), str(FIXTURES / "broken_app"), "--checks", "runtime", "--jobs",
               "2", "--jobs-checks", "1", "--timings", "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    timing_lines = [line for line in proc.stderr.splitlines() if line.startswith("timings: ")]
    assert sorted(line.split(":")[1].strip() for line in timing_lines) == ["broken_app", "good_app"]
    assert all("runtime" in line and "total" in line for line in timing_lines)
    data = json.loads(out.read_text())
    assert [p["project"] for p in data["projects"]] == ["good_app", "broken_app"]
    assert all("runtime" in p["info"]["seconds"] for p in data["projects"])
    assert cli("check", str(FIXTURES / "good_app"), "--jobs", "0").returncode == 2


def test_new_takes_candidates_and_no_derive_checks(tmp_path: Path):
    with FakeOpenAI(answer("Counter"), answer("Counter"), answer("Counter")) as fake:
        proc = cli("new", "A counter with an Increment button", "-o", str(tmp_path / "out"), "--model", "scripted",
                   "--base-url", fake.base_url, "--checks", "runtime", "--candidates", "2", "--no-derive-checks")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "out" / ".runshot" / "report.json").read_text())["passed"] is True
    bad = cli("new", "x", "-o", str(tmp_path / "o2"), "--candidates", "0")
    assert bad.returncode == 2 and "--candidates" in bad.stderr
