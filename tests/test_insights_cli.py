"""The insight commands on the sample project: text, JSON and errors."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PROJECT = str(ROOT / "attain.yaml")


def attain(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["--project", PROJECT, *args])
    assert result.exit_code == code, result.output
    return result


def test_kpis_json_per_team_matches_the_company(tmp_path):
    teams = json.loads(attain("kpis", "--period", "FY2026-Q2", "--level",
                              "team", "--format", "json").stdout)
    company = json.loads(attain("kpis", "--period", "FY2026-Q2", "--level",
                                "company", "--format", "json").stdout)
    assert teams["periods"] == ["FY2026-Q2"]
    [everyone] = company["rows"]
    by_id = {row["id"]: row for row in teams["rows"]}
    assert set(by_id) == {"MGR-1", "MGR-2", "MGR-3", "MGR-4", "VP-1"}
    # Every seller reports to VP-1, so the top team is the company.
    top = {k: v for k, v in by_id["VP-1"].items()
           if k not in ("level", "id", "name")}
    assert top == {k: v for k, v in everyone.items()
                   if k not in ("level", "id", "name")}
    closed = sum(int(by_id[m]["deals_closed"]) for m in
                 ("MGR-1", "MGR-2", "MGR-3", "MGR-4"))
    assert closed == int(everyone["deals_closed"])


def test_kpis_csv_and_text():
    text = attain("kpis", "--period", "FY2026-Q1", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {"win_rate", "coverage", "productivity"} <= set(rows[0])
    assert all(row["period"] == "FY2026-Q1" for row in rows)
    shown = attain("kpis", "--period", "FY2026-Q1", "--level", "company")
    assert "Win rate" in shown.stdout and "Company" in shown.stdout


def test_forecast_json_as_of_a_past_date():
    found = json.loads(attain(
        "forecast", "--as-of", "2026-05-20", "--simulations", "60",
        "--format", "json").stdout)
    assert found["period"] == "FY2026-Q2"
    assert found["as_of"] == "2026-05-20"
    scopes = {row["scope"] for row in found["rows"]}
    assert scopes == {"payee", "team"}
    row = next(r for r in found["rows"] if r["id"] == "AE-001")
    low, mid, high = (Decimal(row["attainment"][p])
                      for p in ("p10", "p50", "p90"))
    assert low <= mid <= high
    assert row["quota"] and row["closed"] is not None


def test_forecast_text_names_the_range():
    shown = attain("forecast", "--period", "FY2026-Q3", "--as-of",
                   "2026-09-01", "--simulations", "30").stdout
    assert "Forecast of FY2026-Q3 as of 2026-09-01" in shown
    assert "Att p50" in shown and "Teams" in shown


def test_coach_json_with_the_default_rules():
    found = json.loads(attain("coach", "--period", "FY2026-Q2",
                              "--format", "json").stdout)
    assert found["period"] == "FY2026-Q2"
    assert found["flags"]
    for flag in found["flags"]:
        assert flag["focus"] and flag["evidence"]
        for pair in flag["evidence"].values():
            assert set(pair) == {"payee", "team"}


def test_coach_with_invalid_rules_prints_findings(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "kind: coaching\nid: bad\nrules:\n"
        "  - id: r\n    title: T\n    when: win_rat < 1\n    focus: F.\n",
        encoding="utf-8",
    )
    result = attain("coach", "--rules", str(rules), code=1)
    assert f"{rules}:6:" in result.output
    assert "E-UNKNOWN-NAME" in result.output


def test_territories_json_reports_load_per_rule():
    [report] = json.loads(attain("territories", "--format", "json").stdout)
    assert report["id"] == "se-territories" and report["match"] == "first"
    assert report["uncovered"] == []
    assert sum(load["deals"] for load in report["load"]) == report["deals"]


def test_quotas_split_the_target_exactly():
    found = json.loads(attain("quotas", "--target", "4000000", "--year",
                              "FY2027", "--format", "json").stdout)
    assert found["seasonality_from"] == ["FY2026"]
    amounts = [Decimal(part["amount"]) for part in found["parts"]]
    assert sum(amounts) == 4000000 and len(amounts) == 4


def test_capacity_prints_the_arithmetic():
    shown = attain("capacity", "--target", "5000000", "--productivity",
                   "1000000", "--ramp", "25%,50%").stdout
    assert shown.splitlines()[-1] == "Payees: 0 + 8 = 8."
    found = json.loads(attain("capacity", "--target", "5000000",
                              "--productivity", "1000000", "--existing", "2",
                              "--format", "json").stdout)
    assert found["payees"] == 5 and found["new_hires"] == 3


@pytest.mark.parametrize("args", [
    ("capacity", "--target", "lots", "--productivity", "1"),
    ("capacity", "--target", "1", "--productivity", "1", "--ramp", "half"),
    ("quotas", "--target", "1e", "--year", "FY2027"),
])
def test_usage_errors_exit_2(args):
    attain(*args, code=2)


def test_a_period_that_is_not_one_is_a_usage_error():
    result = attain("kpis", "--period", "Q1-2026", code=2)
    assert "not a fiscal period" in result.output


# -- the report's data --------------------------------------------------------

CONTRACT = {
    "project", "generated_for", "currency", "periods", "payees",
    "attainment", "payout_by_component", "leaderboard", "kpi_trends",
    "forecast", "coaching", "statements",
}


@pytest.fixture(scope="module")
def report():
    from datetime import date

    from engine.insights.report_data import build_report_data

    return build_report_data(ROOT / "attain.yaml", as_of=date(2026, 9, 15),
                             simulations=80)


def _floats(value) -> list:
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return [value] if isinstance(value, float) else []


def test_report_data_has_exactly_the_contract_keys(report):
    assert set(report) == CONTRACT
    assert report["project"] == "Sample company, FY2026"
    assert report["periods"] == [f"FY2026-Q{q}" for q in range(1, 5)]
    assert report["generated_for"] == {"periods": report["periods"],
                                       "as_of": "2026-09-15"}
    assert _floats(report) == []
    json.dumps(report)


def test_report_pay_adds_up_the_same_everywhere(report):
    by_component = sum(Decimal(r["amount"])
                       for r in report["payout_by_component"])
    statements = sum(Decimal(s["total"]) for s in report["statements"])
    lines = sum(Decimal(line["amount"]) for s in report["statements"]
                for line in s["lines"])
    assert by_component == statements == lines
    for statement in report["statements"]:
        assert Decimal(statement["total"]) == sum(
            Decimal(line["amount"]) for line in statement["lines"])


def test_report_attainment_and_leaderboard_agree(report):
    for row in report["attainment"]:
        assert Decimal(row["attainment"]) == (
            Decimal(row["value"]) / Decimal(row["quota"]))
    board = report["leaderboard"]
    assert [r["rank"] for r in board] == list(range(1, len(board) + 1))
    shares = [Decimal(r["attainment"]) for r in board]
    assert shares == sorted(shares, reverse=True)
    paid = {s["payee_id"]: Decimal(s["total"]) for s in report["statements"]}
    for row in board:
        assert Decimal(row["payout"]) == paid.get(row["payee_id"], 0)
        values = [Decimal(r["value"]) for r in report["attainment"]
                  if r["payee_id"] == row["payee_id"]]
        assert Decimal(row["bookings"]) == sum(values)


def test_report_forecast_coaching_and_trends(report):
    assert {r["period"] for r in report["forecast"]} == {"FY2026-Q3"}
    assert {r["scope"] for r in report["forecast"]} == {"payee", "team"}
    assert [r["period"] for r in report["kpi_trends"]] == report["periods"]
    assert set(report["kpi_trends"][0]) == {
        "period", "open_pipeline", "weighted_pipeline", "win_rate",
        "average_deal_size", "cycle_length_days", "sales_velocity_per_day",
        "average_discount", "deals_closed", "productivity"}
    for flag in report["coaching"]:
        assert set(flag) == {"payee_id", "name", "rule", "title", "focus",
                             "evidence"}
    named = {p["payee_id"] for p in report["payees"]}
    assert {f["payee_id"] for f in report["coaching"]} <= named
    assert {s["payee_id"] for s in report["statements"]} <= named
