import dataclasses
import pathlib
import pickle
import threading
from datetime import date, datetime
from decimal import Decimal

import pytest

from engine.errors import AttainError, ExpressionError
from engine.expressions import (
    ALLOWED_FUNCTIONS,
    Expression,
    check_names,
    parse_expression,
)

ENTERPRISE_DEAL = {
    "segment": "Enterprise",
    "region": "NA",
    "type": "new",
    "product": "platform",
    "amount": Decimal("800000.50"),
    "close_date": date(2026, 3, 15),
    "tech_win": True,
}


def evaluate(source, **values):
    return parse_expression(source).evaluate(values)


def refusal(source, values=None):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source).evaluate(values or {})
    return caught.value


# --- results ----------------------------------------------------------------


@pytest.mark.parametrize(
    "source, expected",
    [
        ('segment == "Enterprise" and region in ("NA", "LATAM")', True),
        ('segment == "Enterprise" and region in ("EMEA", "LATAM")', False),
        ('type == "new" and product == "platform"', True),
        ('type == "renewal" or product == "platform"', True),
        ('type == "renewal" or product == "apps"', False),
        ("not tech_win", False),
        ("tech_win", True),
        ('region not in ["EMEA", "APAC"]', True),
        ('close_date >= date("2026-03-01")', True),
        ('close_date < date("2026-03-15")', False),
        ("amount > 500000 and amount <= 1000000", True),
        ("500000 < amount < 800000", False),
    ],
)
def test_conditions_on_a_deal(source, expected):
    assert parse_expression(source).test(ENTERPRISE_DEAL) is expected


def test_windfall_formula_keeps_cents():
    result = evaluate("max(amount - 500000, 0) * 0.5", amount=Decimal(800000))
    assert result == Decimal("150000.0")
    assert evaluate("max(amount - 500000, 0)", amount=400000) == 0


def test_decimal_literals_are_exact():
    assert evaluate("0.1 + 0.2 == 0.3") is True
    assert evaluate("0.1") == Decimal("0.1")
    assert type(evaluate("0.1")) is Decimal
    assert evaluate("1_000.25 * 4") == Decimal("4001.00")


def test_decimal_arithmetic_is_not_rounded_to_28_digits():
    big = Decimal("12345678901234567890.123456789012")
    assert evaluate("x + 0.000000000001", x=big) == Decimal(
        "12345678901234567890.123456789013"
    )
    assert evaluate("-x", x=big) == big.copy_negate()
    assert evaluate("abs(x)", x=big.copy_negate()) == big


def test_integers_stay_integers_except_in_division():
    assert evaluate("new_logos + 2", new_logos=1) == 3
    assert type(evaluate("new_logos * 2", new_logos=3)) is int
    assert evaluate("7 / 2") == Decimal("3.5")
    assert type(evaluate("6 / 2")) is Decimal


def test_ratio_of_measures():
    ratio = evaluate("bookings / pipeline", bookings=1, pipeline=3)
    assert ratio == Decimal("0." + "3" * 50)


def test_remainder_keeps_the_sign_of_the_left_side_as_in_sql():
    assert evaluate("-7 % 3") == -1
    assert evaluate("7 % 3") == 1
    assert evaluate("7.5 % 2") == Decimal("1.5")


def test_float_values_become_decimals_of_their_text():
    assert evaluate("x", x=0.1) == Decimal("0.1")
    assert evaluate("x + 0.2 == 0.3", x=0.1) is True
    assert evaluate("x in accounts", x=1, accounts=(0.5, 1.0)) is True


def test_membership_in_named_lists():
    accounts = frozenset({"acme", "globex"})
    condition = parse_expression("account in strategic_accounts")
    assert condition.test({"account": "acme", "strategic_accounts": accounts})
    assert not condition.test(
        {"account": "initech", "strategic_accounts": accounts}
    )
    assert condition.test({"account": "acme", "strategic_accounts": ("acme",)})


def test_membership_with_negative_numbers_in_a_literal_list():
    assert evaluate("x in (-1, -2.5, 3)", x=Decimal("-2.5")) is True
    assert evaluate("x not in (-1, +2)", x=2) is False


