"""`runshot batch --ray` on a real local Ray cluster (one, shared by this module's tests), against the scripted
OpenAI-compatible server over HTTP, with real Chromium and real git on the workers."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import git
import pytest

from counterapp import answer
from fakeopenai import FakeOpenAI, Reply
from runshot.scale.batch import BatchOptions, Board, plan
from runshot.settings.config import Endpoint
from runshot.errors import UsageError
from runshot.spec import parse_spec_file
from runshot.wiring import BrowserOptions, ModelOptions
from test_batch import Recorder, batch, title_in, write_specs

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'runshot[ray]')")
from runshot.scale import ray_batch  # noqa: E402 (needs Ray)


@pytest.fixture(scope="module")
def cluster() -> str:
    """A local Ray cluster with 2 CPUs; its address, for the CLI to join."""
    try:
        context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 (no Ray here: skip, saying why)
        pytest.skip(f"Ray cannot start on this machine: {exc}")
    yield context.address_info["gcs_address"]
    ray.shutdown()


def run_files(run: Path) -> dict[str, str]:
    return {str(p.relative_to(run)): p.read_text() for p in sorted(run.rglob("*"))
            if p.is_file() and ".git" not in p.parts and ".runshot" not in p.parts}


def summary(runs: Path) -> dict:
    data = json.loads((runs / "batch.json").read_text())
    return {p["project"]: (p["status"], p["passed"], p["iterations"], p["errors"], p["tokens"],
                           sorted(f["check"] for f in p["findings"] if f["severity"] == "error"))
            for p in data["projects"]}


def test_runs_as_ray_tasks_come_back_as_run_folders(cluster: str, fake_openai: FakeOpenAI, tmp_path: Path):
    """The Ray path in the default suite: two runs as tasks (one per CPU), recorded, shipped back, replayed."""
    titles = ["Alpha", "Beta"]
    paths = write_specs(tmp_path / "specs", titles)
    specs = {p: parse_spec_file(p) for p in paths}
    jobs = plan(paths, ["m"])
    fake_openai.script(*[Recorder(titles, broken={"Beta"})] * 2)
    endpoint = Endpoint(model="m", base_url=fake_openai.base_url, api_key="sk-never-shipped-back-1234", origin="flags")
    settings = ray_batch.WorkerSettings({"m": endpoint}, ModelOptions(retries=0), BrowserOptions(), ["runtime"],
                                        record=True)
    options = BatchOptions(jobs=2, max_iterations=1, derive_checks=False)
    runs, tapes = tmp_path / "runs", tmp_path / "tapes"
    board = Board(jobs)
    results = ray_batch.run_on_ray(jobs, runs, specs, settings, options, board, threading.Event(), tapes)
    assert [(r.job.name, r.status) for r in results] == [("alpha", "passed"), ("beta", "failed")]
    assert len(board.finished) == 2
    for name in ("alpha", "beta"):
        report = json.loads((runs / name / ".runshot" / "report.json").read_text())
        assert report["passed"] is (name == "alpha") and report["model"]["name"] == "m"
        assert git.Repo(runs / name).head.commit.hexsha == report["iterations"][0]["commit"]
        tape = (tapes / name / "cassette.jsonl").read_text()
        assert name.title() in tape and "sk-never" not in tape
    assert len(fake_openai.chat_requests) == 2

    # Replayed on Ray from the cassettes, with no endpoint: the same verdicts, no request made.
    replays = {"alpha": (tapes / "alpha" / "cassette.jsonl").read_bytes()}
    settings = ray_batch.WorkerSettings({"m": endpoint}, ModelOptions(retries=0), BrowserOptions(), ["runtime"],
                                        replays=replays)
    again = ray_batch.run_on_ray(jobs[:1], tmp_path / "again", specs, settings, options, Board(jobs),
                                 threading.Event())
    assert [(r.job.name, r.status) for r in again] == [("alpha", "passed")]
    assert len(fake_openai.chat_requests) == 2
    assert run_files(tmp_path / "again" / "alpha") == run_files(runs / "alpha")


@pytest.mark.slow
def test_a_ray_batch_gives_the_runs_of_a_local_batch(cluster: str, fake_openai: FakeOpenAI, tmp_path: Path):
    titles = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]
    specs = write_specs(tmp_path / "specs", titles)
    rec = Recorder(titles, broken={"Beta"})
    fake_openai.script(*[rec] * 40)
    local = batch(fake_openai, specs, tmp_path / "local", "--jobs", "2", "--max-iterations", "2", "--model", "m")
    assert local.returncode == 1, local.stderr
    asked = len(fake_openai.chat_requests)
    remote = batch(fake_openai, specs, tmp_path / "ray", "--jobs", "2", "--max-iterations", "2", "--model", "m",
                   "--ray", cluster)
    assert remote.returncode == 1, remote.stderr
    assert len(fake_openai.chat_requests) == 2 * asked == 14  # 5 passing runs of 1 iteration, Beta's 2
    assert "Ray: 1 node(s)" in remote.stderr and "passed  alpha" in remote.stderr

    assert summary(tmp_path / "ray") == summary(tmp_path / "local")
    assert summary(tmp_path / "ray")["beta"][:3] == ("failed", False, 2)
    for name in ("alpha", "beta", "zeta"):
        here, there = tmp_path / "local" / name, tmp_path / "ray" / name
        assert run_files(there) == run_files(here) and "app.js" in run_files(there)
        assert (there / ".git").is_dir() and (there / ".runshot" / "spec.md").is_file()
        report = json.loads((there / ".runshot" / "report.json").read_text())
        mine = json.loads((here / ".runshot" / "report.json").read_text())
        assert (report["passed"], report["best_iteration"], report["model"]) == \
               (mine["passed"], mine["best_iteration"], mine["model"])
        assert "ran on Ray node" in (there / ".runshot" / "batch.log").read_text()
        assert (tmp_path / "ray" / json.loads((tmp_path / "ray" / "batch.json").read_text())["projects"][0]
                ["screenshot"]).is_file()
    assert not list((tmp_path / "ray").glob(".partial-*"))

    # Rerun with --resume: every run finished, none runs again.
    again = batch(fake_openai, specs, tmp_path / "ray", "--model", "m", "--ray", cluster, "--resume")
    assert again.returncode == 1 and len(fake_openai.chat_requests) == 14, again.stderr


def busy_workers() -> list[int]:
    """Ray worker processes running a run right now (Ray titles them after the task)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmd.startswith(b"ray::run_remote"):
            found.append(int(pid))
    return found


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_run_again(cluster: str, fake_openai: FakeOpenAI, tmp_path: Path):
    titles = ["Alpha", "Beta"]
    specs = write_specs(tmp_path / "specs", titles)
    killed: list[int] = []

    def kill_then_answer(body: dict):
        title = title_in(body, titles)
        if title == "Alpha" and not killed:
            workers = busy_workers()
            assert len(workers) == 1, workers  # --jobs 1: one run at a time
            killed.append(workers[0])
            os.kill(workers[0], signal.SIGKILL)  # while its model request waits for this answer
            return Reply(content=answer(title), delay=1.0)
        return answer(title)

    fake_openai.script(*[kill_then_answer] * 6)
    proc = batch(fake_openai, specs, tmp_path / "runs", "--jobs", "1", "--max-iterations", "1", "--ray", cluster)
    assert proc.returncode == 0, proc.stderr
    assert killed and not Path(f"/proc/{killed[0]}").exists()
    assert [title_in(r.body, titles) for r in fake_openai.chat_requests].count("Alpha") == 2  # asked again
    data = json.loads((tmp_path / "runs" / "batch.json").read_text())
    assert [(p["project"], p["passed"]) for p in data["projects"]] == [("alpha", True), ("beta", True)]


