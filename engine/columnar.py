"""The first stage on DuckDB: deals to credits to measures.

:class:`ColumnarStage` gives what :class:`~engine.crediting.Crediter`
and :func:`~engine.measures.compute_measures` give, with DuckDB doing
the work that grows with the ledger: territory rules, overlay and
measure conditions, splits, the effective-dated roster and the choice
of the credits each measure counts.

The amounts themselves are multiplied and added in Python from the
original Decimals. A statement shows every credit and measure as the
exact Decimal the Python path makes, exponent included ("650000.0" is
not "650000.00"), which DuckDB's fixed-scale DECIMAL cannot carry; so
no value that reaches a payout line passes through SQL arithmetic, and
no division ever happens in SQL.

Whatever the SQL path cannot decide exactly (a condition Python would
refuse, a column of mixed types, a number of more than 38 digits)
raises :class:`NotColumnar`, and the caller computes that plan on the
Python path instead.
"""

from __future__ import annotations

import ast
import gc
import logging
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from .crediting import Credit, Crediter, condition_values, windfall_basis
from .errors import AttainError, ExpressionError
from .measures import (
    MeasureResult,
    MeasureTable,
    _aggregate,
    _contribution,
    _formula,
    _metric_stages,
    _number,
    _stage,
    plan_measures,
)
from .records import Deal
from .roster import Roster
from .spec import Crediting, Measure, Plan, Territories
from .sql import DATE, FLAG, NUMBER, TEXT, compile_condition, literal, quote

logger = logging.getLogger(__name__)

ONE = Decimal(1)
ZERO = Decimal(0)
HUNDRED = Decimal(100)

# A column whose values have no single kind, or numbers DuckDB cannot
# hold exactly: a condition that reads it is left to Python.
MIXED = "mixed"
INTEGER = "integer"
MAX_DIGITS = 38
# Columns of the engine's own start with this; deal columns may not.
OWN = "@"
CREDIT_FIELDS = {"credit": NUMBER, "credit_type": TEXT, "credit_share": NUMBER}

_SQL_TYPES = {TEXT: "VARCHAR", DATE: "DATE", FLAG: "BOOLEAN",
              INTEGER: "BIGINT"}
_KIND_OF_TYPE = {str: TEXT, bool: FLAG, date: DATE, int: NUMBER,
                 Decimal: NUMBER, float: NUMBER}


class NotColumnar(AttainError):
    """Something the columnar stage cannot compute exactly.

    The caller falls back to the Python path for the plan at hand.
    """


@contextmanager
def _refusals() -> Iterator[None]:
    """What DuckDB or the SQL compiler refuse becomes NotColumnar."""
    try:
        yield
    except ExpressionError as err:
        raise NotColumnar(str(err)) from None
    except duckdb.Error as err:
        raise NotColumnar(f"DuckDB refused a query: {err}") from None


