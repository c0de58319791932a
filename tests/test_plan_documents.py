"""The sample plans against the figures their plan documents state.

The plans in plan_specs/fy2026 express the Account Executive, Sales
Manager and Solutions Engineer plan documents; the documents give a few
figures of their own, which the plans must reproduce to the cent.
"""

from decimal import Decimal

import pytest

from support import ROOT, deal, payee
from engine.evaluate import Inputs, evaluate
from engine.loader import load_catalog

D = Decimal
PLANS = ROOT / "plan_specs" / "fy2026"
STRATEGIC = ("ACME-0001",)


@pytest.fixture(scope="module")
def catalog():
    loaded = load_catalog([PLANS])
    assert not loaded.findings, [str(f) for f in loaded.findings]
    return loaded


def roster():
    return [
        payee("AE-1", "AE", manager="MGR-1", hire_date="2020-01-01"),
        payee("AE-2", "AE", manager="MGR-1", hire_date="2020-01-01"),
        payee("MGR-1", "Manager", hire_date="2020-01-01"),
        *(payee(p, "SE", hire_date="2020-01-01") for p in (
            "SE-STRAT", "SE-EMEA-ENT", "SE-EMEA", "SE-AMER", "SE-APAC")),
    ]


def pay(catalog, deals, period="FY2026-Q1"):
    inputs = Inputs(deals, roster(), lists={"strategic_accounts": STRATEGIC})
    result = evaluate(catalog, inputs, [period])
    return {(l.payee_id, l.component): l for l in result.lines}


def booking(deal_id, amount, owner="AE-1", day="2026-03-10", **more):
    fields = {"type": "upsell", "region": "APAC", "segment": "SMB",
              "account": "ACME-0999", "product": "connect"}
    fields.update(more)
    return deal(deal_id, day, amount, owner, **fields)


def test_quota_exactly_pays_the_quarterly_target_incentive(catalog):
    lines = pay(catalog, [booking("D1", 200000)])
    line = lines[("AE-1", "commission")]
    assert line.amount == D("20000.00")
    bands = [D(b["pay"]) for b in line.trace["bands"]]
    assert bands[:2] == [D(5000), D(15000)]


def test_top_band_needs_two_new_logos(catalog):
    one_logo = [booking("D1", 350000), booking("D2", 10000, type="new")]
    two_logos = one_logo + [booking("D3", 10000, type="new")]
    # 360,000 with one new logo: 5,000 + 15,000 + 20,000 + 60,000 x 20 %
    assert pay(catalog, one_logo)[("AE-1", "commission")].amount == D(
        "52000.00"
    )
    # 370,000 with two new logos: the last 70,000 at 25 %
    assert pay(catalog, two_logos)[("AE-1", "commission")].amount == D(
        "57500.00"
    )


def test_quarterly_commission_capped_at_three_times_target_incentive(
    catalog,
):
    lines = pay(catalog, [booking("D1", 450000, type="new"),
                          booking("D2", 40000, type="new")])
    line = lines[("AE-1", "commission")]
    assert line.amount == D("60000.00")
    assert line.trace["cap_applied"] is True


def test_renewals_do_not_count(catalog):
    lines = pay(catalog, [booking("D1", 100000, type="renewal")])
    assert lines[("AE-1", "commission")].amount == D("0.00")


def test_windfall_counts_half_above_500000(catalog):
    lines = pay(catalog, [booking("D1", 700000)])
    assert D(lines[("AE-1", "commission")].trace["value"]) == D(600000)


def test_platform_spif_to_the_owner_in_march_and_april(catalog):
    deals = [
        booking("D1", 1000, type="new", product="platform", day="2026-02-27"),
        booking("D2", 1000, type="new", product="platform", day="2026-03-01"),
        booking("D3", 1000, type="new", product="platform", day="2026-04-30"),
    ]
    lines = pay(catalog, deals)
    assert lines[("AE-1", "platform_spif")].amount == D("1000.00")


@pytest.mark.parametrize(
    "team_bookings, expected", [(320000, "15750.00"), (440000, "29250.00")]
)
def test_manager_curve_on_team_attainment(catalog, team_bookings, expected):
    # Two sellers with 200,000 each: a team quota of 400,000.
    half = team_bookings // 2
    lines = pay(catalog, [booking("D1", half, owner="AE-1"),
                          booking("D2", half, owner="AE-2")])
    line = lines[("MGR-1", "team_incentive")]
    assert D(line.trace["quota"]) == D(400000)
    assert line.amount == D(expected)


