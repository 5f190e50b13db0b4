"""Several first attempts, hotter retries and the stream's repeat guard: the real openai client over HTTP to the
scripted server, real Chromium, real git."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import git
import pytest

from fakeopenai import FakeOpenAI, Reply
from runshot.generator.client import ModelSettings, complete, make_client
from runshot.loop.repair import RunOptions, run_new
from runshot.report import summary_lines
from runshot.spec import parse_spec_text
from runshot.validators.runner.project import Validator
from test_pipeline import BROKEN_HTML, GOOD_HTML, GOOD_JS, SPEC, answer


@pytest.fixture(scope="module")
def validator():
    with ExitStack() as stack:
        yield stack.enter_context(Validator())


def wiring(fake: FakeOpenAI, validator: Validator):
    settings = ModelSettings(name="scripted", base_url=fake.base_url, api_key="k", timeout=30, deadline=60,
                             max_retries=0)
    client = make_client(settings)

    def ask(messages, on_progress, temperature=None, seed=None):
        return complete(client, settings, messages, on_progress=on_progress, temperature=temperature, seed=seed)

    def validate(project_dir, spec, shot):
        return validator.validate(project_dir, spec, checks=["runtime", "acceptance"], screenshot_path=shot)

    return ask, validate


def test_the_good_candidate_wins_and_every_candidate_is_kept(fake_openai, validator, tmp_path: Path):
    broken = answer(("index.html", BROKEN_HTML))
    good = answer(("index.html", GOOD_HTML), ("app.js", GOOD_JS))
    prose = "I cannot write files today."
    by_temperature = {0.2: broken, 0.7: good, 1.0: prose}
    fake_openai.script(*[lambda body: by_temperature[body["temperature"]]] * 3)
    ask, validate = wiring(fake_openai, validator)
    out = tmp_path / "out"
    report = run_new(parse_spec_text(SPEC), out, ask, validate, {"name": "scripted"},
                     RunOptions(max_iterations=2, candidates=3, model_jobs=3))

    assert report.passed and report.best_iteration == 1 and len(report.iterations) == 1
    seen = sorted((r.body["temperature"], r.body["seed"]) for r in fake_openai.chat_requests)
    assert seen == [(0.2, 1), (0.7, 2), (1.0, 3)]
    data = json.loads((out / ".runshot" / "report.json").read_text())
    cands = {c["number"]: c for c in data["candidates"]}
    assert data["winner"]["number"] == 2 and "fewest errors" in data["winner"]["reason"]
    assert cands[1]["errors"] > 0 and cands[2]["errors"] == 0 and cands[3]["commit"] is None
    assert cands[2]["acceptance_steps_passed"] == 2 and cands[1]["temperature"] == 0.2
    # Losing candidates' tokens count in the total.
    assert data["usage"]["completion_tokens"] == 3 * 20 and data["usage_outside_iterations"]["completion_tokens"] == 40

    repo = git.Repo(out)
    for k in (1, 2):
        assert repo.commit(f"runshot/candidate-{k}").hexsha == cands[k]["commit"]
        assert f"candidate {k}" in repo.commit(cands[k]["commit"]).message
    assert "undefinedThing" in repo.git.show(f"{cands[1]['commit']}:index.html")
    assert repo.active_branch.name == "main" and not repo.is_dirty(untracked_files=True)
    assert repo.head.commit.hexsha == data["iterations"][0]["commit"]
    assert (out / "app.js").read_text() == GOOD_JS
    assert (out / ".runshot" / "screenshots" / "iteration-1.png").is_file()
    # The summary says what each attempt gave and cost.
    lines = summary_lines(report)
    assert any(line.startswith("3 candidates: number 2 won") for line in lines), lines
    assert f"  candidate 2 (temperature 0.7): 0 error(s), 0 warning(s), {cands[2]['tokens']} tokens" in lines
    assert (f"  candidate 3 (temperature 1.0): {cands[3]['errors']} error(s), 0 warning(s), "
            f"{cands[3]['tokens']} tokens") in lines and cands[3]["errors"] >= 1


def test_the_winner_continues_into_repair(fake_openai, validator, tmp_path: Path):
    one_error = GOOD_HTML.replace("</main>", "</main><script>missingFn();</script>")
    by_temperature = {0.2: answer(("index.html", BROKEN_HTML)), 0.7: answer(("index.html", one_error), ("app.js", GOOD_JS))}
    line = '</main><script>missingFn();</script><script src="app.js"></script></body></html>'
    repair = f"### index.html\n<<<<<<< SEARCH\n{line}\n=======\n{line.replace('<script>missingFn();</script>', '')}\n>>>>>>> REPLACE\n"
    fake_openai.script(*[lambda body: by_temperature[body["temperature"]]] * 2, repair)
    ask, validate = wiring(fake_openai, validator)
    out = tmp_path / "out"
    report = run_new(parse_spec_text(SPEC), out, ask, validate, {"name": "scripted"},
                     RunOptions(max_iterations=3, candidates=2))
    assert report.winner["number"] == 2
    assert report.passed and report.best_iteration == 2, report.iterations[-1].findings
    prompt = fake_openai.chat_requests[2].body["messages"][1]["content"]
    assert "missingFn" in prompt and "undefinedThing" not in prompt and "<<<<<<< SEARCH" in prompt
    assert "missingFn" not in (out / "index.html").read_text()


def test_seed_is_dropped_for_an_endpoint_that_rejects_it(fake_openai):
    fake_openai.script(Reply(status=400, content="Unrecognized request argument supplied: seed"), "fine")
    settings = ModelSettings(name="m", base_url=fake_openai.base_url, api_key="k", timeout=10, deadline=30,
                             max_retries=0)
    result = complete(make_client(settings), settings, [{"role": "user", "content": "hi"}], seed=7, temperature=0.5)
    assert result.text == "fine"
    first, second = fake_openai.chat_requests
    assert first.body["seed"] == 7 and "seed" not in second.body and second.body["temperature"] == 0.5


def test_stream_that_resends_a_finished_file_is_stopped(fake_openai):
    page = "### index.html\n```html\n<p>hi</p>\n```\n\n"
    looping = page + "### app.js\n```js\nlet a = 1;\n```\n\n" + page * 50
    fake_openai.script(Reply(content=looping))
    settings = ModelSettings(name="m", base_url=fake_openai.base_url, api_key="k", timeout=10, deadline=30)
    result = complete(make_client(settings), settings, [{"role": "user", "content": "hi"}])
    assert result.finish_reason == "repeat"
    assert result.text == page + "### app.js\n```js\nlet a = 1;\n```\n\n"


def test_stream_that_repeats_one_line_is_stopped_but_edit_headings_may_repeat(fake_openai):
    edits = "### app.js\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"
    fake_openai.script(Reply(content="### app.js\n```js\n" + "x++;\n" * 200 + "```\n"), Reply(content=edits * 3))
    settings = ModelSettings(name="m", base_url=fake_openai.base_url, api_key="k", timeout=10, deadline=30)
    client = make_client(settings)
    looped = complete(client, settings, [{"role": "user", "content": "hi"}])
    assert looped.finish_reason == "repeat" and looped.text.count("x++;") == 1
    fine = complete(client, settings, [{"role": "user", "content": "hi"}])
    assert fine.finish_reason == "stop" and fine.text == edits * 3


def test_stream_that_loops_a_block_of_lines_is_stopped_after_its_first_round(fake_openai):
    head = "### index.html\n```html\n<ul>\n"
    block = "  <li>Height</li>\n  <li>Weight</li>\n\n  <li>BMI</li>\n"
    fake_openai.script(Reply(content=head + block * 80 + "</ul>\n```\n"))
    settings = ModelSettings(name="m", base_url=fake_openai.base_url, api_key="k", timeout=10, deadline=30)
    result = complete(make_client(settings), settings, [{"role": "user", "content": "hi"}])
    assert result.finish_reason == "repeat" and "a block of 3 lines" in result.problem
    assert result.text == head + block


def test_long_regular_code_is_not_taken_for_a_loop(fake_openai):
    rows = "".join(f'  <tr><td>{n}</td><td>{n * n}</td></tr>\n' for n in range(1, 120))
    css = "".join(f".c{n} {{\n  color: red;\n  margin: 0;\n}}\n" for n in range(1, 40))
    grid = "<div>\n  <button></button>\n  <button></button>\n  <button></button>\n</div>\n" * 3
    text = f"### index.html\n```html\n<table>\n{rows}</table>\n{grid}```\n\n### style.css\n```css\n{css}```\n"
    fake_openai.script(Reply(content=text))
    settings = ModelSettings(name="m", base_url=fake_openai.base_url, api_key="k", timeout=10, deadline=30)
    result = complete(make_client(settings), settings, [{"role": "user", "content": "hi"}])
    assert result.finish_reason == "stop" and result.text == text
