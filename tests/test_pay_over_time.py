"""Pay over time: cumulative true-ups, draws, clawbacks, holdbacks,
currencies and periods that follow each other, to the cent."""

from datetime import date
from decimal import Decimal

import pytest

from support import EXAMPLES, amounts, deal, payee, run
from engine.evaluate import Inputs, evaluate
from engine.loader import load_catalog

D = Decimal


def lines_of(result, component=None):
    return {
        (line.period, line.component): line
        for line in result.lines
        if component is None or line.component == component
    }


def test_cumulative_plan_pays_year_to_date_less_paid():
    deals = [deal("D1", "2026-02-01", 80000), deal("D2", "2026-05-01", 140000)]
    result = run(["cumulative-ytd.yaml"], deals,
                 periods=["FY2026-Q1", "FY2026-Q2"])
    pay = lines_of(result)
    assert pay[("FY2026-Q1", "commission")].amount == D("8000.00")
    q2 = pay[("FY2026-Q2", "commission")]
    assert D(q2.trace["year_to_date"]) == D("23000.00")
    assert q2.amount == D("15000.00")
    assert D(q2.trace["quota"]) == D(200000)
    shares = {d["deal_id"]: D(d["share"]) for d in q2.trace["deals"]}
    assert shares == {"D1": D(0), "D2": D("15000.00")}


def test_periodic_plan_computes_each_quarter_alone():
    deals = [deal("D1", "2026-02-01", 80000), deal("D2", "2026-05-01", 140000)]
    result = run(["periodic-quarters.yaml"], deals,
                 periods=["FY2026-Q1", "FY2026-Q2"])
    pay = amounts(result)
    assert pay[("A", "FY2026-Q1")] == D("8000.00")
    assert pay[("A", "FY2026-Q2")] == D("16000.00")


def test_asking_for_a_later_quarter_still_trues_up_against_earlier_ones():
    deals = [deal("D1", "2026-02-01", 80000), deal("D2", "2026-05-01", 140000)]
    result = run(["cumulative-ytd.yaml"], deals, periods=["FY2026-Q2"])
    assert amounts(result) == {("A", "FY2026-Q2"): D("15000.00")}


def _plan_variant(tmp_path, source, replace):
    text = (EXAMPLES / source).read_text()
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / source
    path.write_text(text)
    catalog = load_catalog([path])
    assert not catalog.errors, [str(f) for f in catalog.errors]
    return catalog


@pytest.mark.parametrize(
    "policy, q2_line, carried",
    [("pay_back", "-2000.00", None), ("carry", "0.00", "2000.00")],
)
def test_negative_true_up_pay_back_or_carry(tmp_path, policy, q2_line, carried):
    catalog = _plan_variant(tmp_path, "cumulative-ytd.yaml", [
        ("accumulation: cumulative",
         f"accumulation: cumulative\nnegative_true_up: {policy}"),
    ])
    deals = [
        deal("D1", "2026-02-01", 80000),
        deal("D2", "2026-05-01", -20000),
        deal("D3", "2026-08-01", 50000),
    ]
    result = evaluate(catalog, Inputs(deals, [payee()]),
                      ["FY2026-Q1", "FY2026-Q2", "FY2026-Q3"])
    pay = lines_of(result)
    q2 = pay[("FY2026-Q2", "commission")]
    assert q2.amount == D(q2_line)
    assert q2.trace.get("carried") == carried
    # Year to date after Q3: 110,000 on 300,000 -> 11,000 earned in all.
    total = sum(line.amount for line in result.lines)
    assert total == D("11000.00")


