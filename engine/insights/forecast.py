"""Forecast end-of-period attainment and payout, as a range.

As of a date, each payee's period is made of three parts:

- **closed**: the deals won or lost on or before the date, credited and
  measured by the plans exactly as a run would (an evaluation of the
  ledger cut at that date);
- **pipeline**: the deals open in the snapshot in force at the date
  (for each deal its latest snapshot dated on or before it) whose
  expected close date falls in the period, as the open pipeline is
  defined. A deal created later is unknown then. Each may still close
  after the date; one whose expected close date has passed is *overdue*
  and is assumed to close the next day. A deal still open with an
  expected close date before the period is *stale*: flagged as overdue
  but not forecast to close, since nobody has dated it into this
  period. Without any snapshot, the ledger's open deals stand in;
- **run rate**: deals not yet in the pipeline that will be created and
  won before the period ends. It is the share of past bookings that
  closed in the period they were created in, times the payee's average
  measure in the earlier periods of the year, times the share of the
  period still to come; 0 with no earlier period.

A seeded Monte Carlo simulation then wins each pipeline deal with its
probability, credits the wins through the plan's crediting (splits,
overlays and roll-ups included) and runs the plan's second stage on
each payee's projected measures: the payout is the period's component
earnings, before draws, holdbacks and clawbacks. The draws use floats;
attainment and payout are exact Decimals in every draw, and the
percentiles come back rounded to 0.01 % and to the cent.

A team is a manager and everyone below them at the period end: its
attainment is that of its members who have nobody below them (so that
roll-up credit does not count twice), its payout the sum of everyone's.
"""

from __future__ import annotations

import decimal
import logging
import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from random import Random
from typing import Any, Iterable, Mapping, Sequence

from engine.calendar import Period, parse_label, period_of, periods_of_year
from engine.crediting import Credit, Crediter
from engine.data import Snapshot
from engine.errors import ConfigError, DataError
from engine.evaluate import PRECISION, Evaluation, Inputs, converter, evaluate
from engine.loader import Catalog
from engine.measures import (
    Contribution,
    MeasureResult,
    compute_measures,
    plan_measures,
)
from engine.payout import evaluate as pay_component
from engine.records import LOST, WON, Deal
from engine.roster import Roster
from engine.spec import Bonus, Component, Measure, Plan, RateTable, Spif
from engine.targets import Slot, Targets, YearToDate, slots

from .kpis import decimal_text, plan_threshold, quota_measure

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
DEFAULT_SIMULATIONS = 2000
DEFAULT_THRESHOLD = Decimal("0.5")
CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")
ADDITIVE = ("sum", "count")


@dataclass(frozen=True)
class Range:
    """The 10th, 50th and 90th percentiles of a simulated value."""

    p10: Decimal
    p50: Decimal
    p90: Decimal

    @classmethod
    def of(cls, values: Sequence[Decimal], unit: Decimal) -> Range:
        """Nearest-rank percentiles of ``values``, rounded to ``unit``."""
        ordered = sorted(values)

        def rank(share: float) -> Decimal:
            index = max(0, math.ceil(share * len(ordered)) - 1)
            return ordered[index].quantize(unit, decimal.ROUND_HALF_UP)

        return cls(rank(0.1), rank(0.5), rank(0.9))

    def as_dict(self) -> dict[str, str | None]:
        return {"p10": decimal_text(self.p10), "p50": decimal_text(self.p50),
                "p90": decimal_text(self.p90)}


@dataclass(frozen=True)
class OpenDeal:
    """A pipeline deal as of the forecast date, as it would close.

    ``deal`` is the ledger's deal with the snapshot's amount, stage won
    and the day it is assumed to close.
    """

    deal: Deal
    probability: float
    expected_close: date
    overdue: bool
    stale: bool = False

    @property
    def chance(self) -> float:
        """The probability the simulation wins it with."""
        return 0.0 if self.stale else self.probability


