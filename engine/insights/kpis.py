"""KPIs per payee, team and period, as the domain defines them.

The KPI ledger is every deal row except cancellations (a cancellation
corrects a deal; it is not one), each with ``credit``: its amount in the
report currency at the plan's exchange-rate policy, before any windfall
rule, since KPIs describe deals rather than pay. A deal falls in a
period by its close date, which for an open deal is its expected close
date.

Who counts where:

- a payee's deals are the deals they own;
- a team is any node of the hierarchy: its deals are those whose owner
  reports to the manager, directly or not, on the deal's close date;
  its payees (for quotas and payee-months) are those below the manager
  on the last day they are active in the period;
- the company is every deal and every payee.

The aggregates over deals are the built-in metrics of
:mod:`plugins.kpis` (and ``average_discount`` of :mod:`plugins.metrics`),
so a plan's ``metric:`` measure and this module agree by construction.
Quota KPIs read the plans: a payee's quota and measure are those the
plan pays on (see :func:`quota_measure`); a team's are the sums over
its payees who have nobody below them, so that roll-up credit never
counts twice. A ratio that is not defined (nothing to divide by) is
``None``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from engine.calendar import parse_label, periods_between, periods_of_year
from engine.errors import ConfigError
from engine.evaluate import Evaluation, Inputs, converter, evaluate
from engine.loader import Catalog
from engine.plugins import evaluate_metric
from engine.records import LOST, WON, Deal
from engine.roster import Roster, span_days
from engine.spec import Calendar, PayoutCurve, Plan, RateTable
from engine.targets import Slot, Targets, YearToDate, slots

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
LEVELS = ("payee", "team", "company")
COMPANY = "company"

DEAL_KPIS = (
    "open_pipeline", "weighted_pipeline", "open_deals", "win_rate",
    "average_deal_size", "cycle_length", "sales_velocity",
    "average_discount", "deals_closed", "bookings",
)
QUOTA_KPIS = ("quota", "attained", "attainment", "remaining_quota",
              "coverage")
KPI_NAMES = DEAL_KPIS + ("sellers", "productivity") + QUOTA_KPIS

# KPI -> the metric that computes it and the stages it reads.
_METRICS = {
    "open_pipeline": ("open_pipeline", ("open",)),
    "weighted_pipeline": ("weighted_pipeline", ("open",)),
    "open_deals": ("open_deals", ("open",)),
    "win_rate": ("win_rate", (WON, LOST)),
    "average_deal_size": ("average_deal_size", (WON,)),
    "average_discount": ("average_discount", (WON,)),
    "deals_closed": ("deals_closed", (WON,)),
}
_MONTHS = {"year": 12, "quarter": 3, "month": 1}


@dataclass(frozen=True)
class Window:
    """The days a KPI covers: a fiscal period, both ends included."""

    label: str
    start: date
    end: date
    months: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class KpiRow:
    """The KPIs of one payee, team or the company in one period."""

    level: str
    id: str
    name: str
    period: str
    values: dict[str, Decimal | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "id": self.id,
            "name": self.name,
            "period": self.period,
            **{k: decimal_text(v) for k, v in self.values.items()},
        }


@dataclass(frozen=True)
class _LedgerRow:
    deal: Deal
    stage: str
    values: dict[str, Any]

    @property
    def credit(self) -> Decimal:
        return self.values["credit"]


def decimal_text(value: Decimal | None) -> str | None:
    """A Decimal as exact plain digits (never in exponent notation),
    ``None`` kept as ``None``.

    >>> decimal_text(Decimal("1E+3"))
    '1000'
    """
    return None if value is None else format(value, "f")


def stage_group(stage: str) -> str:
    """won, lost, or open for every other stage."""
    return stage if stage in (WON, LOST) else "open"


def ratio(top: Decimal | None, bottom: Decimal | None) -> Decimal | None:
    """``top / bottom``, or None when either is missing or bottom is 0."""
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def quota_measure(plan: Plan) -> str | None:
    """The measure a plan pays on attainment, else its first quota."""
    for component in plan.components.values():
        rule = component.rule
        paid_on_attainment = isinstance(rule, PayoutCurve) or (
            isinstance(rule, RateTable) and rule.basis == "attainment"
        )
        if paid_on_attainment and rule.measure in plan.quotas:
            return rule.measure
    return next(iter(plan.quotas), None)


def plan_threshold(plan: Plan, measure: str) -> Decimal | None:
    """The attainment below which the plan pays nothing on ``measure``.

    A rate table's threshold, or the first point of a payout curve (a
    curve pays nothing below it); None when pay starts at 0 %.
    """
    for component in plan.components.values():
        rule = component.rule
        if getattr(rule, "measure", None) != measure:
            continue
        if isinstance(rule, RateTable) and rule.basis == "attainment":
            if rule.threshold is not None:
                return rule.threshold
        if isinstance(rule, PayoutCurve) and rule.points[0].attainment > 0:
            return rule.points[0].attainment
    return None


class KpiBook:
    """Computes KPIs over one project's plans and data.

    ``evaluation`` is the evaluation of the plans over ``inputs`` for
    the periods asked about; it is made here when not given.
    """

    def __init__(
        self,
        catalog: Catalog,
        inputs: Inputs,
        metrics: Mapping[str, Any],
        labels: Iterable[str] = (),
        evaluation: Evaluation | None = None,
    ):
        self.plans = sorted(catalog.plans, key=lambda p: (p.id, p.starts))
        if not self.plans:
            raise ConfigError(
                "KPIs need at least one plan: its calendar says what a "
                "period is and its currency what amounts are in."
            )
        first = self.plans[0]
        self.calendar = first.calendar
        self.currency = first.currency
        self.metrics = metrics
        self.roster = Roster(inputs.roster)
        self.targets = Targets(
            {p.id: p for p in self.plans}, self.roster, inputs.quotas,
            inputs.target_incentives,
        )
        self.evaluation = evaluation or evaluate(
            catalog, inputs, list(labels), metrics
        )
        amount_of = converter(first, inputs.rates)
        self.ledger = [
            _LedgerRow(d, stage_group(d.stage),
                       {**d.attributes, "credit": amount_of(d)})
            for d in inputs.deals
            if not d.attributes.get("cancels")
        ]
        self.sellers = sorted({d.owner for d in inputs.deals})
        self._above: dict[tuple[str, date], tuple[str, ...]] = {}
        self._slots: dict[tuple[str, str], dict[str, list[Slot]]] = {}

    # -- periods and people ------------------------------------------------

    def window(self, label: str) -> Window:
        """The window of a fiscal label such as FY2026-Q1.

        Raises ConfigError for a label that is not a fiscal period.
        """
        try:
            start, end = parse_label(self.calendar, label)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        kind = "year" if "-" not in label else (
            "quarter" if "-Q" in label else "month"
        )
        return Window(label, start, end, _MONTHS[kind])

    def managers(self, payee: str, day: date) -> tuple[str, ...]:
        key = (payee, day)
        if key not in self._above:
            self._above[key] = tuple(self.roster.managers(payee, day))
        return self._above[key]

    def active_days(self, payee: str, window: Window) -> int:
        spans = self.roster.days_matching(
            payee, window.start, window.end, lambda row: True
        )
        return span_days(spans)

    def last_active_day(self, payee: str, window: Window) -> date | None:
        spans = self.roster.days_matching(
            payee, window.start, window.end, lambda row: True
        )
        return max((end for _, end in spans), default=None)

    def team_of(self, payee: str, window: Window) -> str | None:
        """The payee's manager on their last active day of the window."""
        day = self.last_active_day(payee, window) or window.end
        above = self.managers(payee, day)
        return above[0] if above else None

    def in_team(self, manager: str, payee: str, window: Window) -> bool:
        day = self.last_active_day(payee, window)
        return day is not None and manager in self.managers(payee, day)

    def team_leads(self, window: Window) -> list[str]:
        """Everyone with someone below them at the start or end of it."""
        leads = set()
        for payee in self.roster:
            for day in (window.start, window.end):
                leads.update(self.managers(payee, day)[:1])
        return sorted(leads)

    def has_reports(self, payee: str, day: date) -> bool:
        return any(
            self.managers(other, day)[:1] == (payee,)
            for other in self.roster
        )

    # -- the KPIs ----------------------------------------------------------

    def rows(self, label: str, level: str) -> list[KpiRow]:
        """Every payee's, team's or the company's KPIs in a period."""
        window = self.window(label)
        if level == "company":
            return [self.kpis(level, COMPANY, window)]
        if level == "team":
            ids = self.team_leads(window)
        else:
            ids = [p for p in self.payees(window)]
        return [self.kpis(level, ident, window) for ident in ids]

    def payees(self, window: Window) -> list[str]:
        """Payees active in the window who sell or hold a quota."""
        quota_holders = {
            payee
            for plan in self.plans
            for payee in self.plan_slots(plan, window)
        }
        return [
            p for p in self.roster
            if (p in self.sellers or p in quota_holders)
            and self.active_days(p, window) > 0
        ]

    def kpis(self, level: str, ident: str, window: Window) -> KpiRow:
        """The KPIs of one payee, team (by its manager) or the company."""
        if level not in LEVELS:
            raise ConfigError(
                f"'{level}' is not a KPI level; use payee, team or company."
            )
        deals = [r for r in self.ledger if self._counts(level, ident, r)]
        values = self.deal_kpis(deals, window)

        sellers = self.sellers_in(level, ident, window)
        values["sellers"] = Decimal(len(sellers))
        months = self.payee_months(sellers, window)
        values["productivity"] = ratio(values["bookings"], months)

        quota, attained = self.quota_and_attained(level, ident, window)
        values["quota"] = quota
        values["attained"] = attained
        values["attainment"] = ratio(attained, quota)
        remaining = None if quota is None else quota - attained
        values["remaining_quota"] = remaining
        if remaining is not None and remaining <= 0:
            remaining = None
        values["coverage"] = ratio(values["weighted_pipeline"], remaining)

        name = "Company" if level == "company" else self.roster.name(ident)
        return KpiRow(level, ident, name, window.label, values)

    def _counts(self, level: str, ident: str, row: _LedgerRow) -> bool:
        if level == "company":
            return True
        if level == "payee":
            return row.deal.owner == ident
        return ident in self.managers(row.deal.owner, row.deal.close_date)

    def deal_kpis(
        self, deals: list[_LedgerRow], window: Window
    ) -> dict[str, Decimal | None]:
        """The KPIs that are aggregates over deals, in the window."""
        inside = [r for r in deals if r.deal.close_date in window]
        values: dict[str, Decimal | None] = {}
        for kpi, (name, stages) in _METRICS.items():
            rows = [r.values for r in inside if r.stage in stages]
            values[kpi] = evaluate_metric(self.metrics[name], rows)

        won = [r for r in inside if r.stage == WON and r.credit > 0]
        values["bookings"] = sum((r.credit for r in won), ZERO)
        values["cycle_length"] = cycle_length(r.deal for r in won)
        values["sales_velocity"] = sales_velocity(values)
        return {kpi: values[kpi] for kpi in DEAL_KPIS}

    def sellers_in(self, level: str, ident: str, window: Window) -> list[str]:
        """The sellers (owners of deals) a level counts, active in it."""
        if level == "payee":
            chosen = [ident] if ident in self.sellers else []
        elif level == "team":
            chosen = [
                p for p in self.sellers if self.in_team(ident, p, window)
            ]
        else:
            chosen = self.sellers
        return [p for p in chosen if self.active_days(p, window)]

    def payee_months(
        self, sellers: Iterable[str], window: Window
    ) -> Decimal | None:
        """Active payee-months: each seller's active days over the
        window's days, times its months."""
        days = sum(self.active_days(p, window) for p in sellers)
        if not days:
            return None
        return Decimal(days) * window.months / window.days

    # -- quotas ------------------------------------------------------------

    def quota_and_attained(
        self, level: str, ident: str, window: Window
    ) -> tuple[Decimal | None, Decimal]:
        """The quota and the measure against it, summed over the level."""
        parts = []
        for plan in self.plans:
            for payee, plan_slots in self.plan_slots(plan, window).items():
                if self._holds(level, ident, payee, plan_slots[-1]):
                    parts.append(self.plan_part(plan, plan_slots))
        found = [p for p in parts if p is not None]
        if not found:
            return None, ZERO
        quota = sum((q for q, _ in found), ZERO)
        return quota, sum((v for _, v in found), ZERO)

    def _holds(self, level, ident, payee, slot: Slot) -> bool:
        if level == "payee":
            return payee == ident
        if self.has_reports(payee, slot.last_day):
            return False
        if level == "company":
            return True
        return ident in self.managers(payee, slot.last_day)

    def plan_slots(self, plan: Plan, window: Window) -> dict[str, list[Slot]]:
        """Each payee's slots on ``plan`` in the plan periods of the window."""
        key = (f"{plan.id}@{plan.version}", window.label)
        if key not in self._slots:
            periods = [
                p for p in periods_between(
                    plan.calendar, plan.period, window.start, window.end)
                if window.start <= p.start and p.end <= window.end
            ]
            found: dict[str, list[Slot]] = {}
            if quota_measure(plan) is not None:
                for slot in slots(plan, self.roster, periods):
                    found.setdefault(slot.payee_id, []).append(slot)
            self._slots[key] = found
        return self._slots[key]

    def plan_part(
        self, plan: Plan, plan_slots: list[Slot]
    ) -> tuple[Decimal, Decimal] | None:
        """(quota, measure) of one payee on ``plan`` over the slots.

        A cumulative plan measures the year to date, so its last slot
        tells both; a periodic plan's slots add up.
        """
        measure = quota_measure(plan)
        table = self.evaluation.measures.get(f"{plan.id}@{plan.version}", {})
        if plan.accumulation == "cumulative":
            plan_slots = plan_slots[-1:]
        quota = attained = ZERO
        for slot in plan_slots:
            found = table.get((slot.payee_id, slot.period.label))
            if found is None:
                logger.debug("No measures for %s in %s on %s",
                             slot.payee_id, slot.period.label, plan.id)
                return None
            quota += self._quota(plan, slot, measure)
            attained += found[measure].value or ZERO
        return quota, attained

    def _quota(self, plan: Plan, slot: Slot, measure: str) -> Decimal:
        if plan.accumulation != "cumulative":
            return self.targets.quota(plan, slot, measure).amount
        year = periods_of_year(
            plan.calendar, slot.period.fiscal_year, plan.period
        )
        earlier = [
            s for s in slots(plan, self.roster, year)
            if s.payee_id == slot.payee_id and s.period < slot.period
        ]
        ytd = YearToDate(self.targets, earlier)
        return ytd.quota(plan, slot, measure).amount


