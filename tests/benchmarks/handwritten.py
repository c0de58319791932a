"""The limit: the realistic case's pay in hand-written DuckDB SQL.

This is what a competent engineer would write for this one company with
no engine at all: the CSV files read with explicit types, territory
rules as one CASE, credits by UNION ALL, measures by GROUP BY with
FILTER, and each component's pay as one expression per payee and
quarter. It knows the case (one roster stretch per payee, a calendar
fiscal year, no proration), which a general engine cannot assume, so
it bounds from below what Attain's DuckDB engine can reach.

Amounts stay DECIMAL from the file to the payout line. Nothing is
divided: DuckDB turns DECIMAL / DECIMAL into DOUBLE, so attainment is
never computed; a band's edge is compared as quota x edge instead.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from realistic import (
    PERIODS,
    PLANS,
    ROLLUP_ROLES,
    OVERLAY_TYPES,
    FlatRate,
    Measure,
    PlanDef,
    Rule,
    Spif,
    Tiers,
    rules,
)

DEAL_COLUMNS = {
    "deal_id": "VARCHAR",
    "close_date": "DATE",
    "amount": "DECIMAL(18, 2)",
    "owner": "VARCHAR",
    "stage": "VARCHAR",
    "type": "VARCHAR",
    "region": "VARCHAR",
    "segment": "VARCHAR",
    "product": "VARCHAR",
    "account": "VARCHAR",
    "split_partner": "VARCHAR",
    "split_percent": "DECIMAL(5, 2)",
}
ROSTER_COLUMNS = {
    "payee_id": "VARCHAR",
    "name": "VARCHAR",
    "role": "VARCHAR",
    "manager": "VARCHAR",
    "hire_date": "DATE",
    "target_incentive": "DECIMAL(18, 2)",
    "territories": "VARCHAR",
}
QUOTA_COLUMNS = {
    "payee_id": "VARCHAR",
    "measure": "VARCHAR",
    "period": "VARCHAR",
    "amount": "DECIMAL(18, 2)",
}

Line = tuple[str, str, str]


def run_handwritten(
    folder: Path, out: Path, config: dict[str, str] | None = None
) -> dict[Line, Decimal]:
    """Pay every payee of the case; write ``credits.parquet`` and
    ``payouts.parquet`` into ``out`` and return the payout lines as
    {(payee_id, period, component): amount}. ``config`` is DuckDB's
    (a memory limit, a temporary folder)."""
    out.mkdir(parents=True, exist_ok=True)
    data = Path(folder) / "data"
    with duckdb.connect(config=config or {}) as con:
        _read(con, "deals", data / "deals.csv", DEAL_COLUMNS)
        _read(con, "roster", data / "roster.csv", ROSTER_COLUMNS)
        _read(con, "quotas", data / "quotas.csv", QUOTA_COLUMNS)

        con.execute(CHAIN)
        con.execute(_coverage(rules()))
        con.execute(_own_credits(rules()))
        copy_parquet(con, ALL_CREDITS, out / "credits.parquet")

        con.execute(_measures())
        con.execute(_payouts())
        copy_parquet(con, "SELECT * FROM payouts ORDER BY ALL",
              out / "payouts.parquet")
        rows = con.execute(
            "SELECT payee_id, period, component, amount FROM payouts"
        ).fetchall()
    return {(p, period, c): amount for p, period, c, amount in rows}


# Attain's writer settings (engine.bulk.DICTIONARY_SIZE), so that every
# program pays the same for the same file; not imported, as this program
# loads nothing of Attain's.
DICTIONARY_SIZE = 4096


def copy_parquet(con, query: str, path: Path) -> None:
    """Write a query's rows to ``path`` as Parquet, as every program of
    the benchmark writes them."""
    con.execute(
        f"COPY ({query}) TO '{quoted_path(path)}' "
        f"(FORMAT parquet, DICTIONARY_SIZE_LIMIT {DICTIONARY_SIZE})"
    )


def _read(con, table: str, path: Path, columns: dict[str, str]) -> None:
    types = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
    con.execute(
        f"CREATE TABLE {table} AS SELECT * FROM read_csv("
        f"'{quoted_path(path)}', header = true, columns = {{{types}}})"
    )


def quoted_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _text(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _number(value: Decimal) -> str:
    return f"{value:f}"


# -- credits -----------------------------------------------------------------

# Everyone above each payee, one row per (payee, manager) pair.
CHAIN = """
CREATE TABLE chain AS
WITH RECURSIVE up(payee_id, manager_id) AS (
  SELECT payee_id, manager FROM roster WHERE manager IS NOT NULL
  UNION ALL
  SELECT up.payee_id, roster.manager
  FROM up JOIN roster ON roster.payee_id = up.manager_id
  WHERE roster.manager IS NOT NULL
)
SELECT * FROM up
"""


def _coverage(found: list[Rule]) -> str:
    """The payees of each territory rule, by rule number."""
    rows = ", ".join(
        f"({number}, '{payee}')"
        for number, rule in enumerate(found, 1)
        for payee in rule.payees
    )
    return (f"CREATE TABLE coverage AS SELECT * FROM (VALUES {rows}) "
            "t(rule_no, payee_id)")


def _rule_sql(rule: Rule) -> str:
    parts = []
    if rule.accounts:
        parts.append(f"account IN ({_text(rule.accounts)})")
    for field in ("region", "segment", "product"):
        value = getattr(rule, field)
        if value is not None:
            parts.append(f"{field} = '{value}'")
    if rule.min_amount is not None:
        parts.append(f"amount >= {rule.min_amount}")
    return " AND ".join(parts)


def _own_credits(found: list[Rule]) -> str:
    """Owner, split and overlay credits, with the deal attributes the
    measures filter on, so that no later step joins back to the deals.

    The first rule whose condition holds wins, as a CASE does.
    """
    case = "\n      ".join(
        f"WHEN {_rule_sql(rule)} THEN {number}"
        for number, rule in enumerate(found, 1)
    )
    keep = "close_date, stage, type, product, owner"
    return f"""
