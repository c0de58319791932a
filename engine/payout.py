"""The second stage: measures to payout lines.

Each component turns a measure into pay through a pay function of the
measure's value. Pay is attributed to deals in order of close date, then
deal id, slice by slice: a deal's share is the pay function at the
running total after it, less the pay function before it. Caps apply to
that running pay, so the deals that come after the cap is reached get
nothing. Only the line is rounded; the deals' shares are rounded to add
up to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from .errors import EvaluationError
from .measures import Contribution, MeasureResult
from .money import allocate, round_money
from .quantities import Rate, percent_text
from .spec import (
    Band,
    Bonus,
    Component,
    FlatRate,
    PayoutCurve,
    Plan,
    RateTable,
    Spif,
)
from .targets import Slot, Targets

ZERO = Decimal(0)
PayFunction = Callable[[Decimal], Decimal]


@dataclass
class Outcome:
    """A component's pay for one slot, before and after rounding."""

    unrounded: Decimal
    amount: Decimal
    trace: dict


def s(value: Decimal | None) -> str | None:
    """A Decimal as trace text, exact."""
    return None if value is None else str(value)


class _Context:
    def __init__(self, plan, slot, measures, targets, paid_this_year):
        self.plan: Plan = plan
        self.slot: Slot = slot
        self.measures: dict[str, MeasureResult] = measures
        self.targets: Targets = targets
        self.paid_this_year: Decimal = paid_this_year
        self._values: dict[str, Decimal | None] | None = None

    def values(self) -> dict[str, Decimal | None]:
        if self._values is None:
            self._values = {k: r.value for k, r in self.measures.items()}
        return self._values

    def result(self, measure: str) -> MeasureResult:
        return self.measures[measure]

    def attainment_inputs(self, measure: str):
        quota = self.targets.quota(self.plan, self.slot, measure)
        if quota.amount <= 0:
            raise EvaluationError(
                f"Payee '{self.slot.payee_id}' has a quota of "
                f"{quota.amount} for '{measure}' in "
                f"{self.slot.period.label}; attainment needs a quota "
                "above 0."
            )
        return quota

    def base_rate(self, measure: str) -> Decimal | None:
        return self.targets.base_rate(self.plan, self.slot, measure)

    def target_incentive(self) -> Decimal | None:
        return self.targets.target_incentive(self.plan, self.slot)

    def resolve_rate(self, rate: Rate, measure: str) -> Decimal:
        try:
            return rate.resolve(
                self.base_rate(measure) if rate.of_base_rate else None
            )
        except ValueError as exc:
            raise EvaluationError(self._who() + str(exc)) from None

    def resolve_ti(self, amount) -> Decimal:
        try:
            ti = self.target_incentive() if amount.of_target_incentive else None
            return amount.resolve(ti)
        except ValueError as exc:
            raise EvaluationError(self._who() + str(exc)) from None

    def _who(self) -> str:
        return (
            f"Plan '{self.plan.id}', payee '{self.slot.payee_id}', "
            f"{self.slot.period.label}: "
        )


def evaluate(
    plan: Plan,
    component: Component,
    slot: Slot,
    measures: dict[str, MeasureResult],
    targets: Targets,
    paid_this_year: Decimal = ZERO,
) -> Outcome:
    """One payout line's amount and trace."""
    ctx = _Context(plan, slot, measures, targets, paid_this_year)
    rule = component.rule
    if isinstance(rule, RateTable) and rule.per == "deal":
        return _per_deal(ctx, component, rule)
    if isinstance(rule, RateTable):
        pay, result, trace = _rate_table(ctx, rule)
    elif isinstance(rule, FlatRate):
        pay, result, trace = _flat_rate(ctx, rule)
    elif isinstance(rule, PayoutCurve):
        pay, result, trace = _curve(ctx, rule)
    elif isinstance(rule, Spif):
        pay, result, trace = _spif(ctx, component.id, rule)
    else:
        pay, result, trace = _bonus(ctx, rule)
    return _finish(ctx, component, pay, result, trace)


# -- rate tables -----------------------------------------------------------


