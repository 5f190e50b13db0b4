"""CI use: JUnit output a CI server can read, `check --changed`, `regress` against a baseline, and the pytest plugin.

Everything runs for real: the CLI in a subprocess, git repositories, headless Chromium, pytest itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import git
import pytest

from runshot.reporting.regress import BaselineProject

FIXTURES = Path(__file__).parent / "fixtures" / "ci"
GOOD = FIXTURES / "good_app"
BROKEN = FIXTURES / "broken_app"
CLI = "from runshot.cli import main; main()"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def copy_app(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


# ---------------------------------------------------------------- JUnit


def assert_junit_consistent(root: ET.Element) -> None:
    """What a JUnit consumer relies on: counts on <testsuites> and <testsuite> match their testcases."""
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        for case in cases:
            assert case.get("name") and case.get("classname")
            for failure in case.findall("failure"):
                assert failure.get("message") and failure.text
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites)


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> Path:
    """broken_app checked alone (one.xml, one.json), then good_app and broken_app together (many.xml, many.json),
    with runtime and semantics; once per module: the JUnit test reads them, the regress test takes them as
    baselines."""
    out = tmp_path_factory.mktemp("checked")
    proc = run_cli("check", str(BROKEN), "--checks", "runtime,semantics", "--junit", str(out / "one.xml"),
                   "--json", str(out / "one.json"))
    assert proc.returncode == 1, proc.stderr
    proc = run_cli("check", str(GOOD), str(BROKEN), "--checks", "runtime,semantics", "--junit", str(out / "many.xml"),
                   "--json", str(out / "many.json"))
    assert proc.returncode == 1, proc.stderr
    (out / "many.stderr").write_text(proc.stderr)
    return out


def test_junit_for_one_and_for_many_projects(checked: Path):
    root = ET.parse(checked / "one.xml").getroot()
    assert_junit_consistent(root)
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert {"exception", "request"} <= failed, failed

    root = ET.parse(checked / "many.xml").getroot()
    assert_junit_consistent(root)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"runshot: good_app", "runshot: broken_app"}
    assert suites["runshot: good_app"].get("failures") == "0"
    assert int(suites["runshot: broken_app"].get("failures")) >= 2
    data = json.loads((checked / "many.json").read_text())
    assert data["passed"] is False
    assert [(p["project"], p["passed"]) for p in data["projects"]] == [("good_app", True), ("broken_app", False)]
    assert "broken_app" in (checked / "many.stderr").read_text().splitlines()[-1]


# ---------------------------------------------------------------- check --changed


@pytest.fixture
def apps_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in ("a", "b"):
        copy_app(GOOD, root / "apps" / name)
    repo = git.Repo.init(root)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "test").set_value("user", "email", "test@localhost")
    repo.git.add(A=True)
    repo.git.commit("-q", "-m", "two apps")
    return root


def test_check_changed_checks_only_changed_folders(apps_repo: Path):
    repo = git.Repo(apps_repo)
    # b: a committed change since the base; c: a new, untracked app; a: only runshot's own output changed.
    base = repo.head.commit.hexsha
    app_js = apps_repo / "apps" / "b" / "app.js"
    app_js.write_text(app_js.read_text() + "\n// tweak\n")
    repo.git.commit("-qam", "tweak b")
    copy_app(BROKEN, apps_repo / "apps" / "c")
    (apps_repo / "apps" / "a" / ".runshot").mkdir()
    (apps_repo / "apps" / "a" / ".runshot" / "report.json").write_text("{}")

    dirs = ["apps/a", "apps/b", "apps/c"]
    proc = run_cli("check", "--changed", "--base", base, *dirs, "--checks", "runtime", "--json", "out.json",
                   cwd=apps_repo)
    assert proc.returncode == 1, proc.stderr  # c is broken
    data = json.loads((apps_repo / "out.json").read_text())
    assert [p["project"] for p in data["projects"]] == ["b", "c"]
    assert data["changed"]["unchanged"] == ["apps/a"]
    assert "unchanged since" in proc.stderr and "apps/a" in proc.stderr

    # The default base is HEAD~1: the last commit touched b only (c is untracked, so it counts too).
    shutil.rmtree(apps_repo / "apps" / "c")
    proc = run_cli("check", "--changed", *dirs[:2], "--checks", "runtime", "--json", "-", cwd=apps_repo)
    assert proc.returncode == 0, proc.stderr
    assert [p["project"] for p in json.loads(proc.stdout)["projects"]] == ["b"]

    # Nothing changed since HEAD: nothing to check, success.
    proc = run_cli("check", "--changed", "--base", "HEAD", *dirs[:2], "--json", "-", cwd=apps_repo)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["projects"] == [] and "nothing to check" in proc.stderr


def test_check_changed_with_unknown_base_is_a_usage_error(apps_repo: Path):
    proc = run_cli("check", "--changed", "--base", "no-such-branch", "apps/a", cwd=apps_repo)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "no-such-branch" in proc.stderr


# ---------------------------------------------------------------- regress


def test_regress_fails_only_when_a_passing_check_now_fails(checked: Path, tmp_path: Path):
    # The baseline: good_app and broken_app checked together (runtime, semantics); regress matches folder names.
    app = copy_app(GOOD, tmp_path / "good_app")
    broken = copy_app(BROKEN, tmp_path / "broken_app")
    baseline = checked / "many.json"

    # Nothing changed: no regression (broken_app's failures were already in the baseline).
    proc = run_cli("regress", str(app), str(broken), "--baseline", str(baseline))
    assert proc.returncode == 0, proc.stderr
    assert "still failing as in the baseline" in proc.stderr

    # good_app now throws at load: its runtime check passed in the baseline and fails now.
    (app / "app.js").write_text("document.getElementById('nope').remove();\n" + (app / "app.js").read_text())
    out = tmp_path / "regress.json"
    proc = run_cli("regress", str(app), str(broken), "--baseline", str(baseline), "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    assert "REGRESSED good_app: 'exception'" in proc.stderr
    data = json.loads(out.read_text())
    by_name = {p["project"]: p for p in data["projects"]}
    assert [r["check"] for r in by_name["good_app"]["regressions"]] == ["exception"]
    assert by_name["broken_app"]["regressions"] == []

    # A single-project check output works as a baseline too; a folder it does not know is skipped.
    proc = run_cli("regress", str(broken), str(app), "--baseline", str(checked / "one.json"))
    assert proc.returncode == 0, proc.stderr
    assert "no baseline for good_app" in proc.stderr


def test_regress_knows_what_a_check_reports_under_from_its_declaration():
    """`runtime` reports `exception`, `console`, `request`, ... (its rules say so); `dialog` is a check of its own."""
    ran_runtime = BaselineProject("p", checks=["runtime"], failing=set(), reported=set())
    assert all(ran_runtime.passed_check(name) for name in ("runtime", "exception", "console", "request", "network",
                                                             "crash", "blank"))
    assert not any(ran_runtime.was_checked(name) for name in ("dialog", "a11y", "keyboard", "a-plugin"))
    assert BaselineProject("p", ["dialog"], set(), set()).was_checked("dialog")
    assert BaselineProject("p", ["a-plugin"], set(), set()).was_checked("a-plugin")


def test_regress_without_matching_project_is_usage_error(tmp_path: Path):
    app = copy_app(GOOD, tmp_path / "elsewhere")
    base = tmp_path / "b.json"
    base.write_text(json.dumps({"projects": []}))
    proc = run_cli("regress", str(app), "--baseline", str(base))
    assert proc.returncode == 2 and "matched by folder name" in proc.stderr


# ---------------------------------------------------------------- the pytest plugin


def run_pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=180, env=env)


def test_pytest_plugin_turns_folders_into_items(tmp_path: Path):
    good = copy_app(GOOD, tmp_path / "good")
    broken = copy_app(BROKEN, tmp_path / "broken")
    shots = tmp_path / "shots"
    proc = run_pytest("--runshot", str(good), "--runshot", str(broken), "--runshot-checks", "runtime",
                      "--runshot-screenshots", str(shots), "--junitxml", "report.xml", cwd=tmp_path)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "1 failed, 1 passed" in out
    assert "[exception]" in out and "[request]" in out and "missing.js" in out
    # One failing item, one screenshot (its line may repeat in the summary, which CI=true prints in full).
    shot_lines = sorted({line for line in out.splitlines() if line.startswith("screenshot: ")})
    assert len(shot_lines) == 1
    shot = Path(shot_lines[0].split(": ", 1)[1])
    assert shot.parent == shots and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # JUnit writers mangle "/" in names differently across pytest set-ups: match on the folder's own name.
    cases = {c.get("name").rstrip("]").replace(".", "/").rsplit("/", 1)[-1]: c
             for c in ET.parse(tmp_path / "report.xml").getroot().iter("testcase")}
    assert set(cases) == {"broken", "good"}, cases
    failing = cases["broken"]
    props = {p.get("name"): p.get("value") for p in failing.iter("property")}
    assert props == {"runshot_screenshot": str(shot)}
    assert failing.find("failure") is not None and cases["good"].find("failure") is None


def test_pytest_plugin_collects_spec_files(tmp_path: Path):
    apps = tmp_path / "apps"
    copy_app(GOOD, apps / "counter")
    (apps / "counter.runshot.md").write_text(
        "---\ntitle: Counter works\nchecks:\n  - name: increments\n    steps:\n"
        "      - click: {role: button, name: Increment}\n      - expect: {role: status, text: 'Count: 1'}\n"
        "---\nA counter.\n")
    # A spec inside its project's folder, asking for something the app does not do.
    (apps / "counter" / "wrong.runshot.md").write_text(
        "---\ntitle: Counter counts by ten\nchecks:\n  - name: tens\n    steps:\n"
        "      - click: {role: button, name: Increment}\n      - expect: {role: status, text: 'Count: 10'}\n"
        "---\nA counter that counts in tens.\n")
    # Any other name only through --runshot-specs; its project is the folder named like it.
    specs = tmp_path / "specs"
    copy_app(GOOD, specs / "plain")
    (specs / "plain.md").write_text("---\ntitle: Plain\n---\nA counter.\n")

    proc = run_pytest("apps", "--runshot-specs", "specs/plain.md", "--runshot-checks", "runtime,acceptance",
                      "-rA", cwd=tmp_path)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "1 failed, 2 passed" in out
    assert "PASSED apps/counter.runshot.md::Counter works" in out
    assert "PASSED specs/plain.md::Plain" in out
    assert "FAILED apps/counter/wrong.runshot.md::Counter counts by ten" in out
    assert "[acceptance]" in out and "Count: 10" in out

    # Without the option a plain *.md is no test.
    proc = run_pytest("specs", cwd=tmp_path)
    assert proc.returncode == 5, proc.stdout  # no tests collected


def test_pytest_plugin_costs_nothing_when_unused(tmp_path: Path):
    (tmp_path / "test_plain.py").write_text(
        "import sys\n"
        "def test_plain(pytestconfig):\n"
        "    assert pytestconfig.pluginmanager.has_plugin('runshot')\n"
        "    heavy = [m for m in ('runshot.spec', 'runshot.validators.runner.project', 'runshot.cli', 'git') if m in sys.modules]\n"
        "    assert heavy == []\n")
    proc = run_pytest(cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_pytest_plugin_rejects_unknown_checks(tmp_path: Path):
    proc = run_pytest("--runshot", str(GOOD), "--runshot-checks", "runtime,nonsense", cwd=tmp_path)
    assert proc.returncode == 4 and "nonsense" in proc.stderr