@dataclass
class ForecastRow:
    """The projection of one payee or team."""

    scope: str
    id: str
    name: str
    period: str
    plan_id: str | None
    measure: str | None
    quota: Decimal | None
    closed: Decimal | None
    weighted_pipeline: Decimal
    run_rate: Decimal
    attainment: Range | None
    payout: Range
    threshold: Decimal | None
    below_threshold: bool
    overdue_deals: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "id": self.id,
            "name": self.name,
            "period": self.period,
            "plan_id": self.plan_id,
            "measure": self.measure,
            "quota": decimal_text(self.quota),
            "closed": decimal_text(self.closed),
            "weighted_pipeline": decimal_text(self.weighted_pipeline),
            "run_rate": decimal_text(self.run_rate),
            "attainment": (
                None if self.attainment is None
                else self.attainment.as_dict()
            ),
            "payout": self.payout.as_dict(),
            "threshold": decimal_text(self.threshold),
            "below_threshold": self.below_threshold,
            "overdue_deals": list(self.overdue_deals),
        }


@dataclass
class Forecast:
    """Every payee's and team's projection for one period."""

    period: str
    as_of: date
    simulations: int
    seed: int
    currency: str
    pipeline: list[OpenDeal]
    rows: list[ForecastRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "as_of": self.as_of.isoformat(),
            "simulations": self.simulations,
            "seed": self.seed,
            "currency": self.currency,
            "open_deals": len(self.pipeline),
            "rows": [row.as_dict() for row in self.rows],
        }


# -- the pipeline -------------------------------------------------------------


def pipeline_at(
    deals: Sequence[Deal],
    snapshots: Sequence[Snapshot],
    as_of: date,
    first: date,
    last: date,
) -> list[OpenDeal]:
    """The deals open as of ``as_of`` expected to close by ``last``;
    those expected before ``first`` are stale.

    Raises DataError for a snapshot of a deal the ledger lacks.
    """
    if as_of >= last:
        return []
    by_id = {d.deal_id: d for d in deals}
    decided = {
        d.deal_id for d in deals
        if d.stage in (WON, LOST) and d.close_date <= as_of
    }
    found = []
    for snapshot in _latest(snapshots or _ledger_as_snapshots(deals, as_of),
                            as_of):
        if not snapshot.is_open or snapshot.deal_id in decided:
            continue
        if snapshot.close_date > last:
            continue
        deal = by_id.get(snapshot.deal_id)
        if deal is None:
            raise DataError(
                f"The snapshot of deal {snapshot.deal_id!r} names a deal "
                "that is not in the deal ledger.",
                source=snapshot.source,
                row=snapshot.row,
                column="deal_id",
                value=snapshot.deal_id,
            )
        found.append(_as_closing(deal, snapshot, as_of, first))
    return found


def _latest(snapshots: Iterable[Snapshot], as_of: date) -> list[Snapshot]:
    latest: dict[str, Snapshot] = {}
    for snapshot in snapshots:
        if snapshot.snapshot_date > as_of:
            continue
        seen = latest.get(snapshot.deal_id)
        if seen is None or snapshot.snapshot_date > seen.snapshot_date:
            latest[snapshot.deal_id] = snapshot
    return [latest[key] for key in sorted(latest)]


def _ledger_as_snapshots(deals: Sequence[Deal], as_of: date):
    logger.info("No pipeline history: the ledger's open deals stand in.")
    return [
        Snapshot(as_of, d.deal_id, d.stage, d.attributes.get("probability"),
                 d.amount, d.close_date, d.source, d.row)
        for d in deals
        if d.is_open
        and (d.attributes.get("created_date") or as_of) <= as_of
    ]


