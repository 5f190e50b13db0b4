"""An ACT implementation report: runshot's checks over the W3C ACT Rules test cases, per ACT rule.

    python benchmarks/act.py --cases DIR [--rule ID]... [--jobs N] [--checks LIST] [--sample N]
                             [--json PATH] [--from-json OLD.json] [--markdown PATH]

DIR has the layout of the published test cases: `testcases.json`, `testcases/<rule>/<case>.html` and
`test-assets/`, which the pages load by absolute path (`/WAI/content-assets/wcag-act-rules/test-assets/...`).
The selected case pages and the assets are linked (or copied) into a temporary folder under the same paths as
on w3.org, that folder is validated with each case page as its entry (one Validator; `--jobs N` pages at once),
and the temporary folder is removed at the end. Nothing is written into DIR.

Which cases: every HTML case of the ACT rules runshot maps, i.e. the ACT ids declared by the rules of
`rulebook.catalogue()` (axe-core's rules through their actIds, runshot's own through `act=`); `--rule` narrows
that to some ACT rules, `--sample N` to N cases spread evenly over them (the same N cases every time).

How a case is scored: runshot *fails* a case's ACT rule when an error finding's rule declares that ACT id (a
warning is "needs review", not a fail). On a case labelled passed or inapplicable a fail is a *false fail*; on a
case labelled failed, no fail is *missed*; anything else is consistent. Errors of rules that map other ACT rules
(or none) do not count for the case, and are listed apart as "other errors on passed/inapplicable cases".

`--json` keeps every case's outcome and errors; `--from-json OLD` takes the outcomes of the cases not run now from
an earlier run's file, so that rerunning some rules (`--rule`) gives the figures of the whole set.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from importlib.metadata import version

from act_report import earl_comparison, markdown, print_table, tally  # benchmarks/ is on the path of its scripts

from runshot.spec import Spec
from runshot.validators.runner import rulebook
from runshot.validators.checks.a11y import axe_version
from runshot.validators.runner.project import ValidationRequest, ValidationResult, Validator
from runshot.values import ERROR

SERVED_AT = "WAI/content-assets/wcag-act-rules"  # where w3.org serves testcases/ and test-assets/
PAGE_SUFFIXES = (".html", ".htm")
PASSING = ("passed", "inapplicable")


@dataclass(frozen=True)
class Case:
    """One ACT test case: its rule, id, expected outcome and page (relative to the cases folder)."""

    rule: str
    rule_name: str
    id: str
    title: str
    expected: str
    path: str

    @property
    def entry(self) -> str:
        return f"{SERVED_AT}/{self.path}"


@dataclass
class Outcome:
    """What runshot said about one case."""

    rule: str
    id: str
    expected: str
    rule_name: str = ""
    failed_by: list[str] = field(default_factory=list)  # runshot rules whose errors fail the case's ACT rule
    other_errors: list[str] = field(default_factory=list)  # "rule: message (where)" of the other errors
    seconds: float = 0.0
    title: str = ""

    @property
    def verdict(self) -> str:
        failed = bool(self.failed_by)
        if self.expected in PASSING:
            return "false fail" if failed else "consistent"
        return "consistent" if failed else "missed"


def act_map() -> dict[str, tuple[str, ...]]:
    """runshot rule id -> the ACT rule ids it implements, for every declared rule that has some."""
    return {rule_id: rule.act for rule_id, rule in rulebook.catalogue().items() if rule.act}


def load_cases(cases_dir: Path, act_ids: set[str], only: set[str] | None = None) -> list[Case]:
    """The HTML cases of the given ACT rules, in the file's order."""
    try:
        listing = json.loads((cases_dir / "testcases.json").read_text(encoding="utf-8"))["testcases"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"act.py: {cases_dir}/testcases.json is not an ACT test case listing ({exc})") from None
    cases = []
    for t in listing:
        rule, path = t.get("ruleId", ""), t.get("relativePath", "")
        if rule not in act_ids or (only and rule not in only) or not path.endswith(PAGE_SUFFIXES):
            continue
        cases.append(Case(rule, t.get("ruleName", ""), t["testcaseId"], t.get("testcaseTitle", ""),
                          t["expected"], path))
    return cases


def sample(cases: list[Case], count: int) -> list[Case]:
    """`count` cases spread evenly over the list (always the same ones for the same list)."""
    if count <= 0 or count >= len(cases):
        return cases
    step = len(cases) / count
    return [cases[int(i * step)] for i in range(count)]


