"""Findings made actionable for the prompt: ordering by what unblocks most, a cap, code frames, null lookups."""

from __future__ import annotations

from pathlib import Path

from runshot.generator.client import ModelSettings, complete, make_client
from runshot.loop.repair import run_new
from runshot.spec import parse_spec_text
from runshot.validators.runner.project import Validator
from test_pipeline import GOOD_HTML, SPEC, answer
from runshot.api import run_options
from runshot.generator.feedback import enrich, for_prompt, order_and_cap, rank
from runshot.generator.prompts import repair_messages
from runshot.spec import Spec
from runshot.validators.runner.registry import built_in_registry, function_check
from runshot.values import ERROR, WARNING, Finding

RANKS = built_in_registry().repair_ranks()  # what the wiring hands the loop (runshot.api.run_options)

HTML = '<main><h1>Todo</h1><ul id="list" class="tasks big"></ul><button id="add" class="primary">Add</button></main>\n'
JS = "const list = document.getElementById('list');\nconst form = document.querySelector('#new-task');\n" \
     "form.addEventListener('submit', add);\nfunction add() {}\nlist.append('x');\n"
FILES = {"index.html": HTML, "app.js": JS}


def test_order_puts_what_blocks_the_page_first_and_caps_the_round():
    findings = [
        Finding("semantics", WARNING, "no landmark"),
        Finding("a11y", ERROR, "button has no name", rule="button-name"),
        Finding("acceptance", ERROR, "adds: step 2 failed"),
        Finding("exception", ERROR, "TypeError at load"),
        Finding("a11y", ERROR, "contrast", rule="color-contrast"),
    ]
    ordered = order_and_cap(findings, cap=3, ranks=RANKS)
    assert [f.check for f in ordered] == ["exception", "acceptance", "a11y"]
    assert ordered[2].message == "button has no name"
    assert len(order_and_cap(findings, cap=None, ranks=RANKS)) == 5


# The order of repair prompts before the checks declared their ranks: it must not change.
BEFORE = {0: ("build", "crash", "blank", "exception", "console", "runtime", "request", "network", "format", "path"),
          1: ("acceptance",), 2: ("a11y", "keyboard", "dialog", "semantics"),
          3: ("motion", "mobile", "sweep", "forms", "repair", "a-plugin")}


def test_ranks_come_from_the_declarations_and_keep_the_order_of_repair_prompts():
    assert run_options().ranks == RANKS  # the loop gets the registry's ranks as a plain mapping
    for expected, checks in BEFORE.items():
        for check in checks:
            assert rank(Finding(check, ERROR, "x"), RANKS) == expected, check
            assert rank(Finding(check, WARNING, "x"), RANKS) == 4, check
    named = {name for names in BEFORE.values() for name in names}
    assert set(RANKS) <= named  # every name a built-in reports under is ranked above
    assert rank(Finding("format", ERROR, "x")) == 0 and rank(Finding("a11y", ERROR, "x")) == 3  # no ranks given
    # A check registered with a rank of its own is ranked by it.
    reg = built_in_registry().with_checks(function_check("a-plugin", lambda ctx: None, rank=1))
    assert rank(Finding("a-plugin", ERROR, "x"), reg.repair_ranks()) == 1


def test_the_repair_prompt_shows_first_what_the_checks_declared_first(fake_openai, tmp_path: Path):
    """Through the loop as `runshot new` wires it: a11y runs before acceptance, but acceptance ranks first, so a
    round of one finding shows the failed acceptance check, not the unlabelled field."""
    html = GOOD_HTML.replace("</main>", '<input type="text" id="q"></main>')
    broken = answer(("index.html", html), ("app.js", "// the button does nothing yet\n"))
    fake_openai.script(broken, broken)
    settings = ModelSettings(name="scripted", base_url=fake_openai.base_url, api_key="k", timeout=30, deadline=60,
                             max_retries=0)
    client = make_client(settings)

    def ask(messages, on_progress, temperature=None, seed=None):
        return complete(client, settings, messages, on_progress=on_progress, temperature=temperature, seed=seed)

    with Validator() as validator:
        def validate(project_dir, spec, shot):
            return validator.validate(project_dir, spec, checks=["runtime", "a11y", "acceptance"], screenshot_path=shot)

        options = run_options(max_iterations=2, max_findings_per_round=1, derive_checks=False)
        report = run_new(parse_spec_text(SPEC), tmp_path / "out", ask, validate, {"name": "scripted"}, options)
    errors = [f.check for f in report.iterations[0].findings if f.is_error]
    assert errors.index("a11y") < errors.index("acceptance"), errors  # in the order the checks ran
    problems = fake_openai.chat_requests[1].body["messages"][1]["content"].split("# Problems found")[1]
    assert "] acceptance: " in problems and "] a11y: " not in problems, problems