@contextmanager
def _bulk() -> Iterator[None]:
    """No garbage collection while building many objects at once.

    The objects built live on (credits, contributions); with collection
    on, each batch of them would make Python scan every object alive,
    the ledger included, over and over.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ColumnarStage:
    """The first stage of one evaluation, on an in-process DuckDB.

    Deals, roster and splits are loaded once; credits are computed once
    per crediting and, as Python objects, once per crediting, currency
    and rate policy, as :meth:`_Evaluator.run` shares them.
    """

    def __init__(
        self,
        catalog,
        inputs,
        roster: Roster,
        metrics: Mapping[str, Any] | None = None,
    ):
        self.catalog = catalog
        self.inputs = inputs
        self.roster = roster
        self.metrics = metrics or {}
        self.con = duckdb.connect()
        self._tables = _Tables(self.con)
        self._deal_kinds: dict[str, str | None] | None = None
        self._rule_sets: dict[str, int] = {}
        self._credit_tables: dict[str, str] = {}
        self._credits: dict[str, list[Credit]] = {}
        self._value_tables: dict[str, str] = {}
        self.changes: list[date] = []

    def close(self) -> None:
        self.con.close()
        self._tables.close()

    def __enter__(self) -> ColumnarStage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the stage ---------------------------------------------------------

    def measure(
        self,
        plan: Plan,
        windows: Iterable[tuple[str, str, date, date]],
        skip: frozenset[str] = frozenset(),
    ) -> tuple[list[Credit], MeasureTable]:
        """The plan's credits, and every measure for each window.

        The same as ``Crediter.credit`` over the ledger followed by
        ``compute_measures(plan, credits, windows, metrics, skip)``.
        """
        windows = list(windows)
        measures = [
            _metric_stages(m, self.metrics) for m in plan_measures(plan)
        ]
        with _bulk():
            credits = self.credits(plan)
            with _refusals():
                lists = self._counted(plan, measures, windows, skip)
            found = _Windows(measures, lists, self.metrics).table(windows)
        return credits, found

    def credits(self, plan: Plan) -> list[Credit]:
        """Every credit of every deal, in the order the Python path
        makes them."""
        key = _key(plan)
        if key in self._credits:
            return self._credits[key]
        crediting = self.catalog.creditings[plan.crediting]
        with _bulk():
            bases, failed = self._bases(plan, crediting)
            with _refusals():
                table = self._credit_table(crediting)
                self._check(plan, crediting, failed)
                rows = self.con.execute(
                    f'SELECT "@deal", "@payee", "@type", "@ref", "@rule" '
                    f'FROM {table} ORDER BY "@cid"'
                ).fetchall()
            builder = _Builder(
                self.inputs, crediting, self.catalog.territories, bases
            )
            self._credits[key] = builder.build(rows)
        return self._credits[key]

    # -- deals and the roster ----------------------------------------------

    def _deals(self) -> dict[str, str | None]:
        """Load the ledger once; the kind of each deal column."""
        if self._deal_kinds is None:
            deals = self.inputs.deals
            names, values = _deal_columns([d.attributes for d in deals])
            own = [n for n in names if n.startswith(OWN)]
            if own:
                raise NotColumnar(f"A deal column is named {own[0]!r}.")
            columns = [
                ("@deal", INTEGER, range(len(deals))),
                ("@id", TEXT, [d.deal_id for d in deals]),
                ("@day", DATE, [d.close_date for d in deals]),
                ("@owner", TEXT, [d.owner for d in deals]),
                ("@stage", TEXT, [_stage(d.stage) for d in deals]),
            ]
            columns += [(n, None, v) for n, v in zip(names, values)]
            kinds = self._tables.load("deals", columns)
            self._deal_kinds = {n: kinds[n] for n in names}
            logger.debug("Loaded %d deals with %d columns into DuckDB",
                         len(deals), len(names))
            self._load_roster()
        return self._deal_kinds

    def _load_roster(self) -> None:
        """Territory members by stretch, and the days the roster changes
        on, so that a deal's close date finds the roster in force."""
        ranks = {payee: rank for rank, payee in enumerate(self.roster)}
        members = []
        for payee, rank in ranks.items():
            for number, row in enumerate(self.roster.stretches(payee)):
                for territory in dict.fromkeys(row.territories):
                    members.append((
                        payee, rank, number, territory, row.effective_from,
                        row.effective_to, row.hire_date,
                        row.termination_date,
                    ))
        names = ("@payee", "@rank", "@stretch", "@territory", "@from",
                 "@to", "@hired", "@left")
        kinds = (TEXT, INTEGER, INTEGER, TEXT, DATE, DATE, DATE, DATE)
        self._tables.load("members", _by_column(names, kinds, members))

        self.changes = _roster_changes(self.roster)
        self._tables.load("changes", [
            ("@epoch", INTEGER, range(len(self.changes))),
            ("@start", DATE, self.changes),
        ])

    # -- crediting ---------------------------------------------------------

    def _bases(self, plan: Plan, crediting: Crediting):
        """Each deal's credit basis: converted, then the windfall rule;
        and the first deal without an exchange rate, if any."""
        rate_of = _Rates(plan, self.inputs.rates)
        currency = plan.currency
        bases = []
        for index, deal in enumerate(self.inputs.deals):
            amount = deal.amount
            if deal.currency not in (None, currency):
                rate = rate_of(deal)
                if rate is None:
                    return bases, index
                amount = deal.amount * rate
            bases.append(windfall_basis(amount, crediting))
        return bases, None

    def _check(self, plan: Plan, crediting: Crediting, failed) -> None:
        """Raise the error the Python path raises first, if any."""
        found = [] if failed is None else [failed]
        found += self._split_errors(crediting)
        if not found:
            return
        first = self.inputs.deals[min(found)]
        crediter = _python_crediter(
            plan, crediting, self.roster, self.catalog, self.inputs
        )
        crediter.credit(first)
        raise NotColumnar(
            f"Deal '{first.deal_id}' looked wrong to the columnar stage "
            "but not to the Python path."
        )

    def _split_errors(self, crediting: Crediting) -> list[int]:
        splits = crediting.splits
        errors = []
        if splits and splits.table:
            self._load_splits()
            total = literal(splits.total * HUNDRED)
            errors.append(
                'SELECT min(d."@deal") FROM deals d JOIN (SELECT "@deal_id",'
                ' sum("@percent") AS total FROM splits GROUP BY 1) s '
                f'ON s."@deal_id" = d."@id" WHERE s.total <> {total}'
            )
        columns = self._split_columns(crediting)
        if columns is not None:
            _, percent, split = columns
            errors.append(
                f'SELECT min("@deal") FROM deals WHERE {split} AND NOT '
                f"({percent} > 0 AND {percent} < 100)"
            )
        found = [self.con.execute(sql).fetchone()[0] for sql in errors]
        return [index for index in found if index is not None]

    def _load_splits(self) -> None:
        if "splits" in self._tables.names:
            return
        rows = self.inputs.splits
        kinds = self._tables.load("splits", [
            ("@split", INTEGER, range(len(rows))),
            ("@deal_id", TEXT, [r.deal_id for r in rows]),
            ("@payee", TEXT, [r.payee_id for r in rows]),
            ("@percent", NUMBER, [r.percent for r in rows]),
        ])
        if kinds["@percent"] == MIXED:
            raise NotColumnar("A split percent has more than 38 digits.")

    def _split_columns(self, crediting: Crediting):
        """SQL for the partner, the percent and whether a deal is split
        by its own columns; None when the crediting reads no columns."""
        splits = crediting.splits
        if not splits or not splits.partner_column:
            return None
        kinds = self._deals()
        partner, percent = splits.partner_column, splits.percent_column
        if kinds.get(partner) is None or kinds.get(percent) is None:
            return None
        if kinds[partner] != TEXT or kinds[percent] != NUMBER:
            raise NotColumnar(
                f"Split columns '{partner}' and '{percent}' must hold text "
                "and numbers for the columnar stage."
            )
        partner, percent = quote(partner), quote(percent)
        split = (
            f"({partner} IS NOT NULL AND {partner} <> '' "
            f"AND {percent} IS NOT NULL)"
        )
        if splits.table:
            self._load_splits()
            split += ' AND "@id" NOT IN (SELECT "@deal_id" FROM splits)'
        return partner, percent, split

    def _credit_table(self, crediting: Crediting) -> str:
        """The credits of every deal under ``crediting``, numbered in the
        Python path's order: owners, overlays, then roll-ups."""
        if crediting.id in self._credit_tables:
            return self._credit_tables[crediting.id]
        self._deals()
        number = len(self._credit_tables)
        owners = f"owners_{number}"
        self.con.execute(
            f"CREATE TABLE {owners} AS SELECT *, row_number() OVER "
            '(PARTITION BY "@deal" ORDER BY "@k1", "@k2", "@k3") - 1 '
            f'AS "@pos" FROM ({self._owners_sql(crediting)})'
        )
        parts = [
            'SELECT "@deal", 0 AS "@part", "@k1", "@k2", "@k3", 0 AS "@k4", '
            f'"@payee", "@type", "@ref", "@rule", "@share" FROM {owners}'
        ]
        parts += [
            self._overlay_sql(index, overlay)
            for index, overlay in enumerate(crediting.overlays)
        ]
        if crediting.rollup_roles is not None:
            parts.append(self._rollup_sql(crediting, owners))

        table = f"credits_{number}"
        self.con.execute(
            f'CREATE TABLE {table} AS SELECT row_number() OVER (ORDER BY '
            '"@deal", "@part", "@k1", "@k2", "@k3", "@k4") - 1 AS "@cid", '
            '"@deal", "@payee", "@type", "@ref", "@rule" FROM ('
            + " UNION ALL ".join(parts) + ")"
        )
        self._credit_tables[crediting.id] = table
        return table

    def _owners_sql(self, crediting: Crediting, carry: str = "") -> str:
        """SQL for the owners' credits: by the split table, by the deal's
        split columns, or whole to the owner or the territory's payees;
        ``@share`` is the share of the deal each gets, and ``carry`` adds
        columns of the deal."""
        splits = crediting.splits
        parts = []
        plain = "TRUE"
        if splits and splits.table:
            self._load_splits()
            parts.append(_credit_sql(
                'd."@deal"', 's."@split"', "0", "0", 's."@payee"', "split",
                's."@split"', "NULL",
                'deals d JOIN splits s ON s."@deal_id" = d."@id"',
                share='s."@percent" * 0.01', carry=carry,
            ))
            plain = '"@id" NOT IN (SELECT "@deal_id" FROM splits)'
        columns = self._split_columns(crediting)
        if columns is not None:
            partner, percent, split = columns
            shares = (f"(100 - {percent}) * 0.01", f"{percent} * 0.01")
            for side, payee in ((0, '"@owner"'), (1, partner)):
                parts.append(_credit_sql(
                    '"@deal"', str(side), "0", "0", payee, "split",
                    str(-1 - side), "NULL", f"deals WHERE {split}",
                    share=shares[side], carry=carry,
                ))
            plain += f" AND NOT ({split})"

        ident = crediting.direct_territories
        if ident is None:
            parts.append(_credit_sql(
                '"@deal"', "0", "0", "0", '"@owner"', "direct", "-1", "NULL",
                f"deals WHERE {plain}", carry=carry,
            ))
        else:
            parts.append(_credit_sql(
                't."@deal"', 't."@rule"', 't."@k1"', 't."@k2"', 't."@payee"',
                "direct", "-1", 't."@rule"',
                f"({self._territory_payees(ident)}) t "
                f'JOIN deals USING ("@deal") WHERE {plain}', carry=carry,
            ))
        return " UNION ALL ".join(parts)

    def _overlay_sql(self, index: int, overlay, carry: str = "") -> str:
        found = self._territory_payees(overlay.territories)
        where = "TRUE"
        if overlay.where is not None:
            where = self._condition(overlay.where, self._deals())
        return (
            f'SELECT t."@deal", 1 AS "@part", {index} AS "@k1", '
            't."@rule" AS "@k2", t."@k1" AS "@k3", t."@k2" AS "@k4", '
            f't."@payee", \'overlay\' AS "@type", {index} AS "@ref", '
            f't."@rule", {literal(overlay.credit)} AS "@share"{carry} '
            f'FROM ({found}) t JOIN deals USING ("@deal") WHERE {where}'
        )

    def _rollup_sql(self, crediting: Crediting, owners: str) -> str:
        """Roll-ups from the owners' managers on each close date."""
        table = self._chains(crediting, owners)
        return (
            'SELECT o."@deal", 2 AS "@part", o."@pos" AS "@k1", '
            'm."@depth" AS "@k2", 0 AS "@k3", 0 AS "@k4", m."@manager", '
            f"'rollup' AS \"@type\", o.\"@pos\" AS \"@ref\", NULL, "
            f'o."@share" FROM {owners} o JOIN deals d USING ("@deal") '
            'ASOF JOIN changes c ON d."@day" >= c."@start" '
            f'JOIN {table} m ON m."@payee" = o."@payee" '
            'AND m."@epoch" = c."@epoch"'
        )

    def _chains(self, crediting: Crediting, owners: str,
                dated: bool = False) -> str:
        """A table of each owner's managers, nearest first, for every
        stretch of days the roster stays the same. ``dated`` owners carry
        their deal's close date."""
        pairs = self._owner_epochs(owners, dated)
        roles = crediting.rollup_roles
        chains = []
        for payee, epoch in pairs:
            day = self.changes[epoch]
            if roles and self.roster.role_on(payee, day) not in roles:
                continue
            for depth, manager in enumerate(self.roster.managers(payee, day)):
                chains.append((payee, epoch, depth, manager))
        table = f"chains_{sum(n.startswith('chains_') for n in self._tables.names)}"
        names = ("@payee", "@epoch", "@depth", "@manager")
        self._tables.load(
            table, _by_column(names, (TEXT, INTEGER, INTEGER, TEXT), chains)
        )
        return table

    def _owner_epochs(self, owners: str, dated: bool) -> list[tuple]:
        """Each owner with each stretch of days its deals close in."""
        deals = "" if dated else 'JOIN deals d USING ("@deal") '
        day = 'o."@day"' if dated else 'd."@day"'
        return self.con.execute(
            f'SELECT DISTINCT o."@payee", c."@epoch" FROM {owners} o '
            f'{deals}ASOF JOIN changes c ON {day} >= c."@start"'
        ).fetchall()

    def _territory_payees(self, ident: str) -> str:
        """SQL for (deal, rule, k1, k2, payee): each deal's payees under a
        territory rule set, sortable in the Python path's order."""
        number = self._matches(ident)
        return (
            'SELECT m."@deal", m."@rule", p."@pos" AS "@k1", 0 AS "@k2", '
            f'p."@payee" FROM matches_{number} m JOIN rule_payees p '
            f'ON p."@set" = {number} AND p."@rule" = m."@rule" '
            "UNION ALL "
            'SELECT m."@deal", m."@rule", t."@rank", t."@stretch", '
            f't."@payee" FROM matches_{number} m JOIN rule_territories r '
            f'ON r."@set" = {number} AND r."@rule" = m."@rule" '
            'JOIN deals d ON d."@deal" = m."@deal" '
            'JOIN members t ON t."@territory" = r."@territory" '
            'AND (t."@from" IS NULL OR t."@from" <= d."@day") '
            'AND (t."@to" IS NULL OR d."@day" <= t."@to") '
            'AND (t."@hired" IS NULL OR t."@hired" <= d."@day") '
            'AND (t."@left" IS NULL OR d."@day" <= t."@left")'
        )

    def _matches(self, ident: str) -> int:
        """Which rules of a set each deal matches, as table matches_N."""
        if ident in self._rule_sets:
            return self._rule_sets[ident]
        rules: Territories = self.catalog.territories[ident]
        number = len(self._rule_sets)
        constants = {
            name: value if isinstance(value, tuple)
            else self.inputs.lists[value]
            for name, value in rules.lists.items()
        }
        tests = [
            "TRUE" if rule.when is None
            else self._condition(rule.when, self._deals(), constants)
            for rule in rules.rules
        ]
        if not tests:
            found = (
                'SELECT "@deal", CAST(NULL AS BIGINT) AS "@rule" '
                f"FROM {self._match_rows(ident)}"
            )
        elif rules.match == "first":
            chosen = " ".join(
                f"WHEN {test} THEN {i}" for i, test in enumerate(tests)
            )
            found = (
                f'SELECT "@deal", CASE {chosen} END AS "@rule" '
                f"FROM {self._match_rows(ident)}"
            )
        else:
            listed = ", ".join(
                f"CASE WHEN {test} THEN {i} END"
                for i, test in enumerate(tests)
            )
            found = (
                f'SELECT "@deal", UNNEST([{listed}]) AS "@rule" '
                f"FROM {self._match_rows(ident)}"
            )
        self.con.execute(
            f"CREATE TABLE matches_{number} AS SELECT * FROM ({found}) "
            'WHERE "@rule" IS NOT NULL'
        )
        self._load_rules(number, rules)
        self._rule_sets[ident] = number
        return number

    def _match_rows(self, ident: str) -> str:
        """The deals whose rules of set ``ident`` are looked at: all."""
        return "deals"

    def _load_rules(self, number: int, rules: Territories) -> None:
        named = [
            (number, index, position, payee)
            for index, rule in enumerate(rules.rules)
            for position, payee in enumerate(rule.payees)
        ]
        assigned = [
            (number, index, rule.territory)
            for index, rule in enumerate(rules.rules)
            if not rule.payees
        ]
        self._tables.append("rule_payees", _by_column(
            ("@set", "@rule", "@pos", "@payee"),
            (INTEGER, INTEGER, INTEGER, TEXT), named,
        ))
        self._tables.append("rule_territories", _by_column(
            ("@set", "@rule", "@territory"), (INTEGER, INTEGER, TEXT),
            assigned,
        ))

    def _condition(self, expr, kinds, constants=None) -> str:
        """A plan condition as SQL over columns of the given kinds."""
        constants = constants or {}
        usable = {}
        for name in expr.names - set(constants):
            kind = kinds.get(name)
            if kind == MIXED:
                raise NotColumnar(
                    f"Deal column '{name}' holds values of different types."
                )
            if kind is not None:
                usable[name] = kind
        return compile_condition(expr, usable, constants, strict=False)

    # -- measures ----------------------------------------------------------

    def _counted(self, plan, measures, windows, skip):
        """For each payee with a window, the credits each measure counts,
        in the Python path's order: close date, deal id, credit."""
        counted = [m for m in measures if m.aggregate != "formula"]
        if not windows or not counted:
            return {}
        credits = self.credits(plan)
        table = self._credit_tables[plan.crediting]
        kinds = {**self._deals(), **CREDIT_FIELDS}
        tests = [self._counts(m, kinds) for m in counted]
        needed = set().union(*(
            m.where.names for m in counted if m.where is not None
        ))
        payees = sorted({w[0] for w in windows})
        self._tables.load("window_payees", [("@payee", TEXT, payees)])

        first = literal(min(w[2] for w in windows))
        last = literal(max(w[3] for w in windows))
        names = [f'"@f{i}"' for i in range(len(tests))]
        flags = ", ".join(f"{t} AS {n}" for t, n in zip(tests, names))
        view = self._credit_view(plan, table, needed, credits)
        query = (
            f'SELECT "@cid", "@payee", {", ".join(names)} FROM ('
            f'SELECT "@cid", "@payee", "@day", "@id", {flags} FROM ({view}) '
            f'WHERE "@day" BETWEEN {first} AND {last} AND "@payee" IN '
            '(SELECT "@payee" FROM window_payees)) '
            f'WHERE {" OR ".join(names)} '
            'ORDER BY "@payee", "@day", "@id", "@cid"'
        )
        found: dict[str, list[list[Credit]]] = {}
        for cid, payee, *chosen in self.con.execute(query).fetchall():
            credit = credits[cid]
            if credit.deal.deal_id in skip:
                continue
            lists = found.get(payee)
            if lists is None:
                lists = found[payee] = [[] for _ in counted]
            for index, counts in enumerate(chosen):
                if counts:
                    lists[index].append(credit)
        return found

    def _counts(self, measure: Measure, kinds) -> str:
        """SQL that says whether a credit counts for a measure."""
        parts = [
            '"@stage" IN (' + _listed(measure.stages) + ")",
            '"@type" IN (' + _listed(measure.credit_types) + ")",
        ]
        if measure.owner_only:
            parts.append('"@owner" = "@payee"')
        if measure.starts:
            parts.append(f'"@day" >= {literal(measure.starts)}')
        if measure.ends:
            parts.append(f'"@day" <= {literal(measure.ends)}')
        if measure.where is not None:
            parts.append(self._condition(measure.where, kinds))
        return "(" + " AND ".join(parts) + ")"

    def _credit_view(self, plan, table, needed, credits) -> str:
        """SQL for the credits with what a measure condition reads."""
        kinds = self._deals()
        columns = [
            f"d.{quote(name)}" for name in sorted(needed)
            if kinds.get(name) not in (None, MIXED)
            and name not in CREDIT_FIELDS
        ]
        columns.append('c."@type" AS credit_type')
        joined = ""
        if needed & {"credit", "credit_share"}:
            values = self._credit_values(plan, credits)
            joined = f' JOIN {values} v USING ("@cid")'
            columns += ["v.credit", "v.credit_share"]
        return (
            'SELECT c."@cid", c."@payee", c."@type", d."@day", d."@id", '
            'd."@stage", d."@owner", ' + ", ".join(columns)
            + f' FROM {table} c JOIN deals d USING ("@deal"){joined}'
        )

    def _credit_values(self, plan: Plan, credits: list[Credit]) -> str:
        """Credit amounts and shares as exact DECIMALs, for conditions."""
        key = _key(plan)
        if key not in self._value_tables:
            table = f"values_{len(self._value_tables)}"
            kinds = self._tables.load(table, [
                ("@cid", INTEGER, range(len(credits))),
                ("credit", NUMBER, [c.amount for c in credits]),
                ("credit_share", NUMBER, [c.share for c in credits]),
            ])
            if MIXED in kinds.values():
                raise NotColumnar("A credit has more than 38 digits.")
            self._value_tables[key] = table
        return self._value_tables[key]


