"""`runshot bench`: a suite (spec files and a JSONL of prompts) × 2 scripted models × 2 modes, through the real CLI,
the real openai client over HTTP to the scripted server, real Chromium and real git; then merged across two
machines' outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from counterapp import answer
from fakeopenai import FakeOpenAI
from runshot.scale.bench import load_suite, parse_model, plan_bench, rows
from runshot.errors import UsageError
from test_batch import run_cli, title_in, write_specs

TITLES = ["Alpha", "Beta", "Gamma"]


def model(body: dict) -> str:
    """'weak' writes Beta broken until a repair prompt names the error; everything else works at once."""
    text = json.dumps(body["messages"])
    title = title_in(body, TITLES)
    broken = body.get("model") == "weak" and title == "Beta" and "notDefinedAnywhere" not in text
    return answer(title, broken=broken)


def suite(tmp_path: Path) -> list[str]:
    write_specs(tmp_path / "specs", ["Alpha", "Beta"])
    jsonl = tmp_path / "prompts.jsonl"
    jsonl.write_text(json.dumps({"id": "000003", "instruction": "A page called Gamma with an Increment button and a "
                                 "status count.", "ui_instruct": []}) + "\n"
                     + json.dumps({"id": "000004", "instruction": "Never run: beyond --limit."}) + "\n")
    return [str(tmp_path / "specs"), str(jsonl), "--limit", "1"]


def bench(fake: FakeOpenAI, args: list[str], runs: Path, *models: str, extra: tuple[str, ...] = ()):
    flags = [f for m in models for f in ("--model", m)] + list(extra)
    return run_cli("bench", *args, "-o", str(runs), *flags, "--base-url", fake.base_url, "--api-key", "sk-bench-secret-1",
                   "--modes", "one-shot,repair", "--max-iterations", "2", "--token-budget", "50000",
                   "--checks", "runtime", "--no-derive-checks")


@pytest.mark.slow
def test_bench_measures_each_model_and_mode_and_merges_across_machines(fake_openai: FakeOpenAI, tmp_path: Path):
    fake_openai.script(*[model] * 20)
    args = suite(tmp_path)
    # Two machines: one measures "strong" (named at the shared --base-url), the other "weak" (NAME=URL).
    first = bench(fake_openai, args, tmp_path / "a", "strong")
    assert first.returncode == 0, first.stderr
    second = bench(fake_openai, args, tmp_path / "b", f"weak={fake_openai.base_url}",
                   extra=("--gallery", str(tmp_path / "site")))
    assert second.returncode == 0, second.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    assert "p/beta-weak-repair/" in page and "p/000003-weak-one-shot/" in page
    # One-shot's answer is the repair mode's first answer: asked once per spec and model, plus weak Beta's repair.
    assert len(fake_openai.chat_requests) == 7

    names = sorted(p.name for p in (tmp_path / "b").iterdir() if p.is_dir() and p.name != "suite")
    assert names == ["000003--weak--one-shot", "000003--weak--repair", "alpha--weak--one-shot",
                     "alpha--weak--repair", "beta--weak--one-shot", "beta--weak--repair"]
    assert all((tmp_path / "b" / n / ".runshot" / "report.json").is_file() for n in names)
    data = json.loads((tmp_path / "b" / "bench.json").read_text())
    assert data["kind"] == "bench" and "sk-bench-secret-1" not in json.dumps(data)
    by_mode = {r["mode"]: r for r in data["bench"]}
    assert (by_mode["one-shot"]["passed"], by_mode["repair"]["passed"]) == (2, 3)
    assert by_mode["repair"]["lift"] == 1.5 and by_mode["one-shot"]["errors_left"] >= 1
    assert by_mode["repair"]["errors_left"] == 0
    assert by_mode["repair"]["tokens_per_pass"] == round(by_mode["repair"]["tokens"] / 3)
    # Per spec, whichever mode asked second got the shared answer, still charged in full (tokens and seconds).
    for spec in ("000003", "alpha", "beta"):
        runs = [p for p in data["projects"] if p["project"].startswith(spec + "--")]
        assert sorted(p.get("answers_replayed", 0) for p in runs) == [0, 1]
        assert all(p["tokens"] >= 30 for p in runs)
    assert "per model and mode" in second.stdout and "1.50×" in second.stdout and "67 %" in second.stdout

    merged = tmp_path / "all.json"
    proc = run_cli("merge", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(merged))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(merged.read_text())
    assert len(data["projects"]) == 12
    table = {(r["model"], r["mode"]): (r["passed"], r["runs"], r["lift"]) for r in data["bench"]}
    assert table == {("strong", "one-shot"): (3, 3, 1.0), ("strong", "repair"): (3, 3, 1.0),
                     ("weak", "one-shot"): (2, 3, 1.0), ("weak", "repair"): (3, 3, 1.5)}
    assert "strong" in proc.stdout and "1.50×" in proc.stdout


def test_bench_of_one_spec_shows_the_lift_of_repair(fake_openai: FakeOpenAI, tmp_path: Path):
    fake_openai.script(*[model] * 4)
    specs = write_specs(tmp_path / "specs", ["Beta"])
    proc = bench(fake_openai, [str(specs[0])], tmp_path / "runs", "weak")
    assert proc.returncode == 0, proc.stderr
    assert len(fake_openai.chat_requests) == 2  # the shared first answer, and one repair
    data = json.loads((tmp_path / "runs" / "bench.json").read_text())
    assert [(r["mode"], r["passed"], r["lift"]) for r in data["bench"]] == [("one-shot", 0, None), ("repair", 1, None)]
    assert data["bench"][1]["seconds_per_pass"] > 0 and data["bench"][0]["errors_left"] >= 1
    assert "per model and mode" in proc.stdout


def test_suite_models_and_plan(tmp_path: Path):
    args = suite(tmp_path)
    paths = load_suite(args[:2], tmp_path / "runs" / "suite", limit=1)
    assert [p.name for p in paths] == ["alpha.md", "beta.md", "000003.md"]
    assert load_suite(args[:2], tmp_path / "runs" / "suite", limit=1) == paths  # the same prompt file, reused
    assert parse_model("m=http://h:1/v1") == ("m", "http://h:1/v1") and parse_model("m") == ("m", None)
    with pytest.raises(UsageError):
        parse_model("m=")
    jobs = plan_bench(paths, [("a", None), ("b", "http://h/v1")], ["one-shot", "both"])
    assert len(jobs) == 12 and jobs[0].name == "000003--a--both" and jobs[-1].base_url == "http://h/v1"
    entries = [{"model": "a", "mode": "one-shot", "passed": False, "tokens": 5, "seconds": 1, "errors": 2},
               {"model": "a", "mode": "both", "passed": True, "tokens": 9, "seconds": 3, "errors": 0}]
    assert [(r["mode"], r["lift"], r["errors_left"]) for r in rows(entries)] == [("one-shot", None, 2),
                                                                               ("both", None, 0)]
    proc = run_cli("bench", args[0], "-o", str(tmp_path / "x"), "--model", "m", "--modes", "one-shot,best")
    assert proc.returncode == 2 and "unknown mode(s) best" in proc.stderr
    proc = run_cli("bench", args[0], "-o", str(tmp_path / "x"), "--model", "m", "--modes", "both")
    assert proc.returncode == 2 and "--candidates" in proc.stderr