@pytest.mark.parametrize(
    "month2, paid2, balance2",
    [(60000, "4000.00", "0.00"), (40000, "3000.00", "1000.00")],
)
def test_recoverable_draw(month2, paid2, balance2):
    deals = [deal("D1", "2026-01-10", 10000), deal("D2", "2026-02-10", month2)]
    result = run(["recoverable-draw.yaml"], deals,
                 periods=["FY2026-M01", "FY2026-M02"])
    by_period = {}
    for line in result.lines:
        by_period.setdefault(line.period, []).append(line)
    jan = sum(line.amount for line in by_period["FY2026-M01"])
    feb = sum(line.amount for line in by_period["FY2026-M02"])
    assert jan == D("3000.00")
    assert feb == D(paid2)
    draw = [l for l in by_period["FY2026-M01"] if l.component == "draw"][0]
    assert D(draw.trace["balance_after"]) == D("2000")
    last = [l for l in by_period["FY2026-M02"]
            if l.component.startswith("draw")][0]
    assert D(last.trace["balance_after"]) == D(balance2)


def test_non_recoverable_draw_pays_the_greater(tmp_path):
    catalog = _plan_variant(tmp_path, "recoverable-draw.yaml", [
        ("recoverable: true", "recoverable: false"),
    ])
    deals = [deal("D1", "2026-01-10", 10000), deal("D2", "2026-02-10", 60000)]
    result = evaluate(catalog, Inputs(deals, [payee()]),
                      ["FY2026-M01", "FY2026-M02"])
    totals = {}
    for line in result.lines:
        totals[line.period] = totals.get(line.period, 0) + line.amount
    assert totals == {"FY2026-M01": D("3000.00"), "FY2026-M02": D("6000.00")}


def test_draw_recovery_limit_and_balance_owed_at_termination(tmp_path):
    catalog = _plan_variant(tmp_path, "recoverable-draw.yaml", [
        ("recoverable: true",
         "recoverable: true\n  max_recovery: 500\n  at_termination: owed"),
    ])
    people = [payee(termination_date="2026-03-20")]
    deals = [deal("D1", "2026-01-10", 0), deal("D2", "2026-02-10", 40000),
             deal("D3", "2026-03-10", 50000)]
    result = evaluate(catalog, Inputs(deals, people),
                      ["FY2026-M01", "FY2026-M02", "FY2026-M03"])
    pay = lines_of(result)
    assert pay[("FY2026-M01", "draw")].amount == D("3000.00")
    assert pay[("FY2026-M02", "draw_recovery")].amount == D("-500.00")
    assert pay[("FY2026-M03", "draw_recovery")].amount == D("-500.00")
    assert pay[("FY2026-M03", "draw_balance")].amount == D("-2000.00")


def test_clawback_within_the_window_reverses_the_share():
    deals = [
        deal("D1", "2026-01-15", 40000),
        deal("C1", "2026-03-01", -40000, cancels="D1"),
    ]
    result = run(["clawback-window.yaml"], deals,
                 periods=["FY2026-M01", "FY2026-M03"])
    pay = lines_of(result)
    assert pay[("FY2026-M01", "commission")].amount == D("4000.00")
    clawback = pay[("FY2026-M03", "clawback")]
    assert clawback.amount == D("-4000.00")
    assert clawback.trace["deals"][0]["deal_id"] == "D1"
    assert pay[("FY2026-M03", "commission")].amount == D("0.00")


def test_cancellation_after_the_window_claws_nothing_back():
    deals = [
        deal("D1", "2026-01-15", 40000),
        deal("C1", "2026-05-01", -40000, cancels="D1"),
    ]
    result = run(["clawback-window.yaml"], deals, periods=["FY2026-M05"])
    assert {l.component for l in result.lines} == {"commission"}
    assert amounts(result) == {("A", "FY2026-M05"): D("0.00")}


@pytest.mark.parametrize(
    "day, clawed", [("2026-04-15", "-4000.00"), ("2026-04-16", None)]
)
def test_last_day_of_the_window_is_included(day, clawed):
    deals = [deal("D1", "2026-01-15", 40000),
             deal("C1", day, -40000, cancels="D1")]
    result = run(["clawback-window.yaml"], deals, periods=["FY2026-M04"])
    line = lines_of(result).get(("FY2026-M04", "clawback"))
    assert (line.amount if line else None) == (D(clawed) if clawed else None)


