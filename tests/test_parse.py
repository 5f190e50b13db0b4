"""Reading files out of model answers: every accepted format, and a precise finding for every mistake."""

from __future__ import annotations

import pytest

from runshot.generator.parse import parse_files
from runshot.values import ERROR, WARNING

F = "```"


def errors_of(result):
    return [f for f in result.findings if f.severity == ERROR]


# --- path line + fenced block ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path_line",
    [
        "### src/app.js",
        "## src/app.js",
        "**src/app.js**",
        "File: src/app.js",
        "src/app.js:",
        "`src/app.js`",
        "### `src/app.js`",
        "### File: src/app.js",
        "- **src/app.js**",
        "### 2. src/app.js",
        "**`src/app.js`**:",
        "### ./src/app.js",
        "### src/app.js (the game logic)",
    ],
)
def test_path_line_variants(path_line):
    answer = f"Here is the code.\n\n{path_line}\n{F}js\nconst a = 1;\n{F}\n"
    result = parse_files(answer)
    assert result.files == {"src/app.js": "const a = 1;\n"}
    assert result.findings == []
    assert result.format == "heading"


def test_several_files_with_prose_between():
    answer = (
        "I'll build it in three files.\n\n### index.html\n```html\n<!DOCTYPE html>\n<p>Hi</p>\n```\n\n"
        "Now the styles:\n\n### style.css\n~~~css\nbody { margin: 0; }\n~~~\n\n"
        "### app.js\n\n```javascript\nconsole.log('x');\n\n```\nThat's all."
    )
    result = parse_files(answer)
    assert result.files == {
        "index.html": "<!DOCTYPE html>\n<p>Hi</p>\n",
        "style.css": "body { margin: 0; }\n",
        "app.js": "console.log('x');\n\n",
    }
    assert result.findings == []


def test_prose_line_between_path_and_fence_is_tolerated():
    answer = "### app.js\nThe logic lives here:\n```js\nlet x = 1;\n```\n"
    assert parse_files(answer).files == {"app.js": "let x = 1;\n"}


def test_heading_that_is_not_a_path_does_not_label_a_block():
    answer = "## Features\n```js\nlet x = 1;\n```\n"
    result = parse_files(answer)
    assert result.files == {}
    assert any("no file path" in f.message for f in result.findings)


def test_readme_with_fences_inside_a_longer_outer_fence():
    readme = "# Demo\n\nRun it:\n\n```bash\npython -m http.server\n```\n\nThen open it.\n"
    answer = f"### README.md\n````markdown\n{readme}````\n\n### index.html\n```html\n<p>x</p>\n```\n"
    result = parse_files(answer)
    assert result.files == {"README.md": readme, "index.html": "<p>x</p>\n"}
    assert result.findings == []


def test_readme_with_same_length_fences_is_read_by_nesting():
    readme = "# Demo\n\n```bash\nnpm start\n```\n\nDone.\n"
    answer = f"### README.md\n```markdown\n{readme}```\n\n### app.js\n```js\nx();\n```\n"
    result = parse_files(answer)
    assert result.files == {"README.md": readme, "app.js": "x();\n"}
    assert result.findings == []


def test_tilde_fence_holds_backtick_lines_and_indented_fence_is_dedented():
    answer = "### notes.md\n~~~\n```\ninner\n```\n~~~\n\n1. **app.js**\n   ```js\n   let a = 1;\n     let b = 2;\n   ```\n"
    result = parse_files(answer)
    assert result.files == {"notes.md": "```\ninner\n```\n", "app.js": "let a = 1;\n  let b = 2;\n"}


def test_windows_line_endings_in_the_answer():
    answer = "### app.js\r\n```js\r\nlet a = 1;\r\n```\r\n"
    assert parse_files(answer).files == {"app.js": "let a = 1;\n"}


