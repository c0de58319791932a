"""Plan expressions compiled to DuckDB SQL mean what they mean in Python.

Every expression is evaluated both ways over generated rows with missing
values, and the results must be equal: the same booleans for conditions,
the same exact decimals (or missing) for formulas.
"""

from datetime import date
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ExpressionError
from engine.expressions import parse_expression
from engine.sql import compile_condition, compile_value, literal, quote

CONDITIONS = [
    'region == "EMEA"',
    'region != "EMEA"',
    'region in ("NA", "LATAM")',
    'region not in ("NA", "LATAM")',
    'type == "new" and amount >= 500000',
    'type == "new" or region == "APAC"',
    'not (region == "EMEA")',
    "flag",
    "not flag",
    "amount > 1000.5",
    "0 < qty <= 10",
    'close_date >= date("2026-03-01")',
    "amount * 2 > qty",
    'coalesce(region, "none") == "none"',
    "(amount if flag else qty) > 5",
    "min(amount, qty) < 3",
    "round(amount, 1) == amount",
    "amount % 3 == 1",
]

FORMULAS = [
    "amount",
    "amount * 0.1",
    "amount / 4",
    "amount / 3.2",
    "qty / 8",
    "amount - qty",
    "-amount + 1",
    "max(amount - 500000, 0) * 0.5",
    "min(amount, qty)",
    "abs(amount - 100)",
    "round(amount * 0.125, 2)",
    "coalesce(amount, qty, 0)",
    "amount if flag else 0",
    "amount % 7",
]

rows = st.lists(
    st.fixed_dictionaries({
        "amount": st.none() | st.decimals(
            min_value=-10**7, max_value=10**7, places=2,
            allow_nan=False, allow_infinity=False),
        "qty": st.none() | st.integers(-20, 20),
        "region": st.none() | st.sampled_from(["NA", "LATAM", "EMEA", "APAC"]),
        "type": st.none() | st.sampled_from(["new", "upsell", "renewal"]),
        "flag": st.none() | st.booleans(),
        "close_date": st.none() | st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    }),
    min_size=1,
    max_size=25,
)


def _table(con, data):
    con.execute("DROP TABLE IF EXISTS t")
    con.execute(
        "CREATE TABLE t (id INTEGER, amount DECIMAL(18, 2), qty BIGINT, "
        "region VARCHAR, type VARCHAR, flag BOOLEAN, close_date DATE)"
    )
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(i, r["amount"], r["qty"], r["region"], r["type"], r["flag"],
          r["close_date"]) for i, r in enumerate(data)],
    )


def _same(python, sql):
    if python is None or sql is None:
        return python is None and sql is None
    if isinstance(python, bool) or isinstance(sql, bool):
        return python == sql
    return Decimal(python) == Decimal(sql)


@settings(max_examples=40, deadline=None)
@given(rows)
def test_conditions_agree_with_python(data):
    con = duckdb.connect()
    _table(con, data)
    for text in CONDITIONS:
        expr = parse_expression(text)
        found = con.execute(
            f"SELECT {compile_condition(expr)}, CASE WHEN "
            f"{compile_condition(expr, strict=False)} THEN 1 ELSE 0 END "
            "FROM t ORDER BY id"
        ).fetchall()
        for row, (value, chosen) in zip(data, found):
            assert value == expr.test(row), (text, row)
            assert chosen == expr.test(row), (text, row)


@settings(max_examples=40, deadline=None)
@given(rows)
def test_formulas_agree_with_python(data):
    con = duckdb.connect()
    _table(con, data)
    for text in FORMULAS:
        expr = parse_expression(text, "formula")
        found = con.execute(
            f"SELECT {compile_value(expr)} FROM t ORDER BY id"
        ).fetchall()
        for row, (value,) in zip(data, found):
            assert _same(expr.evaluate(row), value), (text, row, value)


def test_division_that_has_no_exact_decimal_is_refused():
    with pytest.raises(ExpressionError, match="cannot compute a division by 3"):
        compile_value(parse_expression("amount / 3", "formula"))
    with pytest.raises(ExpressionError, match="division by something"):
        compile_value(parse_expression("amount / qty", "formula"))


def test_names_and_text_cannot_break_out_of_the_sql():
    expr = parse_expression('region == "x\'); DROP TABLE t; --"')
    sql = compile_condition(expr)
    assert "'x''); DROP TABLE t; --'" in sql
    assert quote('a"b') == '"a""b"'
    assert literal(Decimal("0.10")) == "CAST('0.10' AS DECIMAL(3, 2))"
    con = duckdb.connect()
    _table(con, [{"amount": None, "qty": None, "region": "x", "type": None,
                  "flag": None, "close_date": None}])
    assert con.execute(f"SELECT {sql} FROM t").fetchall() == [(False,)]
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(1,)]


KINDS = {"amount": "number", "qty": "number", "region": "text",
         "type": "text", "flag": "flag", "close_date": "date"}


@pytest.mark.parametrize("text", [
    'region == 5',
    "amount > region",
    'region + "x" == "NAx"',
    "flag < True",
    "amount and flag",
    'region in (1, 2)',
    "(amount if flag else region) == 1",
    'coalesce(region, 0) == 0',
    "close_date - 1 > close_date",
    "round(amount, qty) > 1",
    "amount",
])
def test_kinds_python_would_refuse_are_not_compiled(text):
    with pytest.raises(ExpressionError) as found:
        compile_condition(parse_expression(text), KINDS)
    assert found.value.code == "E-SQL-UNSUPPORTED"


@settings(max_examples=30, deadline=None)
@given(rows)
def test_constants_and_unknown_names_agree_with_python(data):
    con = duckdb.connect()
    _table(con, data)
    constants = {"big": ("NA", "EMEA"), "empty": (), "limit": Decimal("5.5")}
    for text in [
        "region in big", "region not in big", "region not in empty",
        "region in empty", "amount > limit", "unknown == 1",
        "not (unknown)", 'coalesce(unknown, region) == "NA"',
    ]:
        expr = parse_expression(text)
        sql = compile_condition(expr, KINDS, constants)
        found = con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()
        for row, (value,) in zip(data, found):
            assert value == expr.test({**row, **constants}), (text, row)


def test_not_in_an_empty_list_holds_for_any_value():
    con = duckdb.connect()
    _table(con, [{"amount": None, "qty": None, "region": "NA", "type": None,
                  "flag": None, "close_date": None}])
    expr = parse_expression("region not in ()")
    assert expr.test({"region": "NA"}) is True
    sql = compile_condition(expr)
    assert con.execute(f"SELECT {sql} FROM t").fetchall() == [(True,)]
