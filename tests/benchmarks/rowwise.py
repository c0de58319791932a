"""The usual way: the realistic case evaluated deal by deal in Python.

This is how a rules engine without a columnar stage pays people: read
each CSV row into Decimals and dates, run every condition of the plan
on it through Attain's locked-down expression evaluator (each parsed
once), keep running totals per payee and quarter, then turn the totals
into pay with Decimal arithmetic. Like the other two programs it keeps
every credit, and writes the credit table and the payout lines as
Parquet (the credits through a CSV file that DuckDB turns into
Parquet). It is what Attain's DuckDB engine must beat by a wide margin
to be worth having.
"""

from __future__ import annotations

import csv
import decimal
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

from engine.expressions import Expression, parse_expression
from handwritten import copy_parquet, quoted_path
from realistic import (
    ALL_CREDIT_TYPES,
    OVERLAY_TYPES,
    PERIODS,
    PLANS,
    ROLLUP_ROLES,
    Band,
    FlatRate,
    Measure,
    PlanDef,
    Spif,
    Tiers,
    rules,
    type_condition,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
Line = tuple[str, str, str]


def run_rowwise(folder: Path, out: Path | None = None) -> dict[Line, Decimal]:
    """Pay every payee of the case; with ``out``, write
    ``credits.parquet`` and ``payouts.parquet`` there.

    Returns {(payee_id, period, component): amount}.
    """
    data = Path(folder) / "data"
    with decimal.localcontext() as ctx, CreditTable(out) as written:
        ctx.prec = 60
        roster = Roster.read(data / "roster.csv")
        quotas = read_quotas(data / "quotas.csv")
        totals = Totals(roster, written)
        with open(data / "deals.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                totals.add(typed_deal(row))
        lines = pay(roster, quotas, totals)
        written.finish(lines)
        return lines


class CreditTable:
    """Every credit, written to a CSV file as it is found and turned into
    Parquet, with the payout lines, at the end (DuckDB loads a CSV file
    several times faster than it takes Python lists); nothing without
    ``out``."""

    def __init__(self, out: Path | None):
        self.out = out
        self.file = None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            self.spill = out / "credits.csv"
            self.file = open(self.spill, "w", newline="", encoding="utf-8")
            self.writer = csv.writer(self.file)

    def __enter__(self) -> CreditTable:
        return self

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()
            self.spill.unlink(missing_ok=True)

    def add(self, deal_id: str, payee: str, credit_type: str,
            amount: Decimal) -> None:
        if self.file is not None:
            self.writer.writerow((deal_id, payee, credit_type, amount))

    def finish(self, lines: dict[Line, Decimal]) -> None:
        if self.file is None:
            return
        self.file.close()
        columns = ("{'deal_id': 'VARCHAR', 'payee_id': 'VARCHAR', "
                   "'credit_type': 'VARCHAR', 'credit': 'DECIMAL(18, 6)'}")
        spill = quoted_path(self.spill)
        with duckdb.connect() as con:
            copy_parquet(
                con,
                f"SELECT * FROM read_csv('{spill}', header = false, "
                f"columns = {columns})",
                self.out / "credits.parquet",
            )
            keys = sorted(lines)
            con.execute(
                "CREATE TABLE payouts AS SELECT unnest(?::VARCHAR[]) AS "
                "payee_id, unnest(?::VARCHAR[]) AS period, "
                "unnest(?::VARCHAR[]) AS component, "
                "unnest(?::VARCHAR[])::DECIMAL(18, 2) AS amount",
                [[k[0] for k in keys], [k[1] for k in keys],
                 [k[2] for k in keys], [str(lines[k]) for k in keys]],
            )
            copy_parquet(con, "SELECT * FROM payouts",
                         self.out / "payouts.parquet")


# -- inputs ------------------------------------------------------------------


@dataclass
class Roster:
    role: dict[str, str]
    manager: dict[str, str | None]
    incentive: dict[str, Decimal | None]

    @classmethod
    def read(cls, path: Path) -> Roster:
        role, manager, incentive = {}, {}, {}
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                payee = row["payee_id"]
                role[payee] = row["role"]
                manager[payee] = row["manager"] or None
                amount = row["target_incentive"]
                incentive[payee] = Decimal(amount) if amount else None
        return cls(role, manager, incentive)

    def managers(self, payee: str) -> list[str]:
        """Everyone above ``payee``, nearest first."""
        chain = []
        above = self.manager[payee]
        while above is not None:
            chain.append(above)
            above = self.manager[above]
        return chain


def read_quotas(path: Path) -> dict[tuple[str, str, str], Decimal]:
    with open(path, newline="", encoding="utf-8") as f:
        return {
            (row["payee_id"], row["measure"], row["period"]):
                Decimal(row["amount"])
            for row in csv.DictReader(f)
        }


def typed_deal(row: dict[str, str]) -> dict:
    """A CSV row with its numbers as Decimals, its date as a date and its
    empty cells as missing values, as conditions expect them."""
    deal = {key: value or None for key, value in row.items()}
    deal["amount"] = Decimal(row["amount"])
    deal["close_date"] = date.fromisoformat(row["close_date"])
    if deal["split_percent"] is not None:
        deal["split_percent"] = Decimal(deal["split_percent"])
    return deal


# -- the plans, parsed once -------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A measure or SPIF as conditions over one credit of one deal."""

    id: str
    summed: bool
    where: Expression
    credit_types: tuple[str, ...]
    starts: date | None = None
    ends: date | None = None
    owner_only: bool = False


def plan_conditions(plan: PlanDef) -> list[Condition]:
    found = [_measure_condition(m) for m in plan.measures]
    found += [
        Condition(c.id, False, parse_expression(c.where),
                  ALL_CREDIT_TYPES,
                  c.starts, c.ends, owner_only=True)
        for c in plan.components
        if isinstance(c, Spif)
    ]
    return found


def _measure_condition(measure: Measure) -> Condition:
    return Condition(
        measure.id,
        measure.aggregate == "sum",
        parse_expression(measure.where),
        measure.credit_types,
    )


# -- credits and running totals ---------------------------------------------


class Totals:
    """Per (payee, quarter, measure): a running sum, or the set of deals
    counted."""

    def __init__(self, roster: Roster, written: CreditTable):
        self.roster = roster
        self.written = written
        self.sums: dict[tuple[str, int, str], Decimal] = {}
        self.deals: dict[tuple[str, int, str], set[str]] = {}
        self.rules = [
            (parse_expression(rule.condition), rule.payees)
            for rule in rules()
        ]
        self.overlay = parse_expression(type_condition(OVERLAY_TYPES))
        self.conditions = {
            plan.role: plan_conditions(plan) for plan in PLANS
        }

    def add(self, deal: dict) -> None:
        for payee, credit_type, amount, share in self.credits(deal):
            self.written.add(deal["deal_id"], payee, credit_type, amount)
            self._count(deal, payee, credit_type, amount, share)

    def credits(self, deal: dict):
        """(payee, credit type, credit, share) for every credit of the
        deal: owners or split, the overlay SE, then the roll-ups."""
        basis = deal["amount"]
        partner, percent = deal["split_partner"], deal["split_percent"]
        if partner and percent is not None:
            share = percent / HUNDRED
            owners = [(deal["owner"], "split", basis * (1 - share),
                       1 - share),
                      (partner, "split", basis * share, share)]
        else:
            owners = [(deal["owner"], "direct", basis, Decimal(1))]
        found = list(owners)
        if self.overlay.test(deal):
            found += [(p, "overlay", basis, Decimal(1))
                      for p in self._territory(deal)]
        for payee, _, amount, share in owners:
            if self.roster.role[payee] in ROLLUP_ROLES:
                found += [(m, "rollup", amount, share)
                          for m in self.roster.managers(payee)]
        return found

    def _territory(self, deal: dict) -> tuple[str, ...]:
        for condition, payees in self.rules:
            if condition.test(deal):
                return payees
        return ()

    def _count(self, deal, payee, credit_type, amount, share) -> None:
        conditions = self.conditions.get(self.roster.role[payee])
        if not conditions or deal["stage"] != "won":
            return
        values = dict(deal, credit=amount, credit_type=credit_type,
                      credit_share=share)
        quarter = (deal["close_date"].month - 1) // 3 + 1
        for c in conditions:
            if not _applies(c, deal, payee, credit_type, values):
                continue
            key = (payee, quarter, c.id)
            if c.summed:
                self.sums[key] = self.sums.get(key, ZERO) + amount
            else:
                self.deals.setdefault(key, set()).add(deal["deal_id"])

    def value(self, payee: str, quarter: int, measure: str) -> Decimal:
        key = (payee, quarter, measure)
        if key in self.deals:
            return Decimal(len(self.deals[key]))
        return self.sums.get(key, ZERO)


def _applies(c: Condition, deal, payee, credit_type, values) -> bool:
    if credit_type not in c.credit_types:
        return False
    if c.owner_only and deal["owner"] != payee:
        return False
    closed = deal["close_date"]
    if c.starts and not c.starts <= closed <= c.ends:
        return False
    return c.where.test(values)


# -- pay -------------------------------------------------------------------


def pay(roster: Roster, quotas, totals: Totals) -> dict[Line, Decimal]:
    """Every component of every payee on a plan, every quarter, rounded
    to the cent half away from zero."""
    lines = {}
    for plan in PLANS:
        payer = Payer(plan, roster, quotas, totals)
        payees = [p for p, role in roster.role.items() if role == plan.role]
        for payee in payees:
            for quarter, period in enumerate(PERIODS, 1):
                for component in plan.components:
                    earned = payer.earned(component, payee, quarter, period)
                    lines[(payee, period, component.id)] = earned.quantize(
                        CENT, ROUND_HALF_UP
                    )
    return lines


class Payer:
    """One plan's components, turned into pay from the running totals."""

    def __init__(self, plan: PlanDef, roster: Roster, quotas, totals):
        self.plan = plan
        self.roster = roster
        self.quotas = quotas
        self.totals = totals
        self.gates = {
            band: parse_expression(f"{band.gate[0]} >= {band.gate[1]}")
            for c in plan.components
            if isinstance(c, Tiers)
            for band in c.bands
            if band.gate is not None
        }

    def earned(self, component, payee: str, quarter: int, period: str):
        value = self.totals.value(
            payee, quarter, getattr(component, "measure", component.id)
        )
        if isinstance(component, FlatRate):
            return value * component.rate
        if isinstance(component, Spif):
            return value * component.amount
        measures = {
            m.id: self.totals.value(payee, quarter, m.id)
            for m in self.plan.measures
        }
        rates = [self._rate(band, measures) for band in component.bands]
        quota = self.quotas[(payee, component.measure, period)]
        return min(
            marginal(value, quota, component, rates),
            self._incentive(payee) / 4 * component.cap,
        )

    def _rate(self, band: Band, measures: dict[str, Decimal]) -> Decimal:
        gate = self.gates.get(band)
        if gate is None or gate.test(measures):
            return band.rate
        return band.otherwise

    def _incentive(self, payee: str) -> Decimal:
        own = self.roster.incentive[payee]
        return own if own is not None else self.plan.target_incentive


def marginal(value: Decimal, quota: Decimal, tiers: Tiers, rates) -> Decimal:
    """Each band's rate on the slice of ``value`` inside it; below the
    threshold nothing earns."""
    earned = ZERO
    for band, rate in zip(tiers.bands, rates):
        lower = band.lower * quota
        if tiers.threshold is not None:
            lower = max(lower, tiers.threshold * quota)
        top = value if band.upper is None else min(value, band.upper * quota)
        earned += max(ZERO, top - lower) * rate
    return earned
