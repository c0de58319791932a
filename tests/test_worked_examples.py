"""The worked examples of the domain definition, each to the cent.

Each test runs a plan from plan_specs/examples over a small ledger and
compares the payout line (or the credit) with the figure worked out by
hand. The fiscal year is the calendar year.
"""

from datetime import date
from decimal import Decimal

import pytest

from support import amounts, deal, one, payee, run
from engine.records import SplitRow

D = Decimal


@pytest.mark.parametrize(
    "plan, bookings, expected",
    [
        ("tiered-retroactive.yaml", 120000, "18000.00"),
        ("tiered-marginal.yaml", 120000, "13000.00"),
        ("tiered-retroactive.yaml", 100000, "15000.00"),
        ("tiered-marginal.yaml", 100000, "10000.00"),
    ],
)
def test_band_rates_retroactive_and_marginal(plan, bookings, expected):
    result = run([plan], [deal("D1", "2026-05-04", bookings)])
    assert one(result).amount == D(expected)


def test_band_edge_belongs_to_the_band_above():
    result = run(["tiered-retroactive.yaml"], [deal("D1", "2026-05-04", 100000)])
    trace = one(result).trace
    assert trace["band"] == 2
    assert D(trace["rate"]) == D("0.15")


@pytest.mark.parametrize(
    "plan, bookings, expected",
    [
        ("threshold-marginal.yaml", 90000, "0.00"),
        ("threshold-retroactive.yaml", 90000, "0.00"),
        ("threshold-marginal.yaml", 150000, "5000.00"),
        ("threshold-retroactive.yaml", 150000, "15000.00"),
    ],
)
def test_threshold_marginal_and_retroactive(plan, bookings, expected):
    result = run([plan], [deal("D1", "2026-05-04", bookings)])
    assert one(result).amount == D(expected)


@pytest.mark.parametrize(
    "attainment, expected",
    [("40", "0.00"), ("80", "48000.00"), ("125", "90000.00"),
     ("160", "120000.00")],
)
def test_payout_curve_on_target_incentive(attainment, expected):
    bookings = D(1000000) * D(attainment) / 100
    result = run(["payout-curve.yaml"], [deal("D1", "2026-05-04", bookings)])
    assert one(result).amount == D(expected)


def test_payout_curve_cap_is_reported():
    result = run(["payout-curve.yaml"], [deal("D1", "2026-05-04", 1600000)])
    trace = one(result).trace
    assert D(trace["uncapped"]) == D("132000")
    assert trace["cap_applied"] is True


def test_accelerator_as_multiple_of_base_rate():
    result = run(
        ["base-rate-accelerator.yaml"], [deal("D1", "2026-05-04", 1300000)]
    )
    assert one(result).amount == D("160000.00")


def test_split_overlay_and_rollup_credits():
    roster = [
        payee("A", "AE", manager="M"),
        payee("B", "AE", manager="M"),
        payee("S", "SE", territories=("ALL",)),
        payee("M", "Manager"),
    ]
    splits = [SplitRow("D1", "A", D(60)), SplitRow("D1", "B", D(40))]
    result = run(
        ["crediting"], [deal("D1", "2026-05-04", 50000)], roster,
        splits=splits,
    )
    credits = {}
    for credit in next(iter(result.credits.values())):
        credits[credit.payee_id] = credits.get(credit.payee_id, 0) + credit.amount
    assert credits == {"A": D(30000), "B": D(20000), "S": D(50000),
                       "M": D(50000)}
    pay = amounts(result)
    assert pay[("M", "FY2026")] == D("500.00")


def test_quota_prorated_by_active_days():
    roster = [payee("A", hire_date="2026-02-15")]
    result = run(["prorated-quota.yaml"], [deal("D1", "2026-03-01", 9000)],
                 roster, periods=["FY2026-Q1"])
    trace = one(result).trace
    assert D(trace["quota"]) == D(45000)
    assert trace["active_days"] == 45 and trace["period_days"] == 90
    assert D(trace["attainment"]) == D("0.2")


def test_deal_converted_at_the_rate_of_its_close_date():
    rates = [
        {"date": date(2026, 1, 1), "from": "EUR", "to": "USD",
         "rate": D("1.05")},
        {"date": date(2026, 5, 1), "from": "EUR", "to": "USD",
         "rate": D("1.10")},
    ]
    result = run(
        ["windfall-credit.yaml"],
        [deal("D1", "2026-05-04", 10000, currency="EUR")],
        rates=rates,
    )
    trace = one(result).trace
    assert D(trace["value"]) == D("11000.00")
    assert D(trace["deals"][0]["credit"]) == D("11000.00")


def test_spif_per_qualifying_deal():
    deals = [
        deal("D1", "2026-03-02", 1000, type="new", product="platform"),
        deal("D2", "2026-03-15", 1000, type="new", product="platform"),
        deal("D3", "2026-03-31", 1000, type="new", product="platform"),
        deal("D4", "2026-03-20", 1000, type="upsell", product="platform"),
        deal("D5", "2026-03-20", 1000, type="new", product="analytics"),
        deal("D6", "2026-04-01", 1000, type="new", product="platform"),
    ]
    result = run(["platform-spif.yaml"], deals, periods=["FY2026-M03"])
    line = one(result, "platform_spif")
    assert line.amount == D("1500.00")
    assert [d["deal_id"] for d in line.trace["deals"]] == ["D1", "D2", "D3"]


def test_windfall_credits_half_above_the_threshold():
    result = run(["windfall-credit.yaml"], [deal("D1", "2026-05-04", 800000)])
    line = one(result)
    assert D(line.trace["value"]) == D(650000)
    assert line.amount == D("6500.00")


def test_target_incentive_table_overrides_roster_and_plan():
    from engine.evaluate import Inputs, evaluate
    from engine.loader import load_catalog
    from support import EXAMPLES

    catalog = load_catalog([EXAMPLES / "payout-curve.yaml"])
    roster = [payee("A", target_incentive=D(70000)), payee("B"), payee("C")]
    table = [{"payee_id": "A", "amount": D(50000), "plan": None},
             {"payee_id": "B", "amount": D(40000), "plan": "payout-curve"},
             {"payee_id": "B", "amount": D(1), "plan": "other-plan"}]
    deals = [deal(f"D-{p}", "2026-05-04", 800000, owner=p)
             for p in ("A", "B", "C")]
    inputs = Inputs(deals, roster, target_incentives=table)
    pay = amounts(evaluate(catalog, inputs, []))
    # 80 % attainment pays 80 % of each payee's own target incentive.
    assert pay == {("A", "FY2026"): D("40000.00"),
                   ("B", "FY2026"): D("32000.00"),
                   ("C", "FY2026"): D("48000.00")}
