"""Evaluate plans over input data: crediting, then the two stages.

:func:`evaluate` is the whole calculation, free of files, stores and
plugins: it takes loaded plans and typed records and returns payout
lines in a stable order, so the same inputs always give the same lines
whatever the order of the rows.
"""

from __future__ import annotations

import decimal
import logging
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .calendar import (
    Period,
    fiscal_year_start,
    period_of,
    parse_label,
    periods_between,
)
from .crediting import Credit, Crediter
from .errors import ConfigError, DataError, EvaluationError
from .loader import Catalog
from .ledger import Entry, PayeeLedger
from .measures import MeasureTable, compute_measures
from .payout import evaluate as evaluate_component
from .records import Deal, QuotaRow, RosterRow, SplitRow
from .results import PayoutLine
from .roster import Roster
from .schema import did_you_mean
from .spec import Plan
from .targets import Slot, Targets, YearToDate, slots

logger = logging.getLogger(__name__)

ZERO = Decimal(0)

ENGINES = ("python", "duckdb", "auto")
# Above this many deals, "auto" runs the first stage on DuckDB.
AUTO_DEALS = 20_000

# Wide enough that no quotient on the way to a payout line is rounded in
# any digit that could reach a cent.
PRECISION = 60


@dataclass
class Inputs:
    """The typed input tables of one evaluation.

    ``deals`` is a list, or a :class:`~engine.dealtable.DealTable` when the
    ledger was read into DuckDB. ``through`` is the last close date of
    the whole ledger when ``deals`` holds only part of it.
    """

    deals: Any
    roster: list[RosterRow]
    quotas: list[QuotaRow] = field(default_factory=list)
    splits: list[SplitRow] = field(default_factory=list)
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rates: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    target_incentives: list[dict[str, Any]] = field(default_factory=list)
    through: date | None = None


@dataclass
class Evaluation:
    """Payout lines, and what produced them for explaining.

    ``credit_tables`` names the Parquet file of each credit table written
    (by the SHA-256 of its content), keyed like ``credits``; DuckDB may
    still be writing them, and reading a name waits for its file.
    """

    lines: list[PayoutLine]
    credits: dict[str, list[Credit]]
    measures: dict[str, MeasureTable]
    waiting: list[dict] = field(default_factory=list)
    credit_tables: Mapping[str, str] = field(default_factory=dict)


def evaluate(
    catalog: Catalog,
    inputs: Inputs,
    periods: Iterable[str] = (),
    metrics: Mapping[str, Any] | None = None,
    *,
    engine: str = "python",
    progress: Callable[[str], None] | None = None,
    credit_folder: Path | None = None,
) -> Evaluation:
    """Every payout line of every plan for the periods asked for.

    ``periods`` are fiscal labels (``FY2026-Q1``); none means every
    period of each plan's effective dates that the data reaches.
    ``engine`` runs the first stage (credits and measures) in Python, on
    DuckDB, or ``auto``: on DuckDB above ``AUTO_DEALS`` deals. Both give
    the same lines; a plan DuckDB cannot compute exactly runs in Python.
    A ledger read into DuckDB (a :class:`~engine.dealtable.DealTable`) is
    evaluated there whatever ``engine`` says, unless it says ``python``.

    ``progress`` is called with the name of each stage as it starts;
    with ``credit_folder``, the credit tables of a DuckDB evaluation are
    written there as Parquet.
    """
    if engine not in ENGINES:
        raise ConfigError(
            f"Engine '{engine}' is not one of {', '.join(ENGINES)}."
        )
    with decimal.localcontext() as ctx:
        ctx.prec = PRECISION
        ctx.traps[decimal.Inexact] = False
        evaluator = _Evaluator(
            catalog, inputs, list(periods), metrics, engine, progress
        )
        return evaluator.run(credit_folder)