def path_without_chromium(folder: Path) -> str:
    """A PATH with every program of this machine's but Chromium (links in `folder`)."""
    folder.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if "chrom" not in name and not (folder / name).exists():
                (folder / name).symlink_to(Path(d) / name)
    return f"{Path(os.sys.executable).parent}{os.pathsep}{folder}"


def test_a_node_without_chromium_is_named(cluster: str, tmp_path: Path):
    assert len(ray_batch.check_nodes()) == 1
    # Simulated: the probe runs with a PATH that holds no Chromium (as on a node whose image lacks it).
    env = {"PATH": path_without_chromium(tmp_path / "bin"), "RUNSHOT_CHROMIUM": ""}
    with pytest.raises(UsageError) as err:
        ray_batch.check_nodes(runtime_env={"env_vars": env})
    node = ray.nodes()[0]
    assert f"Ray node {node['NodeManagerHostname']} ({node['NodeManagerAddress']}): " in str(err.value)
    assert "Chromium is not installed" in str(err.value)


def test_no_api_key_travels_with_a_task(monkeypatch):
    """Tasks carry the endpoint without its key; a worker takes the key from its own environment."""
    import pickle

    endpoint = Endpoint(model="m", base_url="http://127.0.0.1:9/v1", api_key="sk-stays-home-5678", origin="flags")
    shipped = ray_batch.WorkerSettings({"m": ray_batch.without_key(endpoint)}, ModelOptions(), BrowserOptions())
    assert b"sk-stays-home" not in pickle.dumps(shipped)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-node")
    assert ray_batch.worker_endpoint(shipped.endpoints["m"]).api_key == "sk-from-the-node"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert ray_batch.worker_endpoint(shipped.endpoints["m"]).api_key is None
