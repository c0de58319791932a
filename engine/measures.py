"""The first stage: credits to measures per payee and period.

This is where the many rows live. Its output, :class:`MeasureResult` per
payee, period and measure, is all the second stage reads, so another
engine can take this stage's place behind the same function signature.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from .crediting import Credit, condition_values
from .errors import EvaluationError
from .records import LOST, WON
from .spec import Measure, Plan, Spif

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one deal adds to a measure, for explaining and attributing."""

    deal_id: str
    close_date: date
    value: Decimal
    credit: Decimal
    credit_type: str
    rule: str
    deal_amount: Decimal | None = None
    deal_currency: str | None = None


@dataclass
class MeasureResult:
    """A measure's value for one payee and period, and the deals behind it.

    ``additive`` says whether the value is the sum of the contributions'
    values (sums and counts), so that pay can be attributed slice by slice.
    ``itemised`` is false when the value was aggregated where the deals
    live (the columnar stage): the contributions are then not at hand,
    and the deals behind the value are in the run's credit table.
    """

    value: Decimal | None
    contributions: list[Contribution] = field(default_factory=list)
    additive: bool = True
    itemised: bool = True
    # Without contributions: what each rate table applied per deal pays
    # over the deals behind the value, by component id.
    deal_pay: dict[str, Decimal] = field(
        default_factory=dict, repr=False, compare=False
    )


MeasureTable = dict[tuple[str, str], dict[str, MeasureResult]]


def spif_measure(component_id: str, spif: Spif) -> Measure:
    """The hidden measure that counts a SPIF's qualifying deals."""
    return Measure(
        id=f"spif:{component_id}",
        name=component_id,
        aggregate="count",
        argument="deals",
        where=spif.where,
        starts=spif.starts,
        ends=spif.ends,
        owner_only=spif.pays == "owner",
    )


def plan_measures(plan: Plan) -> list[Measure]:
    """The plan's measures and the hidden SPIF measures, formulas last."""
    measures = list(plan.measures.values())
    measures += [
        spif_measure(c.id, c.rule)
        for c in plan.components.values()
        if isinstance(c.rule, Spif)
    ]
    return sorted(measures, key=lambda m: m.aggregate == "formula")


def compute_measures(
    plan: Plan,
    credits: Iterable[Credit],
    windows: Iterable[tuple[str, str, date, date]],
    metrics: Mapping[str, Any] | None = None,
    skip: frozenset[str] = frozenset(),
) -> MeasureTable:
    """Every measure of ``plan`` for each window of dates.

    A window is (payee, key, first day, last day): a period, or the year
    to date for a cumulative plan. Credits of the deals in ``skip`` are
    left out (cancellations the plan claws back instead).
    """
    by_payee: dict[str, list[Credit]] = {}
    for credit in credits:
        if credit.deal.deal_id in skip:
            continue
        by_payee.setdefault(credit.payee_id, []).append(credit)
    for rows in by_payee.values():
        rows.sort(key=lambda c: (c.deal.close_date, c.deal.deal_id))
    dates = {p: [c.deal.close_date for c in rows] for p, rows in by_payee.items()}

    measures = [_metric_stages(m, metrics or {}) for m in plan_measures(plan)]
    table: MeasureTable = {}
    for payee, key, first, last in windows:
        rows = by_payee.get(payee, [])
        found = dates.get(payee, [])
        low = bisect.bisect_left(found, first)
        high = bisect.bisect_right(found, last)
        table[(payee, key)] = _evaluate(
            measures, rows[low:high], payee, metrics or {}
        )
    return table


def _metric_stages(measure: Measure, metrics) -> Measure:
    """A metric measure without stages of its own reads its metric's."""
    if measure.aggregate != "metric" or measure.stages_given:
        return measure
    metric = metrics.get(measure.argument)
    stages = getattr(metric, "stages", None)
    return replace(measure, stages=stages) if stages else measure


def _evaluate(measures, credits, payee, metrics) -> dict[str, MeasureResult]:
    results: dict[str, MeasureResult] = {}
    values = [(c, condition_values(c)) for c in credits]
    for measure in measures:
        if measure.aggregate == "formula":
            results[measure.id] = _formula(measure, results)
        else:
            chosen = [
                (c, v) for c, v in values if _counts(measure, c, v, payee)
            ]
            results[measure.id] = _aggregate(measure, chosen, metrics)
    return results


def _stage(stage: str) -> str:
    return stage if stage in (WON, LOST) else "open"


def _counts(measure: Measure, credit: Credit, values, payee: str) -> bool:
    deal = credit.deal
    if _stage(deal.stage) not in measure.stages:
        return False
    if credit.credit_type not in measure.credit_types:
        return False
    if measure.owner_only and deal.owner != payee:
        return False
    if measure.starts and deal.close_date < measure.starts:
        return False
    if measure.ends and deal.close_date > measure.ends:
        return False
    return measure.where is None or measure.where.test(values)


def _contribution(credit: Credit, value: Decimal) -> Contribution:
    deal = credit.deal
    return Contribution(
        deal.deal_id,
        deal.close_date,
        value,
        credit.amount,
        credit.credit_type,
        credit.rule,
        deal.amount,
        deal.currency,
    )


def _aggregate(measure: Measure, chosen, metrics) -> MeasureResult:
    kind = measure.aggregate
    if kind == "sum":
        parts = []
        for credit, values in chosen:
            value = _number(measure, measure.argument.evaluate(values))
            if value is not None:
                parts.append(_contribution(credit, value))
        total = sum((p.value for p in parts), ZERO)
        return MeasureResult(total, parts)
    if kind == "count":
        seen: set[str] = set()
        parts = []
        for credit, _ in chosen:
            if credit.deal.deal_id not in seen:
                seen.add(credit.deal.deal_id)
                parts.append(_contribution(credit, Decimal(1)))
        return MeasureResult(Decimal(len(parts)), parts)

    parts = [_contribution(c, c.amount) for c, _ in chosen]
    if kind == "average":
        numbers = [
            _number(measure, measure.argument.evaluate(v)) for _, v in chosen
        ]
        numbers = [n for n in numbers if n is not None]
        value = sum(numbers, ZERO) / len(numbers) if numbers else None
    elif kind == "distinct":
        value = Decimal(
            len({v.get(measure.argument) for _, v in chosen} - {None})
        )
    else:
        value = _metric(measure, metrics, [v for _, v in chosen])
    return MeasureResult(value, parts, additive=False)


def _metric(measure: Measure, metrics, rows) -> Decimal | None:
    from .plugins import evaluate_metric

    metric = metrics.get(measure.argument)
    if metric is None:
        raise EvaluationError(
            f"Measure '{measure.id}' uses the metric '{measure.argument}', "
            "which no installed plugin provides. `attain plugins` lists "
            "the metrics there are."
        )
    return evaluate_metric(metric, rows)


def _formula(measure: Measure, results) -> MeasureResult:
    known = {key: r.value for key, r in results.items()}
    value = measure.argument.evaluate(known)
    return MeasureResult(_number(measure, value), [], additive=False)


def _number(measure: Measure, value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise EvaluationError(
            f"Measure '{measure.id}' must give a number, but gave "
            f"{value!r}."
        )
    return Decimal(value)
