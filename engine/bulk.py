"""Large ledgers, evaluated where the deals live.

:class:`BulkStage` computes the whole first stage of a
:class:`~engine.dealtable.DealTable` in SQL: credits with their exact
DECIMAL amounts, and each measure summed or counted per payee and
period. Only that small aggregated table comes back to Python, where the
second stage (rates, caps, draws, rounding) runs as it always does.

Nothing is divided in SQL: a split share is the percent times 0.01 and
an average is divided in Python. Everything the SQL path cannot do
exactly raises :class:`~engine.columnar.NotColumnar`, and the plan is
computed in Python from the ledger read back out of the table.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from .columnar import ColumnarStage, NotColumnar, _key, _listed, _refusals
from .dealtable import DealTable, connect
from .later import Later
from .measures import (
    MeasureResult,
    MeasureTable,
    _formula,
    _metric_stages,
    plan_measures,
)
from .records import Deal
from .spec import Crediting, Measure, Plan, Territories
from .sql import DATE, NUMBER, TEXT, compile_value, literal, quote

logger = logging.getLogger(__name__)

ZERO = Decimal(0)

class BulkStage(ColumnarStage):
    """Credits and measures of a :class:`DealTable`, all in SQL.

    ``columns`` are the deal columns each crediting's plans read in their
    measures: they travel with the credits, so that measuring never joins
    the credits to the ledger again.
    """

    def __init__(self, catalog, inputs, roster, metrics, table: DealTable):
        super().__init__(catalog, inputs, roster, metrics)
        self.con.close()
        self.con = table.con
        self._tables.con = table.con
        self.table = table
        self._bulk: dict[str, tuple[str, str | None]] = {}
        self._named: dict[str, int] = {}
        self._chain_tables: dict[str, str] = {}
        self._windows = 0
        self._has_stretches = False
        # Per plan, the credits of its windows as measured and the kinds
        # of their columns, for pay per deal.
        self._measured: dict[tuple[str, str], tuple[str, dict]] = {}

    def close(self) -> None:
        self._tables.close()

    def _deals(self) -> dict[str, str | None]:
        if self._deal_kinds is None:
            self._deal_kinds = dict(self.table.kinds)
            self._load_roster()
        return self._deal_kinds

    # -- credits -----------------------------------------------------------

    def credit_table(self, plan: Plan, types=None, payees=None) -> str:
        """SQL for the credits of the plan's crediting in the plan's
        currency (only those of the credit ``types`` given, and of the
        payees in the table ``payees``, if given): deal, payee,
        type, share and exact amount, with the deal columns the measures
        read. The owners' and overlays' credits are a table; roll-ups are
        computed from it when asked for, which costs less than keeping
        a copy of every credit for every manager above its owner."""
        key = _key(plan)
        if key not in self._bulk:
            self._bulk[key] = self._build_credits(plan)
        own, rollups = self._bulk[key]
        types = set(types or CREDIT_TYPES)
        only = "TRUE" if payees is None else (
            f'"@payee" IN (SELECT "@window_payee" FROM {payees})'
        )
        parts = []
        if types - {"rollup"}:
            listed = _listed(sorted(types - {"rollup"}))
            parts.append(
                f'SELECT * FROM {own} WHERE "@type" IN ({listed}) AND {only}'
            )
        if "rollup" in types and rollups is not None:
            parts.append(f"SELECT * FROM ({rollups}) WHERE {only}")
        if not parts:
            return f"SELECT * FROM {own} WHERE FALSE"
        return " UNION ALL ".join(parts)

    def _build_credits(self, plan: Plan) -> tuple[str, str | None]:
        """The table of the owners' and overlays' credits, and SQL for
        the roll-ups. Each part of the credits carries what it needs of
        its deal, so they are never joined back to the ledger."""
        crediting = self.catalog.creditings[plan.crediting]
        kinds = self._deals()
        number = len(self._bulk)
        carried = ['"@id"', '"@day"', '"@stage"', '"@owner"'] + [
            quote(n) for n in sorted(self._read(plan.crediting))
            if n in kinds and n not in _CREDIT_NAMES
        ]
        with _refusals():
            self._refuse_split_errors(crediting)
            basis = self._basis(plan, crediting)
            carry = "".join(f", {c}" for c in carried)
            carry += f', {basis} AS "@basis"'
            kept = ", ".join(['"@deal"', '"@payee"', '"@type"', '"@share"']
                             + carried + ['"@basis"'])
            owners = self._owners_sql(crediting, carry)
            parts = [f"SELECT {kept} FROM ({owners})"]
            parts += [
                f"SELECT {kept} FROM "
                f"({self._overlay_sql(index, overlay, carry)})"
                for index, overlay in enumerate(crediting.overlays)
            ]
            own = f"bulk_credits_{number}"
            stored = ['"@payee"', '"@type"'] + carried
            if "credit_share" in self._read(plan.crediting):
                stored.append('"@share"')
            self.con.execute(
                f"CREATE TABLE {own} AS SELECT {', '.join(stored)}, "
                f'"@basis" * "@share" AS "@credit" FROM ('
                + " UNION ALL ".join(parts) + ")"
            )
            rollups = None
            if crediting.rollup_roles is not None:
                rollups = self._rollups(crediting, own, stored[2:])
        return own, rollups

    def _rollups(self, crediting: Crediting, own: str, carried) -> str:
        owners = (
            f"(SELECT * FROM {own} WHERE \"@type\" IN ('direct', 'split'))"
        )
        chains = self._chains(crediting, owners, dated=True)
        self._chain_tables[own] = chains
        kept = "".join(f", o.{c}" for c in carried)
        return (
            f'SELECT m."@manager" AS "@payee", \'rollup\' AS "@type"{kept}, '
            f'o."@credit" FROM {owners} o '
            f'JOIN {self._stretches()} c ON c."@day" = o."@day" '
            f'JOIN {chains} m ON m."@payee" = o."@payee" '
            'AND m."@epoch" = c."@epoch"'
        )

    def _stretches(self) -> str:
        """A table of each day deals close on and the stretch of the
        roster it falls in. Credits join it on the day, which costs far
        less than finding each credit's stretch by an ASOF join."""
        if not self._has_stretches:
            self.con.execute(
                "CREATE OR REPLACE TABLE day_stretches AS "
                'SELECT d."@day", c."@epoch" '
                'FROM (SELECT DISTINCT "@day" FROM deals) d '
                'ASOF JOIN changes c ON d."@day" >= c."@start"'
            )
            self._has_stretches = True
        return "day_stretches"

    def _overlay_sql(self, index: int, overlay, carry: str = "") -> str:
        """An overlay's credits in one pass over the deals: each deal's
        rule is found where the deal is read, with what the credit
        carries, and joined to the rule's payees. Rules that name a
        territory instead of payees need the roster by date, as the
        general path has it."""
        rules: Territories = self.catalog.territories[overlay.territories]
        if not rules.rules or any(not rule.payees for rule in rules.rules):
            return super()._overlay_sql(index, overlay, carry)
        kinds = self._deals()
        number = self._named_rules(overlay.territories, rules)
        constants = {
            name: value if isinstance(value, tuple)
            else self.inputs.lists[value]
            for name, value in rules.lists.items()
        }
        tests = [
            "TRUE" if rule.when is None
            else self._condition(rule.when, kinds, constants)
            for rule in rules.rules
        ]
        if rules.match == "first":
            chosen = " ".join(
                f"WHEN {test} THEN {i}" for i, test in enumerate(tests)
            )
            rule = f"CASE {chosen} END"
        else:
            listed = ", ".join(
                f"CASE WHEN {test} THEN {i} END"
                for i, test in enumerate(tests)
            )
            rule = f"UNNEST([{listed}])"
        where = "TRUE"
        if overlay.where is not None:
            where = self._condition(overlay.where, kinds)
        return (
            f'SELECT "@deal", m."@rule", p."@payee", \'overlay\' AS "@type", '
            f'{literal(overlay.credit)} AS "@share"{carry} FROM '
            f'(SELECT *, {rule} AS "@rule" FROM deals WHERE {where}) m '
            f'JOIN rule_payees p ON p."@set" = {number} '
            'AND p."@rule" = m."@rule"'
        )

    def _owner_epochs(self, owners: str, dated: bool) -> list[tuple]:
        """Every payee with every stretch of the roster that deals close
        in, when there are few enough: cheaper than finding the stretches
        each owner's deals close in."""
        first, last = self.con.execute(
            'SELECT min("@day"), max("@day") FROM deals'
        ).fetchone()
        if first is None:
            return []
        starts = self.changes
        epochs = [
            epoch for epoch, start in enumerate(starts)
            if start <= last
            and (epoch + 1 == len(starts) or starts[epoch + 1] > first)
        ]
        if len(self.roster) * len(epochs) > 200_000:
            return super()._owner_epochs(owners, dated)
        return [(payee, epoch) for payee in self.roster for epoch in epochs]

    def _named_rules(self, ident: str, rules: Territories) -> int:
        """The number under which a rule set's named payees are loaded."""
        if ident not in self._named:
            number = NAMED + len(self._named)
            self._load_rules(number, rules)
            self._named[ident] = number
        return self._named[ident]

    def _match_rows(self, ident: str) -> str:
        """Only the deals some overlay on rule set ``ident`` may credit,
        when every user of the set is such an overlay."""
        wheres = []
        for crediting in self.catalog.creditings.values():
            if crediting.direct_territories == ident:
                return "deals"
            for overlay in crediting.overlays:
                if overlay.territories != ident:
                    continue
                if overlay.where is None:
                    return "deals"
                wheres.append(self._condition(overlay.where, self._deals()))
        if not wheres:
            return "deals"
        return f"(SELECT * FROM deals WHERE {' OR '.join(wheres)})"

    def _refuse_split_errors(self, crediting: Crediting) -> None:
        if self._split_errors(crediting):
            raise NotColumnar("A deal's splits do not add up.")

    def _basis(self, plan: Plan, crediting: Crediting) -> str:
        """SQL for a deal's credit basis: its amount, converted at the
        plan's rates, after the windfall rule."""
        amount = self._converted(plan)
        rule = crediting.windfall
        if rule is None:
            return amount
        above, share = literal(rule.above), literal(rule.credit)
        excess = f"(abs({amount}) - {above}) * {share}"
        return (
            f"(CASE WHEN abs({amount}) <= {above} THEN {amount} "
            f"WHEN {amount} > 0 THEN {above} + {excess} "
            f"ELSE -({above} + {excess}) END)"
        )

    def _converted(self, plan: Plan) -> str:
        """The amount in the plan's currency. Rates are looked up in
        Python for each currency and day, and must be exact decimals."""
        currency = literal(plan.currency)
        pairs = self.con.execute(
            'SELECT DISTINCT "@currency", "@day" FROM deals WHERE '
            f'"@currency" IS NOT NULL AND "@currency" <> {currency}'
        ).fetchall()
        if not pairs:
            return '"@amount"'
        from .columnar import _Rates

        rate_of = _Rates(plan, self.inputs.rates)
        rows = []
        for other, day in pairs:
            probe = Deal("", day, ZERO, "", currency=other)
            rate = rate_of(probe)
            if rate is None:
                raise NotColumnar(f"No exchange rate from {other} on {day}.")
            if len(rate.as_tuple().digits) > 18:
                raise NotColumnar(f"The rate {rate} has too many digits.")
            rows.append((other, day, rate))
        table = f"rates_{len(self._bulk)}"
        self._tables.load(table, [
            ("@rate_currency", TEXT, [r[0] for r in rows]),
            ("@rate_day", DATE, [r[1] for r in rows]),
            ("@rate", NUMBER, [r[2] for r in rows]),
        ])
        return (
            f'(CASE WHEN "@currency" IS NULL OR "@currency" = {currency} '
            f'THEN "@amount" ELSE "@amount" * (SELECT "@rate" FROM {table} '
            'WHERE "@rate_currency" = "@currency" AND "@rate_day" = "@day")'
            " END)"
        )

    def _read(self, crediting: str) -> set[str]:
        """Deal columns the measures of this crediting's plans read."""
        names: set[str] = set()
        for plan in self.catalog.plans:
            if plan.crediting != crediting:
                continue
            for measure in plan_measures(plan):
                if measure.where is not None:
                    names |= measure.where.names
                if measure.aggregate in ("sum", "average", "distinct"):
                    names |= _names(measure)
        return names

    # -- measures ----------------------------------------------------------

    def measure(self, plan, windows, skip=frozenset()):
        """Every measure of the plan for each window, aggregated in SQL;
        no contributions, as they stay in the credit table."""
        windows = list(windows)
        refuse_plan(plan, self.metrics)
        measures = [
            _metric_stages(m, self.metrics) for m in plan_measures(plan)
        ]
        counted = [m for m in measures if m.aggregate != "formula"]
        found: dict[tuple[str, str], list] = {}
        if windows and counted:
            types = set().union(*(m.credit_types for m in counted))
            share = "NULL"
            if "credit_share" in self._read(plan.crediting):
                share = '"@share"'
            with _refusals():
                found = self._aggregates(plan, types, counted, windows, skip,
                                         share)
        return [], self._table(measures, counted, windows, found)

    def _aggregates(self, plan, types, counted, windows, skip, share):
        """Each measure's aggregates per window, in one pass over the
        credits of the windows' payees."""
        name = f"bulk_windows_{self._windows}"
        self._windows += 1
        self._tables.load(name, [
            ("@window_payee", TEXT, [w[0] for w in windows]),
            ("@key", TEXT, [w[1] for w in windows]),
            ("@first", DATE, [w[2] for w in windows]),
            ("@last", DATE, [w[3] for w in windows]),
        ])
        kinds = {**self._deals(), **_CREDIT_KINDS}
        if self._rolled_up(plan, types, counted):
            return self._rollup_aggregates(plan, counted, windows, skip,
                                           share, name)
        if "rollup" in types and not self._manages(plan, windows):
            types = types - {"rollup"}
        table = self.credit_table(plan, types, name)
        columns, deals = [], {}
        for index, measure in enumerate(counted):
            test = self._counts(measure, kinds)
            if measure.aggregate == "count":
                deals[index] = test
                columns += [f'0 AS "@a{index}"', f'NULL AS "@b{index}"']
            else:
                columns += _aggregate_sql(measure, test, kinds, index)
        skipped = ""
        if skip:
            skipped = f' AND "@id" NOT IN ({_listed(sorted(skip))})'
        credits = (
            f'FROM (SELECT *, "@credit" AS credit, {share} AS credit_share, '
            f'"@type" AS credit_type FROM ({table})) x JOIN {name} w '
            'ON "@window_payee" = "@payee" AND "@day" BETWEEN "@first" '
            f'AND "@last"{skipped}'
        )
        self._measured[(plan.id, plan.version)] = (credits, kinds)
        found = {
            (payee, key): values
            for payee, key, *values in self.con.execute(
                f'SELECT "@window_payee", "@key", {", ".join(columns)} '
                f"{credits} GROUP BY ALL"
            ).fetchall()
        }
        if deals:
            self._count_deals(found, deals, credits)
        return found

    def _count_deals(self, found, tests: dict[int, str], credits: str):
        """The measures that count deals, into ``found``: each window's
        distinct deals that pass each test. Grouping by window and deal
        first costs less than a distinct count per measure."""
        flags = ", ".join(
            f'bool_or({test}) AS "@f{index}"' for index, test in tests.items()
        )
        counts = ", ".join(
            f'count(*) FILTER (WHERE "@f{index}")' for index in tests
        )
        either = " OR ".join(f"({test})" for test in tests.values())
        rows = self.con.execute(
            f'SELECT "@window_payee", "@key", {counts} FROM (SELECT '
            f'"@window_payee", "@key", "@id", {flags} {credits} '
            f"AND ({either}) GROUP BY ALL) GROUP BY ALL"
        ).fetchall()
        for payee, key, *numbers in rows:
            values = found[(payee, key)]
            for index, number in zip(tests, numbers):
                values[2 * index] = number

    def _manages(self, plan, windows) -> bool:
        """Whether a roll-up may credit a payee of the windows: whether
        any of them manages someone whose credits roll up."""
        self.credit_table(plan, {"rollup"})
        own, rollups = self._bulk[_key(plan)]
        if rollups is None:
            return False
        managers = {row[0] for row in self.con.execute(
            f'SELECT DISTINCT "@manager" FROM {self._chain_tables[own]}'
        ).fetchall()}
        return any(window[0] in managers for window in windows)

    def _rolled_up(self, plan, types, counted) -> bool:
        """Whether the plan counts only roll-ups, with sums (or averages)
        whose conditions do not depend on who is credited: then each
        manager's measures are the sums of their reports' measures."""
        if types != {"rollup"}:
            return False
        return all(
            m.aggregate in ("sum", "average") and not m.owner_only
            for m in counted
        )

    def _rollup_aggregates(self, plan, counted, windows, skip, share, name):
        """Sums of roll-ups per manager and window, from the owners'
        credits summed per owner, stretch of the roster and window, then
        added up along the chains of managers: no roll-up credit is made.
        A deal has one close date, so it falls in one such group."""
        self.credit_table(plan, {"rollup"})
        own, _ = self._bulk[_key(plan)]
        chains = self._chain_tables[own]
        kinds = {**self._deals(), **_CREDIT_KINDS}
        inner, outer = [], []
        for index, measure in enumerate(counted):
            test = self._counts(measure, kinds)
            value = compile_value(measure.argument, kinds)
            if _value_kind(measure, kinds) != NUMBER:
                raise NotColumnar(
                    f"Measure '{measure.id}' does not sum numbers."
                )
            chosen = f"CASE WHEN {test} THEN {value} END"
            inner.append(f'sum({chosen}) AS "@s{index}"')
            outer.append(f'sum("@s{index}")')
            # Only an average needs how many credits it is taken over.
            if measure.aggregate == "average":
                inner.append(f'count({chosen}) AS "@c{index}"')
                outer.append(f'sum("@c{index}")')
            else:
                outer.append("NULL")
        skipped = ""
        if skip:
            skipped = f' AND "@id" NOT IN ({_listed(sorted(skip))})'
        keys = f"{name}_days"
        self.con.execute(
            f'CREATE TABLE {keys} AS SELECT d."@day", d."@epoch", k."@key" '
            f'FROM {self._stretches()} d JOIN (SELECT DISTINCT "@key", '
            f'"@first", "@last" FROM {name}) k '
            'ON d."@day" BETWEEN k."@first" AND k."@last"'
        )
        query = (
            f'SELECT m."@manager", r."@key", {", ".join(outer)} FROM ('
            f'SELECT o."@report", k."@epoch", k."@key", {", ".join(inner)} '
            f'FROM (SELECT * EXCLUDE ("@type", "@payee"), "@payee" AS '
            '"@report", \'rollup\' AS "@type", \'rollup\' AS credit_type, '
            f'"@credit" AS credit, {share} AS credit_share FROM {own} '
            f"WHERE \"@type\" IN ('direct', 'split'){skipped}) o "
            f'JOIN {keys} k ON k."@day" = o."@day" GROUP BY ALL) r '
            f'JOIN {chains} m ON m."@payee" = r."@report" '
            'AND m."@epoch" = r."@epoch" '
            f'JOIN {name} w ON w."@window_payee" = m."@manager" '
            'AND w."@key" = r."@key" GROUP BY ALL'
        )
        return {
            (payee, key): values
            for payee, key, *values in self.con.execute(query).fetchall()
        }

    def _table(self, measures, counted, windows, found) -> MeasureTable:
        table: MeasureTable = {}
        empty = [None] * (2 * len(counted))
        for payee, key, _, _ in windows:
            values = found.get((payee, key), empty)
            results: dict[str, MeasureResult] = {}
            index = 0
            for measure in measures:
                if measure.aggregate == "formula":
                    results[measure.id] = _formula(measure, results)
                    continue
                first, second = values[2 * index], values[2 * index + 1]
                results[measure.id] = _result(measure, first, second)
                index += 1
            table[(payee, key)] = results
        return table

    # -- pay per deal ------------------------------------------------------

    def deal_pay(self, plan: Plan, component, bands: Mapping) -> dict:
        """What a rate table applied per deal pays in each window: each
        credit the measure counts (each deal, for a count) valued alone
        through the window's bands, ``bands`` being the window's
        :class:`~engine.payout.DealBands` by (payee, key). Nothing is
        divided, so the sums are exact."""
        table = component.rule
        measure = next(m for m in plan_measures(plan) if m.id == table.measure)
        if (plan.id, plan.version) not in self._measured:
            raise NotColumnar(
                f"Component '{component.id}' applies its rates per deal to "
                "a measure summed along the chains of managers."
            )
        credits, kinds = self._measured[(plan.id, plan.version)]
        test = self._counts(measure, kinds)
        if measure.aggregate == "count":
            values = (
                f'SELECT DISTINCT "@window_payee", "@key", "@id", 1 AS v '
                f"{credits} AND ({test})"
            )
        else:
            values = (
                f'SELECT "@window_payee", "@key", '
                f"{compile_value(measure.argument, kinds)} AS v "
                f"{credits} AND ({test})"
            )
        name = f"deal_bands_{self._windows}"
        self._windows += 1
        rows = [
            (payee, key, index, lower, upper, rate, found.floor)
            for (payee, key), found in bands.items()
            for index, (lower, upper, rate) in enumerate(found.edges)
        ]
        with _refusals():
            loaded = self._tables.load(name, [
                ("@window_payee", TEXT, [r[0] for r in rows]),
                ("@key", TEXT, [r[1] for r in rows]),
                ("@band", NUMBER, [r[2] for r in rows]),
                ("@lower", NUMBER, [r[3] for r in rows]),
                ("@upper", NUMBER, [r[4] for r in rows]),
                ("@rate", NUMBER, [r[5] for r in rows]),
                ("@floor", NUMBER, [r[6] for r in rows]),
            ])
            numbers = ("@lower", "@upper", "@rate", "@floor")
            if any(loaded[column] != NUMBER for column in numbers):
                raise NotColumnar("A rate or band edge has too many digits.")
            first = 'CASE WHEN b."@band" = 0 THEN v * b."@rate" ELSE 0 END'
            if table.method == "marginal":
                part = (
                    f'CASE WHEN v < 0 THEN {first} ELSE b."@rate" * '
                    'greatest(least(v, coalesce(b."@upper", v)) - '
                    'b."@lower", 0) END'
                )
            else:
                part = (
                    'CASE WHEN v < coalesce(b."@floor", v) THEN 0 '
                    f"WHEN v < 0 THEN {first} "
                    'WHEN v >= b."@lower" AND (b."@upper" IS NULL OR '
                    'v < b."@upper") THEN v * b."@rate" ELSE 0 END'
                )
            found = self.con.execute(
                f'SELECT c."@window_payee", c."@key", sum({part}) FROM '
                f"({values}) c JOIN {name} b ON "
                'b."@window_payee" = c."@window_payee" AND b."@key" = '
                'c."@key" WHERE v IS NOT NULL GROUP BY ALL'
            ).fetchall()
        return {(payee, key): Decimal(total) for payee, key, total in found}

    # -- the credit table as a file ----------------------------------------

    def _credit_sql(self, key: str) -> str:
        own, rollups = self._bulk[key]
        return f"SELECT * FROM {own}" + (
            f" UNION ALL {rollups}" if rollups else ""
        )

    def write_credits(self, folder: Path) -> Later:
        """Start writing each credit table as Parquet in ``folder``, named
        by the hash of its content, on a connection of its own; returns
        crediting (with currency and rate policy) to hash, which waits
        for the files when read. The thread is not a daemon: a file
        started is finished, even when the run fails meanwhile."""
        folder.mkdir(parents=True, exist_ok=True)
        queries = {
            key: 'SELECT "@id" AS deal_id, "@payee" AS payee_id, "@type" AS '
            f'credit_type, "@credit" AS credit FROM ({self._credit_sql(key)})'
            for key in sorted(self._bulk)
        }
        cursor = self.con.cursor()

        def write() -> dict[str, str]:
            try:
                return {
                    key: write_parquet(cursor, query, folder)
                    for key, query in queries.items()
                }
            finally:
                cursor.close()

        return Later(write, queries, "credit-tables", daemon=False)

    def payee_deals(self, payee: str) -> set[str]:
        """The ids of every deal that credits ``payee`` under any plan
        computed so far."""
        found: set[str] = set()
        for key in self._bulk:
            rows = self.con.execute(
                f'SELECT DISTINCT "@id" FROM ({self._credit_sql(key)}) '
                'WHERE "@payee" = ?',
                [payee],
            ).fetchall()
            found.update(r[0] for r in rows)
        return found