# ---------------------------------------------------------------------------
# Credits as Python objects
# ---------------------------------------------------------------------------


class _Builder:
    """Turns credit rows from DuckDB into the Python path's Credits."""

    def __init__(self, inputs, crediting: Crediting, territories, bases):
        self.deals: list[Deal] = inputs.deals
        self.splits = inputs.splits
        self.crediting = crediting
        self.territories = territories
        self.bases = bases
        self._labels: dict[tuple, str] = {}

    def build(self, rows) -> list[Credit]:
        credits: list[Credit] = []
        owners: list[Credit] = []
        current = -1
        for index, payee, kind, ref, rule in rows:
            if index != current:
                current, owners = index, []
                deal, basis = self.deals[index], self.bases[index]
            if kind == "rollup":
                source = owners[ref]
                credit = Credit(
                    deal, payee, source.amount, "rollup",
                    self._label("rollup", source.payee_id), source.share,
                )
            elif kind == "overlay":
                credit = self._overlay(deal, basis, payee, ref, rule)
            else:
                credit = self._owner(deal, basis, payee, kind, ref, rule)
                owners.append(credit)
            credits.append(credit)
        return credits

    def _owner(self, deal, basis, payee, kind, ref, rule) -> Credit:
        if kind == "direct":
            label = "owner" if rule is None else self._rule_label(
                self.crediting.direct_territories, rule
            )
            return Credit(deal, payee, basis, "direct", label, ONE)
        if ref >= 0:
            row = self.splits[ref]
            return Credit(
                deal, row.payee_id, basis * row.percent / HUNDRED, "split",
                self._label("split", ref), row.percent / HUNDRED,
            )
        columns = self.crediting.splits
        share = Decimal(deal.attributes.get(columns.percent_column)) / HUNDRED
        if ref == -1:
            return Credit(deal, deal.owner, basis * (1 - share), "split",
                          "split columns", 1 - share)
        partner = str(deal.attributes.get(columns.partner_column))
        return Credit(deal, partner, basis * share, "split", "split columns",
                      share)

    def _overlay(self, deal, basis, payee, ref, rule) -> Credit:
        overlay = self.crediting.overlays[ref]
        key = ("overlay", ref, rule)
        label = self._labels.get(key)
        if label is None:
            found = self._rule_label(overlay.territories, rule)
            label = self._labels[key] = f"{overlay.name}: {found}"
        return Credit(deal, payee, basis * overlay.credit, "overlay", label,
                      overlay.credit)

    def _rule_label(self, ident: str, rule: int) -> str:
        key = ("rule", ident, rule)
        if key not in self._labels:
            name = self.territories[ident].rules[rule].name
            self._labels[key] = f"territory rule '{name}'"
        return self._labels[key]

    def _label(self, kind: str, ref) -> str:
        key = (kind, ref)
        if key not in self._labels:
            if kind == "rollup":
                self._labels[key] = f"roll-up from {ref}"
            else:
                row = self.splits[ref]
                self._labels[key] = f"split table ({row.source} row {row.row})"
        return self._labels[key]