def test_if_else_picks_a_branch():
    formula = parse_expression("amount * 0.1 if tech_win else 0", "formula")
    assert formula.evaluate({"amount": 100, "tech_win": True}) == Decimal(
        "10.0"
    )
    assert formula.evaluate({"amount": 100, "tech_win": False}) == 0


@pytest.mark.parametrize(
    "source, expected",
    [
        ("round(2.5)", Decimal("3")),
        ("round(-2.5)", Decimal("-3")),
        ("round(2.345, 2)", Decimal("2.35")),
        ("round(-2.345, 2)", Decimal("-2.35")),
        ("round(2.344, 2)", Decimal("2.34")),
        ("round(7)", Decimal("7")),
    ],
)
def test_round_is_half_away_from_zero(source, expected):
    result = evaluate(source)
    assert result == expected
    assert type(result) is Decimal
    assert result.as_tuple().exponent == expected.as_tuple().exponent


def test_min_max_abs_coalesce():
    assert evaluate("min(3, 1.5, 2)") == Decimal("1.5")
    assert evaluate("max(3, 1.5, 2)") == 3
    assert evaluate("abs(-4)") == 4
    assert evaluate("coalesce(a, b, 0)", b=5) == 5
    assert evaluate("coalesce(a, b)") is None


def test_date_literal_is_built_once_when_parsing():
    expression = parse_expression('date("2026-03-01")', "formula")
    assert expression.evaluate({}) == date(2026, 3, 1)
    assert expression.functions == frozenset({"date"})


def test_date_of_a_value_is_checked_when_evaluating():
    assert evaluate("date(x)", x="2026-02-28") == date(2026, 2, 28)
    assert evaluate("date(x)") is None
    error = refusal("date(x)", {"x": "2026-02-30"})
    assert error.code == "E-EXPR-TYPE"
    assert "2026-02-30" in str(error)


# --- missing values ---------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "x == 1",
        "x != 1",
        "x < 1",
        "x <= 1",
        "x > 1",
        "x >= 1",
        "x in (1, 2)",
        "x not in (1, 2)",
        "1 == x",
        "1 != x",
        "1 in accounts",
        "1 not in accounts",
        'x == "NA"',
        "x != x",
    ],
)
def test_comparison_with_a_missing_side_is_false(source):
    expression = parse_expression(source)
    assert expression.evaluate({"x": None, "accounts": None}) is False
    assert expression.test({}) is False


@pytest.mark.parametrize(
    "source",
    [
        "x + 1",
        "1 - x",
        "x * 2",
        "x / 2",
        "2 / x",
        "x % 2",
        "-x",
        "+x",
        "abs(x)",
        "round(x, 2)",
        "round(1.5, x)",
        "max(x, 0)",
        "min(0, x)",
        "date(x)",
    ],
)
def test_arithmetic_with_a_missing_value_is_missing(source):
    assert parse_expression(source).evaluate({"x": None}) is None


@pytest.mark.parametrize("source", ["1 / 0", "x / 0", "0 / 0", "5 % 0"])
def test_division_by_zero_is_not_defined(source):
    assert parse_expression(source).evaluate({"x": Decimal("3.5")}) is None


def test_missing_counts_as_false_in_logic():
    assert evaluate("not tech_win", tech_win=None) is True
    assert evaluate("tech_win or amount > 5", amount=10) is True
    assert evaluate("tech_win and amount > 5", amount=10) is False
    assert evaluate("1 if tech_win else 2") == 2
    assert parse_expression("tech_win").test({"tech_win": None}) is False


def test_a_list_holding_a_missing_value_cannot_prove_absence():
    # SQL: 'b' NOT IN (NULL, 'a') is NULL, so the condition is false.
    assert evaluate('x not in (None, "a")', x="b") is False
    assert evaluate('x in (None, "a")', x="a") is True
    assert evaluate('x not in (None, "a")', x="a") is False


def test_absent_names_are_missing():
    assert parse_expression("amount > 0").test({}) is False
    assert evaluate("coalesce(amount, 0)") == 0