_CREDIT_NAMES = ("credit", "credit_share", "credit_type")
# Rule sets loaded for overlays read in one pass are numbered from here,
# apart from those of the general path.
NAMED = 1_000_000
CREDIT_TYPES = ("direct", "split", "overlay", "rollup")
_CREDIT_KINDS = {"credit": NUMBER, "credit_share": NUMBER,
                 "credit_type": TEXT}


def refuse_plan(plan: Plan, metrics) -> None:
    """What the SQL path does not compute: pay per deal of a measure that
    neither sums nor counts, and metrics from plugins."""
    measures = {m.id: m for m in plan_measures(plan)}
    for component in per_deal(plan):
        if measures[component.rule.measure].aggregate not in ("sum", "count"):
            raise NotColumnar(
                f"Component '{component.id}' applies its rates per deal to "
                "a measure that neither sums nor counts."
            )
    for measure in measures.values():
        if measure.aggregate == "metric":
            raise NotColumnar(
                f"Measure '{measure.id}' is computed by a plugin metric."
            )


def per_deal(plan: Plan) -> list:
    """The plan's components whose rate table is applied per deal."""
    return [
        c for c in plan.components.values()
        if getattr(c.rule, "per", None) == "deal"
    ]


def _names(measure: Measure) -> set[str]:
    argument = measure.argument
    if isinstance(argument, str):
        return {argument}
    return set(getattr(argument, "names", ()))