def _rate_table(ctx: _Context, table: RateTable):
    result = ctx.result(table.measure)
    value = result.value or ZERO
    trace = {
        "kind": "rate_table",
        "measure": table.measure,
        "value": s(value),
        "method": table.method,
        "basis": table.basis,
    }
    quota, rates, edges = _edges(ctx, table)
    scale = Decimal(1)
    if quota is not None:
        scale = quota.amount
        trace.update(quota.trace())
        trace["attainment"] = s(value / scale)
    if table.threshold is not None:
        floor = table.threshold * scale
        edges = [(_raise(lo, floor), hi, r) for lo, hi, r in edges]
        trace["threshold"] = (
            percent_text(table.threshold)
            if table.basis == "attainment"
            else s(table.threshold)
        )
    position = value / scale
    band = _band_index(table.bands, position)
    if band is not None:
        trace["band"] = band + 1
        trace["rate"] = s(rates[band])
    if table.method == "retroactive":
        rate = ZERO if band is None else rates[band]
        if table.threshold is not None and position < table.threshold:
            rate = ZERO
            trace["rate"] = s(rate)
        pay = _linear(rate)
        slices = [value if i == band else ZERO for i in range(len(edges))]
        paid = [rate * part for part in slices]
    else:
        pay = _marginal(edges)
        slices = [_slice(value, lo, hi) for lo, hi, _ in edges]
        paid = [part * r for part, (_, _, r) in zip(slices, edges)]
    trace["bands"] = [
        _band_trace(b, r, table.basis, part, amount)
        for b, r, part, amount in zip(table.bands, rates, slices, paid)
    ]
    return pay, result, trace


def _edges(ctx: _Context, table: RateTable):
    """The slot's quota (for a table on attainment), each band's rate,
    and each band as (lower, upper, rate) in the measure's own units."""
    quota = None
    scale = Decimal(1)
    if table.basis == "attainment":
        quota = ctx.attainment_inputs(table.measure)
        scale = quota.amount
    rates = [_band_rate(ctx, table, band) for band in table.bands]
    edges = [
        (band.lower * scale,
         None if band.upper is None else band.upper * scale,
         rate)
        for band, rate in zip(table.bands, rates)
    ]
    return quota, rates, edges


@dataclass(frozen=True)
class DealBands:
    """A slot's rate table as pay per deal is computed where the deals
    live: each band's (lower, upper, rate) in the measure's units, and
    the floor below which a deal earns nothing. For marginal pay the
    lower edges are already raised to the floor; for retroactive pay a
    deal earns its band's rate on all of its value."""

    edges: list[tuple[Decimal, Decimal | None, Decimal]]
    floor: Decimal | None


def deal_bands(plan: Plan, component: Component, slot: Slot,
               measures: dict[str, MeasureResult],
               targets: Targets) -> DealBands:
    """The bands a rate table applied per deal (``per: deal``) has in
    ``slot``: the same edges and rates each deal gets in Python."""
    table = component.rule
    ctx = _Context(plan, slot, measures, targets, ZERO)
    quota, _, edges = _edges(ctx, table)
    floor = None
    if table.threshold is not None:
        floor = table.threshold * (quota.amount if quota else Decimal(1))
        if table.method == "marginal":
            edges = [(_raise(lo, floor), hi, r) for lo, hi, r in edges]
    return DealBands(edges, floor)


def _per_deal(ctx: _Context, component: Component, table: RateTable):
    """Each deal's own amount sets its band: the table is applied to every
    deal alone and the results added up. Where the deals were not at
    hand, the sum comes with the measure, computed where they live."""
    result = ctx.result(table.measure)
    single = MeasureResult(ZERO, [], additive=True)
    view = _Single(ctx, table.measure, single)
    shares = []
    trace = None
    if not result.itemised:
        shares = [result.deal_pay[component.id]]
    for contribution in result.contributions:
        single.value = contribution.value
        pay, _, deal_trace = _rate_table(view, table)
        shares.append(pay(contribution.value) - pay(ZERO))
        trace = trace or deal_trace
    trace = {
        "kind": "rate_table",
        "per": "deal",
        "measure": table.measure,
        "value": s(result.value or ZERO),
        "method": table.method,
        "basis": table.basis,
        "bands": [
            {k: v for k, v in band.items() if k not in ("amount", "pay")}
            for band in (trace or _rate_table(view, table)[2])["bands"]
        ],
    }
    return _finish(ctx, component, None, result, trace, shares)


class _Single:
    """A context whose measure is one deal's contribution."""

    def __init__(self, ctx: _Context, measure: str, result: MeasureResult):
        self._ctx = ctx
        self._measure = measure
        self._result = result

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def result(self, measure: str) -> MeasureResult:
        return self._result if measure == self._measure else (
            self._ctx.result(measure)
        )