def test_partial_credit_notes_claw_back_their_part_and_never_pay():
    deals = [
        deal("D1", "2026-01-15", 40000),
        deal("C1", "2026-02-01", -10000, cancels="D1"),
        deal("C2", "2026-02-02", 5000, cancels="D1"),
        deal("C3", "2026-02-03", -40000, cancels="D1"),
    ]
    result = run(["clawback-window.yaml"], deals, periods=["FY2026-M02"])
    clawback = lines_of(result)[("FY2026-M02", "clawback")]
    reversed_ = [D(d["reversed"]) for d in clawback.trace["deals"]]
    # A quarter of the 4,000 paid, an eighth, then what is left.
    assert reversed_ == [D("-1000.00"), D("-500.00"), D("-2500.00")]
    assert clawback.amount == D("-4000.00")


SPLIT_PLAN = """\
kind: plan
id: split-clawback
name: Split deals with a clawback
currency: USD
period: month
effective: {from: 2026-01-01, to: 2026-12-31}
participants: {roles: [AE]}
crediting:
  splits: {table: splits}
clawback: {window_days: 90}
measures:
  bookings: {sum: credit}
components:
  commission:
    flat_rate: {measure: bookings, rate: 10%}
"""


def test_clawback_reverses_each_payee_s_own_share(tmp_path):
    from engine.records import SplitRow

    (tmp_path / "plan.yaml").write_text(SPLIT_PLAN)
    catalog = load_catalog([tmp_path / "plan.yaml"])
    deals = [deal("D1", "2026-01-15", 40000, owner="A"),
             deal("C1", "2026-02-01", -40000, owner="A", cancels="D1")]
    splits = [SplitRow("D1", "A", D(75)), SplitRow("D1", "B", D(25))]
    inputs = Inputs(deals, [payee("A"), payee("B")], splits=splits)
    result = evaluate(catalog, inputs, ["FY2026-M01", "FY2026-M02"])
    clawbacks = {
        l.payee_id: l.amount for l in result.lines if l.component == "clawback"
    }
    assert clawbacks == {"A": D("-3000.00"), "B": D("-1000.00")}


def test_reduce_attainment_counts_the_cancellation_in_its_period(tmp_path):
    catalog = _plan_variant(tmp_path, "clawback-window.yaml", [
        ("window_days: 90", "window_days: 90\n  reduce_attainment: true"),
    ])
    deals = [deal("D1", "2026-01-15", 40000),
             deal("D2", "2026-03-10", 50000),
             deal("C1", "2026-03-01", -40000, cancels="D1")]
    result = evaluate(catalog, Inputs(deals, [payee()]), ["FY2026-M03"])
    pay = lines_of(result)
    assert pay[("FY2026-M03", "commission")].amount == D("1000.00")
    assert ("FY2026-M03", "clawback") not in pay


def test_holdback_released_after_a_period(tmp_path):
    catalog = _plan_variant(tmp_path, "clawback-window.yaml", [
        ("clawback:\n  window_days: 90",
         "holdback:\n  share: 20%\n  release_after_periods: 2"),
    ])
    deals = [deal("D1", "2026-01-15", 40000), deal("D2", "2026-02-15", 10000)]
    result = evaluate(catalog, Inputs(deals, [payee()]),
                      ["FY2026-M01", "FY2026-M02", "FY2026-M03"])
    pay = lines_of(result)
    assert pay[("FY2026-M01", "holdback")].amount == D("-800.00")
    assert pay[("FY2026-M02", "holdback")].amount == D("-200.00")
    release = pay[("FY2026-M03", "holdback_release")]
    assert release.amount == D("800.00")
    assert release.trace["released"] == [
        {"held_in": "FY2026-M01", "amount": "800.00"}
    ]