def _aggregate_sql(measure: Measure, test: str, kinds, index: int) -> list:
    """Two aggregate columns per measure; what they hold depends on the
    aggregate (a sum and nothing, a count, a sum and a count)."""
    kind = measure.aggregate
    if kind == "count":
        return [
            f'count(DISTINCT CASE WHEN {test} THEN "@id" END) AS "@a{index}"',
            f'NULL AS "@b{index}"',
        ]
    if kind == "distinct":
        column = quote(measure.argument)
        if measure.argument not in kinds:
            return [f'0 AS "@a{index}"', f'NULL AS "@b{index}"']
        return [
            f"count(DISTINCT CASE WHEN {test} THEN {column} END) "
            f'AS "@a{index}"',
            f'NULL AS "@b{index}"',
        ]
    value = compile_value(measure.argument, kinds)
    if _value_kind(measure, kinds) != NUMBER:
        raise NotColumnar(f"Measure '{measure.id}' does not sum numbers.")
    chosen = f"CASE WHEN {test} THEN {value} END"
    if kind == "sum":
        return [f'sum({chosen}) AS "@a{index}"', f'NULL AS "@b{index}"']
    return [f'sum({chosen}) AS "@a{index}"', f'count({chosen}) AS "@b{index}"']


def _value_kind(measure: Measure, kinds) -> str | None:
    from .sql import _bind, _kind

    return _kind(_bind(measure.argument, kinds, None), kinds)


