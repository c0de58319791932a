"""Planning: territory coverage, quota setting and capacity.

- :func:`territory_report` evaluates every territory rule set on every
  deal of the ledger (cancellation rows left out): the deals no rule
  covers, for an all-match set the deals several rules claim, for a
  first-match set how many deals each rule took (later rules are
  fall-backs, so overlap is intended there), rules that took none, and
  the load of each rule: deal count and amount.
- :func:`split_target` splits an annual target into periods by the
  seasonality of past bookings: each period's share of the won
  bookings (net of cancellations) of the earlier fiscal years in the
  data. The parts are rounded to the cent by largest remainder, so they
  add up to the target exactly.
- :func:`capacity` says how many payees a target needs at a given
  productivity per payee-year, when new hires ramp up, and shows the
  arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence

from engine.calendar import fiscal_year_of, period_of, periods_of_year
from engine.errors import ConfigError, EvaluationError, ExpressionError
from engine.money import allocate, minor_unit
from engine.quantities import percent_text
from engine.records import Deal
from engine.spec import Calendar, Territories, TerritoryRule

from .kpis import decimal_text

ZERO = Decimal(0)
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


# -- territories --------------------------------------------------------------


@dataclass
class RuleLoad:
    """What one territory rule takes: its deals and their amount."""

    rule: str
    assigns: str
    deals: int = 0
    amount: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "assigns": self.assigns,
                "deals": self.deals, "amount": decimal_text(self.amount)}


@dataclass
class TerritoryReport:
    """How one territory rule set covers the deal ledger."""

    id: str
    name: str
    match: str
    deals: int
    uncovered: list[str] = field(default_factory=list)
    claimed_by_several: list[dict[str, Any]] = field(default_factory=list)
    load: list[RuleLoad] = field(default_factory=list)

    @property
    def idle_rules(self) -> list[str]:
        return [load.rule for load in self.load if not load.deals]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "match": self.match,
            "deals": self.deals,
            "uncovered": list(self.uncovered),
            "claimed_by_several": list(self.claimed_by_several),
            "idle_rules": self.idle_rules,
            "load": [load.as_dict() for load in self.load],
        }


def territory_report(
    territories: Mapping[str, Territories],
    deals: Iterable[Deal],
    lists: Mapping[str, tuple[str, ...]],
    amount_of: Callable[[Deal], Decimal] | None = None,
) -> list[TerritoryReport]:
    """Each rule set's coverage of ``deals``, by id.

    ``amount_of`` converts a deal's amount to the report currency.
    Raises ConfigError for a list whose data source is missing and
    EvaluationError for a rule that cannot be evaluated on a deal.
    """
    amount_of = amount_of or (lambda deal: deal.amount)
    chosen = [d for d in deals if not d.attributes.get("cancels")]
    return [
        _cover(territories[key], chosen, lists, amount_of)
        for key in sorted(territories)
    ]


def _cover(rules: Territories, deals, lists, amount_of) -> TerritoryReport:
    named = _lists(rules, lists)
    report = TerritoryReport(rules.id, rules.name, rules.match, len(deals))
    loads = [RuleLoad(rule.name, _assigns(rule)) for rule in rules.rules]
    report.load = loads
    for deal in deals:
        values = {**deal.attributes, **named}
        matched = _matches(rules, deal, values)
        if not matched:
            report.uncovered.append(deal.deal_id)
            continue
        if rules.match == "all" and len(matched) > 1:
            report.claimed_by_several.append({
                "deal_id": deal.deal_id,
                "rules": [rules.rules[i].name for i in matched],
            })
        amount = amount_of(deal)
        for index in matched:
            loads[index].deals += 1
            loads[index].amount += amount
    return report


def _matches(rules: Territories, deal: Deal, values) -> list[int]:
    found = []
    for index, rule in enumerate(rules.rules):
        if rule.when is None or _test(rules, rule, deal, values):
            found.append(index)
            if rules.match == "first":
                break
    return found


def _test(rules, rule: TerritoryRule, deal: Deal, values) -> bool:
    try:
        return rule.when.test(values)
    except (ExpressionError, TypeError) as exc:
        raise EvaluationError(
            f"{rules.file}: territory rule '{rule.name}' cannot be "
            f"evaluated on deal '{deal.deal_id}': {exc}"
        ) from None


def _lists(rules: Territories, lists) -> dict[str, tuple[str, ...]]:
    named = {}
    for name, value in rules.lists.items():
        if isinstance(value, tuple):
            named[name] = value
        elif value in lists:
            named[name] = lists[value]
        else:
            raise ConfigError(
                f"{rules.file}: list '{name}' comes from the data source "
                f"'{value}', which the project does not define."
            )
    return named


def _assigns(rule: TerritoryRule) -> str:
    if rule.territory:
        return f"territory {rule.territory}"
    return "payees " + ", ".join(rule.payees)


# -- quotas -------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaPart:
    label: str
    history: Decimal
    share: Decimal
    amount: Decimal

    def as_dict(self) -> dict[str, str | None]:
        return {
            "period": self.label,
            "history": decimal_text(self.history),
            "share": decimal_text(self.share),
            "amount": decimal_text(self.amount),
        }


@dataclass(frozen=True)
class QuotaSplit:
    """An annual target split into periods, and where the split came from.

    ``history_years`` are the fiscal years the seasonality was read
    from; none means an even split, for want of history.
    """

    target: Decimal
    fiscal_year: int
    period: str
    history_years: tuple[int, ...]
    parts: tuple[QuotaPart, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": decimal_text(self.target),
            "fiscal_year": f"FY{self.fiscal_year}",
            "period": self.period,
            "seasonality_from": [f"FY{y}" for y in self.history_years],
            "parts": [part.as_dict() for part in self.parts],
        }


def fiscal_year_number(text: str) -> int:
    """2027 from ``FY2027`` or ``2027``; raises ConfigError otherwise."""
    digits = text.strip().upper().removeprefix("FY")
    if len(digits) != 4 or not digits.isdigit():
        raise ConfigError(
            f"'{text}' is not a fiscal year. Write it as FY2027."
        )
    return int(digits)


def split_target(
    target: Decimal,
    fiscal_year: int,
    deals: Iterable[Deal],
    calendar: Calendar,
    period: str = "quarter",
    currency: str = "USD",
    amount_of: Callable[[Deal], Decimal] | None = None,
) -> QuotaSplit:
    """Split ``target`` over the periods of ``fiscal_year`` by seasonality.

    Raises ConfigError for a target that is not positive or has digits
    below the currency's minor unit, or an unknown period kind.
    """
    if period not in PERIODS_PER_YEAR:
        raise ConfigError(
            f"'{period}' is not a period; use month, quarter or year."
        )
    unit = minor_unit(currency)
    if target <= 0 or target != target.quantize(unit):
        raise ConfigError(
            f"The target must be a positive amount in {currency}, to the "
            f"{unit}; found {target}."
        )
    amount_of = amount_of or (lambda deal: deal.amount)
    periods = periods_of_year(calendar, fiscal_year, period)
    booked = [ZERO] * len(periods)
    years = set()
    for deal in deals:
        if not deal.is_won:
            continue
        year = fiscal_year_of(calendar, deal.close_date)
        if year >= fiscal_year:
            continue
        years.add(year)
        booked[period_of(calendar, period, deal.close_date).index] += (
            amount_of(deal)
        )

    total = sum(booked, ZERO)
    if total > 0 and all(b >= 0 for b in booked):
        shares = [b / total for b in booked]
    else:
        years, shares = set(), [Decimal(1) / len(periods)] * len(periods)
    amounts = allocate([s * target for s in shares], target, currency)
    parts = tuple(
        QuotaPart(p.label, b, s, a)
        for p, b, s, a in zip(periods, booked, shares, amounts)
    )
    return QuotaSplit(target, fiscal_year, period, tuple(sorted(years)),
                      parts)


# -- capacity -----------------------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    """How many payees a target needs, and the arithmetic behind it."""

    target: Decimal
    productivity: Decimal
    ramp: tuple[Decimal, ...]
    period: str
    ramp_factor: Decimal
    new_hire_productivity: Decimal
    existing: int
    fully_ramped: int
    new_hires: int
    steps: tuple[str, ...]

    @property
    def payees(self) -> int:
        return self.existing + self.new_hires

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": decimal_text(self.target),
            "productivity": decimal_text(self.productivity),
            "ramp": [decimal_text(r) for r in self.ramp],
            "period": self.period,
            "ramp_factor": decimal_text(self.ramp_factor),
            "new_hire_productivity": decimal_text(self.new_hire_productivity),
            "existing": self.existing,
            "fully_ramped": self.fully_ramped,
            "new_hires": self.new_hires,
            "payees": self.payees,
            "steps": list(self.steps),
        }


def capacity(
    target: Decimal,
    productivity: Decimal,
    ramp: Sequence[Decimal] = (),
    period: str = "quarter",
    existing: int = 0,
) -> Capacity:
    """Payees needed for ``target`` at ``productivity`` per payee-year.

    ``existing`` payees are fully ramped; new hires earn ``ramp`` of the
    productivity in their first periods (25 %, 50 %: a quarter at 25 %,
    one at 50 %, then 100 %), so their first year counts the average.
    Raises ConfigError for amounts that are not positive or a ramp
    outside 0 to 100 %.
    """
    if target <= 0 or productivity <= 0:
        raise ConfigError("Target and productivity must be above 0.")
    if period not in PERIODS_PER_YEAR:
        raise ConfigError(
            f"'{period}' is not a period; use month, quarter or year."
        )
    if any(not 0 <= r <= 1 for r in ramp) or existing < 0:
        raise ConfigError(
            "A ramp is a list of shares from 0% to 100%, and existing "
            "payees a count of 0 or more."
        )
    count = PERIODS_PER_YEAR[period]
    shares = list(ramp[:count]) + [Decimal(1)] * max(0, count - len(ramp))
    factor = sum(shares, ZERO) / count
    hire = productivity * factor
    left = max(ZERO, target - existing * productivity)
    new_hires = _ceil(left / hire) if hire else 0
    steps = _steps(target, productivity, shares, factor, hire, existing,
                   left, new_hires)
    return Capacity(target, productivity, tuple(ramp), period, factor, hire,
                    existing, _ceil(target / productivity), new_hires,
                    tuple(steps))


def _steps(target, productivity, shares, factor, hire, existing, left,
           new_hires) -> list[str]:
    money = _money_text
    steps = [
        f"Fully ramped: ceil({money(target)} / {money(productivity)})"
        f" = {_ceil(target / productivity)} payee(s).",
        f"A new hire's first year: ({' + '.join(map(percent_text, shares))})"
        f" / {len(shares)} = {percent_text(factor)} of"
        f" {money(productivity)} = {money(hire)}.",
    ]
    if existing:
        steps.append(
            f"Left for new hires: {money(target)} - {existing} x"
            f" {money(productivity)} = {money(left)}."
        )
    if hire:
        steps.append(
            f"New hires: ceil({money(left)} / {money(hire)}) = {new_hires}."
        )
    steps.append(f"Payees: {existing} + {new_hires} = {existing + new_hires}.")
    return steps


def _ceil(value: Decimal) -> int:
    return int(math.ceil(value))


def _money_text(value: Decimal) -> str:
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text