def _raise(lower: Decimal, floor: Decimal) -> Decimal:
    """A band's lower edge moved up to the threshold: below it, the
    amount never earns."""
    return max(lower, floor)


def _band_rate(ctx: _Context, table: RateTable, band: Band) -> Decimal:
    rate = band.rate
    if band.when is not None and not band.when.test(ctx.values()):
        rate = band.otherwise
    return ctx.resolve_rate(rate, table.measure)


def _marginal(edges) -> PayFunction:
    def pay(x: Decimal) -> Decimal:
        if x < 0:
            return x * edges[0][2]
        return sum(
            (_slice(x, lo, hi) * rate for lo, hi, rate in edges), ZERO
        )

    return pay


def _linear(rate: Decimal) -> PayFunction:
    return lambda x: x * rate


def _slice(x: Decimal, lower: Decimal, upper: Decimal | None) -> Decimal:
    """How much of ``x`` lies between ``lower`` and ``upper``."""
    top = x if upper is None else min(x, upper)
    return max(ZERO, top - lower)


def _band_index(bands, position: Decimal) -> int | None:
    for index, band in enumerate(bands):
        above = position >= band.lower
        below = band.upper is None or position < band.upper
        if above and below:
            return index
    if position < 0 and bands:
        return 0
    return None


def _band_trace(band: Band, rate, basis, part, paid) -> dict:
    show = percent_text if basis == "attainment" else str
    rule = str(band.rate)
    if band.when is not None:
        rule += f" when {band.when.source}, otherwise {band.otherwise}"
    return {
        "from": show(band.lower),
        "to": None if band.upper is None else show(band.upper),
        "rule": rule,
        "rate": str(rate),
        "amount": str(part),
        "pay": str(paid),
    }


# -- other rules -----------------------------------------------------------


def _flat_rate(ctx: _Context, rule: FlatRate):
    result = ctx.result(rule.measure)
    rate = ctx.resolve_rate(rule.rate, rule.measure)
    trace = {
        "kind": "flat_rate",
        "measure": rule.measure,
        "value": s(result.value or ZERO),
        "rate": s(rate),
    }
    return (lambda x: x * rate), result, trace


def _curve(ctx: _Context, curve: PayoutCurve):
    result = ctx.result(curve.measure)
    value = result.value or ZERO
    quota = ctx.attainment_inputs(curve.measure)
    ti = ctx.target_incentive()
    if ti is None:
        raise EvaluationError(
            ctx._who() + "the payout curve needs a target incentive; the "
            "plan and the roster give none."
        )

    def pay(x: Decimal) -> Decimal:
        return curve_payout(curve, x / quota.amount) * ti

    attainment = value / quota.amount
    trace = {
        "kind": "payout_curve",
        "measure": curve.measure,
        "value": s(value),
        **quota.trace(),
        "attainment": s(attainment),
        "target_incentive": s(ti),
        "payout_percent": s(curve_payout(curve, attainment)),
        "interpolation": curve.interpolation,
    }
    return pay, result, trace


def curve_payout(curve: PayoutCurve, attainment: Decimal) -> Decimal:
    """The share of target incentive a curve pays at ``attainment``.

    Nothing below the first point; straight lines (or steps) between
    points; above the last, ``above_per_point`` for each point (1 %) of
    attainment, or flat when the curve says nothing.
    """
    points = curve.points
    if attainment < points[0].attainment:
        return ZERO
    last = points[-1]
    if attainment >= last.attainment:
        slope = (curve.above_per_point or ZERO) * 100
        return last.payout + (attainment - last.attainment) * slope
    for low, high in zip(points, points[1:]):
        if low.attainment <= attainment < high.attainment:
            if curve.interpolation == "step":
                return low.payout
            run = high.attainment - low.attainment
            rise = high.payout - low.payout
            return low.payout + (attainment - low.attainment) * rise / run
    return ZERO


def _spif(ctx: _Context, component_id: str, spif: Spif):
    result = ctx.result(f"spif:{component_id}")
    trace = {
        "kind": "spif",
        "deals_qualifying": s(result.value),
        "per_deal": s(spif.amount),
        "where": spif.where.source if spif.where else None,
        "from": s(spif.starts),
        "to": s(spif.ends),
    }
    return (lambda x: x * spif.amount), result, trace