class _Evaluator:
    def __init__(self, catalog, inputs, periods, metrics, engine="python",
                 progress=None):
        if catalog.errors:
            raise EvaluationError(
                f"The plans have {len(catalog.errors)} error(s); "
                "`attain validate` lists them."
            )
        self.catalog: Catalog = catalog
        self.inputs: Inputs = inputs
        self.requested: list[str] = periods
        self.metrics = metrics or {}
        self.engine = engine
        self.progress = progress or (lambda stage: None)
        self.table = None if isinstance(inputs.deals, list) else inputs.deals
        if self.table is not None and engine == "python":
            self._read_out()
        self.roster = Roster(inputs.roster)
        self.plans = {p.id: p for p in catalog.plans}
        self.targets = Targets(
            self.plans, self.roster, inputs.quotas, inputs.target_incentives
        )
        self._check_references()

    def run(self, credit_folder: Path | None = None) -> Evaluation:
        """Both stages of every plan. A DuckDB evaluation writes its
        credit tables while Python computes pay, as the two use
        different cores."""
        self.columnar = self._columnar_stage()
        try:
            measured = self._measure()
            written = None
            if credit_folder is not None and self.table is not None:
                self.progress("writing the credit tables")
                written = self.columnar.write_credits(credit_folder)
            found = self._pay_all(measured)
            if written is not None:
                found.credit_tables = written
            return found
        finally:
            if self.columnar is not None:
                self.columnar.close()

    def _read_out(self) -> None:
        """Continue with the ledger as Python objects."""
        if self.table is not None:
            self.progress("reading the ledger out of DuckDB")
            deals = self.table.deals()
            self.inputs = replace(
                self.inputs, deals=deals,
                through=self.inputs.through or self.table.last_close(),
            )
            self.table = None

    def _measure(self) -> list[tuple]:
        """The first stage of every plan: (plan, slots, measures, the
        periods shown), with the credits of each crediting kept."""
        self.credits: dict[str, list[Credit]] = {}
        measured = []
        plans = sorted(self.catalog.plans, key=lambda p: (p.id, p.starts))
        for plan in plans:
            key = f"{plan.crediting}/{plan.currency}/{plan.rate_date}"
            periods, shown = self._periods(plan)
            plan_slots = slots(plan, self.roster, periods)
            self.progress(f"{plan.id}: credits and measures")
            table = self._first_stage(plan, key, plan_slots, self.credits)
            measured.append((plan, plan_slots, table, shown))
        return measured

    def _pay_all(self, measured) -> Evaluation:
        lines: list[PayoutLine] = []
        tables: dict[str, MeasureTable] = {}
        for plan, plan_slots, table, shown in measured:
            tables[f"{plan.id}@{plan.version}"] = table
            self.progress(f"{plan.id}: pay")
            lines += self._pay(plan, plan_slots, table, shown)
        lines.sort(key=PayoutLine.sort_key)
        return Evaluation(lines, self.credits, tables)

    # -- the first stage: credits and measures -------------------------------

    def _columnar_stage(self):
        if self.table is not None:
            from .bulk import BulkStage

            return BulkStage(
                self.catalog, self.inputs, self.roster, self.metrics,
                self.table,
            )
        engine = self.engine
        if engine == "auto":
            many = len(self.inputs.deals) > AUTO_DEALS
            engine = "duckdb" if many else "python"
        if engine == "python":
            return None
        from .columnar import ColumnarStage

        return ColumnarStage(
            self.catalog, self.inputs, self.roster, self.metrics
        )

    def _first_stage(self, plan, key, plan_slots, credits) -> MeasureTable:
        """A plan's measures per slot's window, and its credits into
        ``credits``: on DuckDB when chosen and exact, else in Python."""
        windows = [_window(plan, slot) for slot in plan_slots]
        if self.table is not None:
            from .columnar import NotColumnar

            try:
                if plan.clawback is not None and self._clawed_back(plan):
                    raise NotColumnar("Cancellations are clawed back deal "
                                      "by deal.")
                credits[key], table = self.columnar.measure(
                    plan, windows, self._clawed_back(plan)
                )
                self._pay_per_deal(plan, plan_slots, table)
                return table
            except NotColumnar as exc:
                logger.info(
                    "Plan '%s' is evaluated in Python: %s", plan.id, exc
                )
                self._fall_back()
        if self.columnar is not None:
            from .columnar import NotColumnar

            try:
                credits[key] = self.columnar.credits(plan)
                skip = self._clawed_back(plan)
                credits[key], table = self.columnar.measure(
                    plan, windows, skip
                )
                return table
            except NotColumnar as exc:
                logger.info(
                    "Plan '%s' is evaluated in Python: %s", plan.id, exc
                )
        if key not in credits:
            credits[key] = self._credit(plan)
        return compute_measures(
            plan, credits[key], windows, self.metrics,
            skip=self._clawed_back(plan),
        )

    def _fall_back(self) -> None:
        """Leave DuckDB for Python: the ledger is read out of the table
        once, and the columnar stage of Python lists takes over."""
        self._read_out()
        self.columnar.close()
        self.columnar = self._columnar_stage()

    # -- inputs ------------------------------------------------------------

    def _check_references(self) -> None:
        roster = self.roster
        if self.table is not None:
            unknown = self.table.first_unknown_owner(list(roster))
            deals = [] if unknown is None else [unknown]
        else:
            deals = self.inputs.deals
        for deal in deals:
            if deal.owner not in roster:
                hint = did_you_mean(deal.owner, list(roster))
                raise DataError(
                    f"Deal '{deal.deal_id}' is owned by '{deal.owner}', "
                    f"who is not in the roster.{hint}",
                    source=deal.source,
                    row=deal.row,
                    column="owner",
                    value=deal.owner,
                )
        for split in self.inputs.splits:
            if split.payee_id not in roster:
                raise DataError(
                    f"Payee '{split.payee_id}' is not in the roster."
                    f"{did_you_mean(split.payee_id, list(roster))}",
                    source=split.source,
                    row=split.row,
                    column="payee_id",
                    value=split.payee_id,
                )
        for territories in self.catalog.territories.values():
            for rule in territories.rules:
                for payee in rule.payees:
                    if payee not in roster:
                        raise EvaluationError(
                            f"{territories.file}: territory rule "
                            f"'{rule.name}' names payee '{payee}', who is "
                            f"not in the roster."
                            f"{did_you_mean(payee, list(roster))}"
                        )
            for name, value in territories.lists.items():
                if isinstance(value, str) and value not in self.inputs.lists:
                    raise EvaluationError(
                        f"{territories.file}: list '{name}' comes from the "
                        f"data source '{value}', which the project does "
                        "not define."
                    )

    def _credit(self, plan: Plan) -> list[Credit]:
        crediting = self.catalog.creditings[plan.crediting]
        crediter = Crediter(
            crediting,
            self.roster,
            self.catalog.territories,
            self.inputs.lists,
            self.inputs.splits,
            amount_of=converter(plan, self.inputs.rates),
        )
        credits = []
        for deal in self.inputs.deals:
            credits += crediter.credit(deal)
        return credits

    def _periods(self, plan: Plan) -> tuple[list[Period], set[str]]:
        """The periods to compute, and those to show.

        Every period before the last one shown is computed too: yearly
        caps, true-ups, clawbacks and draws depend on what they paid.
        """
        last = plan.ends or self._last_close() or plan.starts
        every = periods_between(plan.calendar, plan.period, plan.starts, last)
        if not self.requested:
            return every, {p.label for p in every}
        ranges = [parse_label(plan.calendar, label) for label in self.requested]
        shown = {
            p.label
            for p in every
            if any(p.start <= end and start <= p.end for start, end in ranges)
        }
        if not shown:
            return [], set()
        final = max(p.end for p in every if p.label in shown)
        return [p for p in every if p.end <= final], shown

    def _last_close(self) -> date | None:
        if self.inputs.through is not None:
            return self.inputs.through
        if self.table is not None:
            return self.table.last_close()
        return max((d.close_date for d in self.inputs.deals), default=None)

    def _pay_per_deal(self, plan, plan_slots, table: MeasureTable) -> None:
        """For a ledger in DuckDB, what each rate table applied per deal
        pays in each slot, summed there over the deals with the bands the
        slot's measures and quota give, and kept with the measure."""
        from .bulk import per_deal
        from .payout import deal_bands

        for component in per_deal(plan):
            bands = {}
            for payee_slots in _by_payee(plan_slots).values():
                for index, slot in enumerate(payee_slots):
                    window = (slot.payee_id, slot.period.label)
                    bands[window] = deal_bands(
                        plan, component, slot, table[window],
                        self._targets(plan, payee_slots, index),
                    )
            if not bands:
                continue
            sums = self.columnar.deal_pay(plan, component, bands)
            measure = component.rule.measure
            for window in bands:
                table[window][measure].deal_pay[component.id] = sums.get(
                    window, ZERO
                )

    # -- pay ---------------------------------------------------------------

    def _targets(self, plan, payee_slots: list[Slot], index: int):
        """The targets of a payee's slot: the year to date for a
        cumulative plan."""
        if plan.accumulation != "cumulative":
            return self.targets
        slot = payee_slots[index]
        return YearToDate(self.targets, [
            s for s in payee_slots[:index]
            if s.period.fiscal_year == slot.period.fiscal_year
        ])

    def _pay(self, plan, plan_slots, table, shown) -> list[PayoutLine]:
        lines = []
        for payee, payee_slots in sorted(_by_payee(plan_slots).items()):
            ledger = PayeeLedger(
                plan,
                payee,
                hire_date=self.roster.hire_date(payee),
                termination_date=self.roster.termination_date(payee),
            )
            for index, slot in enumerate(payee_slots):
                later = [s.period for s in payee_slots[index + 1:]]
                targets = self._targets(plan, payee_slots, index)
                entries = self._period_entries(
                    plan, ledger, slot, table, targets, later
                )
                if slot.period.label in shown:
                    lines += [self._line(plan, slot, e) for e in entries]
        return lines

    def _period_entries(self, plan, ledger, slot, table, targets, later):
        measures = table[(slot.payee_id, slot.period.label)]
        entries: list[Entry] = []
        for component in plan.components.values():
            paid = ZERO
            if plan.accumulation == "periodic":
                paid = ledger.paid_this_year(component.id, slot.period)
            outcome = evaluate_component(
                plan, component, slot, measures, targets, paid
            )
            entries.append(ledger.settle(component, slot.period, outcome))

        cancelled = self._cancellations(plan, slot)
        if cancelled:
            clawback = ledger.clawback(slot.period, cancelled)
            if clawback is not None:
                entries.append(clawback)
        earnings = sum((e.amount for e in entries), ZERO)
        entries += ledger.draw(slot.period, earnings)
        payout = sum((e.amount for e in entries), ZERO)
        entries += ledger.holdback(slot.period, payout, later)
        return entries

    def _line(self, plan: Plan, slot: Slot, entry: Entry) -> PayoutLine:
        trace = dict(entry.trace)
        trace["role"] = self.roster.role_on(slot.payee_id, slot.last_day)
        trace["active_days"] = slot.active_days
        trace["period_days"] = slot.period.days
        return PayoutLine(
            payee_id=slot.payee_id,
            payee_name=self.roster.name(slot.payee_id),
            plan_id=plan.id,
            plan_version=plan.version,
            period=slot.period.label,
            period_start=slot.period.start,
            period_end=slot.period.end,
            component=entry.component,
            component_name=entry.name,
            amount=entry.amount,
            currency=plan.currency,
            trace=trace,
        )

    # -- cancellations ---------------------------------------------------------

    def _cancellation_pairs(self) -> list[tuple[Deal, Deal]]:
        """(cancellation row, original deal) for every row that cancels."""
        if not hasattr(self, "_pairs"):
            ledger = self.inputs.deals
            if self.table is not None:
                cancelling = self.table.cancelling()
                targets = [d.attributes.get("cancels") for d in cancelling]
                found = self.table.by_ids(targets) + cancelling
                ledger = sorted({d.deal_id: d for d in found}.values(),
                                key=lambda d: d.row)
            by_id = {d.deal_id: d for d in ledger}
            pairs = []
            for deal in ledger:
                target = deal.attributes.get("cancels")
                if not target:
                    continue
                original = by_id.get(target)
                if original is None:
                    raise DataError(
                        f"Deal '{deal.deal_id}' cancels '{target}', which is "
                        "not in the ledger.",
                        source=deal.source,
                        row=deal.row,
                        column="cancels",
                        value=target,
                    )
                pairs.append((deal, original))
            self._pairs = pairs
        return self._pairs

    def _clawed_back(self, plan: Plan) -> frozenset[str]:
        """Cancellation rows the plan handles by clawback, not by measure.

        With a clawback clause, cancellations within the window are
        clawed back and those outside it are ignored; only with
        ``reduce_attainment`` do cancellations in the window count
        against the measures instead. Without a clause a cancellation is
        a negative booking like any other row.
        """
        rule = plan.clawback
        if rule is None:
            return frozenset()
        return frozenset(
            cancel.deal_id
            for cancel, original in self._cancellation_pairs()
            if not (rule.reduce_attainment and _within(rule, cancel, original))
        )

    def _cancellations(self, plan: Plan, slot: Slot):
        rule = plan.clawback
        if rule is None or rule.reduce_attainment:
            return []
        return [
            (cancel, original)
            for cancel, original in self._cancellation_pairs()
            if cancel.close_date in slot.period
            and _within(rule, cancel, original)
        ]