def data_periods(catalog: Catalog, inputs: Inputs) -> list[str]:
    """The periods of the first plan's kind that the deals reach, within
    the plans' effective dates, in order."""
    plans = sorted(catalog.plans, key=lambda p: (p.id, p.starts))
    if not plans or not inputs.deals:
        return []
    first = plans[0]
    closes = [d.close_date for d in inputs.deals]
    start = max(min(p.starts for p in plans), min(closes))
    ends = [p.ends for p in plans]
    last = max(closes)
    if None not in ends:
        last = min(last, max(ends))
    if start > last:
        return []
    found = periods_between(first.calendar, first.period, start, last)
    return [period.label for period in found]


def current_period(calendar: Calendar, labels: list[str], day: date) -> str:
    """The label among ``labels`` that holds ``day``; the first or last
    when the day falls before or after them all."""
    spans = [(label, *parse_label(calendar, label)) for label in labels]
    for label, start, end in spans:
        if start <= day <= end:
            return label
    return spans[0][0] if day < spans[0][1] else spans[-1][0]


def cycle_length(deals: Iterable[Deal]) -> Decimal | None:
    """Average days from created to closed over the deals that say both."""
    days = [
        (d.close_date - d.attributes["created_date"]).days
        for d in deals
        if d.attributes.get("created_date") is not None
    ]
    if not days:
        return None
    return Decimal(sum(days)) / len(days)


def sales_velocity(values: Mapping[str, Decimal | None]) -> Decimal | None:
    """Open deals x win rate x average deal size / cycle length, per day."""
    parts = [values.get(k) for k in
             ("open_deals", "win_rate", "average_deal_size")]
    if any(p is None for p in parts):
        return None
    open_deals, win_rate, size = parts
    return ratio(open_deals * win_rate * size, values.get("cycle_length"))
