"""Every figure a report shows, as one JSON-ready dict.

:func:`build_report_data` evaluates the project's plans and gathers the
attainment, payouts, KPI trends, forecast and coaching flags that the
HTML dashboard and statements render, so a test can compare what a page
shows with the engine's numbers. Money and ratios are exact decimal
strings, dates ISO strings; only forecast percentiles are rounded (to
0.01 % and to the cent), since they come from a simulation.

Pay comes from evaluating the plans; closed periods and manual
adjustments kept in the run store are not applied here.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.evaluate import evaluate
from engine.results import PayoutLine

from . import Workspace, load_workspace
from .coaching import coach, load_rules
from .forecast import DEFAULT_SIMULATIONS, forecast
from .kpis import KpiBook, decimal_text, quota_measure, ratio

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
DEFAULT_RULES = Path("plan_specs") / "coaching" / "default.yaml"
# Report key -> KPI name, for the company's KPIs by period.
TREND_KEYS = {
    "open_pipeline": "open_pipeline",
    "weighted_pipeline": "weighted_pipeline",
    "win_rate": "win_rate",
    "average_deal_size": "average_deal_size",
    "cycle_length_days": "cycle_length",
    "sales_velocity_per_day": "sales_velocity",
    "average_discount": "average_discount",
    "deals_closed": "deals_closed",
    "productivity": "productivity",
}


def build_report_data(
    project_path: Path | None = None,
    *,
    periods: list[str] | None = None,
    as_of: date | None = None,
    seed: int = 7,
    simulations: int = DEFAULT_SIMULATIONS,
    rules: Path | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The report's data for ``periods`` (by default every period the
    data reaches), with the forecast of the period that holds ``as_of``
    (by default today, clipped to the periods shown).

    ``rules`` is a coaching file; by default the project's
    ``plan_specs/coaching/default.yaml``, or none when it has none.
    Raises ConfigError when no project is found, InvalidPlanError for
    invalid plans or rules, DataError for bad data.
    """
    from engine.project import find_project

    path = project_path or find_project()
    if path is None:
        raise ConfigError(
            "No attain.yaml here or in any folder above; name the project."
        )
    workspace = load_workspace(Path(path))
    return _Report(workspace, periods, seed, simulations).build(
        as_of, today or date.today(), _rules_path(workspace, rules)
    )


def default_rules(root: Path) -> Path | None:
    """The project's default coaching rules, when it has them."""
    path = root / DEFAULT_RULES
    return path if path.is_file() else None


def _rules_path(workspace: Workspace, given: Path | None) -> Path | None:
    return given or default_rules(workspace.project.root)


