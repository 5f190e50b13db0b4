"""Machine-readable verdicts for CI: JSON, JUnit XML (one testcase per check), a Markdown summary.

Checks appear in the order they ran (the check registry's order), then the finding names no check of that name
reported under (console, request, build, ...). Everything written goes through `runshot.redact`.
"""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from runshot import __version__
from runshot.redact import redact_text
from runshot.values import Finding, errors


def check_json(name: str, passed: bool, findings: list[Finding], checks_run: list[str], info: dict) -> dict:
    data = {
        "runshot_version": __version__,
        "project": name,
        "passed": passed,
        "checks": checks_run,
        "errors": len(errors(findings)),
        "warnings": len(findings) - len(errors(findings)),
        "findings": [f.to_dict() for f in findings],
        "info": info,
    }
    if info.get("pages"):  # several pages: each one's verdict, and its findings (also named in each finding)
        data["pages"] = [{**p, "findings": [f.to_dict() for f in findings if f.page == p["page"]]}
                         for p in info["pages"]]
    if info.get("waived"):
        data["waived"] = info["waived"]
    return data


def by_page(findings: list[Finding], info: dict) -> list[tuple[str, list[Finding]]]:
    """(page, its findings) for each page checked, in the order checked; one ("", all) when one page was."""
    pages = [p["page"] for p in (info or {}).get("pages") or []]
    if not pages:
        return [("", findings)]
    return [(page, [f for f in findings if f.page == page]) for page in pages]


def _group(findings: list[Finding], checks_run: list[str]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {c: [] for c in checks_run}
    for f in findings:
        groups.setdefault(f.check, []).append(f)
    return groups


def junit_xml(name: str, findings: list[Finding], checks_run: list[str], seconds: float = 0.0,
              info: dict | None = None) -> str:
    """One <testcase> per check; error findings are its <failure>, warnings go to <system-out>. With several
    pages checked (`info["pages"]`), one <testsuite> per page, named after it."""
    suites = ET.Element("testsuites", name="runshot")
    tests = failures = 0
    for page, items in by_page(findings, info or {}):
        per_page = {p["page"]: p.get("seconds", 0.0) for p in (info or {}).get("pages") or []}
        suite, failed = _suite(f"{name} {page}".strip(), items, checks_run, per_page.get(page, seconds))
        suites.append(suite)
        tests, failures = tests + int(suite.get("tests")), failures + failed
    suites.set("tests", str(tests))
    suites.set("failures", str(failures))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _suite(name: str, findings: list[Finding], checks_run: list[str], seconds: float) -> tuple[ET.Element, int]:
    groups = _group(findings, checks_run)
    suite = ET.Element("testsuite", name=f"runshot: {name}", tests=str(len(groups)), time=f"{seconds:.3f}")
    failures = 0
    for check, items in groups.items():
        case = ET.SubElement(suite, "testcase", classname=f"runshot.{name}", name=check)
        errs = [f for f in items if f.is_error]
        warns = [f for f in items if not f.is_error]
        if errs:
            failures += 1
            fail = ET.SubElement(case, "failure", message=f"{len(errs)} error(s): {errs[0].message[:200]}",
                                 type=check)
            fail.text = "\n\n".join(_describe(f) for f in errs)
        if warns:
            out = ET.SubElement(case, "system-out")
            out.text = "\n\n".join(_describe(f) for f in warns)
    suite.set("failures", str(failures))
    return suite, failures


def fix_command(path, spec_path: str | None = None, checks: list[str] | None = None) -> str:
    """The `runshot fix` command line that would repair a failing project checked this way."""
    words = ["runshot", "fix", str(path)]
    if spec_path:
        words += ["--spec", str(spec_path)]
    if checks:
        words += ["--checks", ",".join(checks)]
    return " ".join(shlex.quote(w) for w in words)


def markdown_summary(name: str, passed: bool, findings: list[Finding], checks_run: list[str],
                     fix: str | None = None, info: dict | None = None, coverage: dict | None = None) -> str:
    groups = _group(findings, checks_run)
    lines = [f"### runshot: {name} — {'✅ passed' if passed else '❌ failed'}", ""]
    pages = (info or {}).get("pages") or []
    if pages:
        lines += ["| page | verdict | errors | warnings |", "|---|---|---:|---:|"]
        lines += [f"| `{_md(p['page'])}` | {'✅' if p['passed'] else '❌'} | {p['errors']} | {p['warnings']} |"
                  for p in pages]
        lines.append("")
    lines += ["| check | errors | warnings |", "|---|---:|---:|"]
    for check, items in groups.items():
        e = sum(1 for f in items if f.is_error)
        lines.append(f"| {check} | {e} | {len(items) - e} |")
    errs = errors(findings)
    if errs:
        lines += ["", "<details><summary>Errors</summary>", ""]
        for f in errs[:50]:
            where = f" — `{f.where}`" if f.where else ""
            page = f"`{_md(f.page)}` " if f.page else ""
            lines.append(f"- {page}**{f.check}**: {_md(f.message)}{where}")
        if len(errs) > 50:
            lines.append(f"- … {len(errs) - 50} more")
        lines += ["", "</details>"]
    waived = (info or {}).get("waived") or []
    if waived:
        lines += ["", f"Waived ({len(waived)}, not counted):", ""]
        lines += [f"- `{_md(w.get('rule', ''))}`: {_md(w['message'])} — {_md(w['reason'])}" for w in waived[:50]]
    if coverage and coverage.get("total"):
        lines += ["", *coverage_markdown(coverage)]
    if fix and not passed:
        lines += ["", f"Repair it with a model: `{fix}`"]
    return "\n".join(lines) + "\n"


def coverage_markdown(coverage: dict) -> list[str]:
    """The spec's requirements as a Markdown table: what verifies each, or why nothing does."""
    lines = [f"**Spec coverage:** {coverage.get('verified', 0)} of {coverage.get('total', 0)} requirements verified",
             "", "| requirement | verified by |", "|---|---|"]
    for r in coverage.get("requirements", []):
        by = r.get("verified_by")
        how = f"{by}: {', '.join(r.get('checks', []))}" if by else f"**not verified** ({r.get('why', '')})"
        lines.append(f"| {_md(r.get('requirement', ''))} | {_md(how)} |")
    return lines


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def _describe(f: Finding) -> str:
    parts = [f"[{f.severity}] {f.message}"]
    if f.page:
        parts.append(f"page: {f.page}")
    if f.where:
        parts.append(f"where: {f.where}")
    if f.hint:
        parts.append(f"hint: {f.hint}")
    if f.evidence:
        parts.append(f"evidence:\n{f.evidence}")
    return "\n".join(parts)


def write_text(path: str, text: str, secrets: tuple[str, ...] = ()) -> None:
    """Write to PATH, or to standard output when PATH is '-'; credentials in URLs and `secrets` are redacted."""
    text = redact_text(text, secrets)
    if path == "-":
        print(text, end="")
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