def test_holdback_released_on_a_date(tmp_path):
    catalog = _plan_variant(tmp_path, "clawback-window.yaml", [
        ("clawback:\n  window_days: 90",
         "holdback:\n  share: 10%\n  release_on: 2026-06-30"),
    ])
    deals = [deal("D1", "2026-01-15", 40000), deal("D2", "2026-02-15", 10000)]
    result = evaluate(catalog, Inputs(deals, [payee()]), [])
    pay = lines_of(result)
    assert pay[("FY2026-M06", "holdback_release")].amount == D("500.00")
    assert sum(l.amount for l in result.lines) == D("5000.00")


@pytest.mark.parametrize(
    "policy, expected",
    [("close_date", "11000.00"), ("period_end", "12000.00"),
     ("period_average", "11500.00")],
)
def test_exchange_rate_policy(tmp_path, policy, expected):
    catalog = _plan_variant(tmp_path, "windfall-credit.yaml", [
        ("crediting:", f"exchange_rates:\n  date: {policy}\ncrediting:"),
    ])
    rates = [
        {"date": date(2026, 1, 1), "from": "EUR", "to": "USD",
         "rate": D("1.10")},
        {"date": date(2026, 12, 1), "from": "EUR", "to": "USD",
         "rate": D("1.20")},
    ]
    deals = [deal("D1", "2026-05-04", 10000, currency="EUR")]
    result = evaluate(catalog, Inputs(deals, [payee()], rates=rates), [])
    line = result.lines[0]
    assert D(line.trace["value"]) == D(expected)
    assert line.trace["deals"][0]["deal_amount"] == "10000 EUR"


def test_rate_given_the_other_way_round_is_inverted(tmp_path):
    rates = [{"date": date(2026, 1, 1), "from": "USD", "to": "EUR",
              "rate": D("0.8")}]
    result = run(["windfall-credit.yaml"],
                 [deal("D1", "2026-05-04", 10000, currency="EUR")],
                 rates=rates)
    assert D(result.lines[0].trace["value"]) == D("12500")


def test_no_rate_at_all_is_an_error():
    from engine.errors import DataError
    with pytest.raises(DataError, match="no exchange rate from EUR to USD"):
        run(["windfall-credit.yaml"],
            [deal("D1", "2026-05-04", 10000, currency="EUR")])


def test_tier_per_deal_sets_each_deal_s_band(tmp_path):
    catalog = _plan_variant(tmp_path, "tiered-retroactive.yaml", [
        ("method: retroactive", "method: retroactive\n      per: deal\n"
         "      basis: amount"),
        ("{from: 0%, to: 100%, rate: 10%}", "{from: 0, to: 50000, rate: 10%}"),
        ("{from: 100%, rate: 15%}", "{from: 50000, rate: 15%}"),
    ])
    deals = [deal("D1", "2026-02-01", 40000), deal("D2", "2026-03-01", 60000)]
    result = evaluate(catalog, Inputs(deals, [payee()]), [])
    line = result.lines[0]
    assert line.amount == D("13000.00")
    assert [d["share"] for d in line.trace["deals"]] == ["4000.00", "9000.00"]


def test_payee_on_two_plans_in_one_period_gets_both_prorated(tmp_path):
    first = (EXAMPLES / "prorated-quota.yaml").read_text()
    second = first.replace("id: prorated-quota", "id: other-plan").replace(
        "roles: [AE]", "roles: [SE]")
    (tmp_path / "a.yaml").write_text(first)
    (tmp_path / "b.yaml").write_text(second)
    catalog = load_catalog([tmp_path])
    roster = [
        payee("A", "AE", effective_to="2026-02-14"),
        payee("A", "SE", effective_from="2026-02-15"),
    ]
    deals = [deal("D1", "2026-03-01", 9000)]
    result = evaluate(catalog, Inputs(deals, roster), ["FY2026-Q1"])
    quotas = {l.plan_id: (l.trace["active_days"], D(l.trace["quota"]))
              for l in result.lines}
    assert quotas == {"prorated-quota": (45, D(45000)),
                      "other-plan": (45, D(45000))}