CREATE TABLE own_credits AS
SELECT deal_id, owner AS payee_id, 'direct' AS credit_type,
       amount::DECIMAL(18, 6) AS credit, {keep}
FROM deals WHERE split_partner IS NULL OR split_percent IS NULL
UNION ALL
SELECT deal_id, owner, 'split',
       (amount * (1 - split_percent * 0.01))::DECIMAL(18, 6), {keep}
FROM deals WHERE split_partner IS NOT NULL AND split_percent IS NOT NULL
UNION ALL
SELECT deal_id, split_partner, 'split',
       (amount * split_percent * 0.01)::DECIMAL(18, 6), {keep}
FROM deals WHERE split_partner IS NOT NULL AND split_percent IS NOT NULL
UNION ALL
SELECT d.deal_id, c.payee_id, 'overlay', d.amount, {keep}
FROM (
  SELECT *, CASE
      {case}
    END AS rule_no
  FROM deals WHERE type IN ({_text(OVERLAY_TYPES)})
) d
JOIN coverage c USING (rule_no)
"""


# Direct and split credits of the roles that roll up, passed to every
# manager above the payee.
ROLLED = f"""
SELECT o.deal_id, chain.manager_id AS payee_id, 'rollup' AS credit_type,
       o.credit
FROM own_credits o
JOIN roster r ON r.payee_id = o.payee_id AND r.role IN ({_text(ROLLUP_ROLES)})
JOIN chain ON chain.payee_id = o.payee_id
WHERE o.credit_type IN ('direct', 'split')
"""

ALL_CREDITS = f"""
SELECT deal_id, payee_id, credit_type, credit FROM own_credits
UNION ALL
{ROLLED}
"""


# -- measures ----------------------------------------------------------------


def _measures() -> str:
    """One row per payee and quarter with every measure of every plan.

    Sums come from one GROUP BY with a FILTER each. Counts of deals
    count the distinct (payee, quarter, deal) rows that qualify, which
    is far cheaper than COUNT(DISTINCT) inside the GROUP BY. Roll-up
    measures are summed from each AE's own credits through the chain of
    managers: the same credits added in another order, so no per-deal
    roll-up row is built for them.
    """
    parts = _measure_parts()
    ctes = ",\n".join(f"{name} AS ({query})" for name, query, _ in parts)
    columns = ", ".join(
        f"{name}.{column}" for name, _, names in parts for column in names
    )
    joins = "\n".join(
        f"LEFT JOIN {name} ON {name}.payee_id = k.payee_id "
        f"AND {name}.q = k.q"
        for name, _, _ in parts
    )
    return f"""