class _Report:
    def __init__(self, workspace: Workspace, periods, seed, simulations):
        self.workspace = workspace
        self.seed = seed
        self.simulations = simulations
        catalog, inputs = workspace.catalog, workspace.inputs
        asked = list(periods or workspace.project.periods)
        self.evaluation = evaluate(catalog, inputs, asked, workspace.metrics)
        self.lines = self.evaluation.lines
        self.periods = asked or _periods_of(self.lines)
        self.book = KpiBook(catalog, inputs, workspace.metrics,
                            evaluation=self.evaluation)
        self.roster = self.book.roster

    def build(self, as_of, today, rules_path) -> dict[str, Any]:
        focus, as_of = self._focus(as_of, today)
        attainment = self.attainment()
        projection = forecast(
            self.workspace.catalog, self.workspace.inputs, focus,
            as_of=as_of, simulations=self.simulations, seed=self.seed,
            metrics=self.workspace.metrics,
        )
        flags = []
        if rules_path is not None:
            flags = coach(self.book, load_rules(rules_path), focus)
        statements = self.statements()
        data = {
            "project": self.workspace.project.name,
            "generated_for": {"periods": list(self.periods),
                              "as_of": projection.as_of.isoformat()},
            "currency": self.book.currency,
            "periods": list(self.periods),
            "payees": [],
            "attainment": attainment,
            "payout_by_component": self.payout_by_component(),
            "leaderboard": self.leaderboard(attainment),
            "kpi_trends": [self.trend(label) for label in self.periods],
            "forecast": [_forecast_row(row) for row in projection.rows],
            "coaching": [_coaching_row(flag) for flag in flags],
            "statements": statements,
        }
        data["payees"] = self.payees(data)
        return data

    def _focus(self, as_of: date | None, today: date) -> tuple[str, date]:
        """The period to forecast and coach, and the forecast date."""
        if not self.periods:
            raise ConfigError("No period to report: the data reaches none.")
        windows = [self.book.window(label) for label in self.periods]
        day = as_of or min(max(today, windows[0].start), windows[-1].end)
        for window in windows:
            if day in window:
                return window.label, day
        return windows[-1].label, as_of or windows[-1].end

    # -- pay -----------------------------------------------------------------

    def attainment(self) -> list[dict[str, Any]]:
        rows = []
        for plan in self.book.plans:
            measure = quota_measure(plan)
            if measure is None:
                continue
            windows = [self.book.window(label) for label in self.periods]
            for window in windows:
                chosen = self.book.plan_slots(plan, window)
                for payee, found in chosen.items():
                    part = self.book.plan_part(plan, found)
                    if part is None:
                        continue
                    quota, value = part
                    rows.append({
                        "payee_id": payee,
                        "name": self.roster.name(payee),
                        "role": self.roster.role_on(
                            payee, found[-1].last_day),
                        "period": window.label,
                        "measure": measure,
                        "value": decimal_text(value),
                        "quota": decimal_text(quota),
                        "attainment": decimal_text(ratio(value, quota)),
                    })
        order = {label: i for i, label in enumerate(self.periods)}
        rows.sort(key=lambda r: (order[r["period"]], r["payee_id"]))
        return rows

    def payout_by_component(self) -> list[dict[str, Any]]:
        totals: dict[tuple[str, str], list] = {}
        for line in self._shown_lines():
            key = (line.plan_id, line.component)
            entry = totals.setdefault(key, [line.component_name, ZERO])
            entry[1] += line.amount
        return [
            {"plan_id": plan, "component": component,
             "component_name": name, "amount": decimal_text(amount)}
            for (plan, component), (name, amount) in sorted(totals.items())
        ]

    def leaderboard(self, attainment) -> list[dict[str, Any]]:
        by_payee: dict[str, dict[str, Any]] = {}
        for row in attainment:
            entry = by_payee.setdefault(row["payee_id"], {
                "payee_id": row["payee_id"], "name": row["name"],
                "role": row["role"], "bookings": ZERO, "quota": ZERO,
            })
            entry["bookings"] += Decimal(row["value"])
            entry["quota"] += Decimal(row["quota"])
            entry["role"] = row["role"]
        paid = self._paid_by_payee()
        ranked = []
        for payee, entry in by_payee.items():
            share = ratio(entry["bookings"], entry["quota"])
            ranked.append((share, payee, entry))
        ranked.sort(key=lambda item: (
            item[0] is None, -(item[0] or ZERO), item[1]))
        return [
            {"rank": rank, **entry,
             "bookings": decimal_text(entry["bookings"]),
             "quota": decimal_text(entry["quota"]),
             "attainment": decimal_text(share),
             "payout": decimal_text(paid.get(payee, ZERO))}
            for rank, (share, payee, entry) in enumerate(ranked, start=1)
        ]

    def _shown_lines(self) -> list[PayoutLine]:
        shown = set(self.periods)
        return [line for line in self.lines if line.period in shown]

    def _paid_by_payee(self) -> dict[str, Decimal]:
        paid: dict[str, Decimal] = {}
        for line in self._shown_lines():
            paid[line.payee_id] = paid.get(line.payee_id, ZERO) + line.amount
        return paid

    def statements(self) -> list[dict[str, Any]]:
        by_payee: dict[str, list[PayoutLine]] = {}
        for line in self._shown_lines():
            by_payee.setdefault(line.payee_id, []).append(line)
        return [
            {
                "payee_id": payee,
                "name": lines[0].payee_name,
                "role": lines[-1].trace.get("role"),
                "currency": lines[0].currency,
                "total": decimal_text(sum((l.amount for l in lines), ZERO)),
                "lines": [_statement_line(line) for line in lines],
            }
            for payee, lines in sorted(by_payee.items())
        ]

    # -- KPIs and people ---------------------------------------------------

    def trend(self, label: str) -> dict[str, Any]:
        values = self.book.rows(label, "company")[0].values
        return {"period": label, **{
            key: decimal_text(values[kpi]) for key, kpi in TREND_KEYS.items()
        }}

    def payees(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Everyone the report names, with role and manager as of the
        last day shown."""
        ids = {row["payee_id"] for row in data["attainment"]}
        ids |= {row["payee_id"] for row in data["statements"]}
        ids |= {row["payee_id"] for row in data["coaching"]}
        ids |= {row["id"] for row in data["forecast"]}
        last = self.book.window(self.periods[-1]).end
        people = []
        for payee in sorted(ids):
            row = _row_on(self.roster, payee, last)
            people.append({
                "payee_id": payee,
                "name": self.roster.name(payee),
                "role": row.role if row else None,
                "manager": row.manager if row else None,
            })
        return people


def _periods_of(lines: list[PayoutLine]) -> list[str]:
    starts: dict[str, date] = {}
    for line in lines:
        starts.setdefault(line.period, line.period_start)
    return sorted(starts, key=lambda label: (starts[label], label))


def _row_on(roster, payee: str, day: date):
    """The payee's roster row on ``day``, or their last one before it."""
    found = None
    for row in roster.stretches(payee):
        if row.effective_from is None or row.effective_from <= day:
            found = row
    return found


def _statement_line(line: PayoutLine) -> dict[str, Any]:
    return {
        "period": line.period,
        "plan_id": line.plan_id,
        "component": line.component,
        "component_name": line.component_name,
        "amount": decimal_text(line.amount),
        "trace": _json_ready(line.trace),
    }


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _forecast_row(row) -> dict[str, Any]:
    return {
        "scope": row.scope,
        "id": row.id,
        "name": row.name,
        "period": row.period,
        "quota": decimal_text(row.quota),
        "closed": decimal_text(row.closed),
        "attainment": (
            None if row.attainment is None else row.attainment.as_dict()
        ),
        "payout": row.payout.as_dict(),
        "below_threshold": row.below_threshold,
        "overdue_deals": list(row.overdue_deals),
    }


def _coaching_row(flag) -> dict[str, Any]:
    return {
        "payee_id": flag.payee_id,
        "name": flag.name,
        "rule": flag.rule,
        "title": flag.title,
        "focus": flag.focus,
        "evidence": flag.evidence,
    }