def _as_closing(
    deal: Deal, snapshot: Snapshot, as_of: date, first: date
) -> OpenDeal:
    overdue = snapshot.close_date < as_of
    closes = max(snapshot.close_date, as_of + timedelta(days=1), first)
    attributes = {
        **deal.attributes,
        "stage": WON,
        "amount": snapshot.amount,
        "close_date": closes,
        "probability": snapshot.probability,
    }
    won = replace(deal, stage=WON, amount=snapshot.amount,
                  close_date=closes, attributes=attributes)
    probability = float(snapshot.probability or 0)
    stale = snapshot.close_date < first
    return OpenDeal(won, probability, snapshot.close_date, overdue, stale)


# -- one payee on one plan ----------------------------------------------------


@dataclass
class _PayeeModel:
    """What one payee's period on one plan depends on, and its pay."""

    plan: Plan
    slot: Slot
    measure: str | None
    quota: Decimal | None
    closed: dict[str, MeasureResult]
    targets: Any
    paid_this_year: dict[str, Decimal]
    paid_before: dict[str, Decimal]
    formulas: tuple[Measure, ...] = ()
    per_deal: frozenset[str] = frozenset()
    run_rate: Decimal = ZERO
    wins: list[tuple[int, dict[str, Decimal], list[Credit]]] = field(
        default_factory=list
    )
    _cache: dict[frozenset[int], tuple[Decimal | None, Decimal]] = field(
        default_factory=dict
    )
    _indices: frozenset[int] | None = None
    _paid: dict[tuple, Decimal] = field(default_factory=dict)

    @property
    def reads(self) -> list[tuple[Component, tuple[str, ...] | None]]:
        return [(c, _reads(c)) for c in self.plan.components.values()]

    @property
    def indices(self) -> frozenset[int]:
        if self._indices is None:
            self._indices = frozenset(index for index, _, _ in self.wins)
        return self._indices

    def outcome(self, won: frozenset[int]) -> tuple[Decimal | None, Decimal]:
        """The quota measure and the payout if exactly ``won`` close."""
        key = won & self.indices
        if key not in self._cache:
            self._cache[key] = self._compute(key)
        return self._cache[key]

    def _compute(self, won: frozenset[int]) -> tuple[Decimal | None, Decimal]:
        values = {k: r.value for k, r in self.closed.items()}
        added: dict[str, list[Contribution]] = {}
        for index, vector, credits in self.wins:
            if index not in won:
                continue
            for measure, value in vector.items():
                values[measure] = (values.get(measure) or ZERO) + value
                if measure in self.per_deal:
                    added.setdefault(measure, []).extend(
                        _contributions(credits, value)
                    )
        if self.measure and self.run_rate:
            values[self.measure] = (
                (values.get(self.measure) or ZERO) + self.run_rate
            )
        for measure in self.formulas:
            values[measure.id] = measure.argument.evaluate(values)

        results = {
            key: self._result(key, value, added.get(key, []))
            for key, value in values.items()
        }
        payout = sum(
            (self._pay(component, reads, values, results)
             for component, reads in self.reads),
            ZERO,
        )
        measured = values.get(self.measure) if self.measure else None
        return measured, payout

    def _pay(self, component, reads, values, results) -> Decimal:
        """A component's pay, remembered by the measures it reads."""
        key = None
        if reads is not None:
            key = (component.id, *(values.get(m) for m in reads))
            if key in self._paid:
                return self._paid[key]
        outcome = pay_component(
            self.plan, component, self.slot, results, self.targets,
            self.paid_this_year.get(component.id, ZERO),
        )
        amount = outcome.amount - self.paid_before.get(component.id, ZERO)
        if key is not None:
            self._paid[key] = amount
        return amount

    def _result(self, key, value, added) -> MeasureResult:
        # Only a table that bands each deal by itself needs the deals;
        # every other rule reads the value alone.
        if key in self.per_deal:
            closed = self.closed[key]
            extra = list(added)
            if self.run_rate and key == self.measure:
                extra.append(_run_rate_part(self.run_rate, self.slot))
            return MeasureResult(value, closed.contributions + extra)
        return MeasureResult(value, [], additive=False)