def _place(source: Path, target: Path) -> None:
    """A hard link to `source` at `target` (a copy where linking is not possible)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def stage(cases_dir: Path, cases: list[Case], root: Path) -> None:
    """The case pages and the test assets under `root`, at the paths w3.org serves them from."""
    served = root / SERVED_AT
    assets = cases_dir / "test-assets"
    if assets.is_dir():
        for source in assets.rglob("*"):
            if source.is_file() and not source.is_symlink():
                _place(source, served / "test-assets" / source.relative_to(assets))
    for case in cases:
        _place(cases_dir / case.path, served / case.path)


def score(case: Case, result: ValidationResult, acts: dict[str, tuple[str, ...]]) -> Outcome:
    """The case's outcome from its validation's error findings."""
    outcome = Outcome(case.rule, case.id, case.expected, case.rule_name, seconds=result.seconds, title=case.title)
    for f in result.findings:
        if f.severity != ERROR:
            continue
        if case.rule in acts.get(f.rule, ()):
            if f.rule not in outcome.failed_by:
                outcome.failed_by.append(f.rule)
        else:
            outcome.other_errors.append(f"{f.rule or f.check}: {f.message[:200]} ({f.where})")
    return outcome


def run_cases(cases: list[Case], root: Path, jobs: int, checks: list[str] | None,
              info: dict | None = None) -> list[Outcome]:
    """Validate every case page of the staged folder, printing one line per case as it finishes; `info` gets the
    browser's name and version."""
    acts = act_map()
    by_entry = {c.entry: c for c in cases}
    requests = [ValidationRequest(root, Spec(title=c.id, body="", source="(none)", entry=c.entry)) for c in cases]
    outcomes: dict[str, Outcome] = {}
    done = [0]

    def on_done(request: ValidationRequest, result: ValidationResult) -> None:
        case = by_entry[request.spec.entry]
        outcome = outcomes[case.entry] = score(case, result, acts)
        done[0] += 1
        if info is not None and result.info.get("browser"):
            info.setdefault("browser", result.info["browser"])
        mark = {"consistent": "ok ", "false fail": "FALSE FAIL", "missed": "missed"}[outcome.verdict]
        said = ", ".join(outcome.failed_by) or "no fail"
        print(f"[{done[0]}/{len(cases)}] {mark} {case.rule} {case.id[:10]} {case.expected} -> {said} "
              f"({result.seconds:.1f} s)", flush=True)

    with Validator() as validator:
        validator.validate_many(requests, checks=checks, jobs=jobs, on_done=on_done)
    return [outcomes[c.entry] for c in cases]


def merge(outcomes: list[Outcome], old: Path) -> list[Outcome]:
    """These outcomes, and those of an earlier run's file for the cases not run now."""
    ran = {(o.rule, o.id) for o in outcomes}
    kept = [Outcome(**{k: v for k, v in c.items() if k in Outcome.__dataclass_fields__})
            for c in json.loads(old.read_text(encoding="utf-8"))["cases"]]
    return [o for o in kept if (o.rule, o.id) not in ran] + outcomes


def versions() -> dict:
    return {"runshot": version("runshot"), "axe-core": axe_version()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, required=True, help="the ACT test cases folder (testcases.json, ...)")
    parser.add_argument("--rule", action="append", help="run only this ACT rule id (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="case pages validated at once (default 1)")
    parser.add_argument("--checks", help="comma-separated checks (default: all, as `runshot check`)")
    parser.add_argument("--sample", type=int, default=0, help="only N cases, spread evenly (stable)")
    parser.add_argument("--json", type=Path, help="write the figures and every case's outcome here")
    parser.add_argument("--from-json", type=Path, help="take the cases not run now from this earlier --json")
    parser.add_argument("--markdown", type=Path, help="write the report as a Markdown table here")
    args = parser.parse_args(argv)
    if not (args.cases / "testcases.json").is_file():
        print(f"act.py: {args.cases} has no testcases.json", file=sys.stderr)
        return 2
    acts = act_map()
    act_ids = {a for ids in acts.values() for a in ids}
    cases = sample(load_cases(args.cases, act_ids, set(args.rule or ()) or None), args.sample)
    if not cases:
        print("act.py: no HTML case of the selected rules", file=sys.stderr)
        return 2
    checks = args.checks.split(",") if args.checks else None
    started = time.monotonic()
    browser: dict = {}
    with tempfile.TemporaryDirectory(prefix="runshot-act-") as tmp:
        stage(args.cases, cases, Path(tmp))
        outcomes = run_cases(cases, Path(tmp), args.jobs, checks, browser)
    wall = time.monotonic() - started
    ran = len(outcomes)
    if args.from_json:
        outcomes = merge(outcomes, args.from_json)
    table = tally(outcomes)
    print_table(table, outcomes)
    print(f"\n{ran} cases run in {wall:.0f} s: {wall / ran:.1f} s per case with --jobs {args.jobs} "
          f"({sum(o.seconds for o in outcomes[-ran:]) / ran:.1f} s per validation)")
    command = " ".join(["benchmarks/act.py", *sys.argv[1:]])
    info = {**versions(), **browser, "date": time.strftime("%Y-%m-%d"), "command": command,
            "seconds_per_case": round(wall / ran, 2), "jobs": args.jobs}
    comparison = earl_comparison(args.cases / "earl", outcomes, acts)
    if args.json:
        args.json.write_text(json.dumps({**info, "rules": table, "compare": comparison,
                                         "cases": [asdict(o) for o in outcomes]}, indent=1), encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(markdown(table, outcomes, info, comparison), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
