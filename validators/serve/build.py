"""Build projects that need it (a package.json with a `build` script) inside the sandbox, before serving them.

    serve_dir, findings = build_project(Path("out"))

Steps, each under its own deadline:
1. vet package.json: every dependency must be an npm registry version (no URLs, git, GitHub shorthands,
   file/link paths or tarballs: those are fetched, or read from the disk, whatever `--ignore-scripts` says);
2. `npm install --ignore-scripts` with the network (the registry needs it) but an empty environment and
   only the project folder writable; the lockfile is ignored (its `resolved` URLs could point anywhere);
3. `npm run build` without any network, with limits on time, resident memory, process count and file size;
4. check what it produced (files, bytes, depth) and serve that folder: `runshot.serve` in package.json, else
   `dist/`, else `build/`.

A project without package.json, or without a build script, is served as it is. Build failures are findings
(check "build") with the end of the output as evidence, never exceptions.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from runshot.errors import EnvironmentProblem
from runshot.validators.sandbox.confined import (
    DEFAULT_PATH,
    SandboxResult,
    SandboxSpec,
    run_sandboxed,
    sandbox_available,
    tool_paths,
    unavailable_reason,
)
from runshot.rules import Rule, Rules
from runshot.values import ERROR, Finding, Limits

CHECK = "build"
RULES = Rules(
    Rule("build/invalid", ERROR, "package.json cannot be used as it is (not JSON, bad fields, refused sources)."),
    Rule("build/failed", ERROR, "npm install or npm run build failed or was stopped: there is nothing to serve."),
    Rule("build/output-limit", ERROR, "The build's output breaks the limits on what may be served."),
)
DEPENDENCY_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
OUTPUT_DIRS = ("dist", "build")
REFUSED_CONFIG = (".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs")
EVIDENCE_CHARS = 2000
# Settings from the user's environment that npm may need to reach its registry (never API keys).
NPM_PASSTHROUGH = ("npm_config_registry", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                   "NO_PROXY", "no_proxy")

_TARBALL = re.compile(r"\.(tgz|tar\.gz|tar|tar\.bz2|tar\.xz|zip)(#.*)?$", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_NPM_ALIAS = re.compile(r"^npm:(@[^/@\s]+/)?[^/@\s]+(@(?P<range>.*))?$")
_SAFE_RANGE = re.compile(r"^[\w\s.*^~<>=|+\-]*$")  # semver ranges and dist-tags ("latest", "next")


@dataclass
class BuildLimits:
    """Deadlines and sizes for building one project."""

    install_seconds: float = 300.0  # npm install
    build_seconds: float = 120.0  # npm run build
    # Resident memory (RSS) of npm, node and all their children together, watched while they run. Not the
    # address space: WebAssembly (rolldown in Vite, esbuild-wasm, es-module-lexer) and V8 reserve gigabytes
    # they never touch, so an RLIMIT_AS cap breaks ordinary builds without protecting anything.
    memory_mb: int = 4096
    max_write_bytes: int = 100_000_000  # largest single file a build step may write
    max_processes: int = 256  # processes at once (npm, sh, node, esbuild's service...): stops fork bombs
    output: Limits = field(default_factory=Limits)  # what may be served: files, bytes per file and in all, depth


def _finding(message: str, where: str = "package.json", hint: str = "", evidence: str = "",
             rule: str = "build/invalid") -> Finding:
    return RULES[rule].finding(message, where=where, hint=hint, evidence=evidence)


def dependency_problem(spec: object) -> str | None:
    """What is wrong with one dependency's version spec, or None for a plain npm registry version."""
    if not isinstance(spec, str):
        return "not a version string"
    value = spec.strip()
    alias = _NPM_ALIAS.match(value)
    if alias:
        value = (alias.group("range") or "").strip()
    lowered = value.lower()
    if "://" in value or lowered.startswith(("git+", "git@", "git:")):
        return "a URL or git repository"
    if lowered.startswith(("github:", "gitlab:", "bitbucket:", "gist:")):
        return "a git hosting shorthand"
    if lowered.startswith(("file:", "link:", "portal:", "workspace:", "patch:")):
        return "a local path"
    if value.startswith((".", "/", "~/")) or "\\" in value:
        return "a local path"
    if _TARBALL.search(value):
        return "a tarball"
    if _SCHEME.match(value):
        return "a URL"
    if "/" in value:
        return "a GitHub shorthand (user/repo)"
    if not _SAFE_RANGE.match(value):
        return "not an npm registry version"
    return None