def _python_crediter(plan, crediting, roster, catalog, inputs) -> Crediter:
    from .evaluate import converter

    return Crediter(
        crediting,
        roster,
        catalog.territories,
        inputs.lists,
        inputs.splits,
        amount_of=converter(plan, inputs.rates),
    )


class _Rates:
    """The exchange rate of a deal under the plan's policy, looked up
    once per currency and close date."""

    def __init__(self, plan: Plan, rates: list[dict[str, Any]]):
        self.plan = plan
        self.table: dict[tuple[str, str], list[tuple[date, Decimal]]] = {}
        for row in rates:
            pair = (row["from"], row["to"])
            self.table.setdefault(pair, []).append((row["date"], row["rate"]))
        for entries in self.table.values():
            entries.sort()
        self.found: dict[tuple[str, date], Decimal | None] = {}

    def __call__(self, deal: Deal) -> Decimal | None:
        from .evaluate import _policy_rate

        key = (deal.currency, deal.close_date)
        if key not in self.found:
            self.found[key] = _policy_rate(self.plan, self.table, deal)
        return self.found[key]


# ---------------------------------------------------------------------------
# Measures per window
# ---------------------------------------------------------------------------


class _Windows:
    """Measures per window from the credits each measure counts."""

    def __init__(self, measures: list[Measure], lists, metrics):
        self.measures = measures
        self.counted = [m for m in measures if m.aggregate != "formula"]
        self.lists = lists
        self.metrics = metrics
        self.dates = {
            payee: [[c.deal.close_date for c in chosen] for chosen in found]
            for payee, found in lists.items()
        }
        self.values: dict[int, dict] = {}
        self.parts: list[dict[int, Any]] = [{} for _ in self.counted]

    def table(self, windows) -> MeasureTable:
        table: MeasureTable = {}
        for payee, key, first, last in windows:
            table[(payee, key)] = self._window(payee, first, last)
        return table

    def _window(self, payee, first, last) -> dict[str, MeasureResult]:
        found = self.lists.get(payee)
        dates = self.dates.get(payee)
        results: dict[str, MeasureResult] = {}
        index = 0
        for measure in self.measures:
            if measure.aggregate == "formula":
                results[measure.id] = _formula(measure, results)
                continue
            chosen = []
            if found is not None:
                low = bisect_left(dates[index], first)
                high = bisect_right(dates[index], last)
                chosen = found[index][low:high]
            results[measure.id] = self._aggregate(measure, index, chosen)
            index += 1
        return results

    def _aggregate(self, measure, index, chosen) -> MeasureResult:
        if measure.aggregate == "sum":
            return self._sum(measure, index, chosen)
        if measure.aggregate == "count":
            return self._count(index, chosen)
        pairs = [(c, self._values(c)) for c in chosen]
        return _aggregate(measure, pairs, self.metrics)

    def _sum(self, measure, index, chosen) -> MeasureResult:
        known = self.parts[index]
        parts = []
        for credit in chosen:
            part = known.get(id(credit), _UNKNOWN)
            if part is _UNKNOWN:
                value = self._argument(measure, credit)
                part = None if value is None else _contribution(credit, value)
                known[id(credit)] = part
            if part is not None:
                parts.append(part)
        total = sum((p.value for p in parts), ZERO)
        return MeasureResult(total, parts)

    def _count(self, index, chosen) -> MeasureResult:
        known = self.parts[index]
        seen: set[str] = set()
        parts = []
        for credit in chosen:
            if credit.deal.deal_id in seen:
                continue
            seen.add(credit.deal.deal_id)
            part = known.get(id(credit))
            if part is None:
                part = known[id(credit)] = _contribution(credit, Decimal(1))
            parts.append(part)
        return MeasureResult(Decimal(len(parts)), parts)

    def _argument(self, measure: Measure, credit: Credit) -> Decimal | None:
        """The value a sum adds for a credit, as the Python path has it;
        a plain name is read without running the evaluator."""
        tree = measure.argument.tree
        if isinstance(tree, ast.Name):
            raw = _field(credit, tree.id)
            if raw is None:
                return None
            if type(raw) is int or (type(raw) is Decimal and raw.is_finite()):
                return Decimal(raw)
        value = measure.argument.evaluate(self._values(credit))
        return _number(measure, value)

    def _values(self, credit: Credit) -> dict:
        found = self.values.get(id(credit))
        if found is None:
            found = self.values[id(credit)] = condition_values(credit)
        return found


