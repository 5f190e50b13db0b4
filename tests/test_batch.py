"""`runshot batch`, `--shard`, `merge`: real CLI runs against a scripted OpenAI-compatible server over HTTP, real
Chromium, real git. Model answers depend on the request (spec title, model name), so concurrent runs get theirs."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from counterapp import answer
from fakeopenai import FakeOpenAI
from runshot.scale.batch import ValidatorPool, parse_shard, plan, shard
from runshot.errors import UsageError
from runshot.spec import Spec

CLI = "from runshot.cli import main; main()"
FIXTURES = Path(__file__).parent / "fixtures" / "ci"

def write_specs(folder: Path, titles: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in titles:
        p = folder / f"{t.lower()}.md"
        p.write_text(f"---\ntitle: {t}\n---\nA page called {t} with an Increment button and a status count.\n")
        paths.append(p)
    return paths


def title_in(body: dict, titles: list[str]) -> str:
    text = json.dumps(body.get("messages"))
    return next(t for t in titles if f"title: {t}" in text or f"# {t}" in text or t in text)


class Recorder:
    """A script item for FakeOpenAI that answers per spec and records how many requests overlap."""

    def __init__(self, titles: list[str], broken: set[str], delay: float = 0.0, broken_models: set[str] = frozenset()):
        self.titles, self.broken, self.delay, self.broken_models = titles, broken, delay, broken_models
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.models: list[str] = []

    def __call__(self, body: dict) -> str:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.models.append(body.get("model"))
        try:
            time.sleep(self.delay)
            title = title_in(body, self.titles)
            return answer(title, broken=title in self.broken or body.get("model") in self.broken_models)
        finally:
            with self.lock:
                self.active -= 1


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout)


def batch(fake: FakeOpenAI, specs: list[Path] | Path, runs: Path, *extra: str) -> subprocess.CompletedProcess:
    """A batch whose model calls are exactly the scripted generations and repairs (no derived checks)."""
    spec_args = [str(specs)] if isinstance(specs, Path) else [str(s) for s in specs]
    return run_cli("batch", *spec_args, "-o", str(runs), "--base-url", fake.base_url, "--api-key", "k",
                   "--checks", "runtime", "--no-derive-checks", *extra)


# ---------------------------------------------------------------- planning and sharding


def test_shards_are_disjoint_complete_and_stable(tmp_path: Path):
    specs = write_specs(tmp_path / "specs", [f"S{i}" for i in range(7)])
    models = ["gpt-4o-mini", "Qwen/Qwen2.5-Coder-7B"]
    jobs = plan(specs, models)
    assert len(jobs) == 14 and len({j.name for j in jobs}) == 14
    assert "s3--qwen-qwen2.5-coder-7b" in {j.name for j in jobs}

    shuffled = specs[:]
    random.Random(4).shuffle(shuffled)
    for n in (1, 2, 3, 5, 14, 20):
        parts = [shard(jobs, k, n) for k in range(1, n + 1)]
        names = [j.name for part in parts for j in part]
        assert sorted(names) == sorted(j.name for j in jobs)  # complete
        assert len(names) == len(set(names))  # disjoint
        assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced
        # Stable: the same shard whatever the order specs and models were given in.
        again = plan(shuffled, list(reversed(models)))
        assert [[j.name for j in shard(again, k, n)] for k in range(1, n + 1)] == [[j.name for j in p] for p in parts]

    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(UsageError):
            parse_shard(bad)
    with pytest.raises(UsageError):
        plan([specs[0], tmp_path / "other" / "s0.md"], [""])


# ---------------------------------------------------------------- a batch run


def test_batch_bounds_model_calls_and_summarizes(fake_openai: FakeOpenAI, tmp_path: Path):
    titles = ["Alpha", "Beta", "Gamma", "Delta"]
    write_specs(tmp_path / "specs", titles)
    rec = Recorder(titles, broken={"Beta"}, delay=1.0)
    fake_openai.script(*[rec] * 12)
    runs = tmp_path / "runs"
    proc = batch(fake_openai, tmp_path / "specs", runs, "--jobs", "2", "--model", "m1", "--max-iterations", "2")
    assert proc.returncode == 1, proc.stderr  # Beta never passes

    # At most --jobs model requests at once, and the runs did overlap.
    assert rec.max_active == 2
    data = json.loads((runs / "batch.json").read_text())
    by_name = {p["project"]: p for p in data["projects"]}
    assert sorted(by_name) == ["alpha", "beta", "delta", "gamma"]
    assert [by_name[n]["passed"] for n in ("alpha", "beta", "gamma", "delta")] == [True, False, True, True]
    assert by_name["beta"]["iterations"] == 2 and by_name["alpha"]["iterations"] == 1
    assert by_name["beta"]["errors"] >= 1 and any(f["check"] == "exception" for f in by_name["beta"]["findings"])
    assert len(fake_openai.chat_requests) == 5 == sum(p["iterations"] for p in data["projects"])
    s = data["summary"]
    assert (s["runs"], s["passed"], s["pass_rate"]) == (4, 3, 0.75)
    assert s["tokens"] == sum(p["tokens"] for p in data["projects"]) > 0
    assert s["tokens_per_pass"] == round(s["tokens"] / 3)
    assert data["models"][0]["model"] == "m1" and data["browser"]["max_at_once"] == 1
    for name in by_name:
        state = runs / name / ".runshot"
        assert json.loads((state / "report.json").read_text())["model"]["name"] == "m1"
        assert "iteration 1: validating" in (state / "batch.log").read_text()
        assert (state / "spec.md").is_file()
        assert (runs / by_name[name]["screenshot"]).is_file()
    assert "pass rate" in proc.stdout and "75 %" in proc.stdout and "tokens/pass" in proc.stdout

    # A second run into the same folder refuses to overwrite; --resume reuses the finished runs.
    before = len(fake_openai.chat_requests)
    proc = batch(fake_openai, tmp_path / "specs", runs, "--model", "m1")
    assert proc.returncode == 2 and "--resume" in proc.stderr
    proc = batch(fake_openai, tmp_path / "specs", runs, "--model", "m1", "--resume")
    assert proc.returncode == 1 and len(fake_openai.chat_requests) == before
    assert json.loads((runs / "batch.json").read_text())["summary"]["passed"] == 3


def test_models_side_by_side_shards_merge_and_regress(fake_openai: FakeOpenAI, tmp_path: Path):
    titles = ["Alpha", "Beta"]
    write_specs(tmp_path / "specs", titles)
    rec = Recorder(titles, broken=set(), broken_models={"weak"})
    fake_openai.script(*[rec] * 8)
    shards = []
    for k in (1, 2):
        runs = tmp_path / f"shard{k}"
        proc = batch(fake_openai, tmp_path / "specs", runs, "--model", "strong", "--model", "weak",
                     "--shard", f"{k}/2", "--jobs", "2", "--max-iterations", "1")
        assert proc.returncode == (0 if k == 1 else 1), proc.stderr  # shard 1 holds the strong model's runs
        shards.append(runs)
    names = [sorted(p["project"] for p in json.loads((r / "batch.json").read_text())["projects"]) for r in shards]
    assert names == [["alpha--strong", "beta--strong"], ["alpha--weak", "beta--weak"]]
    assert sorted(rec.models) == ["strong", "strong", "weak", "weak"]

    merged = tmp_path / "merged.json"
    proc = run_cli("merge", *map(str, shards), "-o", str(merged))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(merged.read_text())
    assert data["all_shards"] is True and len(data["projects"]) == 4
    rates = {m["model"]: m["pass_rate"] for m in data["models"]}
    assert rates == {"strong": 1.0, "weak": 0.0}
    assert data["summary"]["tokens_per_pass"] == round(data["summary"]["tokens"] / 2)
    # Projects point at their folders relative to the merged file.
    assert all((merged.parent / p["dir"] / ".runshot" / "report.json").is_file() for p in data["projects"])
    assert "specs × models" in proc.stdout and "strong" in proc.stdout

    # The merged summary is a baseline: untouched runs do not regress; breaking a passing one does.
    alpha = shards[0] / "alpha--strong"
    proc = run_cli("regress", str(alpha), str(shards[1] / "alpha--weak"), "--baseline", str(merged))
    assert proc.returncode == 0, proc.stderr
    (alpha / "index.html").write_text((alpha / "index.html").read_text().replace("app.js", "gone.js"))
    proc = run_cli("regress", str(alpha), "--baseline", str(merged))
    assert proc.returncode == 1 and "alpha--strong: 'request' passed in the baseline" in proc.stderr

    proc = run_cli("merge", str(shards[0]), "-o", str(tmp_path / "half.json"))
    assert json.loads((tmp_path / "half.json").read_text())["all_shards"] is False
    proc = run_cli("merge", str(shards[0]), str(shards[0]), "-o", str(tmp_path / "twice.json"))
    assert proc.returncode == 2 and "alpha--strong" in proc.stderr


def test_batch_with_an_unreachable_endpoint_is_exit_2(tmp_path: Path):
    specs = write_specs(tmp_path / "specs", ["Alpha"])
    proc = run_cli("batch", str(specs[0]), "-o", str(tmp_path / "runs"), "--base-url", "http://127.0.0.1:9/v1",
                   "--model", "x", "--retries", "0", "--checks", "runtime")
    assert proc.returncode == 2, proc.stderr
    assert "every run failed" in proc.stderr and "Traceback" not in proc.stderr
    entry = json.loads((tmp_path / "runs" / "batch.json").read_text())["projects"][0]
    assert entry["status"] == "error" and "reach" in entry["error"]


# ---------------------------------------------------------------- the browser pool


def test_validator_pool_bounds_browsers(tmp_path: Path):
    from runshot.validators.runner.project import Validator

    lock = threading.Lock()
    state = {"active": 0, "max": 0, "made": 0}

    class Watched:
        """A real Validator, watched from outside the pool."""

        def __init__(self):
            self.inner = Validator()
            with lock:
                state["made"] += 1

        def validate(self, *args, **kwargs):
            with lock:
                state["active"] += 1
                state["max"] = max(state["max"], state["active"])
            try:
                return self.inner.validate(*args, **kwargs)
            finally:
                with lock:
                    state["active"] -= 1

        def close(self):
            self.inner.close()

    spec = Spec(title="good", body="", source="(none)")
    results = []
    with ValidatorPool(2, Watched) as pool:
        threads = [threading.Thread(target=lambda: results.append(
            pool.validate(FIXTURES / "good_app", spec, checks=["runtime"]))) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert len(results) == 5 and all(r.passed for r in results)
    assert state["made"] <= 2 and state["max"] <= 2
    assert pool.validations == 5
