"""Planning: territory coverage, quota setting and capacity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import ConfigError
from engine.expressions import parse_expression
from engine.insights.planning import (
    capacity,
    fiscal_year_number,
    split_target,
    territory_report,
)
from engine.spec import Calendar, Territories, TerritoryRule
from support import deal

D = Decimal


def _rules(match: str) -> Territories:
    def rule(name, when=None, territory=None, payees=()):
        expr = parse_expression(when) if when else None
        return TerritoryRule(name, expr, territory, tuple(payees))

    return Territories(
        id=f"{match}-rules", name="Regions", match=match,
        rules=(
            rule("Named", "account in named", payees=["SE-1"]),
            rule("Europe", 'region == "EMEA"', territory="EMEA"),
            rule("Americas", 'region in ("NA", "LATAM")', payees=["SE-2"]),
            rule("Japan", 'country == "JP"', payees=["SE-3"]),
        ),
        lists={"named": ("ACME",)},
    )


def _deals():
    return [
        deal("D1", "2026-02-01", 1000, region="EMEA", account="ACME"),
        deal("D2", "2026-02-02", 2000, region="EMEA", account="Other"),
        deal("D3", "2026-02-03", 4000, region="NA", account="ACME"),
        deal("D4", "2026-02-04", 8000, region="APAC", account="Other"),
        deal("D5", "2026-02-05", 16000, region="NA", account="Other",
             stage="lost"),
        deal("C1", "2026-03-01", -1000, region="EMEA", cancels="D1"),
    ]


def test_first_match_counts_what_each_rule_took():
    [report] = territory_report({"r": _rules("first")}, _deals(), {})
    loads = {load.rule: (load.deals, load.amount) for load in report.load}
    assert report.deals == 5
    assert loads == {"Named": (2, D(5000)), "Europe": (1, D(2000)),
                     "Americas": (1, D(16000)), "Japan": (0, D(0))}
    assert report.uncovered == ["D4"]
    assert report.idle_rules == ["Japan"]
    # Overlap is intended with first match: nothing is reported.
    assert report.claimed_by_several == []
    assert report.load[1].assigns == "territory EMEA"


def test_all_match_reports_deals_several_rules_claim():
    [report] = territory_report({"r": _rules("all")}, _deals(), {})
    assert report.claimed_by_several == [
        {"deal_id": "D1", "rules": ["Named", "Europe"]},
        {"deal_id": "D3", "rules": ["Named", "Americas"]},
    ]
    loads = {load.rule: load.deals for load in report.load}
    assert loads == {"Named": 2, "Europe": 2, "Americas": 2, "Japan": 0}
    assert report.uncovered == ["D4"]


def test_a_list_from_a_missing_source_is_an_error():
    rules = Territories("t", "t", "first", (), lists={"named": "accounts"})
    with pytest.raises(ConfigError, match="accounts"):
        territory_report({"t": rules}, _deals(), {})


def test_amounts_are_converted_for_the_load():
    [report] = territory_report({"r": _rules("first")}, _deals(), {},
                                amount_of=lambda d: d.amount * 2)
    assert report.load[0].amount == 10000


# -- quotas -------------------------------------------------------------------


FEBRUARY = Calendar(start_month=2)


def test_target_split_by_last_years_seasonality_to_the_cent():
    history = [
        deal("A", "2025-03-01", 100),   # FY2025-Q1
        deal("B", "2025-06-01", 200),   # FY2025-Q2
        deal("C", "2025-09-01", 300),   # FY2025-Q3
        deal("D", "2026-01-15", 400),   # FY2025-Q4
        deal("E", "2026-01-20", 50, stage="lost"),
        deal("F", "2026-03-01", 999),   # FY2026 itself: not history
    ]
    split = split_target(D("1000000.01"), 2026, history, FEBRUARY)
    assert split.history_years == (2025,)
    assert [p.label for p in split.parts] == [
        "FY2026-Q1", "FY2026-Q2", "FY2026-Q3", "FY2026-Q4"]
    assert [p.share for p in split.parts] == [
        D("0.1"), D("0.2"), D("0.3"), D("0.4")]
    amounts = [p.amount for p in split.parts]
    assert sum(amounts) == D("1000000.01")
    assert amounts == [D("100000.00"), D("200000.00"), D("300000.00"),
                       D("400000.01")]


def test_largest_remainder_keeps_thirds_exact():
    history = [deal("A", "2025-01-10", 1), deal("B", "2025-02-10", 1),
               deal("C", "2025-03-10", 1)]
    split = split_target(D(100), 2026, history, Calendar(), "month")
    amounts = [p.amount for p in split.parts if p.amount]
    assert amounts == [D("33.34"), D("33.33"), D("33.33")]
    assert sum(p.amount for p in split.parts) == 100


def test_without_history_the_split_is_even():
    split = split_target(D(1000), 2026, [], FEBRUARY)
    assert split.history_years == ()
    assert [p.amount for p in split.parts] == [D(250)] * 4


def test_quota_arguments_are_checked():
    with pytest.raises(ConfigError):
        split_target(D("10.001"), 2026, [], FEBRUARY)
    with pytest.raises(ConfigError):
        split_target(D(-5), 2026, [], FEBRUARY)
    assert fiscal_year_number("FY2027") == fiscal_year_number("2027") == 2027
    with pytest.raises(ConfigError):
        fiscal_year_number("next year")


# -- capacity -----------------------------------------------------------------


def test_capacity_with_a_ramp_shows_its_arithmetic():
    result = capacity(D(5_000_000), D(1_000_000), [D("0.25"), D("0.5")])
    assert result.ramp_factor == D("0.6875")
    assert result.new_hire_productivity == 687500
    assert result.fully_ramped == 5
    # 5,000,000 / 687,500 = 7.27: 8 new hires.
    assert result.new_hires == 8 and result.payees == 8
    assert result.steps[-1] == "Payees: 0 + 8 = 8."
    assert "(25% + 50% + 100% + 100%) / 4 = 68.75%" in result.steps[1]


def test_capacity_counts_existing_payees_first():
    result = capacity(D(5_000_000), D(1_000_000), [D("0.25"), D("0.5")],
                      existing=2)
    # 3,000,000 left over 687,500 a new hire: 4.36, so 5.
    assert (result.new_hires, result.payees) == (5, 7)
    assert "Left for new hires: 5,000,000 - 2 x 1,000,000 = 3,000,000." \
        in result.steps


def test_capacity_without_a_ramp_is_target_over_productivity():
    result = capacity(D(2_500_000), D(1_000_000))
    assert (result.ramp_factor, result.payees) == (1, 3)


def test_capacity_refuses_what_cannot_be_planned():
    with pytest.raises(ConfigError):
        capacity(D(0), D(1))
    with pytest.raises(ConfigError):
        capacity(D(1), D(1), [D("1.5")])