def _override_specs(node: object, trail: str) -> list[tuple[str, object]]:
    """(name, spec) pairs of npm `overrides` (nested objects; "." means the package itself)."""
    out: list[tuple[str, object]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            name = trail if key == "." else f"{trail} > {key}" if trail else str(key)
            out += _override_specs(value, name)
    else:
        out.append((trail, node))
    return out


def vet_package_json(text: str) -> list[Finding]:
    """Findings for dependencies runshot refuses to install (and for a package.json it cannot read)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [_finding(f"package.json is not valid JSON: {exc.msg} (line {exc.lineno})")]
    if not isinstance(data, dict):
        return [_finding("package.json must hold a JSON object")]
    findings: list[Finding] = []
    checked: list[tuple[str, str, object]] = []
    for section in DEPENDENCY_SECTIONS:
        deps = data.get(section)
        if deps is None:
            continue
        if not isinstance(deps, dict):
            findings.append(_finding(f'"{section}" in package.json must be an object of name: version'))
            continue
        checked += [(section, str(name), spec) for name, spec in deps.items()]
    for key in ("overrides", "resolutions"):
        if isinstance(data.get(key), dict):
            checked += [(key, name, spec) for name, spec in _override_specs(data[key], "")]
    for section, name, spec in checked:
        problem = dependency_problem(spec)
        if problem:
            findings.append(
                _finding(
                    f'{section} "{name}" is given as {problem} ({str(spec)[:120]!r}): '
                    "runshot installs only versions from the npm registry",
                    hint=f'give "{name}" a registry version range such as "^1.2.3", or drop it',
                )
            )
    return findings


def _read_package(root: Path) -> tuple[dict | None, list[Finding]]:
    text = (root / "package.json").read_text(encoding="utf-8", errors="replace")
    findings = vet_package_json(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None, findings
    return (data if isinstance(data, dict) else None), findings


def _has_dependencies(data: dict) -> bool:
    return any(isinstance(data.get(s), dict) and data.get(s) for s in DEPENDENCY_SECTIONS)


def _build_script(data: dict) -> str | None:
    scripts = data.get("scripts")
    script = scripts.get("build") if isinstance(scripts, dict) else None
    return script if isinstance(script, str) and script.strip() else None


def output_dir(root: Path, data: dict) -> tuple[Path | None, list[Finding]]:
    """The folder to serve after a build: `runshot.serve`, else dist/, else build/ (None when none exists)."""
    root = root.resolve()
    named = data.get("runshot", {}).get("serve") if isinstance(data.get("runshot"), dict) else None
    if named is not None:
        if not isinstance(named, str) or not named.strip() or Path(named).is_absolute() or ".." in Path(named).parts:
            message = f'"runshot.serve" in package.json must be a folder inside the project, not {named!r}'
            return None, [_finding(message)]
        candidates = [named.strip().strip("/")]
    else:
        candidates = list(OUTPUT_DIRS)
    for name in candidates:
        path = root / name
        if path.is_dir():
            real = path.resolve()
            if real == root or not real.is_relative_to(root):
                return None, [_finding(f"the build output folder {name}/ leads outside the project")]
            return real, []
    wanted = " or ".join(f"{c}/" for c in candidates)
    return None, [
        _finding(
            f"the build finished but produced no {wanted} folder to serve",
            hint='write the site into dist/ or name the folder in package.json as "runshot": {"serve": "folder"}',
        )
    ]


def output_problems(folder: Path, limits: Limits) -> list[Finding]:
    """Findings when a build's output goes over the project limits (files, bytes, depth) or links outside."""
    folder = folder.resolve()
    findings: list[Finding] = []
    count = total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        depth = len(here.relative_to(folder).parts)
        if depth >= limits.max_depth and (dirnames or filenames):
            findings.append(_finding(f"the build output nests folders deeper than {limits.max_depth} levels",
                                     rule="build/output-limit", where=str(here.relative_to(folder))))
            dirnames[:] = []
        for name in filenames:
            path = here / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() and not path.resolve().is_relative_to(folder):
                findings.append(_finding("the build output has a link leading outside it", where=rel))
                continue
            try:
                size = path.stat().st_size
            except OSError:
                continue
            count += 1
            total += size
            if size > limits.max_file_bytes:
                findings.append(_finding(f"a built file has {size} bytes, over the limit of {limits.max_file_bytes}",
                                         rule="build/output-limit", where=rel))
        if count > limits.max_files:
            findings.append(_finding(f"the build output has more than {limits.max_files} files",
                                     rule="build/output-limit"))
            break
    if total > limits.max_total_bytes:
        findings.append(_finding(f"the build output has {total} bytes, over the limit of {limits.max_total_bytes}",
                                 rule="build/output-limit"))
    return findings


def _npm() -> tuple[str, str]:
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise EnvironmentProblem(
            "this project has a package.json build script, but npm/node are not installed "
            "(install Node.js, e.g. apt-get install nodejs npm)"
        )
    return npm, node


def _spec(root: Path, network: bool, limits: BuildLimits, tmp_mb: int) -> SandboxSpec:
    npm, node = _npm()
    tools = [*tool_paths(npm), *tool_paths(node)]
    path = ":".join(dict.fromkeys([os.path.dirname(os.path.abspath(npm)), os.path.dirname(os.path.abspath(node)),
                                   *DEFAULT_PATH.split(":")]))
    env = {
        "PATH": path,
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "npm_config_cache": "/tmp/.npm",
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }
    if network:
        env.update({k: os.environ[k] for k in NPM_PASSTHROUGH if os.environ.get(k)})
    return SandboxSpec(
        writable=[root],
        readonly=tools,
        network=network,
        env=env,
        cwd=root,
        resident_mb=limits.memory_mb,
        max_processes=limits.max_processes,
        max_file_bytes=limits.max_write_bytes,
        tmp_mb=tmp_mb,
    )


def npm_install(root: Path, limits: BuildLimits | None = None, sandbox: str | None = None) -> SandboxResult:
    """`npm install --ignore-scripts` in the sandbox, with network, empty environment, only `root` writable."""
    limits = limits or BuildLimits()
    root = root.resolve()
    command = ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock",
               "--no-update-notifier"]
    return run_sandboxed(command, _spec(root, True, limits, tmp_mb=1024), limits.install_seconds, setting=sandbox)


