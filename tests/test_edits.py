"""Edit blocks in repair answers: parsing, tolerant matching, and precise findings when an edit does not apply."""

from __future__ import annotations

from runshot.generator.client import Completion
from runshot.generator.edits import Edit, apply_edits, parse_answer
from runshot.loop.steps import parse_and_vet
from runshot.values import Limits, Usage

APP = "const out = document.getElementById('output');\nfunction render(n) {\n    out.textContent = n;\n}\nrender(0);\n"
FILES = {"app.js": APP, "index.html": "<main><p id=\"out\">0</p></main>\n"}


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def completion(text: str) -> Completion:
    return Completion(text=text, finish_reason="stop", usage=Usage(1, 1), seconds=0.1, attempts=1, continuations=0,
                      usage_estimated=False)


def test_blocks_inside_a_fence_several_per_file_apply_in_order():
    text = ("Fixing the id.\n\n### app.js\n```js\n"
            + block("const out = document.getElementById('output');\n", "const out = document.getElementById('out');\n")
            + block("render(0);\n", "render(1);\n") + "```\n")
    answer = parse_answer(text)
    assert answer.parsed.files == {} and answer.parsed.findings == [] and answer.findings == []
    assert [e.path for e in answer.edits] == ["app.js", "app.js"]
    changed, findings = apply_edits(answer.edits, FILES)
    assert findings == []
    assert changed["app.js"] == APP.replace("'output'", "'out'").replace("render(0);", "render(1);")


def test_blocks_outside_a_fence_mix_with_whole_files():
    text = ("### index.html\n" + block('<main><p id="out">0</p></main>\n', '<main><p id="out" role="status">0</p></main>\n')
            + "\n### style.css\n```css\nbody { margin: 0; }\n```\n")
    answer = parse_answer(text)
    assert answer.parsed.files == {"style.css": "body { margin: 0; }\n"}
    changed, findings = apply_edits(answer.edits, FILES)
    assert findings == [] and 'role="status"' in changed["index.html"]


def test_whitespace_insensitive_match_keeps_the_files_indentation():
    edit = Edit("app.js", ("function render(n) {", "  out.textContent = n;", "}"),
                ("function render(n) {", "  out.textContent = String(n);", "}"), 1)
    changed, findings = apply_edits([edit], FILES)
    assert findings == []
    assert "out.textContent = String(n);" in changed["app.js"] and "render(0);" in changed["app.js"]
    assert changed["app.js"].count("function render") == 1


def test_unique_anchor_fallback_replaces_between_first_and_last_line():
    edit = Edit("app.js", ("function render(n) {", "  // something the model misremembered", "}"),
                ("function render(n) {", "  out.textContent = `${n}`;", "}"), 1)
    changed, findings = apply_edits([edit], FILES)
    assert findings == []
    assert changed["app.js"] == APP.replace("    out.textContent = n;", "  out.textContent = `${n}`;")


def test_an_edit_that_does_not_match_is_a_precise_finding_with_the_closest_lines():
    edit = Edit("app.js", ("const out = document.getElementById('outptu');", "const x = 1;"), ("const y = 2;",), 7)
    changed, findings = apply_edits([edit], FILES)
    assert changed == {}
    (f,) = findings
    assert f.rule == "format/edit-no-match" and f.severity == "error" and f.where == "app.js"
    assert "app.js" in f.message and "getElementById('outptu')" in f.message
    assert "1: const out = document.getElementById('output');" in f.evidence


def test_edits_to_missing_files_ambiguous_edits_and_unclosed_blocks_are_findings():
    missing = Edit("nope.js", ("x();",), ("y();",), 1)
    twice = {"a.js": "f();\nf();\n"}
    ambiguous = Edit("a.js", ("f();",), ("g();",), 2)
    changed, findings = apply_edits([missing, ambiguous], {**FILES, **twice})
    assert changed == {}
    assert [f.rule for f in findings] == ["format/edit-missing-file", "format/edit-ambiguous"]
    assert "nope.js" in findings[0].message
    cut = parse_answer("### app.js\n<<<<<<< SEARCH\nrender(0);\n=======\nrender(1);\n")
    assert cut.edits == [] and "REPLACE" in cut.findings[0].message


def test_an_empty_search_creates_a_new_file():
    changed, findings = apply_edits([Edit("js/extra.js", (), ("export const n = 1;",), 1)], FILES)
    assert findings == [] and changed == {"js/extra.js": "export const n = 1;\n"}


def test_edited_paths_are_vetted_like_whole_files_and_failures_are_never_silent():
    text = ("### ../evil.js\n" + block("", "alert(1);\n")
            + "### app.js\n" + block("no such line\n", "x\n"))
    answer = parse_and_vet(completion(text), FILES, Limits(), allow_edits=True)
    assert answer.files == {}
    rules = {f.rule for f in answer.findings}
    checks = {f.check for f in answer.findings}
    assert "format/edit-no-match" in rules and "path" in checks, answer.findings


def test_first_answers_do_not_take_edits():
    text = "### app.js\n```js\n" + block("a\n", "b\n") + "```\n"
    answer = parse_and_vet(completion(text), {}, Limits(), allow_edits=True)
    assert "<<<<<<< SEARCH" in answer.files.get("app.js", "")