# --- types ------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, values, fragment",
    [
        ('amount > "5"', {"amount": 5}, "a number (5) and text"),
        ('"ab" + "cd"', {}, "numbers only"),
        ('"a" * 3', {}, "numbers only"),
        ("x * 3", {"x": "ab"}, "numbers only"),
        ("flag + 1", {"flag": True}, "true/false"),
        ("flag == 1", {"flag": True}, "same kind"),
        ("flag < other", {"flag": True, "other": False}, "true/false"),
        ("close_date > d", {"close_date": date(2026, 1, 1), "d": "x"}, "date("),
        ("amount and tech_win", {"amount": 1, "tech_win": True}, '"and"'),
        ("not amount", {"amount": 1}, '"not"'),
        ("1 if amount else 2", {"amount": 1}, '"if"'),
        ('x in "abc"', {"x": "a"}, "must be a list"),
        ("accounts in accounts", {"accounts": ("a",)}, "single value"),
        ("accounts == accounts", {"accounts": ("a",)}, "lists"),
        ("min(x, 1)", {"x": "a"}, '"min"'),
        ("round(1.5, 1.5)", {}, "decimal places"),
        ("round(1.5, 29)", {}, "decimal places"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(source, values, fragment):
    error = refusal(source, values)
    assert error.code == "E-EXPR-TYPE"
    assert fragment in str(error)
    assert isinstance(error, AttainError)


def test_test_refuses_a_result_that_is_not_true_or_false():
    with pytest.raises(ExpressionError) as caught:
        parse_expression("amount * 2").test({"amount": 3})
    assert caught.value.code == "E-EXPR-TYPE"
    assert "a number (6)" in str(caught.value)


def test_numbers_too_large_for_exact_arithmetic_fail_cleanly():
    error = refusal("x * x", {"x": Decimal("1e600000")})
    assert error.code == "E-EXPR-TYPE"


@pytest.mark.parametrize(
    "value",
    [
        pathlib.Path("/etc/passwd"),
        open,
        {"a": 1},
        ["a"],
        {"a"},
        datetime(2026, 1, 1),
        Decimal("NaN"),
        float("inf"),
        (pathlib.Path("/"),),
        (("nested",),),
        frozenset({pathlib.Path("/")}),
        type("Text", (str,), {})("NA"),
        b"bytes",
    ],
    ids=repr,
)
def test_only_plain_values_reach_an_expression(value):
    with pytest.raises(TypeError) as caught:
        parse_expression("x == x").evaluate({"x": value})
    assert '"x"' in str(caught.value)


def test_values_not_read_by_the_expression_are_ignored():
    expression = parse_expression("amount > 0")
    assert expression.test({"amount": 1, "path": pathlib.Path("/")})


def test_a_named_list_is_checked_even_when_seen_before():
    accounts = frozenset({"acme", "globex"})
    condition = parse_expression("account in accounts")
    for _ in range(3):
        assert condition.test({"account": "acme", "accounts": accounts})
    with pytest.raises(TypeError):
        condition.test(
            {"account": "acme", "accounts": frozenset({pathlib.Path("/")})}
        )


# --- the Expression object --------------------------------------------------


def test_names_and_functions_are_collected():
    expression = parse_expression(
        'max(amount - floor_amount, 0) if region in ("NA",) else '
        "coalesce(bonus, round(amount, 2))",
        "formula",
    )
    assert expression.names == frozenset(
        {"amount", "floor_amount", "region", "bonus"}
    )
    assert expression.functions == frozenset({"max", "coalesce", "round"})
    assert expression.kind == "formula"


def test_expression_is_immutable_comparable_and_picklable():
    expression = parse_expression("  amount > 0.5 ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "1"
    assert expression == parse_expression("  amount > 0.5 ")
    assert expression != parse_expression("  amount > 0.5 ", "formula")
    copy = pickle.loads(pickle.dumps(expression))
    assert copy == expression
    assert copy.test({"amount": Decimal("0.6")}) is True


def test_kind_and_source_are_checked():
    with pytest.raises(ValueError):
        parse_expression("x", "rule")
    with pytest.raises(TypeError):
        parse_expression(True)


def test_names_are_never_functions_or_builtins():
    assert evaluate("max") is None
    assert evaluate("__builtins__") is None
    assert evaluate("date", date=date(2026, 1, 1)) == date(2026, 1, 1)


def test_allowed_functions_are_the_documented_ones():
    assert set(ALLOWED_FUNCTIONS) == {
        "min", "max", "abs", "round", "date", "coalesce",
    }
    with pytest.raises(TypeError):
        ALLOWED_FUNCTIONS["open"] = open


def test_concurrent_evaluations_keep_their_own_values():
    expression = parse_expression("x * 2 + y", "formula")
    failures = []

    def work(x):
        for y in range(500):
            if expression.evaluate({"x": x, "y": y}) != x * 2 + y:
                failures.append((x, y))

    threads = [threading.Thread(target=work, args=(x,)) for x in (1, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# --- refusals when parsing --------------------------------------------------


@pytest.mark.parametrize(
    "source, offset, fragment",
    [
        ("amount.__class__", 0, "Attribute access (.)"),
        ("amount + deal.size", 9, "Attribute access (.)"),
        ("  amount.x", 2, "Attribute access (.)"),
        ('"été" == région.x', 9, "Attribute access (.)"),
        ("(amount > 1 and\n deal.x)", 17, "Attribute access (.)"),
        ('region[0] == "N"', 0, "Indexing"),
        ('f"{region}" == "NA"', 0, "Formatted text"),
        ("[x for x in (1, 2)]", 0, "comprehension"),
        ("amount > 1 and {x for x in (1,)}", 15, "comprehension"),
        ("{1: 2}", 0, "dictionary"),
        ("{1, 2}", 0, "set"),
        ("(x := 1)", 1, ":="),
        ("lambda: 1", 0, "lambda"),
        ("2 ** 10", 0, "power"),
        ("1 + (amount >> 2)", 5, "bit shift"),
        ("amount << 2", 0, "bit shift"),
        ("amount & 1", 0, "bitwise"),
        ("amount | 1", 0, "bitwise"),
        ("amount ^ 1", 0, "bitwise"),
        ("~amount", 0, "inversion"),
        ("amount // 2", 0, "Floor division"),
        ("x is None", 0, '"is"'),
        ("x is not None", 0, '"is not"'),
        ('b"x" == x', 0, "bytes"),
        ("1j + 1", 0, "imaginary"),
        ("... == x", 0, "ellipsis"),
        ("x in (a, b)", 6, "fixed values"),
        ("x in ((1, 2),)", 6, "fixed values"),
        ("x in (1, *y)", 9, "fixed values"),
        ('x in (-"a",)', 6, "fixed values"),
    ],
)
def test_forbidden_constructs(source, offset, fragment):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    error = caught.value
    assert error.code == "E-EXPR-FORBIDDEN"
    assert error.offset == offset
    assert fragment in str(error)
    assert "not allowed in plan expressions" in str(error)


@pytest.mark.parametrize(
    "source, offset",
    [
        ("amount 5", 7),
        ("(amount > 5", 0),
        ("amount > 5)", 10),
        ("x = 1", 2),
        ("amount >", 8),
        ("  amount >  ", 10),
        ("", 0),
        ("a\x00b", 1),
    ],
)
def test_syntax_errors_say_where(source, offset):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert caught.value.code == "E-EXPR-SYNTAX"
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    "source, offset, fragment",
    [
        ('open("/etc/passwd")', 0, '"open" is not available'),
        ("amount > sqrt(4)", 9, '"sqrt" is not available'),
        ("min(key=abs)", 4, '"key="'),
        ("round(x, ndigits=2)", 9, '"ndigits="'),
        ("max(**x)", 4, "**"),
        ("max(*x)", 4, "Unpacking with *"),
        ("amount.max(1)", 0, "by its name"),
        ("abs(1, 2)", 0, "1 value"),
        ("date()", 0, "1 value"),
        ("round(1, 2, 3)", 0, "1 or 2 values"),
        ("coalesce()", 0, "at least 1 value"),
    ],
)
def test_function_calls_are_checked(source, offset, fragment):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert caught.value.code == "E-EXPR-FUNCTION"
    assert caught.value.offset == offset
    assert fragment in str(caught.value)


def test_unknown_function_lists_the_allowed_ones():
    with pytest.raises(ExpressionError) as caught:
        parse_expression("floor(amount)")
    assert "abs, coalesce, date, max, min, round" in str(caught.value)


def test_invalid_date_literal_is_reported_when_parsing():
    with pytest.raises(ExpressionError) as caught:
        parse_expression('close_date >= date("2026-02-30")')
    assert caught.value.code == "E-EXPR-TYPE"
    assert caught.value.offset == 19


@pytest.mark.parametrize(
    "source",
    [
        "a" * 1001,
        " + ".join(["a"] * 100),
        "not " * 200 + "x",
        "abs(" * 150 + "1" + ")" * 150,
        '"' + "x" * 201 + '"',
        "x in (" + ", ".join(["1"] * 250) + ")",
    ],
    ids=["long", "many-terms", "deep-not", "deep-calls", "text", "list"],
)
def test_too_long_or_too_complex(source):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert caught.value.code == "E-EXPR-TOO-LONG"


def test_longest_allowed_text_and_size():
    assert evaluate('"' + "x" * 200 + '" == x', x="x" * 200) is True
    assert evaluate(" + ".join(["1"] * 50)) == 50


@pytest.mark.parametrize(
    "source",
    [
        "amount.__class__",
        "amount 5",
        'open("x")',
        '"ab" + 1',
        "a" * 1001,
        'date("2026-13-01")',
    ],
)
def test_messages_are_sentences(source):
    error = refusal(source, {"amount": 1})
    message = str(error)
    assert message[0].isupper()
    assert message.endswith(".")


# --- hostile input ----------------------------------------------------------

HOSTILE = [
    '__import__("os").system("id")',
    "().__class__.__bases__[0].__subclasses__()",
    "(lambda: 1)()",
    "[x for x in (1,2)]",
    "{**{}}",
    'f"{1}"',
    "4000000**4000000",
    "1 << 100000",
    '"a" * 1000000000',
    '"ab" * 1000000000',
    '"ab" + "cd"',
    "amount.__class__",
    'open("/etc/passwd")',
    'getattr(amount, "x")',
    "(x := 1)",
    "max(*[1])",
    "min(key=abs)",
    "type(1)",
    'eval("1")',
    'exec("1")',
    "globals()",
    "amount.__class__.__mro__[-1].__subclasses__()",
    "(i for i in (1,))",
    "(" * 500 + "1" + ")" * 500,
    "(" * 250 + "1" + ")" * 250,
    "[" * 300 + "]" * 300,
    "-" * 999 + "1",
    "not " * 249 + "x",
    "abs(" * 199 + "1" + ")" * 199,
    "a" + " + a" * 300,
    'b"x"',
    "x[0:10**9]",
    "amount if amount else amount.real",
    '"%s" % amount',
    "x\x00",
    "...",
]


@pytest.mark.parametrize("payload", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_payloads_are_refused(payload):
    with pytest.raises(ExpressionError):
        parse_expression(payload).evaluate(
            {"amount": Decimal("1"), "x": "ab"}
        )


def test_a_path_bound_to_a_name_is_refused():
    with pytest.raises(TypeError):
        parse_expression("amount").evaluate(
            {"amount": pathlib.Path("/etc/passwd")}
        )


# --- names ------------------------------------------------------------------


def test_check_names_suggests_close_matches():
    expression = parse_expression(
        'segmnt == "Enterprise" and regoin in ("NA",) and zzz and amount > 0'
    )
    known = ["segment", "region", "amount", "close_date"]
    assert check_names(expression, known) == [
        ("regoin", "region"),
        ("segmnt", "segment"),
        ("zzz", None),
    ]


def test_check_names_accepts_any_iterable_and_ignores_functions():
    expression = parse_expression("max(amount, 0) > floor")
    assert check_names(expression, iter(["amount", "floor"])) == []
    assert check_names(expression, {"amount"}) == [("floor", None)]


def test_expression_class_is_what_parse_returns():
    assert isinstance(parse_expression("x"), Expression)