_UNKNOWN = object()


def _field(credit: Credit, name: str):
    if name == "credit":
        return credit.amount
    if name == "credit_share":
        return credit.share
    if name == "credit_type":
        return credit.credit_type
    return credit.deal.attributes.get(name)


# ---------------------------------------------------------------------------
# Tables for DuckDB
# ---------------------------------------------------------------------------


class _Tables:
    """Loads columns of Python values into DuckDB, each column passed as
    one list parameter and unnested: one statement per table, with no
    row going through the Python API on its own."""

    def __init__(self, con):
        self.con = con
        self.names: set[str] = set()

    def close(self) -> None:
        self.names.clear()

    def load(self, name: str, columns) -> dict[str, str | None]:
        """Create (or replace) table ``name`` from ``columns``: (column,
        kind, values); a kind of None is found from the values. Returns
        the kind of each column (None where every value is missing)."""
        kinds, selected, parameters = {}, [], []
        for column, kind, values in columns:
            kind, sql, values = _parameter(kind or _kind_of(values), values)
            kinds[column] = kind
            selected.append(f"{sql} AS {quote(column)}")
            parameters.append(values)
        self.con.execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT "
            + ", ".join(selected),
            parameters,
        )
        self.names.add(name)
        return kinds

    def append(self, name: str, columns) -> None:
        if name not in self.names:
            self.load(name, columns)
            return
        temporary = f"{name}_more"
        self.load(temporary, columns)
        self.con.execute(f"INSERT INTO {name} SELECT * FROM {temporary}")
        self.con.execute(f"DROP TABLE {temporary}")


