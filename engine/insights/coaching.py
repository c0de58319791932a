"""Coaching rules: who needs help with what, and the numbers behind it.

A rules file (``kind: coaching``) holds rules over KPIs. Each rule has a
condition (``when``) in the plan expression language over the payee's
KPIs (``win_rate``) and their team's (``team_win_rate``), a ``focus``
that says what to work on, and the ``evidence`` to show: the payee's
value beside the team's. The file is checked like a plan: the schema,
then every condition, with findings at their line and column.

A payee's team is their manager's team at the end of the period (the
company for a payee without a manager); the team's values are its
KPIs as :mod:`engine.insights.kpis` computes them, so ``team_sellers``
turns a team total into a per-seller figure. A KPI that is not defined
is missing, and every comparison with a missing value is false, so a
rule never fires on a number that does not exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import schema
from engine.errors import (
    ExpressionError,
    Finding,
    InvalidPlanError,
    JsonPath,
    Location,
    YamlSyntaxError,
)
from engine.expressions import Expression, check_names, parse_expression
from engine.loader import expression_finding
from engine.yamlio import YamlDocument, load_yaml

from .kpis import COMPANY, KPI_NAMES, KpiBook, decimal_text

logger = logging.getLogger(__name__)

TEAM = "team_"
COACHING_NAMES = KPI_NAMES + tuple(TEAM + name for name in KPI_NAMES)


@dataclass(frozen=True)
class CoachingRule:
    id: str
    title: str
    when: Expression
    focus: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class CoachingRules:
    """The rules of one coaching file."""

    id: str
    name: str
    rules: tuple[CoachingRule, ...]
    file: str = ""


@dataclass(frozen=True)
class Flag:
    """A rule that fired for a payee, with its evidence."""

    payee_id: str
    name: str
    period: str
    team: str
    rule: str
    title: str
    focus: str
    evidence: dict[str, dict[str, str | None]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "payee_id": self.payee_id,
            "name": self.name,
            "period": self.period,
            "team": self.team,
            "rule": self.rule,
            "title": self.title,
            "focus": self.focus,
            "evidence": self.evidence,
        }


# -- reading and checking -----------------------------------------------------


def check_rules_file(path: str | Path) -> list[Finding]:
    """Every problem of a coaching file, as findings; empty when valid."""
    return _read(Path(path))[1]


def load_rules(path: str | Path) -> CoachingRules:
    """Read a coaching file; raises InvalidPlanError when it has errors."""
    rules, findings = _read(Path(path))
    if rules is None or any(f.is_error for f in findings):
        raise InvalidPlanError(findings)
    return rules


def _read(path: Path) -> tuple[CoachingRules | None, list[Finding]]:
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        return None, [Finding("E-YAML", exc.reason, exc.location)]
    except OSError as exc:
        where = Location(str(path))
        return None, [Finding("E-DOCUMENT", f"Cannot read it: {exc}.", where)]

    def locate(at: JsonPath, at_key: bool = False) -> Location:
        return doc.locate_key(at) if at_key else doc.locate(at)

    findings = schema.check("coaching", doc.data, locate)
    if findings:
        return None, findings
    built = [_rule(doc, index, findings) for index in
             range(len(doc.data["rules"]))]
    _check_unique(doc, findings)
    data = doc.data
    rules = CoachingRules(
        id=data["id"],
        name=data.get("name", data["id"]),
        rules=tuple(rule for rule in built if rule is not None),
        file=str(path),
    )
    return rules, findings


def _rule(doc: YamlDocument, index: int, findings) -> CoachingRule | None:
    body = doc.data["rules"][index]
    path: JsonPath = ("rules", index)
    when = _condition(doc, body["when"], path + ("when",), findings)
    evidence = tuple(body.get("evidence", ()))
    for position, name in enumerate(evidence):
        if name not in COACHING_NAMES:
            findings.append(_unknown(doc, name, None,
                                     path + ("evidence", position)))
    if when is None:
        return None
    if not evidence:
        evidence = tuple(dict.fromkeys(
            name.removeprefix(TEAM) for name in sorted(when.names)
        ))
    return CoachingRule(body["id"], body["title"], when, body["focus"],
                        evidence)


def _condition(doc, text: str, path: JsonPath, findings):
    try:
        expr = parse_expression(text, "condition")
    except ExpressionError as exc:
        findings.append(expression_finding(doc, path, exc))
        return None
    unknown = check_names(expr, COACHING_NAMES)
    for name, suggestion in unknown:
        findings.append(_unknown(doc, name, suggestion, path))
    return None if unknown else expr


def _unknown(doc, name: str, suggestion: str | None, path) -> Finding:
    hint = f" Did you mean '{suggestion}'?" if suggestion else ""
    message = (
        f"'{name}' is not a KPI.{hint} KPIs: {', '.join(KPI_NAMES)}; "
        f"put '{TEAM}' before a name for the team's value."
    )
    return Finding("E-UNKNOWN-NAME", message, doc.locate(path))


def _check_unique(doc: YamlDocument, findings: list[Finding]) -> None:
    seen: set[str] = set()
    for index, body in enumerate(doc.data["rules"]):
        if body["id"] in seen:
            findings.append(Finding(
                "E-DUPLICATE-ID",
                f"Rule id '{body['id']}' is used twice. Give each rule "
                "its own id.",
                doc.locate(("rules", index, "id")),
            ))
        seen.add(body["id"])


# -- applying -----------------------------------------------------------------


def coach(book: KpiBook, rules: CoachingRules, label: str) -> list[Flag]:
    """The flags that fire for each seller in the period ``label``."""
    window = book.window(label)
    teams: dict[str, dict] = {}
    flags = []
    for payee in book.payees(window):
        if payee not in book.sellers:
            continue
        own = book.kpis("payee", payee, window).values
        team = book.team_of(payee, window) or COMPANY
        if team not in teams:
            level = "company" if team == COMPANY else "team"
            teams[team] = book.kpis(level, team, window).values
        values = {**own, **{TEAM + k: v for k, v in teams[team].items()}}
        for rule in rules.rules:
            if rule.when.test(values):
                flags.append(_flag(book, payee, team, label, rule, own,
                                   teams[team]))
    logger.info("%d coaching flag(s) in %s", len(flags), label)
    return flags


def _flag(book, payee, team, label, rule, own, theirs) -> Flag:
    evidence = {
        name: {"payee": decimal_text(own[name]),
               "team": decimal_text(theirs[name])}
        for name in (n.removeprefix(TEAM) for n in rule.evidence)
    }
    return Flag(payee, book.roster.name(payee), label, team, rule.id,
                rule.title, rule.focus, evidence)