def _result(measure: Measure, first, second) -> MeasureResult:
    kind = measure.aggregate
    if kind == "sum":
        value = ZERO if first is None else Decimal(first)
        return MeasureResult(value, [], itemised=False)
    if kind == "count":
        return MeasureResult(Decimal(first or 0), [], itemised=False)
    if kind == "distinct":
        return MeasureResult(Decimal(first or 0), [], additive=False,
                             itemised=False)
    value = Decimal(first) / second if second else None
    return MeasureResult(value, [], additive=False, itemised=False)


# The most distinct values of a column the Parquet writer keeps in a
# dictionary. Payees and credit types fit; deal ids, nearly one per
# credit, never do, and a smaller limit lets the writer give up on them
# sooner: the credit table is written in a tenth less time.
DICTIONARY_SIZE = 4096


def write_parquet(con, query: str, folder: Path) -> str:
    """Write a query's rows as Parquet named by the SHA-256 of the file;
    returns the hash. The same rows in the same order give the same file
    and the same name; a join run on several threads may order them
    differently from one run to the next."""
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".credits-",
                                suffix=".parquet")
    os.close(fd)
    try:
        con.execute(
            f"COPY ({query}) TO {literal(temp)} "
            f"(FORMAT parquet, DICTIONARY_SIZE_LIMIT {DICTIONARY_SIZE})"
        )
        digest = hashlib.sha256()
        with open(temp, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        name = digest.hexdigest()
        os.replace(temp, folder / f"{name}.parquet")
        return name
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def payee_inputs(catalog, inputs, payee: str, metrics):
    """The inputs with only the deals that credit ``payee`` (and the
    deals they cancel), as Python objects: a payee's pay depends on no
    other deal, so the Python path explains it deal by deal."""
    from dataclasses import replace

    from .roster import Roster

    table: DealTable = inputs.deals
    stage = BulkStage(catalog, inputs, Roster(inputs.roster), metrics, table)
    try:
        for plan in catalog.plans:
            stage.credit_table(plan)
        ids = stage.payee_deals(payee)
    except NotColumnar:
        deals = table.deals()
    else:
        deals = table.by_ids(ids)
        cancelled = {d.attributes.get("cancels") for d in deals} - {None, ""}
        if cancelled - ids:
            deals = table.by_ids(ids | cancelled)
    finally:
        stage.close()
    return replace(inputs, deals=deals, through=table.last_close())


def write_credit_lists(credits: Mapping[str, list], folder: Path
                       ) -> dict[str, str]:
    """Credits computed in Python, written as the columnar stage writes
    its credit tables; a table with a number DuckDB cannot hold exactly
    is left out."""
    from .columnar import MIXED, _Tables

    written = {}
    con = connect()
    tables = _Tables(con)
    try:
        for key, found in sorted(credits.items()):
            if not found:
                continue
            kinds = tables.load("credit_list", [
                ("deal_id", TEXT, [c.deal.deal_id for c in found]),
                ("payee_id", TEXT, [c.payee_id for c in found]),
                ("credit_type", TEXT, [c.credit_type for c in found]),
                ("credit", NUMBER, [c.amount for c in found]),
            ])
            if MIXED in kinds.values():
                logger.warning("The credits of %s have a number of more than "
                               "38 digits; they are not written.", key)
                continue
            folder.mkdir(parents=True, exist_ok=True)
            written[key] = write_parquet(
                con, "SELECT * FROM credit_list", folder
            )
    finally:
        tables.close()
        con.close()
    return written