def _reads(component: Component) -> tuple[str, ...] | None:
    """The measures a component's pay depends on; None when it depends
    on the deals themselves (a table that bands each deal)."""
    rule = component.rule
    if isinstance(rule, RateTable):
        if rule.per == "deal":
            return None
        names = {rule.measure}
        for band in rule.bands:
            names |= band.when.names if band.when is not None else set()
        return tuple(sorted(names))
    if isinstance(rule, Spif):
        return (f"spif:{component.id}",)
    if isinstance(rule, Bonus):
        return tuple(sorted(rule.when.names))
    return (rule.measure,)


def _formulas(plan: Plan) -> tuple[Measure, ...]:
    return tuple(
        m for m in plan_measures(plan) if m.aggregate == "formula"
    )


def _per_deal_measures(plan: Plan) -> frozenset[str]:
    return frozenset(
        c.rule.measure for c in plan.components.values()
        if isinstance(c.rule, RateTable) and c.rule.per == "deal"
    )


class _Remembered:
    """Targets that remember each answer: a simulation asks the same
    quota, base rate and target incentive thousands of times."""

    def __init__(self, targets: Targets | YearToDate):
        self._targets = targets
        self._answers: dict[tuple, Any] = {}

    def _ask(self, name: str, plan: Plan, *rest):
        key = (name, plan.id, plan.version, *rest)
        if key not in self._answers:
            method = getattr(self._targets, name)
            self._answers[key] = method(plan, *rest)
        return self._answers[key]

    def quota(self, plan: Plan, slot: Slot, measure: str):
        return self._ask("quota", plan, slot, measure)

    def base_rate(self, plan: Plan, slot: Slot, measure: str):
        return self._ask("base_rate", plan, slot, measure)

    def target_incentive(self, plan: Plan, slot: Slot):
        return self._ask("target_incentive", plan, slot)


def _contributions(credits: list[Credit], value: Decimal):
    credit = credits[0]
    deal = credit.deal
    return [Contribution(deal.deal_id, deal.close_date, value, credit.amount,
                         credit.credit_type, credit.rule)]


def _run_rate_part(amount: Decimal, slot: Slot) -> Contribution:
    return Contribution("run rate", slot.period.end, amount, amount,
                        "direct", "run rate")


# -- the forecast -------------------------------------------------------------