CREATE TABLE measures AS
WITH {ctes}
SELECT k.payee_id, k.q, {columns}
FROM (SELECT payee_id, q FROM roster, range(1, 5) r(q)) k
{joins}
"""


def _measure_parts() -> list[tuple[str, str, list[str]]]:
    """(name, query, measure columns) of each query that measures."""
    pairs = [(plan, m) for plan in PLANS for m in plan.measures]
    sums = [(p, m) for p, m in pairs
            if m.aggregate == "sum" and not _rolls_up(m)]
    rolled = [(p, m) for p, m in pairs if _rolls_up(m)]
    counts = [(p, m, _keep(m)) for p, m in pairs if m.aggregate == "count"]
    counts += [
        (plan, c, _spif_keep(c))
        for plan in PLANS
        for c in plan.components
        if isinstance(c, Spif)
    ]
    parts = [
        ("own", _sums(sums), [_column(p, m) for p, m in sums]),
        ("team", _rolled(rolled), [_column(p, m) for p, m in rolled]),
    ]
    parts += [
        (f"c{i}", _count(_column(p, m), keep), [_column(p, m)])
        for i, (p, m, keep) in enumerate(counts)
    ]
    return parts


def _sums(pairs) -> str:
    sums = ", ".join(
        f"SUM(credit) FILTER ({_keep(m)}) AS {_column(p, m)}"
        for p, m in pairs
    )
    return (f"SELECT payee_id, quarter(close_date) AS q, {sums} "
            "FROM own_credits GROUP BY ALL")


def _rolled(pairs) -> str:
    sums = ", ".join(
        f"SUM(credit) FILTER ({_won(m)}) AS {_column(p, m)}"
        for p, m in pairs
    )
    return f"""
  SELECT chain.manager_id AS payee_id, quarter(o.close_date) AS q, {sums}
  FROM own_credits o
  JOIN roster r ON r.payee_id = o.payee_id
    AND r.role IN ({_text(ROLLUP_ROLES)})
  JOIN chain ON chain.payee_id = o.payee_id
  WHERE o.credit_type IN ('direct', 'split')
  GROUP BY ALL"""


def _count(column: str, keep: str) -> str:
    return f"""
  SELECT payee_id, q, COUNT(*) AS {column}
  FROM (
    SELECT DISTINCT payee_id, quarter(close_date) AS q, deal_id
    FROM own_credits WHERE {keep}
  ) GROUP BY ALL"""


def _rolls_up(measure: Measure) -> bool:
    return measure.credit_types == ("rollup",)


def _column(plan: PlanDef, measure: Measure | Spif) -> str:
    return f'"{plan.id}:{measure.id}"'


def _won(measure: Measure) -> str:
    return f"stage = 'won' AND type IN ({_text(measure.deal_types)})"


def _keep(measure: Measure) -> str:
    return (f"{_won(measure)} AND credit_type IN "
            f"({_text(measure.credit_types)})")


def _spif_keep(spif: Spif) -> str:
    return (
        f"stage = 'won' AND type = '{spif.deal_type}' "
        f"AND product = '{spif.product}' AND owner = payee_id "
        f"AND close_date BETWEEN DATE '{spif.starts}' AND DATE '{spif.ends}'"
    )


# -- pay ---------------------------------------------------------------------


def _payouts() -> str:
    """Every component of every payee on a plan, every quarter, zeros
    included, as Attain writes them."""
    parts = []
    for plan in PLANS:
        for component in plan.components:
            parts.append(_component_lines(plan, component))
    return "CREATE TABLE payouts AS\n" + "\nUNION ALL\n".join(parts)


def _component_lines(plan: PlanDef, component) -> str:
    if isinstance(component, Tiers):
        amount = _tiers(plan, component)
    elif isinstance(component, FlatRate):
        value = _value(plan, component.measure)
        amount = f"{value} * {_number(component.rate)}"
    else:
        value = _value(plan, component.id)
        amount = f"{value} * {_number(component.amount)}"
    return f"""
SELECT s.payee_id, s.period, '{plan.id}' AS plan_id,
       '{component.id}' AS component,
       ROUND({amount}, 2)::DECIMAL(18, 2) AS amount
FROM ({_slots(plan)}) s
LEFT JOIN measures m ON m.payee_id = s.payee_id AND m.q = s.q
LEFT JOIN quotas qu ON qu.payee_id = s.payee_id AND qu.period = s.period
  AND qu.measure = '{plan.quota_measure}'"""


def _slots(plan: PlanDef) -> str:
    """The plan's payees, each in every quarter, with their target
    incentive for the quarter."""
    periods = ", ".join(
        f"({q}, '{label}')" for q, label in enumerate(PERIODS, 1)
    )
    incentive = (f"COALESCE(target_incentive, "
                 f"{_number(plan.target_incentive)}) * 0.25")
    return (
        f"SELECT payee_id, q, period, {incentive} AS ti "
        f"FROM roster, (VALUES {periods}) p(q, period) "
        f"WHERE role = '{plan.role}'"
    )


def _value(plan: PlanDef, measure: str) -> str:
    """A measure of the slot's payee and quarter; none counts as 0."""
    return f'COALESCE(m."{plan.id}:{measure}", 0)'


def _tiers(plan: PlanDef, tiers: Tiers) -> str:
    """Marginal pay: each band pays its rate on the slice of the value
    between quota x its edges, capped at a multiple of the quarter's
    target incentive. Below the threshold nothing earns."""
    value = _value(plan, tiers.measure)
    slices = []
    for band in tiers.bands:
        lower = band.lower
        if tiers.threshold is not None:
            lower = max(lower, tiers.threshold)
        top = value if band.upper is None else (
            f"LEAST({value}, qu.amount * {_number(band.upper)})"
        )
        part = f"GREATEST(0, {top} - qu.amount * {_number(lower)})"
        slices.append(f"{part} * {_rate(plan, band)}")
    pay = " + ".join(slices)
    return f"LEAST({pay}, s.ti * {_number(tiers.cap)})"


def _rate(plan: PlanDef, band) -> str:
    if band.gate is None:
        return _number(band.rate)
    measure, least = band.gate
    return (f"(CASE WHEN {_value(plan, measure)} >= {least} "
            f"THEN {_number(band.rate)} ELSE {_number(band.otherwise)} END)")
