"""KPIs per payee, team and company, each checked against a hand count.

The ledger: manager M over sellers A and B, fiscal year = calendar year,
quarterly quota 100,000 each. In FY2026-Q1:

- A: won D1 10,000 (list 12,500, 30 days from created to closed), won
  D2 30,000 (list 30,000, 80 days), lost D3 5,000, open D4 20,000 at
  50 % expected in March; open D5 40,000 at 25 % expected in May (Q2).
- B: won D6 50,000 (list 62,500, 60 days), lost D7 and D8, open D9
  10,000 at 10 % expected 1 February.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.evaluate import Inputs, evaluate
from engine.insights.kpis import KPI_NAMES, KpiBook, data_periods
from engine.loader import load_catalog
from engine.plugins import get_plugin_manager, metrics
from support import deal, payee

D = Decimal
Q1 = "FY2026-Q1"

PLAN = """\
kind: plan
id: sellers
name: Sellers
currency: USD
period: quarter
effective: {from: 2026-01-01, to: 2026-12-31}
participants: {roles: [AE]}
measures:
  bookings: {sum: credit}
  decided_win_rate: {metric: win_rate}
  won_only_win_rate: {metric: win_rate, stages: [won]}
  pipeline: {metric: open_pipeline}
  weighted: {metric: weighted_pipeline}
quotas:
  bookings: {per_period: 100000}
components:
  commission:
    rate_table:
      measure: bookings
      bands: [{from: 0%, rate: 10%}]