def _parameter(kind: str | None, values: Sequence):
    """A column's kind, the SQL that unnests its list parameter, and the
    list. Numbers travel as plain text and become the exact DECIMAL
    their values need; numbers no DECIMAL holds exactly stay text, of
    kind MIXED. A column of mixed kinds is loaded as missing values."""
    if kind in (None, MIXED):
        return kind, "unnest(?::VARCHAR[])", [None] * len(values)
    if kind == NUMBER:
        digits = _digits(values)
        if digits is None or sum(digits) > MAX_DIGITS:
            return MIXED, "unnest(?::VARCHAR[])", [
                None if v is None else str(v) for v in values
            ]
        whole, scale = digits
        width = max(whole + scale, 1)
        return kind, (
            f"CAST(unnest(?::VARCHAR[]) AS DECIMAL({width}, {scale}))"
        ), [None if v is None else _number_text(v) for v in values]
    return kind, f"unnest(?::{_SQL_TYPES[kind]}[])", list(values)


def _number_text(value) -> str:
    """A finite number written out in full, without an exponent."""
    if type(value) is float:
        value = Decimal(str(value))
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _kind_of(values: Sequence) -> str | None:
    types = set(map(type, values))
    types.discard(type(None))
    kinds = {_KIND_OF_TYPE.get(t, MIXED) for t in types}
    if len(kinds) != 1:
        return None if not kinds else MIXED
    return kinds.pop()


