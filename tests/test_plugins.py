"""Third-party checks as plugins: real distributions (a *.dist-info with entry_points.txt) on PYTHONPATH, found
through importlib.metadata by real subprocess runs of `runshot checks`, `runshot check`, `runshot new` (against the
scripted OpenAI-compatible server) and `pytest --runshot DIR`, with real Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from counterapp import answer
from fakeopenai import FakeOpenAI

GOOD = Path(__file__).parent / "fixtures" / "ci" / "good_app"

PLUGIN = '''
from runshot import Finding

NEEDS = "page"
RULES = {"title/forbidden": "error", "title/seen": "warning"}


async def check(ctx):
    title = await ctx.page.title()
    found = [Finding("title", "warning", f"title check saw {title!r} at {ctx.base_url}", rule="title/seen")]
    async with ctx.new_page() as page:  # a fresh page of the same app, entry page loaded
        if "FORBIDDEN" in await page.title():
            found.append(Finding("title", "error", "the title says FORBIDDEN", where=ctx.spec.entry,
                                 rule="title/forbidden"))
    return found
'''


def dist(root: Path, name: str, entry_points: str, module: str | None = None, code: str = "") -> None:
    """A real installed distribution: a module plus NAME-VERSION.dist-info holding METADATA and entry_points.txt."""
    info = root / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[runshot.checks]\n{entry_points}\n")
    (info / "RECORD").write_text("")
    if module:
        (root / f"{module}.py").write_text(code)


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    root = tmp_path / "site-packages"
    dist(root, "runshot-title-check", "title = runshot_title_check:check", "runshot_title_check", PLUGIN)
    return root


@pytest.fixture
def broken_plugins(plugins: Path) -> Path:
    dist(plugins, "runshot-broken", "broken = runshot_broken_check:check", "runshot_broken_check",
         "import a_module_that_is_not_installed\n")
    dist(plugins, "runshot-clash", "a11y = runshot_title_check:check")
    return plugins


def env_with(path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RUNSHOT_MODEL", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(path), str(Path(__file__).parent)])
    return env


def runshot(*args: str, env: dict, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runshot", *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=cwd)


def app(folder: Path, title: str) -> Path:
    shutil.copytree(GOOD, folder)
    index = folder / "index.html"
    index.write_text(index.read_text().replace("<title>Counter", f"<title>{title}"))
    return folder


def test_checks_lists_built_ins_then_the_plugin(plugins: Path):
    proc = runshot("checks", env=env_with(plugins))
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert rows[0] == ["runtime", "built-in", "page"]
    assert ["acceptance", "built-in", "isolated"] in rows and ["mobile", "built-in", "viewport"] in rows
    assert rows[-1] == ["title", "runshot-title-check", "page"]
    assert proc.stderr == ""


def test_broken_and_clashing_plugins_are_one_warning_line_each(broken_plugins: Path, tmp_path: Path):
    proc = runshot("checks", env=env_with(broken_plugins))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert any("'broken'" in line and "runshot-broken" in line and "ModuleNotFoundError" in line for line in lines)
    assert any("'a11y'" in line and "runshot-clash" in line and "already taken" in line for line in lines)
    assert "Traceback" not in proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert "title" in names and "broken" not in names and names.count("a11y") == 1
    # A check run with a broken plugin installed still works, with the same one line per plugin.
    proc = runshot("check", str(app(tmp_path / "ok", "Counter")), "--checks", "runtime,title",
                   env=env_with(broken_plugins))
    assert proc.returncode == 0, proc.stderr
    assert sum("runshot: warning: plugin check" in line for line in proc.stderr.splitlines()) == 2


def test_plugin_runs_by_default_and_by_name_in_check(plugins: Path, tmp_path: Path):
    env = env_with(plugins)
    good = app(tmp_path / "good", "Counter")
    out = tmp_path / "all.json"
    proc = runshot("check", str(good), "--json", str(out), env=env)
    data = json.loads(out.read_text())
    assert data["checks"][-1] == "title" and data["checks"][0] == "runtime", data["checks"]
    seen = [f for f in data["findings"] if f["check"] == "title"]
    assert seen and seen[0]["rule"] == "title/seen" and "'Counter'" in seen[0]["message"]
    assert proc.returncode == (0 if data["passed"] else 1)

    bad = app(tmp_path / "bad", "FORBIDDEN counter")
    proc = runshot("check", str(bad), "--checks", "title", "--json", "-", env=env)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["checks"] == ["title"]
    assert any(f["rule"] == "title/forbidden" and f["severity"] == "error" for f in data["findings"])
    assert "[title] the title says FORBIDDEN" in proc.stderr

    # Without the plugin installed, the name is unknown: exit 2 and one line listing the known checks.
    proc = runshot("check", str(bad), "--checks", "title", env=env_with(tmp_path / "nothing-here"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown check(s) title" in proc.stderr
    assert "known: runtime, a11y" in proc.stderr


def test_plugin_runs_in_new(plugins: Path, tmp_path: Path):
    spec = tmp_path / "counter.md"
    spec.write_text("---\ntitle: FORBIDDEN counter\n---\nA counter.\n")
    with FakeOpenAI(answer("FORBIDDEN counter"), answer("Counter")) as fake:
        proc = runshot("new", str(spec), "-o", str(tmp_path / "out"), "--base-url", fake.base_url, "--model",
                       "scripted", "--checks", "runtime,title", "--max-iterations", "2", "--no-derive-checks",
                       env=env_with(plugins))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out" / ".runshot" / "report.json").read_text())
    first, second = report["iterations"]
    assert any(f["check"] == "title" and f["severity"] == "error" for f in first["findings"]), first
    assert second["passed"] and any(f["check"] == "title" for f in second["findings"])


def test_plugin_runs_in_the_pytest_plugin(plugins: Path, tmp_path: Path):
    good = app(tmp_path / "good", "Counter")
    bad = app(tmp_path / "bad", "FORBIDDEN counter")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--runshot", str(good),
                           "--runshot", str(bad), "--runshot-checks", "runtime,title"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env_with(plugins))
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "1 failed, 1 passed" in out
    assert "[title] the title says FORBIDDEN" in out


DECLARED_PLUGIN = '''
from runshot import Finding
from runshot.rules import ACCESSIBILITY, ISOLATED, Check, Rule, Rules

RULES = Rules(Rule("landmarks/none", "error", "A page needs a main landmark.", wcag=("1.3.1",)))
DECLARED = Check("landmarks", "check", needs=ISOLATED, rules=RULES, rank=ACCESSIBILITY)


async def check(ctx):
    return []
'''


def test_a_plugin_may_name_its_declared_check(tmp_path: Path):
    root = tmp_path / "site-packages"
    dist(root, "runshot-landmarks", "landmarks = runshot_landmarks:DECLARED", "runshot_landmarks", DECLARED_PLUGIN)
    proc = runshot("checks", env=env_with(root))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.splitlines()[-1].split() == ["landmarks", "runshot-landmarks", "isolated"]
    listed = json.loads(runshot("rules", "--json", "--check", "landmarks", env=env_with(root)).stdout)
    assert [(r["id"], r["severity"], r["wcag"], r["source"]) for r in listed] == [
        ("landmarks/none", "error", ["1.3.1"], "runshot-landmarks")]
