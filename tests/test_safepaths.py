"""Vetting the model's paths, writing files safely, and reading a project back (real files on disk)."""

from __future__ import annotations

import os
import time
import pytest

from runshot.generator.safepaths import UnsafeWrite, path_problem, read_project, vet_deleted, vet_files, write_files
from runshot.values import ERROR, WARNING, Limits

# --- path_problem --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, words",
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("C:\\Windows\\x.js", "drive letter"),
        ("C:/x.js", "drive letter"),
        ("c:x.js", "drive letter"),
        ("\\\\server\\share\\x.js", "network"),
        ("//server/x.js", "network"),
        ("../x.js", ".."),
        ("src/../../x.js", ".."),
        ("src/./x.js", "'.'"),
        ("a\\b.js", "backslash"),
        ("a\x00b.js", "NUL"),
        ("a\nb.js", "control character"),
        ("a\x1b[31m.js", "control character"),
        ("a//b.js", "empty segment"),
        ("src/", "empty segment"),
        ("src./x.js", "ends with a dot"),
        ("x.js ", "ends with a dot or a space"),
        ("a" * 256 + ".js", "255 bytes"),
        ("é" * 128, "255 bytes"),
        (".git/hooks/pre-commit", ".git"),
        ("sub/.GIT/config", ".git"),
        (".runshot/report.json", ".runshot"),
        (".npmrc", "credentials"),
        ("sub/.NPMRC", "credentials"),
        (".env", "secrets"),
        (".env.local", "secrets"),
        (".envrc", "run code"),
        (".gitattributes", "configures git"),
        (".gitmodules", "configures git"),
        (".github/workflows/ci.yml", ".github/"),
        (".vscode/tasks.json", ".vscode/"),
        (".ssh/authorized_keys", ".ssh/"),
        ("con.js", "reserved device"),
        ("a:b.js", "drive letter"),
        ("what?.js", "'?'"),
        ("~/x.js", "home"),
        ("\ud800.js", "surrogates"),
    ],
)
def test_rejected_paths_say_why(path, words):
    reason = path_problem(path)
    assert reason is not None and words in reason


@pytest.mark.parametrize(
    "path",
    ["index.html", "src/app.js", "assets/img/logo.svg", ".gitignore", "café/naïve.js", "a b/c-d_e.f.js", "README", "x" * 255],
)
def test_plain_paths_pass(path):
    assert path_problem(path) is None


# --- vet_files -----------------------------------------------------------------------------------------------


def test_vet_drops_unsafe_files_with_one_finding_each():
    files = {"index.html": "<p>", "../evil.js": "x", ".git/hooks/pre-commit": "#!/bin/sh", "ok/app.js": "1"}
    kept, findings = vet_files(files, Limits())
    assert kept == {"index.html": "<p>", "ok/app.js": "1"}
    assert [f.where for f in findings] == ["../evil.js", ".git/hooks/pre-commit"]
    assert all(f.check == "path" and f.severity == ERROR for f in findings)
    assert "'..'" in findings[0].message and ".git" in findings[1].message


def test_case_collision_within_one_answer():
    kept, findings = vet_files({"App.js": "a", "app.js": "b", "src/X.css": "", "SRC/x.css": ""}, Limits())
    assert kept == {"App.js": "a", "src/X.css": ""}
    assert [f.where for f in findings] == ["app.js", "SRC/x.css"]
    assert "App.js" in findings[0].message and "letter case" in findings[0].message


def test_case_collision_with_existing_files_but_same_path_is_a_replacement():
    kept, findings = vet_files({"Index.html": "x", "app.js": "y"}, Limits(), existing=["index.html", "app.js"])
    assert kept == {"app.js": "y"}
    (finding,) = findings
    assert finding.where == "Index.html" and "existing project file" in finding.message


def test_file_and_folder_with_the_same_name():
    kept, findings = vet_files({"lib": "x", "lib/a.js": "y", "css/site.css": "", "CSS": ""}, Limits())
    assert kept == {"lib": "x", "css/site.css": ""}
    assert [f.where for f in findings] == ["lib/a.js", "CSS"]
    kept, findings = vet_files({"app.js/x.js": "y"}, Limits(), existing=["app.js"])
    assert kept == {} and "also a file" in findings[0].message


def test_caps_are_findings():
    limits = Limits(max_files=3, max_file_bytes=1000, max_total_bytes=1500, max_depth=3)
    files = {
        "a/b/c/d.js": "deep",
        "big.js": "é" * 600,  # 1200 bytes in UTF-8, only 600 characters
        "one.js": "x" * 900,
        "two.js": "x" * 900,  # would pass 1500 bytes in all
        "three.js": "x",
        "four.js": "x",
        "five.js": "x",
    }
    kept, findings = vet_files(files, limits)
    assert list(kept) == ["one.js", "three.js", "four.js"]
    by_where = {f.where: f.message for f in findings}
    assert "4 levels deep" in by_where["a/b/c/d.js"]
    assert "1.2 KB" in by_where["big.js"]
    assert "exceed" in by_where["two.js"]
    assert "at most 3 files" in by_where["five.js"] and "1 file(s)" in by_where["five.js"]
    assert all(f.check == "path" and f.severity == ERROR for f in findings)


def test_content_that_cannot_be_utf8_is_dropped():
    kept, findings = vet_files({"a.js": "bad \ud800 surrogate"}, Limits())
    assert kept == {} and "UTF-8" in findings[0].message


