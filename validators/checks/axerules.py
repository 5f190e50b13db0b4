"""axe-core's rules as runshot declares them: read from the axe-core source runshot injects.

axe-core declares each of its rules once (id, tags, ACT rule ids, whether it is on by default, whether a failure
only asks for review); runshot reads those declarations instead of repeating them, and gives each rule a severity
by one policy (`axe_rule_severity`): an error only for a WCAG 2.x A/AA rule that axe enables by default and trusts
to fail; a warning for best practices, experimental rules, rules axe ships disabled (target-size), rules whose
failures axe only offers for review, and anything else.
"""

from __future__ import annotations

import re

from runshot.rules import AXE, Rule, Rules
from runshot.values import ERROR, WARNING
from runshot.validators.runner.policy import BEST_PRACTICE, EXPERIMENTAL, WCAG_TAGS

# One rule object in axe-core's (minified) source: {id:"x",...,tags:[...],actIds:[...],...}
_AXE_RULE = re.compile(r'\{id:"([\w-]+)",((?:[^{}\[\]]|\[[^\]]*\])*?\btags:\[[^\]]*\](?:[^{}\[\]]|\[[^\]]*\])*?),all:\[')
_LIST = r'\b{}:\[([^\]]*)\]'  # one list-valued field of a rule object
_AXE_TEXT = re.compile(r'"([\w-]+)":\{description:"((?:[^"\\]|\\.)*)",help:"((?:[^"\\]|\\.)*)"\}')
_WCAG_SC = re.compile(r"^wcag(\d)(\d)(\d+)$")


def wcag_criteria(tags) -> tuple[str, ...]:
    """WCAG success criteria named by axe tags: "wcag143" -> "1.4.3"."""
    out = []
    for tag in tags:
        m = _WCAG_SC.match(str(tag))
        if m:
            out.append(".".join(m.groups()))
    return tuple(out)


def axe_rule_severity(tags, enabled: bool = True, review_on_fail: bool = False) -> str:
    """The severity runshot gives an axe rule's violations: see the module's docstring."""
    tags = {str(t) for t in tags}
    if not enabled or review_on_fail or BEST_PRACTICE in tags or EXPERIMENTAL in tags:
        return WARNING
    return ERROR if tags & WCAG_TAGS else WARNING


def _listed(head: str, key: str) -> str:
    found = re.search(_LIST.format(key), head)
    return found.group(1) if found else ""


def _strings(listing: str | None) -> tuple[str, ...]:
    return tuple(re.findall(r'"([^"]*)"', listing or ""))


def parse_axe_rules(source: str) -> Rules:
    """The rules declared in axe-core's source, as runshot rules of the `a11y` check."""
    texts = {m.group(1): m.group(2).replace('\\"', '"') for m in _AXE_TEXT.finditer(source)}
    rules: dict[str, Rule] = {}
    for m in _AXE_RULE.finditer(source):
        rule_id, head = m.group(1), m.group(2)
        tags, act = _strings(_listed(head, "tags")), _strings(_listed(head, "actIds"))
        if rule_id in rules:
            continue  # checks share ids with rules; the rule object comes first in the source
        enabled = "enabled:!1" not in head
        review = "reviewOnFail:!0" in head
        why = texts.get(rule_id, "")
        notes = [n for n, on in (("off by default in axe-core", not enabled),
                                 ("axe-core only offers its failures for review", review),
                                 ("experimental in axe-core", "experimental" in tags)) if on]
        if notes:
            why = f"{why} ({'; '.join(notes)})" if why else "; ".join(notes)
        rules[rule_id] = Rule(rule_id, axe_rule_severity(tags, enabled, review), why, wcag=wcag_criteria(tags),
                              act=act, check="a11y", source=AXE)
    return Rules(*rules.values())