def npm_build(root: Path, limits: BuildLimits | None = None, sandbox: str | None = None) -> SandboxResult:
    """`npm run build` in the sandbox without any network."""
    limits = limits or BuildLimits()
    root = root.resolve()
    return run_sandboxed(["npm", "run", "build"], _spec(root, False, limits, tmp_mb=256), limits.build_seconds,
                         setting=sandbox)


def _step_failed(what: str, result: SandboxResult, seconds: float) -> Finding:
    if result.timed_out:
        message = f"{what} ran over its time limit of {seconds:g} s and was stopped"
    elif result.stopped_for:
        message = f"{what} was stopped: {result.stopped_for}"
    else:
        message = f"{what} failed (exit code {result.returncode})"
    hint = ("keep the build within its limits (memory, processes)" if result.stopped_for
            else "make the build finish quickly and without network access")
    return _finding(message, hint=hint, rule="build/failed",
                    evidence=result.tail(EVIDENCE_CHARS))


def build_project(
    root: Path,
    limits: BuildLimits | Limits | None = None,
    timeout: float | None = None,
    unsandboxed_ok: bool = False,
    sandbox: str | None = None,
) -> tuple[Path, list[Finding]]:
    """Build `root` when it needs it; return the folder to serve and findings (check "build").

    `limits` may be BuildLimits or plain project Limits (used for the output); `timeout` overrides the
    build deadline. Without bubblewrap the build is refused (a finding) unless `unsandboxed_ok`.
    `sandbox` is the configured mode ("auto", "off", "require"; $RUNSHOT_SANDBOX wins when set).
    """
    if isinstance(limits, Limits):
        limits = BuildLimits(output=limits)
    limits = limits or BuildLimits()
    if timeout is not None:
        limits = dataclasses.replace(limits, build_seconds=timeout)
    root = Path(root).resolve()
    if not (root / "package.json").is_file():
        return root, []
    data, findings = _read_package(root)
    if data is None:
        return root, findings
    if _build_script(data) is None:
        return root, []  # nothing to build: served as written (its dependencies are not installed)
    if findings:
        return root, findings
    refused = [name for name in REFUSED_CONFIG if (root / name).exists()]
    if refused:
        return root, [
            _finding(f"{name} may not be part of a project that runshot builds (it can change the registry "
                     "or run programs)", where=name) for name in refused
        ]
    if not sandbox_available(sandbox) and not unsandboxed_ok:
        return root, [
            _finding(
                "this project needs a build step, and runshot runs build scripts only inside a sandbox, "
                f"which is not available here ({unavailable_reason(sandbox)})",
                hint="write a static project that needs no build step (plain HTML, CSS and JavaScript modules)",
            )
        ]
    if _has_dependencies(data):
        installed = npm_install(root, limits, sandbox)
        if not installed.ok:
            return root, [_step_failed("npm install", installed, limits.install_seconds)]
    built = npm_build(root, limits, sandbox)
    if not built.ok:
        return root, [_step_failed("npm run build", built, limits.build_seconds)]
    folder, problems = output_dir(root, data)
    if folder is None:
        return root, problems
    return folder, output_problems(folder, limits.output)