def test_a_hundred_thousand_files_are_vetted_quickly():
    files = {f"dir{i % 50}/sub{i % 7}/file{i}.js": "x" for i in range(100_000)}
    files["DIR1/sub1/file1.js"] = "collides"
    files["../up.js"] = "bad"
    start = time.perf_counter()
    kept, findings = vet_files(files, Limits(max_files=200_000, max_total_bytes=10**9))
    assert time.perf_counter() - start < 5
    assert len(kept) == 100_000
    assert sorted(f.where for f in findings) == ["../up.js", "DIR1/sub1/file1.js"]
    # Over the default cap: one finding for the whole overflow, not one per file.
    start = time.perf_counter()
    kept, findings = vet_files(files, Limits())
    assert time.perf_counter() - start < 5
    assert len(kept) == 200 and len(findings) == 3


def test_a_50_mb_file_is_measured_quickly():
    big = "a" * 50_000_000
    start = time.perf_counter()
    kept, findings = vet_files({"big.js": big}, Limits())
    assert kept == {} and "over the 1.0 MB limit" in findings[0].message
    kept, findings = vet_files({"big.js": big}, Limits(max_file_bytes=60_000_000, max_total_bytes=60_000_000))
    assert list(kept) == ["big.js"] and findings == []
    assert time.perf_counter() - start < 3


def test_vet_deleted():
    ok, findings = vet_deleted(["old.js", "../x", "ghost.js"], existing=["old.js", "app.js"])
    assert ok == ["old.js"]
    assert [(f.where, f.severity) for f in findings] == [("../x", ERROR), ("ghost.js", WARNING)]


# --- write_files ---------------------------------------------------------------------------------------------


def test_write_creates_parents_and_keeps_bytes_exactly(tmp_path):
    files = {"index.html": "<p>é ✓</p>\r\n<p>2</p>", "js/lib/util.js": "a\nb\n", "empty.txt": ""}
    write_files(tmp_path / "out", files)
    out = tmp_path / "out"
    assert (out / "index.html").read_bytes() == "<p>é ✓</p>\r\n<p>2</p>".encode("utf-8")
    assert (out / "js/lib/util.js").read_bytes() == b"a\nb\n"
    assert (out / "empty.txt").read_bytes() == b""
    # Overwrite in place; no temporary files are left behind.
    write_files(out, {"js/lib/util.js": "c\n"})
    assert (out / "js/lib/util.js").read_text() == "c\n"
    leftovers = [p.name for p in out.rglob("*") if p.name.startswith(".runshot-")]
    assert leftovers == []


def test_write_refuses_a_symlinked_parent(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "assets").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeWrite, match="symbolic link"):
        write_files(root, {"assets/x.js": "pwned"})
    assert list(outside.iterdir()) == []


def test_write_refuses_a_symlinked_file_and_an_unsafe_path(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("keep")
    root = tmp_path / "root"
    root.mkdir()
    (root / "app.js").symlink_to(secret)
    with pytest.raises(UnsafeWrite):
        write_files(root, {"app.js": "pwned"})
    assert secret.read_text() == "keep"
    with pytest.raises(UnsafeWrite, match=r"\.\."):
        write_files(root, {"../escape.js": "x"})
    assert not (tmp_path / "escape.js").exists()


def test_write_deletes_files_and_prunes_empty_folders(tmp_path):
    write_files(tmp_path, {"old/a.js": "1", "keep.js": "2"})
    write_files(tmp_path, {"new.js": "3"}, deleted=["old/a.js", "never-existed.js"])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["keep.js", "new.js"]
    with pytest.raises(UnsafeWrite):
        write_files(tmp_path, {}, deleted=[".git/config"])


# --- read_project --------------------------------------------------------------------------------------------


def test_read_project_reads_text_and_skips_the_rest(tmp_path):
    write_files(tmp_path, {"index.html": "<p>\r\n", "js/app.js": "1\n", ".gitignore": "node_modules\n"})
    for skipped in (".git/config", ".runshot/report.json", "node_modules/x/index.js", "sub/.GIT/HEAD"):
        (tmp_path / skipped).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / skipped).write_text("skip")
    (tmp_path / ".env").write_text("API_KEY=secret")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "big.js").write_text("x" * 5000)
    outside = tmp_path.parent / (tmp_path.name + "-outside.js")
    outside.write_text("outside")
    os.symlink(outside, tmp_path / "link.js")
    os.symlink(tmp_path / "js", tmp_path / "linkdir")
    project = read_project(tmp_path, Limits(max_file_bytes=4000))
    assert project == {".gitignore": "node_modules\n", "index.html": "<p>\r\n", "js/app.js": "1\n"}


def test_read_project_respects_file_count_and_depth(tmp_path):
    write_files(tmp_path, {f"f{i}.js": "x" for i in range(5)} | {"a/b/c/deep.js": "d"})
    assert len(read_project(tmp_path, Limits(max_files=3))) == 3
    assert "a/b/c/deep.js" not in read_project(tmp_path, Limits(max_depth=3))
    assert "a/b/c/deep.js" in read_project(tmp_path, Limits(max_depth=4))


def test_vet_then_write_round_trip(tmp_path):
    answer_files = {"index.html": "<p>", "../x.js": "bad", "Index.HTML": "dup"}
    kept, findings = vet_files(answer_files, Limits(), existing=read_project(tmp_path, Limits()))
    write_files(tmp_path, kept)
    assert read_project(tmp_path, Limits()) == {"index.html": "<p>"}
    assert [f.where for f in findings] == ["../x.js", "Index.HTML"]