def _bonus(ctx: _Context, bonus: Bonus):
    values = ctx.values()
    met = bonus.when.test(values)
    amount = ctx.resolve_ti(bonus.amount) if met else ZERO
    trace = {
        "kind": "bonus",
        "when": bonus.when.source,
        "met": met,
        "measures": {k: s(values[k]) for k in sorted(bonus.when.names)},
    }
    empty = MeasureResult(ZERO, [], additive=False)
    return (lambda x: amount), empty, trace


# -- caps, floors, attribution and rounding --------------------------------


def _finish(ctx, component: Component, pay, result, trace, shares=None):
    limit = _cap_limit(ctx, component, trace)
    if shares is None and not result.itemised:
        uncapped = pay(result.value or ZERO)
        shares = []
        unattributed = uncapped if limit is None else min(limit, uncapped)
    elif shares is None:
        uncapped = _uncapped(pay, result)
        bounded = pay if limit is None else (lambda x: min(limit, pay(x)))
        shares, unattributed = _attribute(bounded, result)
    else:
        uncapped = sum(shares, ZERO)
        shares, unattributed = _cap_running(shares, limit), ZERO
    total = sum(shares, ZERO) + unattributed
    trace["uncapped"] = str(uncapped)
    if limit is not None:
        trace["cap_applied"] = total < uncapped

    if component.floor is not None:
        floor = ctx.resolve_ti(component.floor)
        trace["floor"] = s(floor)
        if total < floor:
            unattributed += floor - total
            total = floor
            trace["floor_applied"] = True

    currency = ctx.plan.currency
    amount = round_money(total, currency, ctx.plan.rounding)
    trace["unrounded"] = str(total)
    trace["amount"] = str(amount)
    if not result.itemised:
        trace["deals_in"] = "credit table"
        return Outcome(total, amount, trace)
    rounded = allocate(shares + [unattributed], amount, currency)
    trace["deals"] = [
        _deal_trace(c, share, currency)
        for c, share in zip(result.contributions, rounded)
    ]
    if rounded[-1]:
        trace["not_from_deals"] = s(rounded[-1])
    return Outcome(total, amount, trace)


def _uncapped(pay, result: MeasureResult) -> Decimal:
    return pay(result.value or ZERO) if result.value is not None else pay(ZERO)


def _cap_limit(ctx: _Context, component: Component, trace) -> Decimal | None:
    cap = component.cap
    if cap is None:
        return None
    limits = []
    if cap.per_period is not None:
        limit = ctx.resolve_ti(cap.per_period)
        trace["cap"] = {"per_period": s(limit), "rule": str(cap.per_period)}
        limits.append(limit)
    if cap.per_year is not None:
        left = max(ZERO, cap.per_year - ctx.paid_this_year)
        trace.setdefault("cap", {})["per_year"] = s(cap.per_year)
        trace["cap"]["left_this_year"] = s(left)
        limits.append(left)
    return min(limits)


def _attribute(pay: PayFunction, result: MeasureResult):
    """Each contribution's share of the pay, and the part no deal owns."""
    if not result.itemised:
        return [], pay(result.value or ZERO)
    contributions = result.contributions
    if not result.additive:
        total = pay(result.value or ZERO)
        weight = sum((c.credit for c in contributions), ZERO)
        if not weight:
            return [ZERO] * len(contributions), total
        return [total * c.credit / weight for c in contributions], ZERO
    base = pay(ZERO)
    shares = []
    running = ZERO
    before = base
    for contribution in contributions:
        running += contribution.value
        after = pay(running)
        shares.append(after - before)
        before = after
    return shares, base


def _cap_running(shares: list[Decimal], limit: Decimal | None):
    """Shares once the running total is held to ``limit``."""
    if limit is None:
        return shares
    capped = []
    running = ZERO
    for share in shares:
        after = running + share
        capped.append(min(limit, after) - min(limit, running))
        running = after
    return capped


def _deal_trace(c: Contribution, share: Decimal, currency: str) -> dict:
    trace = {
        "deal_id": c.deal_id,
        "close_date": c.close_date.isoformat(),
        "credit": s(c.credit),
        "counted": s(c.value),
        "credit_type": c.credit_type,
        "rule": c.rule,
        "share": s(share),
    }
    if c.deal_currency not in (None, currency):
        trace["deal_amount"] = f"{c.deal_amount} {c.deal_currency}"
    return trace
