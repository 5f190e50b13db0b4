"""`runshot derive SPEC [-o FILE]`: the real CLI and the real openai client over HTTP to the scripted server."""

from __future__ import annotations

from pathlib import Path

from fakeopenai import Reply
from runshot.spec import parse_spec_file, parse_spec_text
from test_derive import BELOW, COUNTER, START, derived_answer
from test_pipeline import run_cli


def _derive(fake, *args: str):
    return run_cli("derive", *args, "--base-url", fake.base_url, "--model", "scripted", "--retries", "0",
                   timeout=120)


def test_derive_prints_the_spec_with_its_derived_checks_and_coverage(fake_openai, tmp_path: Path):
    spec = tmp_path / "counter.md"
    spec.write_text(COUNTER)
    fake_openai.script(*[derived_answer(START, BELOW % "-1")] * 3)
    done = _derive(fake_openai, str(spec))
    assert done.returncode == 0, done.stderr
    kept = parse_spec_text(done.stdout)
    assert [(c.name, c.derived) for c in kept.checks] == [
        ("increments", False), ("starts at zero", True), ("goes below zero", True)]
    assert kept.body.startswith("A live status shows `Count: N`")
    assert "coverage (runshot derive):" in done.stdout and "not verified: Centred layout" in done.stdout
    assert "5 of 6 requirements verified; not verified: 'Centred layout'" in done.stderr
    assert "derived 2 check(s) from 2 sample(s): 20 prompt + 40 completion tokens" in done.stderr
    assert "the first two samples agree on every check: no third one asked" in done.stderr
    assert len(fake_openai.chat_requests) == 2


def test_derive_writes_a_file_it_never_clobbers_and_runshot_new_reads_it(fake_openai, tmp_path: Path):
    spec = tmp_path / "counter.md"
    spec.write_text(COUNTER)
    out = tmp_path / "derived.md"
    fake_openai.script(*[derived_answer(START, BELOW % "-1")] * 3)
    done = _derive(fake_openai, str(spec), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stderr and done.stdout == ""
    checks = parse_spec_file(out).checks
    assert checks[2].covers == ("the count may go below 0",)
    # A spec whose derived checks cover it needs no model at all.
    again = tmp_path / "again.md"
    done = run_cli("derive", str(out), "-o", str(again), "--base-url", "http://127.0.0.1:9/v1", "--model", "x")
    assert done.returncode == 0 and "nothing to derive" in done.stderr
    assert [c.name for c in parse_spec_file(again).checks] == [c.name for c in checks]
    # An existing FILE is left alone.
    before = out.read_text()
    done = _derive(fake_openai, str(spec), "-o", str(out))
    assert done.returncode == 2 and "already exists" in done.stderr and out.read_text() == before


def test_derive_with_a_failing_endpoint_exits_3_in_one_line(fake_openai, tmp_path: Path):
    spec = tmp_path / "counter.md"
    spec.write_text(COUNTER)
    fake_openai.script(*[Reply("down", status=500)] * 3)
    done = _derive(fake_openai, str(spec))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip().splitlines()[-1].startswith("runshot: ")
    bad = tmp_path / "bad.md"
    bad.write_text("---\nchecks:\n  - name: x\n    steps:\n      - expect: {role: status, World!: null}\n---\nA page.\n")
    done = _derive(fake_openai, str(bad))
    assert done.returncode == 2 and "unknown key 'World!'" in done.stderr


def test_derive_words_only_asks_no_model_and_writes_what_the_words_settle(tmp_path: Path):
    spec = tmp_path / "cart.md"
    spec.write_text("---\ntitle: Cart\n---\nA product card with an **Add to cart** button and a cart line that starts "
                    "as `Cart (0)`. Each press of Add to cart adds one item: after two presses it reads `Cart (2)`.\n")
    # the endpoint is a closed port: any model call would fail the command
    done = run_cli("derive", str(spec), "--words-only", "--base-url", "http://127.0.0.1:9/v1", "--model", "x")
    assert done.returncode == 0, done.stderr
    assert "derived 2 check(s) from the spec's words (no model)" in done.stderr
    kept = parse_spec_text(done.stdout).checks
    assert [(c.name, c.derived, [s.describe() for s in c.steps]) for c in kept] == [
        ("shows 'Cart (0)' at start", True, ["expect: {role: 'button', name: 'Add to cart'}",
                                             "expect: {text: 'Cart (0)'}"]),
        ("shows 'Cart (2)'", True, ["click: {role: 'button', name: 'Add to cart'}",
                                    "click: {role: 'button', name: 'Add to cart'}", "expect: {text: 'Cart (2)'}"]),
    ]
    assert "spec coverage: 2 of 2 requirements verified" in done.stderr
