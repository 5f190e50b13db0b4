"""Building projects with a package.json: vetting dependencies, npm inside the sandbox, limits."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from runshot.validators.serve.build import BuildLimits, build_project, npm_install, vet_package_json
from runshot.validators.sandbox.confined import sandbox_available, unavailable_reason
from runshot.values import Limits

needs_npm_and_bwrap = pytest.mark.skipif(
    not (shutil.which("npm") and shutil.which("node") and sandbox_available()),
    reason=f"needs npm, node and a working bubblewrap ({unavailable_reason() or 'npm/node missing'})",
)

BUILD_JS = """
const fs = require("fs");
fs.mkdirSync("dist", { recursive: true });
for (const name of fs.readdirSync("src")) fs.copyFileSync("src/" + name, "dist/" + name);
console.log("copied", fs.readdirSync("dist").length, "files");
"""


def make_project(root: Path, build_js: str = BUILD_JS, **package) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "index.html").write_text("<h1>Built</h1>")
    (root / "build.js").write_text(build_js)
    data = {"name": "tiny", "version": "1.0.0", "private": True, "scripts": {"build": "node build.js"}}
    data.update(package)
    (root / "package.json").write_text(json.dumps(data))
    return root


# ---- vetting package.json (no npm needed) ----


@pytest.mark.parametrize(
    "spec, kind",
    [
        ("https://example.com/evil.tgz", "URL"),
        ("http://example.com/pkg", "URL"),
        ("git+https://github.com/user/repo.git", "git"),
        ("git+ssh://git@github.com/user/repo.git", "git"),
        ("git://github.com/user/repo.git", "git"),
        ("github:user/repo", "shorthand"),
        ("gitlab:user/repo#main", "shorthand"),
        ("user/repo", "user/repo"),
        ("user/repo#v1.0.0", "user/repo"),
        ("file:../evil", "local path"),
        ("link:../evil", "local path"),
        ("../evil", "local path"),
        ("./vendor/pkg", "local path"),
        ("/abs/pkg", "local path"),
        ("~/pkg", "local path"),
        ("evil-1.0.0.tgz", "tarball"),
        ("npm:other@https://example.com/x.tgz", "URL"),
        ("npm:other@git+https://example.com/x.git", "git"),
    ],
)
def test_vet_refuses_non_registry_dependencies(spec, kind):
    for section in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies"):
        findings = vet_package_json(json.dumps({section: {"left-pad": "^1.3.0", "bad-dep": spec}}))
        assert len(findings) == 1, (section, spec, findings)
        finding = findings[0]
        assert finding.check == "build" and finding.is_error and finding.where == "package.json"
        assert '"bad-dep"' in finding.message and section in finding.message
        assert kind.lower() in finding.message.lower()


@pytest.mark.parametrize("spec", ["^1.2.3", "~2.0.0", "1.2.3", ">=1.0.0 <2.0.0", "1.x", "*", "", "latest",
                                  "next", "1.0.0-beta.2", "1.0.0 - 2.0.0", "^1 || ^2", "npm:preact@^10.0.0"])
def test_vet_accepts_registry_versions(spec):
    assert vet_package_json(json.dumps({"dependencies": {"a": spec}, "devDependencies": {"b": spec}})) == []


def test_vet_reads_overrides_and_reports_broken_json():
    findings = vet_package_json(json.dumps({"overrides": {"foo": {"bar": "github:evil/bar"}}}))
    assert len(findings) == 1 and "foo > bar" in findings[0].message
    broken = vet_package_json('{"dependencies": {')
    assert len(broken) == 1 and "not valid JSON" in broken[0].message
    assert vet_package_json(json.dumps({"dependencies": ["a"]}))[0].message.startswith('"dependencies"')


def test_projects_without_a_build_are_served_as_they_are(tmp_path):
    (tmp_path / "index.html").write_text("<h1>Static</h1>")
    assert build_project(tmp_path) == (tmp_path.resolve(), [])
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "dependencies": {"a": "https://x/y.tgz"}}))
    assert build_project(tmp_path) == (tmp_path.resolve(), [])  # nothing is installed without a build script


def test_refused_dependency_stops_the_build_before_npm(tmp_path):
    make_project(tmp_path, dependencies={"evil": "git+https://example.com/evil.git"})
    folder, findings = build_project(tmp_path)
    assert folder == tmp_path.resolve()
    assert [f.check for f in findings] == ["build"] and '"evil"' in findings[0].message
    assert not (tmp_path / "dist").exists() and not (tmp_path / "node_modules").exists()


def test_project_npmrc_is_refused(tmp_path):
    make_project(tmp_path)
    (tmp_path / ".npmrc").write_text("registry=http://127.0.0.1:9/\n")
    folder, findings = build_project(tmp_path)
    assert findings and findings[0].where == ".npmrc" and not (tmp_path / "dist").exists()


def test_without_sandbox_a_build_is_refused_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNSHOT_SANDBOX", "off")
    make_project(tmp_path)
    folder, findings = build_project(tmp_path)
    assert folder == tmp_path.resolve() and len(findings) == 1
    assert "sandbox" in findings[0].message and not (tmp_path / "dist").exists()


# ---- real builds inside the sandbox ----


@needs_npm_and_bwrap
def test_a_plain_node_build_runs_inside_the_sandbox(tmp_path):
    make_project(tmp_path)
    folder, findings = build_project(tmp_path)
    assert findings == []
    assert folder == (tmp_path / "dist").resolve()
    assert (folder / "index.html").read_text() == "<h1>Built</h1>"


@needs_npm_and_bwrap
def test_runshot_serve_names_the_output_folder(tmp_path):
    make_project(tmp_path, build_js=BUILD_JS.replace('"dist', '"site'), runshot={"serve": "site"})
    folder, findings = build_project(tmp_path)
    assert findings == [] and folder == (tmp_path / "site").resolve()
    make_project(tmp_path, runshot={"serve": "../outside"})
    _, findings = build_project(tmp_path)
    assert findings and "runshot.serve" in findings[0].message


@needs_npm_and_bwrap
def test_a_build_that_reaches_for_the_network_fails(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        leak = (
            'require("http").get("http://127.0.0.1:%d/leak", () => console.log("reached"))'
            '.on("error", (e) => { console.error("no network:", e.code); process.exit(1); });' % port
        )
        make_project(tmp_path, build_js=leak)
        folder, findings = build_project(tmp_path)
        assert folder == tmp_path.resolve()
        assert len(findings) == 1 and "npm run build failed" in findings[0].message
        assert "ECONNREFUSED" in findings[0].evidence
        listener.settimeout(0.2)
        with pytest.raises(socket.timeout):
            listener.accept()


@needs_npm_and_bwrap
def test_install_skips_lifecycle_scripts(tmp_path):
    make_project(tmp_path, scripts={"build": "node build.js", "postinstall": "touch postinstall-ran",
                                    "preinstall": "touch preinstall-ran"})
    result = npm_install(tmp_path)
    assert result.ok, result.tail()
    assert not (tmp_path / "postinstall-ran").exists() and not (tmp_path / "preinstall-ran").exists()
    # The control: the same npm, without --ignore-scripts, does run them.
    plain = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--offline"],
                           cwd=tmp_path, capture_output=True, timeout=60)
    assert plain.returncode == 0 and (tmp_path / "postinstall-ran").exists()


@needs_npm_and_bwrap
def test_a_build_that_never_ends_is_stopped_at_the_limit(tmp_path):
    make_project(tmp_path, build_js="for (;;) {}")
    started = time.monotonic()
    folder, findings = build_project(tmp_path, timeout=2)
    assert time.monotonic() - started < 10
    assert len(findings) == 1 and "time limit of 2 s" in findings[0].message
    assert folder == tmp_path.resolve()


@needs_npm_and_bwrap
def test_build_output_over_the_limits_is_a_finding(tmp_path):
    many = BUILD_JS + 'for (let i = 0; i < 30; i++) fs.writeFileSync("dist/f" + i + ".txt", "x".repeat(2000));\n'
    make_project(tmp_path, build_js=many)
    folder, findings = build_project(tmp_path, Limits(max_files=10, max_file_bytes=1000, max_total_bytes=10_000))
    assert folder == (tmp_path / "dist").resolve()
    messages = " | ".join(f.message for f in findings)
    assert "more than 10 files" in messages and "over the limit of 1000" in messages
    assert all(f.check == "build" for f in findings)


@needs_npm_and_bwrap
def test_a_file_bigger_than_the_write_limit_cannot_be_written(tmp_path):
    huge = 'require("fs").mkdirSync("dist"); require("fs").writeFileSync("dist/big.bin", Buffer.alloc(3000000));'
    make_project(tmp_path, build_js=huge)
    _, findings = build_project(tmp_path, BuildLimits(max_write_bytes=1_000_000))
    assert len(findings) == 1 and "npm run build failed" in findings[0].message
    big = tmp_path / "dist" / "big.bin"
    assert not big.exists() or big.stat().st_size <= 1_000_000


# ---- limits that protect the machine without breaking ordinary tools ----

WASM_JS = BUILD_JS + """
// What rolldown, esbuild-wasm and es-module-lexer do: instantiate WebAssembly with a memory. V8 reserves
// gigabytes of address space for it (guard regions) while touching a few pages.
const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1]);  // a module with one memory
const instances = [];
for (let i = 0; i < 8; i++) instances.push(new WebAssembly.Instance(new WebAssembly.Module(bytes)));
const memories = [];
for (let i = 0; i < 8; i++) memories.push(new WebAssembly.Memory({ initial: 16, maximum: 65536 }));
console.log("wasm instances:", instances.length, "memories:", memories.length);
"""


@needs_npm_and_bwrap
def test_webassembly_builds_are_not_broken_by_the_memory_limit(tmp_path):
    make_project(tmp_path, build_js=WASM_JS)
    folder, findings = build_project(tmp_path)
    assert findings == [], findings[0].evidence if findings else ""
    assert folder == (tmp_path / "dist").resolve()


@needs_npm_and_bwrap
def test_a_build_that_holds_too_much_memory_is_stopped(tmp_path):
    hog = 'const keep = []; for (;;) { keep.push(Buffer.alloc(16 * 1024 * 1024, 1)); }'
    make_project(tmp_path, build_js=hog)
    started = time.monotonic()
    folder, findings = build_project(tmp_path, BuildLimits(memory_mb=300, build_seconds=60))
    assert time.monotonic() - started < 30
    assert folder == tmp_path.resolve() and len(findings) == 1
    assert "stopped: resident memory over 300 MB" in findings[0].message
    # The same build with room to spare for a modest allocation passes.
    modest = BUILD_JS + 'const b = Buffer.alloc(50 * 1024 * 1024, 1); console.log(b.length);'
    make_project(tmp_path, build_js=modest)
    assert build_project(tmp_path, BuildLimits(memory_mb=300))[1] == []


@needs_npm_and_bwrap
def test_a_fork_bomb_is_stopped_at_the_process_limit(tmp_path):
    bomb = ('const { spawn } = require("child_process");'
            'for (let i = 0; i < 100; i++) spawn("sleep", ["30"]); setTimeout(() => {}, 30000);')
    make_project(tmp_path, build_js=bomb)
    started = time.monotonic()
    folder, findings = build_project(tmp_path, BuildLimits(max_processes=40, build_seconds=60))
    assert time.monotonic() - started < 20
    assert len(findings) == 1 and "stopped: more than 40 processes" in findings[0].message
