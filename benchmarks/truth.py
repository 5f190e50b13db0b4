"""How often runshot's verdicts are right: precision and recall per check over a labelled corpus.

    python benchmarks/truth.py [--json PATH] [--only NAME] [--checks LIST] [--no-fixtures] [--shard K/N]
    python benchmarks/truth.py --from-json PART.json... [--json ALL.json]    # figures of several shards together

Runs the Validator with its default settings (every check unless --checks) over each app of
tests/fixtures/corpus/ (labelled by its label.yaml) and over tests/fixtures/checks/good_*/bad_* (labelled below),
then prints per check TP/FP/FN/TN, precision and recall, overall verdict accuracy and seconds per app, and lists
every false positive and false negative with its message.

Counting, per app and check:
- a bad app's expected check is a TP when a finding of that check (and rule, when the label names one) is there at
  error level (or at any level when the label says `severity: warning`), else an FN;
- an error finding on a good app is an FP of its check (a warning never is); a check with no error on a good app,
  or on a bad app that does not expect it, is a TN;
- errors on a bad app from checks it does not expect are listed as "extra" for a person to judge, not counted.
A finding without a rule id (older checks) matches on its check alone; axe findings give their rule in the message.
The verdict is right when runshot passes a good app (or a bad one whose expectations are all warnings) and fails
a bad one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

from runshot.spec import Spec, parse_spec_file
from runshot.validators.runner.registry import BUILT_INS
from runshot.validators.runner.project import Validator
from runshot.values import ERROR, Finding

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
FIXTURES = ROOT / "tests" / "fixtures" / "checks"
AXE_RULE = re.compile(r"axe rule '([\w-]+)'")
# The runtime check reports under finer names; they count as "runtime".
CHECK_OF = {"console": "runtime", "request": "runtime", "network": "runtime", "exception": "runtime",
            "blank": "runtime", "crash": "runtime"}

# The check fixtures carry no label file: what each bad one is broken in (see tests/test_checks.py).
FIXTURE_LABELS: dict[str, list[dict]] = {
    "bad_anim_errors": [{"check": "motion"}],
    "bad_button_freezes": [{"check": "sweep"}],
    "bad_button_throws": [{"check": "sweep"}],
    "bad_clickable_div": [{"check": "semantics", "rule": "semantics/clickable-div"}],
    "bad_dialog_nonmodal": [{"check": "dialog"}],
    "bad_focus_invisible": [{"check": "keyboard", "rule": "keyboard/focus-invisible"}],
    "bad_keyboard_trap": [{"check": "keyboard", "rule": "keyboard/trap"}],
    "bad_low_contrast": [{"check": "a11y", "rule": "color-contrast"}],
    "bad_missing_alt": [{"check": "a11y", "rule": "image-alt"}],
    "bad_no_lang": [{"check": "a11y", "rule": "html-has-lang"}],
    # axe reports it (landmark-one-main, a best practice); the semantics check says it only when axe did not run
    "bad_no_main": [{"check": "a11y", "rule": "landmark-one-main", "severity": "warning"}],
    "bad_offscreen_main": [{"check": "mobile", "rule": "mobile/main-offscreen", "severity": "warning"}],
    "bad_overflow": [{"check": "mobile", "rule": "mobile/overflow"}],
    "bad_role_button_keys": [{"check": "keyboard", "rule": "keyboard/custom-keys"}],
    "bad_space_cancelled": [{"check": "keyboard", "rule": "keyboard/key-cancelled"}],
    "bad_static_canvas": [{"check": "motion"}],
    "bad_tab_blocked": [{"check": "keyboard", "rule": "keyboard/tab-blocked"}],
    "bad_unlabeled_input": [{"check": "a11y", "rule": "label"}],
    "bad_unreachable": [{"check": "keyboard", "rule": "keyboard/unreachable"}],
}
ANIMATED_FIXTURES = {"good_canvas", "good_css_anim", "bad_static_canvas", "bad_anim_errors"}


def corpus_apps(only: str | None = None, fixtures: bool = True) -> list[tuple[str, Path, dict]]:
    """(name, folder, label) of every labelled app."""
    apps = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        label = yaml.safe_load((folder / "label.yaml").read_text(encoding="utf-8"))
        apps.append((folder.name, folder, label))
    if fixtures:
        for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
            if folder.name.startswith("good_"):
                apps.append((folder.name, folder, {"verdict": "good", "warnings_ok": True}))
            elif folder.name in FIXTURE_LABELS:
                apps.append((folder.name, folder, {"verdict": "bad", "expect": FIXTURE_LABELS[folder.name]}))
    return [a for a in apps if only is None or a[0] == only]


def spec_for(name: str, folder: Path, label: dict) -> Spec:
    if (folder / "spec.md").is_file():
        return parse_spec_file(folder / "spec.md")
    return Spec(title=name, body="A small web app.", source="corpus", entry=label.get("entry", "index.html"),
                animated=name in ANIMATED_FIXTURES)


def rule_of(finding) -> str:
    if finding.rule:
        return finding.rule
    found = AXE_RULE.search(finding.message)
    return found.group(1) if found else ""


def check_of(finding) -> str:
    return CHECK_OF.get(finding.check, finding.check)


def matches(finding, expected: dict) -> bool:
    if check_of(finding) != expected["check"]:
        return False
    if expected.get("severity", ERROR) == ERROR and finding.severity != ERROR:
        return False
    wanted, rule = expected.get("rule"), rule_of(finding)
    return not wanted or not rule or rule == wanted


def expected_pass(label: dict) -> bool:
    expects = label.get("expect") or []
    return label["verdict"] == "good" or all(e.get("severity") == "warning" for e in expects)


def score(apps_results: list[dict], checks: list[str]) -> dict:
    counts = {c: {"TP": 0, "FP": 0, "FN": 0, "TN": 0} for c in checks}
    cases: dict[str, list] = defaultdict(list)
    for app in apps_results:
        findings, label = app["findings"], app["label"]
        expects = label.get("expect") or [] if label["verdict"] == "bad" else []
        expected_checks = {e["check"] for e in expects}
        for check in checks:
            errors = [f for f in findings if check_of(f) == check and f.severity == ERROR]
            if check in expected_checks:
                for e in (e for e in expects if e["check"] == check):
                    if any(matches(f, e) for f in findings):
                        counts[check]["TP"] += 1
                    else:
                        counts[check]["FN"] += 1
                        seen = [f"{f.severity} {rule_of(f) or f.check}: {f.message}" for f in findings if check_of(f) == check]
                        cases["FN"].append((app["name"], check, f"expected {e}; this check said: {seen or 'nothing'}"))
            elif errors and label["verdict"] == "good":
                counts[check]["FP"] += 1
                for f in errors:
                    cases["FP"].append((app["name"], check, f"{rule_of(f) or '-'}: {f.message} ({f.where})"))
            else:
                counts[check]["TN"] += 1
                for f in errors:
                    cases["extra"].append((app["name"], check, f"{rule_of(f) or '-'}: {f.message} ({f.where})"))
    return {"counts": counts, "cases": cases}


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def run(apps: list[tuple[str, Path, dict]], checks: list[str] | None) -> list[dict]:
    results = []
    with Validator() as validator:
        for name, folder, label in apps:
            started = time.monotonic()
            result = validator.validate(folder, spec_for(name, folder, label), checks=checks)
            seconds = time.monotonic() - started
            results.append({"name": name, "label": label, "findings": result.findings, "passed": result.passed,
                            "seconds": seconds})
            right = result.passed == expected_pass(label)
            print(f"{'ok ' if right else 'BAD'} {name:45} {label['verdict']:4} -> "
                  f"{'pass' if result.passed else 'fail'} ({len(result.errors)} errors, {seconds:.1f} s)", flush=True)
    return results


def load_results(paths: list[Path]) -> list[dict]:
    """The per-app results of saved runs, labels read again from the apps' folders."""
    labels = {name: label for name, _, label in corpus_apps()}
    out = []
    for path in paths:
        for app in json.loads(path.read_text())["apps_detail"]:
            findings = [Finding(**{k: v for k, v in f.items() if k in Finding.__dataclass_fields__})
                        for f in app["findings"]]
            out.append({"name": app["name"], "label": labels[app["name"]], "findings": findings,
                        "passed": app["passed"], "seconds": app["seconds"]})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures and every case to this file")
    parser.add_argument("--only", help="run one app (a folder name of the corpus or of the check fixtures)")
    parser.add_argument("--checks", help="comma-separated checks (default: all)")
    parser.add_argument("--no-fixtures", action="store_true", help="the corpus only, not tests/fixtures/checks")
    parser.add_argument("--shard", help="K/N: run the K-th of N slices of the apps (for several machines)")
    parser.add_argument("--from-json", type=Path, nargs="+", help="recount saved --json runs instead of running")
    args = parser.parse_args(argv)
    checks = args.checks.split(",") if args.checks else None
    if args.from_json:
        results = load_results(args.from_json)
    else:
        apps = corpus_apps(args.only, fixtures=not args.no_fixtures)
        if args.shard:
            k, n = (int(x) for x in args.shard.split("/"))
            apps = apps[k - 1::n]
        if not apps:
            print(f"no app named {args.only!r}", file=sys.stderr)
            return 2
        results = run(apps, checks)
    scored = score(results, checks or [c.name for c in BUILT_INS] + ["build"])
    print(f"\n{'check':12} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4} {'precision':>10} {'recall':>7}")
    table = {}
    for check, c in scored["counts"].items():
        precision, recall = ratio(c["TP"], c["TP"] + c["FP"]), ratio(c["TP"], c["TP"] + c["FN"])
        table[check] = {**c, "precision": precision, "recall": recall}
        if sum(c.values()):
            print(f"{check:12} {c['TP']:4} {c['FP']:4} {c['FN']:4} {c['TN']:4} "
                  f"{'-' if precision is None else f'{precision:.2f}':>10} {'-' if recall is None else f'{recall:.2f}':>7}")
    right = sum(r["passed"] == expected_pass(r["label"]) for r in results)
    seconds = sum(r["seconds"] for r in results) / len(results)
    good = sum(r["label"]["verdict"] == "good" for r in results)
    print(f"\nverdicts right: {right}/{len(results)} ({right / len(results):.0%}); apps: {good} good, "
          f"{len(results) - good} bad; {seconds:.1f} s per app")
    for kind, title in (("FP", "false positives (errors on good apps)"), ("FN", "false negatives (missed problems)"),
                        ("extra", "other errors on bad apps (not counted)")):
        if scored["cases"][kind]:
            print(f"\n{title}:")
            for name, check, text in scored["cases"][kind]:
                print(f"  {name} [{check}] {text}")
    if args.json:
        args.json.write_text(json.dumps({
            "checks": table, "verdicts_right": right, "apps": len(results), "seconds_per_app": round(seconds, 2),
            "cases": scored["cases"],
            "apps_detail": [{"name": r["name"], "verdict": r["label"]["verdict"], "passed": r["passed"],
                             "seconds": round(r["seconds"], 2), "findings": [f.to_dict() for f in r["findings"]]}
                            for r in results],
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