# --- path in the fence's info string --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "info, path",
    [
        ("js app.js", "app.js"),
        ("html path=index.html", "index.html"),
        ('html path="pages/about.html"', "pages/about.html"),
        ("tsx{path=src/App.tsx}", "src/App.tsx"),
        ("index.html", "index.html"),
        ("js:src/main.js", "src/main.js"),
        ("css title=style.css", "style.css"),
        ("./lib/util.js", "lib/util.js"),
    ],
)
def test_path_in_info_string(info, path):
    result = parse_files(f"Sure!\n\n{F}{info}\ncontent\n{F}\n")
    assert result.files == {path: "content\n"}
    assert result.findings == []
    assert result.format == "info"


def test_explicit_info_path_beats_a_stray_heading():
    result = parse_files(f"### notes.txt\n{F}js path=app.js\nx\n{F}\n")
    assert result.files == {"app.js": "x\n"}


# --- <file> tags ---------------------------------------------------------------------------------------------


def test_file_tags_are_verbatim_and_survive_fences_inside():
    readme = "# App\n\n```bash\nnpm start\n```\n\n````\nfour\n````\n"
    answer = (
        'Here are the files.\n<file path="README.md">\n' + readme + "</file>\n"
        "<file path='app.js'>\n  indented();\n\n</file>\n"
    )
    result = parse_files(answer)
    assert result.files == {"README.md": readme, "app.js": "  indented();\n\n"}
    assert result.findings == []
    assert result.format == "tags"


def test_file_tag_wrapping_one_fenced_block_is_unwrapped_except_markdown():
    answer = '<file path="app.js">\n```js\nrun();\n```\n</file>\n<file path="doc.md">\n```\nkeep\n```\n</file>\n'
    result = parse_files(answer)
    assert result.files == {"app.js": "run();\n", "doc.md": "```\nkeep\n```\n"}


def test_tags_and_headings_mixed():
    answer = '<file path="a.css">\nb{}\n</file>\n\n### a.js\n```js\n1;\n```\n'
    result = parse_files(answer)
    assert result.files == {"a.css": "b{}\n", "a.js": "1;\n"}
    assert result.format == "mixed"


def test_answer_wrapped_in_one_outer_block_is_unpacked():
    answer = "````markdown\n### index.html\n```html\n<p>x</p>\n```\n````\n"
    assert parse_files(answer).files == {"index.html": "<p>x</p>\n"}


def test_outer_block_with_a_placeholder_reports_it_once():
    answer = "````markdown\n### app.js\n```js\nrun();\n// ... rest of code\n```\n````\n"
    result = parse_files(answer)
    assert list(result.files) == ["app.js"]
    assert [f.where for f in result.findings] == ["app.js:2"]


def test_a_large_answer_parses_quickly():
    import time

    body = "const x = 1; // filler line of code\n" * 20_000
    answer = "".join(f"### src/f{i}.js\n```js\n{body}```\n\n" for i in range(3)) + "```\n" + body  # unclosed tail
    start = time.perf_counter()
    result = parse_files(answer)
    assert time.perf_counter() - start < 3
    assert len(result.files) == 3 and len(result.files["src/f0.js"]) == len(body)
    assert any("never closed" in f.message for f in result.findings)


def test_delete_marker():
    result = parse_files('<delete path="old.js"/>\n<delete path="./b.css"></delete>\n### a.js\n```js\n1;\n```\n')
    assert result.deleted == ["old.js", "b.css"]
    assert result.files == {"a.js": "1;\n"}


# --- mistakes ------------------------------------------------------------------------------------------------


def test_prose_only_answer():
    result = parse_files("I would build this with React and a Node server. Let me know if you want the code!")
    assert result.files == {}
    assert result.format == "none"
    (finding,) = result.findings
    assert finding.check == "format" and finding.severity == ERROR
    assert "prose only" in finding.message and "### path" in finding.message


def test_empty_answer():
    result = parse_files("")
    assert result.files == {} and "empty" in result.findings[0].message