def test_a_null_property_error_gets_a_code_frame_and_the_names_the_html_has():
    f = Finding("exception", ERROR, "TypeError: Cannot read properties of null (reading 'addEventListener')",
                where="http://127.0.0.1:8123/app.js:3:6", hint="check the lookup")
    out = enrich(f, FILES)
    assert "> 3 | form.addEventListener('submit', add);" in out.evidence
    assert "  1 | const list" in out.evidence and "  5 | list.append" in out.evidence
    # The lookup is on line 2, not line 3: the frame shows it; the hint names lookups only on the failing line.
    f2 = Finding("exception", ERROR, "TypeError: Cannot set properties of null (setting 'x')", where="app.js:2")
    hint = enrich(f2, FILES).hint
    assert "querySelector('#new-task') found nothing" in hint
    assert "ids: list, add" in hint and "classes: tasks, big, primary" in hint
    # On line 3 the null is `form`, set by the lookup on line 2.
    hint3 = out.hint
    assert "querySelector('#new-task') found nothing (line 2, where form was set)" in hint3 and "check the lookup" in hint3


def test_findings_without_a_line_stay_as_they_are_and_reach_the_prompt_capped():
    plain = Finding("request", ERROR, "missing.css answered 404", where="http://127.0.0.1:8123/missing.css")
    assert enrich(plain, FILES) == plain
    many = [Finding("console", ERROR, f"error number {i}", where=f"app.js:{i % 5 + 1}") for i in range(20)]
    shown = for_prompt(many, FILES, cap=12, ranks=RANKS)
    assert len(shown) == 12 and all("app.js around line" in f.evidence for f in shown)
    text = repair_messages(Spec(title="Todo", body="A todo list.", source="prompt"), FILES, shown, 2)[1]["content"]
    assert "error number 11" in text and "error number 12" not in text
    assert "app.js around line" in text


# ------------------------------------------------------------------ contrast failures name their CSS

TIP_CSS = """body { font-family: system-ui, sans-serif; color: #1a1a1a; background: #ffffff; }
form {
  display: flex;
}
@media (max-width: 600px) {
  .wide { color: #FFF; }
}
button {
  padding: 0.5rem 1rem;
  background-color: #007bff;
  color: white;
}
"""
# axe-core's hint for the button above, as a real run gave it.
TIP_HINT = ("Element has insufficient color contrast of 3.97 (foreground color: #ffffff, background color: #007bff, "
            "font size: 10.0pt (13.3333px), font weight: normal). Expected contrast ratio of 4.5:1 — "
            "https://dequeuniversity.com/rules/axe/4.12/color-contrast?application=axeAPI")


def test_a_contrast_failure_names_the_declarations_and_a_colour_that_passes():
    from runshot.generator.contrast import contrast

    f = Finding("a11y", ERROR, "axe rule 'color-contrast' (serious, WCAG 2 AA): Elements must meet minimum color "
                "contrast ratio thresholds", where="#calculate", hint=TIP_HINT,
                evidence='<button type="button" id="calculate">Calculate</button>', rule="color-contrast")
    hint = enrich(f, {"style.css": TIP_CSS, "index.html": HTML}).hint
    assert hint.startswith("Its colours are set at style.css line 10 (button { background-color: #007bff }) and "
                           "style.css line 11 (button { color: white })")
    assert "line 6 (.wide { color: #FFF })" in hint  # the same white, in a rule that does not name the button: last
    assert hint.index("line 6") > hint.index("line 11")
    assert "background #006fe6 with text #ffffff gives 4.75:1" in hint
    assert "; or text" not in hint  # white text cannot get lighter: only the background can change
    assert TIP_HINT in hint  # axe's own words stay
    assert int(contrast("#ffffff", "#007bff") * 100) / 100 == 3.97  # axe-core's figure (it truncates)


def test_applying_the_proposed_colour_passes_axe(tmp_path):
    """Real Chromium and axe-core: the colour the hint proposes, written where the hint says, passes."""
    import re
    import shutil
    from pathlib import Path

    from runshot.validators.runner.project import Validator

    app = tmp_path / "app"
    shutil.copytree(Path(__file__).parent / "fixtures" / "checks" / "bad_low_contrast", app)
    spec = Spec(title="Notes", body="", source="prompt")
    with Validator() as v:
        before = [f for f in v.validate(app, spec, checks=["a11y"]).findings if f.rule == "color-contrast"]
        assert before and before[0].is_error
        files = {p.name: p.read_text() for p in app.iterdir() if p.is_file()}
        hint = enrich(before[0], files).hint
        assert "index.html line 12 (style attribute of <p> { color: #cfcfcf })" in hint
        proposed = re.search(r"text (#[0-9a-f]{6}) on background #ffffff", hint).group(1)
        page = app / "index.html"
        page.write_text(page.read_text().replace("color:#cfcfcf", f"color:{proposed}"))
        after = [f for f in v.validate(app, spec, checks=["a11y"]).findings if f.rule == "color-contrast"]
    assert after == []
