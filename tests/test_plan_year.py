"""A plan year run period by period, the way a comp team lives it.

Two versions of one plan (the rate changes in July), a mid-year hire on
a ramped and prorated quota, a deal in euros, a cancellation clawed back,
and a closed quarter that late data then tries to change.
"""

import csv
import json
from decimal import Decimal

from click.testing import CliRunner

from engine.cli import cli

D = Decimal

PLAN = """\
kind: plan
id: ae
name: Account Executive plan
version: {version}
currency: USD
period: quarter
effective: {{from: {start}, to: {end}}}
participants: {{roles: [AE]}}
clawback: {{window_days: 90}}
measures:
  bookings: {{sum: credit}}
quotas:
  bookings:
    per_period: 100000
    ramp: [50%]
components:
  commission:
    name: Commission
    rate_table:
      measure: bookings
      bands:
        - {{from: 0%, to: 100%, rate: {rate}}}
        - {{from: 100%, rate: 15%}}
"""

PROJECT = """\
kind: project
name: Plan year
plans: [plans]
data:
  deals: {connector: csv, path: deals.csv}
  roster: {connector: csv, path: roster.csv}
  exchange_rates: {connector: csv, path: rates.csv}
"""

DEALS = [
    "deal_id,close_date,amount,currency,owner,cancels",
    "D1,2026-02-10,60000,USD,A,",
    "D2,2026-03-05,40000,EUR,A,",
    "D3,2026-06-01,30000,USD,H,",
    "C1,2026-04-20,-60000,USD,A,D1",
    "D4,2026-08-01,50000,USD,A,",
]


def attain(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def pay(folder):
    with open(folder / "out.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {(r["period"], r["payee_id"], r["component"]):
            (Decimal(r["amount"]), r["plan_version"]) for r in rows}


def run(folder):
    result = attain("run", "--format", "csv")
    assert result.exit_code == 0, result.output
    (folder / "out.csv").write_text(result.stdout)
    return pay(folder)


def test_a_plan_year_period_by_period(tmp_path, monkeypatch):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ae-h1.yaml").write_text(PLAN.format(
        version=1, start="2026-01-01", end="2026-06-30", rate="10%"))
    (plans / "ae-h2.yaml").write_text(PLAN.format(
        version=2, start="2026-07-01", end="2026-12-31", rate="12%"))
    (tmp_path / "attain.yaml").write_text(PROJECT)
    (tmp_path / "roster.csv").write_text(
        "payee_id,name,role,hire_date\n"
        "A,Ana,AE,2020-01-01\n"
        "H,Hugo,AE,2026-05-16\n"
    )
    (tmp_path / "rates.csv").write_text("date,from,to,rate\n"
                                        "2026-01-01,EUR,USD,1.10\n")
    (tmp_path / "deals.csv").write_text("\n".join(DEALS) + "\n")
    monkeypatch.chdir(tmp_path)

    assert attain("validate").exit_code == 0
    first = run(tmp_path)
    # Q1: 60,000 + 40,000 EUR at 1.10 = 104,000 -> 10,000 + 600.
    assert first[("FY2026-Q1", "A", "commission")] == (D("10600.00"), "1")
    # Q2: the cancellation of D1 (69 days after it closed) takes back the
    # 6,000 paid for it; it is not a negative booking as well.
    assert first[("FY2026-Q2", "A", "clawback")] == (D("-6000.00"), "1")
    assert first[("FY2026-Q2", "A", "commission")] == (D("0.00"), "1")
    # The hire: quota 100,000 x 50 % ramp x 46 / 91 active days.
    quota = D(100000) * D("0.5") * 46 / 91
    expected = quota * D("0.10") + (D(30000) - quota) * D("0.15")
    assert first[("FY2026-Q2", "H", "commission")][0] == expected.quantize(
        D("0.01"))
    assert ("FY2026-Q1", "H", "commission") not in first
    # Q3 runs on version 2: 12 % up to quota.
    assert first[("FY2026-Q3", "A", "commission")] == (D("6000.00"), "2")

    assert attain("close", "FY2026-Q1", "--author", "ops").exit_code == 0

    late = DEALS + ["D5,2026-03-30,10000,USD,A,"]
    (tmp_path / "deals.csv").write_text("\n".join(late) + "\n")
    second = run(tmp_path)
    assert second[("FY2026-Q1", "A", "commission")] == (D("10600.00"), "1")
    # Recomputed Q1 would be 10,000 + 14,000 x 15 % = 12,100.
    assert second[("FY2026-Q2", "A", "prior_period_adjustment")] == (
        D("1500.00"), "1")
    assert second[("FY2026-Q2", "A", "clawback")] == (D("-6000.00"), "1")

    statement = json.loads(attain("explain", "A", "--period", "FY2026-Q2",
                                  "--format", "json").stdout)
    periods = sorted({line["period"] for line in statement["lines"]})
    assert periods == ["FY2026-Q1", "FY2026-Q2"]
    d2 = next(d for line in statement["lines"]
              if line["component"] == "commission"
              and line["period"] == "FY2026-Q1"
              for d in line["trace"]["deals"] if d["deal_id"] == "D2")
    assert d2["deal_amount"] == "40000 EUR"
    assert D(d2["credit"]) == D(44000)
