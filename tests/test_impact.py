"""The pay impact of a plan change: comparing, thresholds, the two sides."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.errors import ConfigError
from engine.impact import (
    compare,
    render_markdown,
    render_text,
    sides_from_files,
    threshold_exceeded,
)
from engine.results import PayoutLine

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "plan_specs" / "examples"


def line(payee: str, amount: str, plan: str = "ae", component: str = "comm",
         period: str = "FY2026-Q1") -> PayoutLine:
    return PayoutLine(
        payee_id=payee, payee_name=f"{payee} name", plan_id=plan,
        plan_version="1", period=period, period_start=date(2026, 2, 1),
        period_end=date(2026, 4, 30), component=component,
        component_name=component.title(), amount=D(amount), currency="USD",
    )


OLD = [line("A", "100.00"), line("B", "200.00"), line("C", "300.00"),
       line("A", "10.00", component="spif")]


def test_only_payees_whose_pay_changes_are_listed():
    new = [line("A", "150.00"), line("B", "200.00"), line("C", "250.00"),
           line("A", "10.00", component="spif")]

    impact = compare(OLD, new)

    assert [p.payee_id for p in impact.payees] == ["A", "C"]
    assert impact.unchanged == 1
    change = impact.payees[0].changes[0]
    assert (change.component, change.old, change.new, change.delta) == (
        "comm", D(100), D(150), D(50)
    )
    assert impact.totals == {"USD": (D("610.00"), D("610.00"))}
    # +50 and -50 do not cancel out.
    assert impact.absolute_change() == {"USD": D("100.00")}


def test_a_plan_on_one_side_counts_in_full():
    new = OLD + [line("B", "75.00", plan="spiff-q1", component="bonus")]
    removed = [entry for entry in OLD if entry.component != "spif"]

    added = compare(OLD, new).changes
    gone = compare(OLD, removed).changes

    assert [(c.plan_id, c.old, c.new) for c in added] == [
        ("spiff-q1", D(0), D("75.00"))
    ]
    assert [(c.component, c.old, c.new) for c in gone] == [
        ("spif", D("10.00"), D(0))
    ]


@pytest.mark.parametrize(
    "limit, fails",
    [("99.99", True), ("100", False), ("16%", True), ("17%", False)],
)
def test_thresholds_absolute_and_share(limit, fails):
    new = [line("A", "150.00"), line("B", "200.00"), line("C", "250.00"),
           line("A", "10.00", component="spif")]
    # Absolute change 100.00 on an old total of 610.00: 16.39 %.
    message = threshold_exceeded(compare(OLD, new), limit)
    assert (message is not None) == fails
    if fails:
        assert "100.00 USD" in message


def test_a_threshold_that_is_not_one():
    with pytest.raises(ConfigError, match="not a threshold"):
        threshold_exceeded(compare(OLD, OLD), "lots")


def test_renderings_name_payees_and_amounts():
    new = [line("A", "1150.00"), *OLD[1:]]
    impact = compare(OLD, new, "main", "working tree")

    text = render_text(impact)
    markdown = render_markdown(impact)

    assert "ae comm FY2026-Q1: 100.00 -> 1,150.00 +1,050.00 USD" in text
    assert "1 payee(s) with changed pay, 2 unchanged." in text
    assert ("| A A name | ae | Comm | FY2026-Q1 | 100.00 | 1,150.00 | "
            "+1,050.00 |") in markdown
    assert "| USD | 610.00 | 1,660.00 | +1,050.00 (+172.13 %) |" in markdown


def test_a_file_replaces_the_project_file_with_the_same_id(tmp_path: Path):
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(EXAMPLES / "tiered-marginal.yaml", plans / "plan.yaml")
    shutil.copy(EXAMPLES / "payout-curve.yaml", plans / "curve.yaml")
    proposal = tmp_path / "proposal.yaml"
    shutil.copy(EXAMPLES / "tiered-marginal.yaml", proposal)

    old, new = sides_from_files(plans / "plan.yaml", proposal, [plans])

    assert sorted(p.name for p in old) == ["curve.yaml", "plan.yaml"]
    assert sorted(p.name for p in new) == ["curve.yaml", "proposal.yaml"]


def test_diff_two_files_with_data_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLES / "tiered-marginal.yaml", "old.yaml")
    text = (EXAMPLES / "tiered-marginal.yaml").read_text()
    Path("new.yaml").write_text(text.replace("rate: 15%", "rate: 20%"))
    Path("deals.csv").write_text(
        "deal_id,close_date,amount,owner\n"
        "D1,2026-03-01,120000,A\nD2,2026-03-01,90000,B\n"
    )
    Path("roster.csv").write_text("payee_id,name,role\nA,Ana,AE\nB,Ben,AE\n")

    result = CliRunner().invoke(cli, [
        "diff", "old.yaml", "new.yaml", "--deals", "deals.csv",
        "--roster", "roster.csv", "--format", "json", "--fail-above", "999",
    ])

    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert [p["payee_id"] for p in found["payees"]] == ["A"]
    assert found["payees"][0]["changes"][0]["delta"] == "1000.00"
    assert found["payees_unchanged"] == 1
    assert "more than the 999.00 allowed" in result.stderr


def test_diff_a_single_file_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLES / "tiered-marginal.yaml", "plan.yaml")
    Path("attain.yaml").write_text(
        "kind: project\nname: x\nplans: [plan.yaml]\n"
        "data:\n  deals: {connector: csv, path: d.csv}\n"
        "  roster: {connector: csv, path: r.csv}\n"
    )
    result = CliRunner().invoke(cli, ["diff", "plan.yaml"])
    assert result.exit_code == 2
    assert "needs another to compare with" in result.stderr