"""


def ledger() -> list:
    return [
        deal("D1", "2026-01-31", 10000, "A", list_price=D(12500),
             created_date=_day("2026-01-01")),
        deal("D2", "2026-02-20", 30000, "A", list_price=D(30000),
             created_date=_day("2025-12-02")),
        deal("D3", "2026-03-01", 5000, "A", stage="lost"),
        deal("D4", "2026-03-20", 20000, "A", stage="proposal",
             probability=D("0.5")),
        deal("D5", "2026-05-10", 40000, "A", stage="discovery",
             probability=D("0.25")),
        deal("D6", "2026-03-16", 50000, "B", list_price=D(62500),
             created_date=_day("2026-01-15")),
        deal("D7", "2026-02-10", 10000, "B", stage="lost"),
        deal("D8", "2026-03-30", 2000, "B", stage="lost"),
        deal("D9", "2026-02-01", 10000, "B", stage="discovery",
             probability=D("0.1")),
        # A cancellation corrects D2; it is not an opportunity.
        deal("C1", "2026-03-25", -1000, "A", cancels="D2"),
    ]


def roster() -> list:
    return [
        payee("M", "Manager", hire_date="2020-01-01"),
        payee("A", "AE", manager="M", hire_date="2020-01-01"),
        payee("B", "AE", manager="M", hire_date="2020-01-01"),
    ]


def _day(text):
    from datetime import date

    return date.fromisoformat(text)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    path = tmp_path_factory.mktemp("kpis") / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    found = load_catalog([path])
    assert not found.errors, [str(f) for f in found.errors]
    return found


@pytest.fixture(scope="module")
def book(catalog) -> KpiBook:
    inputs = Inputs(deals=ledger(), roster=roster())
    return small_book(catalog, inputs)


def small_book(catalog, inputs) -> KpiBook:
    return KpiBook(catalog, inputs, metrics(get_plugin_manager()), [Q1])


def same(found, expected) -> bool:
    """Equal to 20 decimal places: ratios come from different contexts."""
    return found is not None and abs(found - expected) < D("1e-20")


def values(book, level, ident):
    return book.kpis(level, ident, book.window(Q1)).values


# -- a seller -----------------------------------------------------------------


def test_open_and_weighted_pipeline_count_deals_expected_in_the_period(book):
    a = values(book, "payee", "A")
    assert a["open_pipeline"] == 20000
    assert a["weighted_pipeline"] == 10000
    assert a["open_deals"] == 1


def test_win_rate_is_won_over_decided_by_count(book):
    assert same(values(book, "payee", "A")["win_rate"], D(2) / D(3))


def test_average_deal_size_is_over_won_deals(book):
    assert values(book, "payee", "A")["average_deal_size"] == 20000


def test_cycle_length_is_average_days_created_to_closed(book):
    assert values(book, "payee", "A")["cycle_length"] == 55


def test_sales_velocity_per_day(book):
    expected = D(1) * (D(2) / D(3)) * D(20000) / D(55)
    assert same(values(book, "payee", "A")["sales_velocity"], expected)


def test_average_discount_is_weighted_by_list_price(book):
    assert same(values(book, "payee", "A")["average_discount"],
                D(2500) / D(42500))


def test_deals_closed_and_bookings_leave_cancellations_out(book):
    a = values(book, "payee", "A")
    assert a["deals_closed"] == 2
    assert a["bookings"] == 40000


def test_productivity_is_bookings_per_active_payee_month(book):
    assert same(values(book, "payee", "A")["productivity"], D(40000) / 3)


def test_quota_attainment_and_coverage(book):
    a = values(book, "payee", "A")
    # The plan's measure counts the cancellation: 40,000 - 1,000.
    assert a["quota"] == 100000
    assert a["attained"] == 39000
    assert a["attainment"] == D("0.39")
    assert a["remaining_quota"] == 61000
    assert same(a["coverage"], D(10000) / D(61000))


# -- a team and the company ---------------------------------------------------


def test_team_counts_the_deals_of_everyone_below_the_manager(book):
    team = values(book, "team", "M")
    assert team["open_pipeline"] == 30000
    assert team["weighted_pipeline"] == 11000
    assert team["win_rate"] == D("0.5")
    assert team["average_deal_size"] == 30000
    assert same(team["cycle_length"], D(170) / 3)
    assert same(team["sales_velocity"], D(2) * D("0.5") * 30000 * 3 / 170)
    assert same(team["average_discount"], D(15000) / D(105000))
    assert team["deals_closed"] == 3
    assert team["sellers"] == 2
    assert team["productivity"] == 15000


def test_team_quota_sums_the_members_below_the_manager(book):
    team = values(book, "team", "M")
    assert team["quota"] == 200000
    assert team["attained"] == 89000
    assert same(team["coverage"], D(11000) / D(111000))


def test_company_is_every_deal_and_every_quota(book):
    company = values(book, "company", "company")
    team = values(book, "team", "M")
    assert company == team


def test_the_manager_alone_owns_nothing(book):
    manager = values(book, "payee", "M")
    assert manager["deals_closed"] == 0
    assert manager["win_rate"] is None
    assert manager["sales_velocity"] is None
    assert manager["productivity"] is None
    assert manager["quota"] is None


def test_rows_per_level(book):
    assert [r.id for r in book.rows(Q1, "payee")] == ["A", "B"]
    assert [r.id for r in book.rows(Q1, "team")] == ["M"]
    [company] = book.rows(Q1, "company")
    assert set(company.as_dict()) == {
        "level", "id", "name", "period", *KPI_NAMES}


def test_a_quarter_with_no_decided_deals_has_no_win_rate(book):
    window = book.window("FY2026-Q2")
    a = book.kpis("payee", "A", window).values
    assert a["win_rate"] is None
    assert a["open_pipeline"] == 40000
    assert a["weighted_pipeline"] == 10000


def test_team_follows_the_hierarchy_on_the_close_date(catalog):
    people = roster()[:2] + [
        payee("N", "Manager", hire_date="2020-01-01"),
        payee("B", "AE", manager="M", hire_date="2020-01-01",
              effective_to="2026-02-28"),
        payee("B", "AE", manager="N", hire_date="2020-01-01",
              effective_from="2026-03-01"),
    ]
    book = small_book(catalog, Inputs(deals=ledger(), roster=people))
    # D6 (won) and D8 (lost) close in March, under N; D7 in February.
    m = values(book, "team", "M")
    n = values(book, "team", "N")
    assert m["deals_closed"] == 2 and n["deals_closed"] == 1
    assert n["win_rate"] == D("0.5")
    # At the end of the quarter B is in N's team, with B's quota.
    assert n["quota"] == 100000 and m["quota"] == 100000


# -- the metrics as plan measures ---------------------------------------------


def test_kpi_metrics_read_their_own_stages_in_a_plan(catalog):
    inputs = Inputs(deals=ledger(), roster=roster())
    found = evaluate(catalog, inputs, [Q1], metrics(get_plugin_manager()))
    measures = found.measures["sellers@1"][("A", Q1)]
    assert same(measures["decided_win_rate"].value, D(2) / D(3))
    assert measures["pipeline"].value == 20000
    assert measures["weighted"].value == 10000
    # Stages named in the plan win over the metric's.
    assert measures["won_only_win_rate"].value == 1


def test_data_periods_are_those_the_deals_reach(catalog):
    inputs = Inputs(deals=ledger(), roster=roster())
    assert data_periods(catalog, inputs) == ["FY2026-Q1", "FY2026-Q2"]