def test_solutions_engineer_territories_first_match(catalog):
    deals = [
        booking("D1", 10000, region="EMEA", segment="Enterprise"),
        booking("D2", 10000, region="EMEA", account="ACME-0001"),
        booking("D3", 10000, region="LATAM"),
        booking("D4", 10000, region="APAC"),
        booking("D5", 10000, region="EMEA", segment="SMB"),
    ]
    lines = pay(catalog, deals)
    credited = {
        p: [d["deal_id"] for d in lines[(p, "commission")].trace["deals"]]
        for p in ("SE-STRAT", "SE-EMEA-ENT", "SE-EMEA", "SE-AMER", "SE-APAC")
    }
    assert credited == {
        "SE-STRAT": ["D2"], "SE-EMEA-ENT": ["D1"], "SE-EMEA": ["D5"],
        "SE-AMER": ["D3"], "SE-APAC": ["D4"],
    }
    assert lines[("SE-EMEA", "commission")].amount == D("200.00")
    assert lines[("AE-1", "commission")].trace["value"] == "50000"


def test_technical_win_bonus_from_five_wins(catalog):
    four = [booking(f"D{i}", 1000, tech_win=True) for i in range(4)]
    five = four + [booking("D9", 1000, tech_win=True)]
    assert pay(catalog, four)[("SE-APAC", "technical_win_bonus")].amount == 0
    assert pay(catalog, five)[
        ("SE-APAC", "technical_win_bonus")
    ].amount == D("1000.00")


def test_new_hire_quota_ramps_and_prorates(catalog):
    people = roster() + [payee("AE-9", "AE", manager="MGR-1",
                               hire_date="2026-03-18")]
    deals = [booking("D1", 10000, owner="AE-9", day="2026-04-02")]
    inputs = Inputs(deals, people, lists={"strategic_accounts": STRATEGIC})
    lines = evaluate(catalog, inputs, ["FY2026-Q1", "FY2026-Q2"]).lines
    quotas = {
        l.period: l.trace for l in lines
        if l.payee_id == "AE-9" and l.component == "commission"
    }
    q1 = quotas["FY2026-Q1"]
    # Q1 is February to April, 89 days; 44 of them from 18 March.
    assert q1["ramp"] == "25%"
    expected = D(200000) * D("0.25") * 44 / 89
    assert abs(D(q1["quota"]) - expected) < D("1e-20")
    assert quotas["FY2026-Q2"]["ramp"] == "50%"
    assert D(quotas["FY2026-Q2"]["quota"]) == D(100000)


def test_cancellation_within_90_days_is_recovered_at_the_rate_paid(catalog):
    deals = [booking("D1", 150000, day="2026-03-10"),
             booking("C1", -150000, day="2026-06-08", cancels="D1")]
    inputs = Inputs(deals, roster(), lists={"strategic_accounts": STRATEGIC})
    lines = evaluate(catalog, inputs, ["FY2026-Q1", "FY2026-Q2"]).lines
    pay = {(l.period, l.payee_id, l.component): l.amount for l in lines}
    # Q1: 150,000 -> 5,000 + 7,500; Q2 recovers the 12,500 paid for it.
    assert pay[("FY2026-Q1", "AE-1", "commission")] == D("12500.00")
    assert pay[("FY2026-Q2", "AE-1", "clawback")] == D("-12500.00")
    assert pay[("FY2026-Q2", "AE-1", "commission")] == D("0.00")


def test_new_hire_first_quarter_draw(catalog):
    people = roster() + [payee("AE-9", "AE", manager="MGR-1",
                               hire_date="2026-03-18")]
    deals = [booking("D1", 10000, owner="AE-9", day="2026-04-02"),
             booking("D2", 10000, owner="AE-9", day="2026-05-02")]
    inputs = Inputs(deals, people, lists={"strategic_accounts": STRATEGIC})
    lines = evaluate(catalog, inputs, ["FY2026-Q1", "FY2026-Q2"]).lines
    mine = {}
    for line in lines:
        if line.payee_id == "AE-9":
            mine[line.period] = mine.get(line.period, 0) + line.amount
    assert mine["FY2026-Q1"] == D("6000.00")
    assert mine["FY2026-Q2"] < D("6000.00")
