"""The figures of an ACT implementation report (benchmarks/act.py): per ACT rule, totals, and the same figures for
the published reports of other engines (EARL files) over the same cases."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Iterable

PASSING = ("passed", "inapplicable")
RULE_PAGE = "https://www.w3.org/WAI/standards-guidelines/act/rules/{}/"
_QUALWEB_RULE = re.compile(r"/rules/(\w{6})/?$")
# The EARL reports read for comparison: file name -> the engine's name.
EARL_FILES = {"axe-core.json": "axe-core", "qualweb.json": "QualWeb"}


def tally(outcomes: Iterable) -> dict[str, dict]:
    """Per ACT rule (and "total"): cases, passed/inapplicable and failed cases, consistent, false fails, missed."""
    table: dict[str, dict] = {}
    for o in sorted(outcomes, key=lambda o: o.rule):
        for key in (o.rule, "total"):
            row = table.setdefault(key, {"name": "" if key == "total" else o.rule_name, "cases": 0, "passing": 0,
                                         "failed": 0, "consistent": 0, "false_fails": 0, "caught": 0, "missed": 0})
            row["cases"] += 1
            row["passing" if o.expected in PASSING else "failed"] += 1
            verdict = o.verdict
            row["consistent"] += verdict == "consistent"
            row["false_fails"] += verdict == "false fail"
            row["missed"] += verdict == "missed"
            row["caught"] += o.expected == "failed" and verdict == "consistent"
    total = table.pop("total", None)
    if total is not None:
        table["total"] = total
    return table


def print_table(table: dict[str, dict], outcomes: list) -> None:
    print(f"\n{'ACT rule':8} {'cases':>5} {'consistent':>10} {'false fails':>11} {'missed':>6}  name")
    for rule, row in table.items():
        print(f"{rule:8} {row['cases']:5} {row['consistent']:10} {row['false_fails']:11} {row['missed']:6}  "
              f"{row['name'][:60]}")
    total = table.get("total")
    if total:
        print(f"\nfalse fails: {total['false_fails']} of {total['passing']} passed/inapplicable cases; "
              f"caught: {total['caught']} of {total['failed']} failed cases")
    false = [o for o in outcomes if o.verdict == "false fail"]
    if false:
        print("\nfalse fails:")
        for o in false:
            print(f"  {o.rule} {o.id} ({o.expected}, {o.title}): {', '.join(o.failed_by)}")
    others = other_errors(outcomes)
    if others:
        print("\nother errors on passed/inapplicable cases (rules that do not map the case's ACT rule):")
        for rule, cases in others.items():
            print(f"  {rule}: {len(cases)} case(s), e.g. {cases[0]}")


def other_errors(outcomes: Iterable) -> dict[str, list[str]]:
    """rule -> "ACT-rule/case" of the passed/inapplicable cases where that rule (mapping another ACT rule, or
    none) reported an error."""
    found: dict[str, list[str]] = defaultdict(list)
    for o in outcomes:
        if o.expected not in PASSING:
            continue
        for text in dict.fromkeys(e.split(":", 1)[0] for e in o.other_errors):
            found[text].append(f"{o.rule}/{o.id}")
    return dict(sorted(found.items(), key=lambda kv: -len(kv[1])))


def _earl_assertions(graph) -> Iterable[tuple[str, str, str]]:
    """(page URL, tool rule, outcome) of every assertion of an EARL report (axe-core's and QualWeb's shapes)."""
    for item in graph:
        if not isinstance(item, dict):
            continue
        for a in item.get("assertions") or [item]:
            result, test = a.get("result"), a.get("test")
            if not isinstance(result, dict) or not isinstance(test, dict):
                continue
            subject = a.get("subject") or item
            page = subject.get("source") or subject.get("@id") or item.get("source") or ""
            m = _QUALWEB_RULE.search(test.get("@id", ""))
            yield page, m.group(1) if m else test.get("title", ""), str(result.get("outcome", ""))


def earl_failures(path: Path, acts: dict[str, tuple[str, ...]]) -> tuple[set[tuple[str, str]], set[str]]:
    """From one EARL report: the (ACT rule, case id) pairs the engine failed, and the case ids it reported on."""
    data = json.loads(path.read_text(encoding="utf-8"))
    graph = data.get("@graph", data) if isinstance(data, dict) else data
    failed, seen = set(), set()
    for page, rule, outcome in _earl_assertions(graph if isinstance(graph, list) else [graph]):
        case = page.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
        seen.add(case)
        if outcome.endswith("failed"):
            for act in (rule,) if re.fullmatch(r"\w{6}", rule) and rule not in acts else acts.get(rule, ()):
                failed.add((act, case))
    return failed, seen


def earl_comparison(earl_dir: Path, outcomes: list, acts: dict[str, tuple[str, ...]]) -> dict[str, dict]:
    """For each published report found: its false fails and caught failed cases over the same cases (axe-core's
    rules mapped to ACT rules through the actIds of the axe-core runshot injects)."""
    out = {}
    for name, engine in EARL_FILES.items():
        path = earl_dir / name
        if not path.is_file():
            continue
        try:
            failed, seen = earl_failures(path, acts)
        except (OSError, ValueError, AttributeError):
            continue
        row = {"reported_on": 0, "false_fails": 0, "passing": 0, "caught": 0, "failed": 0, "false_fail_cases": []}
        for o in outcomes:
            row["reported_on"] += o.id in seen
            hit = (o.rule, o.id) in failed
            if o.expected in PASSING:
                row["passing"] += 1
                row["false_fails"] += hit
                if hit:
                    row["false_fail_cases"].append(f"{o.rule}/{o.id}")
            else:
                row["failed"] += 1
                row["caught"] += hit
        out[engine] = row
    return out


def markdown(table: dict[str, dict], outcomes: list, info: dict, comparison: dict[str, dict]) -> str:
    """The per-rule table, the totals and the comparison, as Markdown."""
    browser = f" in {info['browser']}" if info.get("browser") else ""
    lines = [f"runshot {info['runshot']} with axe-core {info['axe-core']}{browser}, {info['date']}: "
             f"`{info['command']}` ({info['seconds_per_case']} s per case with --jobs {info['jobs']}).", "",
             "| ACT rule | name | cases | consistent | false fails | missed |", "|---|---|---:|---:|---:|---:|"]
    for rule, row in table.items():
        label = "**total**" if rule == "total" else f"[{rule}]({RULE_PAGE.format(rule)})"
        lines.append(f"| {label} | {row['name']} | {row['cases']} | {row['consistent']} | {row['false_fails']} | "
                     f"{row['missed']} |")
    total = table.get("total", {})
    if comparison:
        lines += ["", "| engine | false fails on passed/inapplicable | failed cases caught |", "|---|---:|---:|",
                  f"| runshot | {total.get('false_fails', 0)} of {total.get('passing', 0)} | "
                  f"{total.get('caught', 0)} of {total.get('failed', 0)} |"]
        for engine, row in comparison.items():
            lines.append(f"| {engine} (published report) | {row['false_fails']} of {row['passing']} | "
                         f"{row['caught']} of {row['failed']} |")
    false = [o for o in outcomes if o.verdict == "false fail"]
    if false:
        lines += ["", "False fails:", ""]
        lines += [f"- {o.rule} `{o.id}` ({o.expected}, {o.title}): {', '.join(o.failed_by)}" for o in false]
    return "\n".join(lines) + "\n"