def _within(rule, cancel: Deal, original: Deal) -> bool:
    """Whether a cancellation falls in the clawback window, its last day
    included."""
    days = (cancel.close_date - original.close_date).days
    return 0 <= days <= rule.window_days


def _by_payee(plan_slots) -> dict[str, list[Slot]]:
    """Each payee's slots, in order of their periods."""
    found: dict[str, list[Slot]] = {}
    for slot in sorted(plan_slots, key=lambda s: s.period.start):
        found.setdefault(slot.payee_id, []).append(slot)
    return found


def _window(plan: Plan, slot: Slot) -> tuple[str, str, date, date]:
    """The dates a slot's measures cover: its period, or the year to date."""
    period = slot.period
    first = period.start
    if plan.accumulation == "cumulative":
        first = fiscal_year_start(plan.calendar, period.fiscal_year)
    return (slot.payee_id, period.label, first, period.end)


def converter(plan: Plan, rates: list[dict[str, Any]]):
    """Deal amount in the plan's currency, at the rate the plan's policy
    picks: the rate in force on the close date (the latest dated on or
    before it), at the end of the deal's period, or the average of the
    rates dated in that period."""
    table: dict[tuple[str, str], list[tuple[date, Decimal]]] = {}
    for row in rates:
        pair = (row["from"], row["to"])
        table.setdefault(pair, []).append((row["date"], row["rate"]))
    for entries in table.values():
        entries.sort()
    currency = plan.currency

    def amount_of(deal: Deal) -> Decimal:
        if deal.currency in (None, currency):
            return deal.amount
        rate = _policy_rate(plan, table, deal)
        if rate is None:
            raise DataError(
                f"Deal '{deal.deal_id}' is in {deal.currency}, but no "
                f"exchange rate from {deal.currency} to {currency} is "
                f"dated on or before {deal.close_date}. Add one to the "
                "exchange_rates table.",
                source=deal.source,
                row=deal.row,
                column="currency",
                value=deal.currency,
            )
        return deal.amount * rate

    return amount_of


def _policy_rate(plan: Plan, table, deal: Deal) -> Decimal | None:
    policy = plan.rate_date
    if policy == "close_date":
        return _rate(table, deal.currency, plan.currency, deal.close_date)
    period = period_of(plan.calendar, plan.period, deal.close_date)
    if policy == "period_end":
        return _rate(table, deal.currency, plan.currency, period.end)
    found = _rates_in(table, deal.currency, plan.currency, period)
    if not found:
        return _rate(table, deal.currency, plan.currency, period.start)
    return sum(found, Decimal(0)) / len(found)


def _rates_in(table, source: str, target: str, period) -> list[Decimal]:
    direct = [r for d, r in table.get((source, target), []) if d in period]
    if direct:
        return direct
    return [1 / r for d, r in table.get((target, source), []) if d in period]


def _rate(table, source: str, target: str, day: date) -> Decimal | None:
    direct = _latest(table.get((source, target), []), day)
    if direct is not None:
        return direct
    inverse = _latest(table.get((target, source), []), day)
    return None if inverse is None else 1 / inverse


def _latest(entries, day: date) -> Decimal | None:
    found = None
    for when, rate in entries:
        if when > day:
            break
        found = rate
    return found