def _digits(values) -> tuple[int, int] | None:
    """Digits before and after the point that hold every value exactly;
    None if one is not a finite number."""
    whole = scale = 0
    for value in values:
        if value is None:
            continue
        if type(value) is float:
            value = str(value)
        number = Decimal(value)
        if not number.is_finite():
            return None
        _, digits, exponent = number.as_tuple()
        whole = max(whole, len(digits) + exponent)
        scale = max(scale, -exponent)
    return whole, scale


def _by_column(names, kinds, rows) -> list:
    columns = list(zip(*rows)) if rows else [()] * len(names)
    return list(zip(names, kinds, columns))


def _deal_columns(attributes: list[dict]) -> tuple[list[str], list]:
    """Every deal column, in the order first seen, and its values."""
    if not attributes:
        return [], []
    names = list(attributes[0])
    # Rows of as many columns that all have the first row's columns
    # have exactly its columns.
    if len(names) > 1 and len(set(map(len, attributes))) == 1:
        try:
            rows = list(map(operator.itemgetter(*names), attributes))
            return names, list(zip(*rows))
        except KeyError:
            pass
    names = list(dict.fromkeys(k for a in attributes for k in a))
    return names, [[a.get(n) for a in attributes] for n in names]


def _roster_changes(roster: Roster) -> list[date]:
    """The days on which who is in force or employed may change, after
    ``date.min``: between two of them the roster stays the same."""
    days = {date.min}
    for payee in roster:
        for row in roster.stretches(payee):
            days.update(d for d in (row.effective_from, row.hire_date) if d)
            for last in (row.effective_to, row.termination_date):
                if last and last < date.max:
                    days.add(last + timedelta(days=1))
    return sorted(days)


def _key(plan: Plan) -> str:
    """What the credits of a plan depend on, as the evaluation keys them."""
    return f"{plan.crediting}/{plan.currency}/{plan.rate_date}"


def _credit_sql(
    deal, k1, k2, k3, payee, kind, ref, rule, source, share="1", carry=""
) -> str:
    """One part of the owners' credits, with the columns named."""
    return (
        f'SELECT {deal} AS "@deal", {k1} AS "@k1", {k2} AS "@k2", '
        f'{k3} AS "@k3", {payee} AS "@payee", \'{kind}\' AS "@type", '
        f'{ref} AS "@ref", {rule} AS "@rule", {share} AS "@share"{carry} '
        f"FROM {source}"
    )


def _listed(values) -> str:
    return ", ".join(literal(v) for v in values) or "NULL"
