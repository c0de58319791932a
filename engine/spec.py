"""The plan model: what a plan file says, as typed values.

The loader builds these from a YAML document that passed the JSON
Schema; expressions are already parsed and checked. Every object keeps
the path of its place in the document so later checks can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .errors import JsonPath
from .expressions import Expression
from .quantities import Rate, TiAmount

CREDIT_TYPES = ("direct", "split", "overlay", "rollup")


@dataclass(frozen=True)
class Band:
    """One band of a rate table: ``lower`` included, ``upper`` excluded."""

    lower: Decimal
    upper: Decimal | None
    rate: Rate
    when: Expression | None = None
    otherwise: Rate | None = None
    path: JsonPath = ()


@dataclass(frozen=True)
class RateTable:
    measure: str
    bands: tuple[Band, ...]
    basis: str = "attainment"
    method: str = "marginal"
    threshold: Decimal | None = None
    per: str = "total"


@dataclass(frozen=True)
class FlatRate:
    measure: str
    rate: Rate


@dataclass(frozen=True)
class CurvePoint:
    attainment: Decimal
    payout: Decimal


@dataclass(frozen=True)
class PayoutCurve:
    measure: str
    points: tuple[CurvePoint, ...]
    interpolation: str = "linear"
    above_per_point: Decimal | None = None


@dataclass(frozen=True)
class Spif:
    amount: Decimal
    where: Expression | None = None
    starts: date | None = None
    ends: date | None = None
    pays: str = "credited"


@dataclass(frozen=True)
class Bonus:
    amount: TiAmount
    when: Expression


Rule = RateTable | FlatRate | PayoutCurve | Spif | Bonus


@dataclass(frozen=True)
class Cap:
    per_period: TiAmount | None = None
    per_year: Decimal | None = None


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    rule: Rule
    cap: Cap | None = None
    floor: TiAmount | None = None
    path: JsonPath = ()

    @property
    def kind(self) -> str:
        return _KINDS[type(self.rule)]

    @property
    def measure(self) -> str | None:
        return getattr(self.rule, "measure", None)


_KINDS = {
    RateTable: "rate_table",
    FlatRate: "flat_rate",
    PayoutCurve: "payout_curve",
    Spif: "spif",
    Bonus: "bonus",
}


@dataclass(frozen=True)
class Measure:
    """A named aggregate of credited deals per payee and period.

    ``aggregate`` is one of sum, count, average, distinct, formula,
    metric; ``argument`` is its expression, field or metric name.
    ``stages_given`` says whether the plan names the stages; a metric
    measure that does not reads the stages its metric declares.
    """

    id: str
    name: str
    aggregate: str
    argument: Expression | str | None
    where: Expression | None = None
    credit_types: tuple[str, ...] = CREDIT_TYPES
    stages: tuple[str, ...] = ("won",)
    path: JsonPath = ()
    starts: date | None = None
    ends: date | None = None
    owner_only: bool = False
    stages_given: bool = True


@dataclass(frozen=True)
class Quota:
    measure: str
    source: str
    amount: Decimal | None = None
    seasonality: tuple[Decimal, ...] = ()
    table: str | None = None
    team_plan: str | None = None
    team_measure: str | None = None
    team_roles: tuple[str, ...] = ()
    ramp: tuple[Decimal, ...] = ()
    path: JsonPath = ()


@dataclass(frozen=True)
class Participants:
    roles: tuple[str, ...] = ()
    payees: tuple[str, ...] = ()
    starts: date | None = None
    ends: date | None = None


@dataclass(frozen=True)
class TerritoryRule:
    name: str
    when: Expression | None
    territory: str | None = None
    payees: tuple[str, ...] = ()
    path: JsonPath = ()


@dataclass(frozen=True)
class Territories:
    id: str
    name: str
    match: str
    rules: tuple[TerritoryRule, ...]
    lists: dict[str, tuple[str, ...] | str] = field(default_factory=dict)
    file: str = ""


@dataclass(frozen=True)
class Windfall:
    above: Decimal
    credit: Decimal


@dataclass(frozen=True)
class Overlay:
    name: str
    territories: str
    credit: Decimal = Decimal(1)
    where: Expression | None = None
    path: JsonPath = ()


@dataclass(frozen=True)
class Splits:
    table: str | None = None
    partner_column: str | None = None
    percent_column: str | None = None
    total: Decimal = Decimal(1)


@dataclass(frozen=True)
class Crediting:
    """Who gets credit for a deal, shared by every plan that names it."""

    id: str
    name: str
    windfall: Windfall | None = None
    direct_territories: str | None = None
    splits: Splits | None = None
    overlays: tuple[Overlay, ...] = ()
    rollup_roles: tuple[str, ...] | None = None
    file: str = ""


@dataclass(frozen=True)
class Clawback:
    window_days: int
    reduce_attainment: bool = False


@dataclass(frozen=True)
class Draw:
    """A guaranteed advance; ``max_recovery`` is an amount, or a share of
    the earnings above the draw when ``recovery_is_share``."""

    amount: Decimal
    recoverable: bool
    first_periods: int | None = None
    max_recovery: Decimal | None = None
    recovery_is_share: bool = False
    at_termination: str = "forgive"


@dataclass(frozen=True)
class Holdback:
    share: Decimal
    release_on: date | None = None
    release_after_periods: int | None = None


@dataclass(frozen=True)
class Calendar:
    """A fiscal calendar: the month its year starts and how years are named."""

    start_month: int = 1
    named_by: str = "start"


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    version: str
    currency: str
    calendar: Calendar
    period: str
    starts: date
    ends: date | None
    participants: Participants
    crediting: str
    measures: dict[str, Measure]
    quotas: dict[str, Quota]
    components: dict[str, Component]
    target_incentive: Decimal | None = None
    proration: str = "active_days"
    rounding: str = "half_up"
    accumulation: str = "periodic"
    negative_true_up: str = "pay_back"
    clawback: Clawback | None = None
    draw: Draw | None = None
    holdback: Holdback | None = None
    rate_date: str = "close_date"
    file: str = ""
    content_hash: str = ""