def test_truncated_answer_keeps_whole_files_and_drops_the_half_one():
    answer = "### index.html\n```html\n<p>x</p>\n```\n\n### app.js\n```js\nfunction start() {\n  let a ="
    result = parse_files(answer)
    assert result.files == {"index.html": "<p>x</p>\n"}
    (finding,) = errors_of(result)
    assert finding.where == "app.js"
    assert "never closed" in finding.message and "app.js" in finding.message and "line 7" in finding.message


def test_unclosed_file_tag_is_not_taken():
    result = parse_files('<file path="a.js">\n1;\n</file>\n<file path="b.js">\nlet half =')
    assert result.files == {"a.js": "1;\n"}
    (finding,) = errors_of(result)
    assert finding.where == "b.js" and "</file>" in finding.message


def test_duplicate_path_names_it_and_keeps_the_last():
    answer = "### app.js\n```js\nold();\n```\n### style.css\n```css\na{}\n```\n### app.js\n```js\nnew();\n```\n"
    result = parse_files(answer)
    assert result.files["app.js"] == "new();\n"
    (finding,) = errors_of(result)
    assert finding.where == "app.js" and "app.js was sent 2 times" in finding.message


def test_block_without_path_quotes_its_first_line():
    answer = "### index.html\n```html\n<p>x</p>\n```\nAnd the script:\n```js\n\nconst board = [];\n```\n"
    result = parse_files(answer)
    assert result.files == {"index.html": "<p>x</p>\n"}
    (finding,) = errors_of(result)
    assert '"const board = [];"' in finding.message and "### path" in finding.message and "line 6" in finding.message


def test_only_unlabeled_blocks_says_so():
    result = parse_files("```html\n<p>x</p>\n```\n")
    assert result.files == {}
    messages = [f.message for f in errors_of(result)]
    assert any("none of them is labelled" in m for m in messages)
    assert any('"<p>x</p>"' in m for m in messages)


def test_shell_instructions_without_path_are_only_a_warning():
    result = parse_files("### index.html\n```html\n<p/>\n```\nRun:\n```bash\npython3 -m http.server\n```\n")
    assert result.files == {"index.html": "<p/>\n"}
    assert [f.severity for f in result.findings] == [WARNING]


@pytest.mark.parametrize(
    "line",
    [
        "// ... rest of code",
        "  // ...existing code...",
        "/* ... */",
        "<!-- rest unchanged -->",
        "<!-- ... -->",
        "# ... existing code ...",
        "// TODO: implement",
        "    ...",
        "// Rest of the functions remain the same",
        "/* same as before */",
        "{/* ... other items ... */}",
        "  doThings(); // ... rest of the logic",
        "// your code here",
    ],
)
def test_placeholder_lines_are_errors_naming_file_and_line(line):
    answer = f"### js/app.js\n```js\nconst a = 1;\n{line}\nconst b = 2;\n```\n"
    result = parse_files(answer)
    assert "js/app.js" in result.files  # taken, but flagged
    (finding,) = result.findings
    assert finding.check == "format" and finding.severity == ERROR
    assert finding.where == "js/app.js:2" and "placeholder" in finding.message


def test_real_code_is_not_taken_for_placeholders():
    code = (
        "const all = [...items, extra];\n"
        "function f(...args) { return args; }\n"
        "/* Reset styles */\n"
        "// keep the same order as the board\n"
        "// the colour stays the same when disabled\n"
        "// Add the rest of the handlers below\n"
        "const url = 'https://example.org/rest/of/code';\n"
        "#main { color: #333; }\n"
    )
    result = parse_files(f"### a.js\n```js\n{code}```\n### README.md\n```md\nTODO: implement more\n...\n```\n")
    assert result.findings == []


# --- paths are kept as given (vetting is a separate step) -------------------------------------------------------


def test_unsafe_paths_are_kept_verbatim_for_the_vetting_step():
    answer = "### ../../etc/evil.js\n```\nx\n```\n<file path=\"/abs/a.js\">\n1\n</file>\n### src\\win.js\n```js\n2\n```\n"
    result = parse_files(answer)
    assert set(result.files) == {"../../etc/evil.js", "/abs/a.js", "src\\win.js"}