def forecast(
    catalog: Catalog,
    inputs: Inputs,
    label: str,
    *,
    as_of: date | None = None,
    simulations: int = DEFAULT_SIMULATIONS,
    seed: int = 7,
    metrics: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> Forecast:
    """Project every payee's and team's period ``label`` as of a date.

    ``as_of`` defaults to ``today`` (the clock's date) clipped to the
    period. Plans whose period is not of the label's kind (a monthly
    plan for a quarter) are left out. Raises ConfigError for a label
    that is not a fiscal period or a number of simulations below 1.
    """
    if simulations < 1:
        raise ConfigError("A forecast needs at least 1 simulation.")
    with decimal.localcontext() as ctx:
        ctx.prec = PRECISION
        ctx.traps[decimal.Inexact] = False
        forecaster = _Forecaster(catalog, inputs, label, metrics or {})
        return forecaster.run(as_of, today, simulations, seed)


class _Forecaster:
    def __init__(self, catalog, inputs, label, metrics):
        plans = sorted(catalog.plans, key=lambda p: (p.id, p.starts))
        if not plans:
            raise ConfigError("A forecast needs at least one plan.")
        self.catalog: Catalog = catalog
        self.inputs: Inputs = inputs
        self.metrics = metrics
        self.calendar = plans[0].calendar
        self.currency = plans[0].currency
        self.label = label
        try:
            self.start, self.end = parse_label(self.calendar, label)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.kind = _kind(label)
        self.plans = [
            p for p in plans
            if p.period == self.kind and p.starts <= self.end
            and (p.ends is None or self.start <= p.ends)
        ]
        self.roster = Roster(inputs.roster)
        self.targets = Targets(
            {p.id: p for p in plans}, self.roster, inputs.quotas,
            inputs.target_incentives,
        )

    def run(self, as_of, today, simulations, seed) -> Forecast:
        if as_of is None:
            day = today or date.today()
            as_of = min(max(day, self.start), self.end)
        closed = self._closed(as_of)
        pipeline = pipeline_at(self.inputs.deals, self.inputs.snapshots,
                               as_of, self.start, self.end)
        models = self._models(closed, pipeline, as_of)
        draws = _draws(pipeline, simulations, seed)
        rows = self._payee_rows(models, pipeline, draws)
        rows += self._team_rows(models, pipeline, draws)
        logger.info("Forecast of %s as of %s: %d open deals, %d rows",
                    self.label, as_of, len(pipeline), len(rows))
        return Forecast(self.label, as_of, simulations, seed,
                        self.currency, pipeline, rows)

    # -- closed so far -----------------------------------------------------

    def _closed(self, as_of: date) -> Evaluation:
        known = [
            d for d in self.inputs.deals
            if d.close_date <= as_of and d.stage in (WON, LOST)
        ]
        year = period_of(self.calendar, "year", self.start).fiscal_year
        labels = [
            p.label for p in periods_of_year(self.calendar, year, self.kind)
            if p.start <= self.start
        ]
        cut = replace(self.inputs, deals=known, snapshots=[])
        return evaluate(self.catalog, cut, labels, self.metrics)

    # -- each payee on each plan -------------------------------------------

    def _models(self, closed, pipeline, as_of) -> list[_PayeeModel]:
        models = []
        for plan in self.plans:
            period = _period(plan, self.label)
            by_payee = {s.payee_id: s for s in slots(plan, self.roster,
                                                     [period])}
            table = closed.measures.get(f"{plan.id}@{plan.version}", {})
            share = self._same_period_share(plan, period)
            plan_models = {}
            for payee, slot in sorted(by_payee.items()):
                model = self._model(plan, slot, table, closed.lines)
                model.run_rate = self._run_rate(model, table, share, as_of)
                plan_models[payee] = model
            self._add_wins(plan, period, plan_models, pipeline)
            models += plan_models.values()
        return models

    def _model(self, plan, slot, table, lines) -> _PayeeModel:
        measure = quota_measure(plan)
        targets = self.targets
        earlier = self._earlier_slots(plan, slot)
        if plan.accumulation == "cumulative":
            targets = YearToDate(self.targets, earlier)
        quota = None
        if measure is not None:
            quota = targets.quota(plan, slot, measure).amount
        paid = _paid_earlier(lines, plan, slot)
        closed = table.get((slot.payee_id, slot.period.label))
        if closed is None:
            window = (slot.payee_id, slot.period.label,
                      _window_start(plan, slot.period), slot.period.end)
            found = compute_measures(plan, [], [window], self.metrics)
            closed = found[window[:2]]
        return _PayeeModel(
            plan=plan,
            slot=slot,
            measure=measure,
            quota=quota,
            closed=closed,
            targets=_Remembered(targets),
            paid_this_year=paid if plan.accumulation == "periodic" else {},
            paid_before=paid if plan.accumulation == "cumulative" else {},
            formulas=_formulas(plan),
            per_deal=_per_deal_measures(plan),
        )

    def _earlier_slots(self, plan: Plan, slot: Slot) -> list[Slot]:
        year = periods_of_year(plan.calendar, slot.period.fiscal_year,
                               plan.period)
        before = [p for p in year if p.start < slot.period.start]
        return [s for s in slots(plan, self.roster, before)
                if s.payee_id == slot.payee_id]

    def _add_wins(self, plan, period, models, pipeline) -> None:
        crediter = Crediter(
            self.catalog.creditings[plan.crediting],
            self.roster,
            self.catalog.territories,
            self.inputs.lists,
            self.inputs.splits,
            amount_of=converter(plan, self.inputs.rates),
        )
        additive = [m.id for m in plan_measures(plan)
                    if m.aggregate in ADDITIVE]
        for index, open_deal in enumerate(pipeline):
            by_payee: dict[str, list[Credit]] = {}
            for credit in crediter.credit(open_deal.deal):
                by_payee.setdefault(credit.payee_id, []).append(credit)
            for payee, credits in sorted(by_payee.items()):
                model = models.get(payee)
                if model is None:
                    continue
                first = _window_start(plan, period)
                window = (payee, period.label, first, period.end)
                found = compute_measures(plan, credits, [window],
                                         self.metrics)
                results = found[(payee, period.label)]
                vector = {m: results[m].value for m in additive
                          if results[m].value}
                if vector:
                    model.wins.append((index, vector, credits))

    # -- the run rate ------------------------------------------------------

    def _same_period_share(self, plan: Plan, period: Period) -> Decimal:
        """The share of earlier bookings won in the period they began."""
        amount_of = converter(plan, self.inputs.rates)
        same = total = ZERO
        for deal in self.inputs.deals:
            created = deal.attributes.get("created_date")
            if not deal.is_won or created is None or deal.amount <= 0:
                continue
            if deal.attributes.get("cancels"):
                continue
            if deal.close_date >= period.start:
                continue
            amount = amount_of(deal)
            total += amount
            closing = period_of(plan.calendar, plan.period, deal.close_date)
            if created in closing:
                same += amount
        return same / total if total else ZERO

    def _run_rate(self, model, table, share, as_of) -> Decimal:
        plan = model.plan
        measure = model.measure
        if not share or measure is None:
            return ZERO
        if plan.measures[measure].aggregate != "sum":
            return ZERO
        earlier = self._earlier_slots(plan, model.slot)
        values = [
            table[(s.payee_id, s.period.label)][measure].value or ZERO
            for s in earlier if (s.payee_id, s.period.label) in table
        ]
        if not values:
            return ZERO
        if plan.accumulation == "cumulative":
            average = values[-1] / len(values)
        else:
            average = sum(values, ZERO) / len(values)
        period = model.slot.period
        begins = max(as_of + timedelta(days=1), period.start)
        left = max(0, (period.end - begins).days + 1)
        # An estimate, so it is shown and used to the cent.
        rate = share * average * left / period.days
        return rate.quantize(CENT, decimal.ROUND_HALF_UP)

    # -- rows ------------------------------------------------------------

    def _payee_rows(self, models, pipeline, draws) -> list[ForecastRow]:
        by_payee: dict[str, list[_PayeeModel]] = {}
        for model in models:
            by_payee.setdefault(model.slot.payee_id, []).append(model)
        return [
            self._row("payee", payee, self.roster.name(payee), own,
                      own, pipeline, draws)
            for payee, own in sorted(by_payee.items())
        ]

    def _team_rows(self, models, pipeline, draws) -> list[ForecastRow]:
        teams: dict[str, list[_PayeeModel]] = {}
        for model in models:
            day = model.slot.last_day
            for manager in self.roster.managers(model.slot.payee_id, day):
                teams.setdefault(manager, []).append(model)
        rows = []
        for manager, members in sorted(teams.items()):
            leads = {
                m for model in members
                for m in self.roster.managers(
                    model.slot.payee_id, model.slot.last_day)[:1]
            }
            leaves = [m for m in members if m.slot.payee_id not in leads]
            rows.append(self._row("team", manager,
                                  self.roster.name(manager), leaves,
                                  members, pipeline, draws))
        return rows

    def _row(self, scope, ident, name, measured, paid, pipeline, draws):
        """One row: attainment over ``measured``, payout over ``paid``."""
        quoted = _quoted(measured, scope)
        quota = sum((m.quota for m in quoted), ZERO) if quoted else None
        attainment = payout = None
        per_draw_value, per_draw_pay = [], []
        for won in draws:
            outcomes = [(m, m.outcome(won)) for m in paid]
            per_draw_pay.append(sum((pay for _, (_, pay) in outcomes),
                                    ZERO))
            if quoted:
                value = sum((m.outcome(won)[0] or ZERO for m in quoted),
                            ZERO)
                per_draw_value.append(value / quota if quota else ZERO)
        payout = Range.of(per_draw_pay, CENT)
        if quoted and quota:
            attainment = Range.of(per_draw_value, BASIS_POINT)

        threshold = _threshold(quoted)
        below = (
            attainment is not None and threshold is not None
            and attainment.p50 < threshold
        )
        return ForecastRow(
            scope=scope,
            id=ident,
            name=name,
            period=self.label,
            plan_id=quoted[0].plan.id if quoted else paid[0].plan.id,
            measure=quoted[0].measure if quoted else None,
            quota=quota,
            closed=(
                sum((_closed_value(m) for m in quoted), ZERO)
                if quoted else None
            ),
            weighted_pipeline=_weighted(quoted, pipeline),
            run_rate=sum((m.run_rate for m in quoted), ZERO),
            attainment=attainment,
            payout=payout,
            threshold=threshold,
            below_threshold=below,
            overdue_deals=_overdue(paid, pipeline),
        )


def _quoted(models: list[_PayeeModel], scope: str) -> list[_PayeeModel]:
    """The models whose quota measure counts: a payee's first one, or
    every member's in a team."""
    quoted = [m for m in models if m.measure is not None and m.quota]
    if scope == "payee":
        return quoted[:1]
    return quoted


def _closed_value(model: _PayeeModel) -> Decimal:
    result = model.closed.get(model.measure)
    return (result.value if result else None) or ZERO


def _weighted(models: list[_PayeeModel], pipeline) -> Decimal:
    total = ZERO
    for model in models:
        for index, vector, _ in model.wins:
            value = vector.get(model.measure)
            if value:
                chance = Decimal(str(pipeline[index].chance))
                total += value * chance
    return total


def _threshold(models: list[_PayeeModel]) -> Decimal | None:
    found = [
        plan_threshold(m.plan, m.measure) or DEFAULT_THRESHOLD
        for m in models
    ]
    return min(found) if found else None


def _overdue(models: list[_PayeeModel], pipeline) -> list[str]:
    found = {
        pipeline[index].deal.deal_id
        for model in models
        for index, _, _ in model.wins
        if pipeline[index].overdue
    }
    return sorted(found)


def _draws(pipeline: list[OpenDeal], count: int, seed: int):
    """Which pipeline deals are won, in each simulated draw."""
    rng = Random(seed)
    chances = [deal.chance for deal in pipeline]
    return [
        frozenset(i for i, p in enumerate(chances) if rng.random() < p)
        for _ in range(count)
    ]


def _paid_earlier(lines, plan: Plan, slot: Slot) -> dict[str, Decimal]:
    """Each component's pay in the earlier periods of the fiscal year."""
    paid: dict[str, Decimal] = {}
    for line in lines:
        if (line.payee_id, line.plan_id) != (slot.payee_id, plan.id):
            continue
        if line.period_start >= slot.period.start:
            continue
        if _fiscal_year(plan, line.period_start) != slot.period.fiscal_year:
            continue
        paid[line.component] = paid.get(line.component, ZERO) + line.amount
    return paid


def _fiscal_year(plan: Plan, day: date) -> int:
    return period_of(plan.calendar, "year", day).fiscal_year


def _window_start(plan: Plan, period: Period) -> date:
    if plan.accumulation == "cumulative":
        year = periods_of_year(plan.calendar, period.fiscal_year, "year")
        return year[0].start
    return period.start


def _period(plan: Plan, label: str) -> Period:
    start, _ = parse_label(plan.calendar, label)
    return period_of(plan.calendar, plan.period, start)


def _kind(label: str) -> str:
    if "-Q" in label:
        return "quarter"
    if "-M" in label:
        return "month"
    return "year"
