"""The attain command line, as a comp admin runs it in a project folder."""

import csv
import json
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "plan_specs" / "examples" / "tiered-marginal.yaml"

PROJECT = """\
kind: project
name: Test project
plans: [plans]
data:
  deals: {connector: csv, path: data/deals.csv}
  roster: {connector: csv, path: data/roster.csv}
store:
  url: sqlite:///store/attain.db
outputs:
  - {format: csv, path: out/payouts.csv}
  - {format: json, path: out/payouts.json}
"""

ROSTER = """\
payee_id,name,role,manager,hire_date
A,Ana Silva,AE,M,2020-01-01
B,Ben Okafor,AE,M,2020-01-01
M,Mia Chen,Manager,,2020-01-01
"""

DEALS = [
    "deal_id,close_date,amount,owner,type",
    "D1,2026-02-10,70000.00,A,new",
    "D2,2026-06-01,50000.00,A,upsell",
    "D3,2026-03-05,40000.00,B,new",
    "D4,2026-09-30,25000.50,B,renewal",
    "D5,2026-11-11,0.01,A,new",
]


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "plans").mkdir()
    shutil.copy(PLAN, tmp_path / "plans" / "plan.yaml")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "roster.csv").write_text(ROSTER)
    write_deals(tmp_path, DEALS)
    (tmp_path / "attain.yaml").write_text(PROJECT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_deals(folder: Path, rows) -> None:
    (folder / "data" / "deals.csv").write_text("\n".join(rows) + "\n")


def attain(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# -- validate ----------------------------------------------------------------


def test_validate_a_valid_project(project):
    result = attain("validate")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "0 error(s), 0 warning(s) in 1 file(s)." in result.stderr


def test_validate_reports_file_line_column_and_code(project):
    plan = project / "plans" / "plan.yaml"
    plan.write_text(plan.read_text().replace("rate: 15%", "rate: 15 percent"))
    result = attain("validate", "plans")
    assert result.exit_code == 1
    line = result.stdout.strip().splitlines()[0]
    assert line.startswith(str(Path("plans") / "plan.yaml") + ":28:30:")
    assert " E-VALUE " in line
    assert "bands[1].rate" in line


def test_validate_json(project):
    plan = project / "plans" / "plan.yaml"
    plan.write_text(plan.read_text().replace("sum: credit", "sum: credits"))
    result = attain("validate", "--format", "json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert found[0]["code"] == "E-UNKNOWN-NAME"
    assert found[0]["line"] == 17
    assert "Did you mean 'credit'?" in found[0]["message"]


def test_validate_a_missing_path_is_a_usage_error(project):
    result = attain("validate", "no-such-folder")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_validate_the_bundled_plans():
    result = CliRunner().invoke(cli, ["validate", str(ROOT / "plan_specs")])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.stderr


def test_hostile_expression_is_reported_not_run(project):
    plan = project / "plans" / "plan.yaml"
    text = plan.read_text().replace(
        "sum: credit}",
        "sum: credit, where: '__import__(\"os\").system(\"touch x\")'}",
    )
    plan.write_text(text)
    result = attain("validate")
    assert result.exit_code == 1
    assert "E-EXPR-FUNCTION" in result.stdout
    assert not (project / "x").exists()


# -- run, runs, show ------------------------------------------------------------


def test_run_writes_outputs_and_records_the_run(project):
    result = attain("run")
    assert result.exit_code == 0, result.output
    assert "recorded" in result.stderr
    rows = list(csv.DictReader(open(project / "out" / "payouts.csv")))
    amounts = {r["payee_id"]: r["amount"] for r in rows}
    # A: 120,000.01 on a quota of 100,000 -> 10,000 + 3,000.0015
    # B: 65,000.50 at 10 % -> 6,500.05
    assert amounts == {"A": "13000.00", "B": "6500.05"}
    listed = attain("runs", "--format", "json")
    runs = json.loads(listed.stdout)
    assert len(runs) == 1 and runs[0]["lines"] == 2
    shown = attain("show", runs[0]["run_id"][:8], "--format", "csv")
    assert shown.exit_code == 0
    assert shown.stdout == (project / "out" / "payouts.csv").read_text()


def test_run_to_stdout_in_a_chosen_format(project):
    result = attain("run", "--no-store", "--format", "json")
    assert result.exit_code == 0
    lines = json.loads(result.stdout)["lines"]
    assert {line["payee_id"] for line in lines} == {"A", "B"}
    assert not (project / "store").exists()


def test_unknown_output_format(project):
    result = CliRunner().invoke(cli, ["run", "--no-store", "--format", "xlsx"])
    assert result.exit_code == 2
    assert "No output format 'xlsx'" in result.stderr


def test_same_inputs_in_any_order_give_identical_bytes(project):
    assert attain("run", "--no-store").exit_code == 0
    first = [(project / "out" / n).read_bytes()
             for n in ("payouts.csv", "payouts.json")]
    rows = DEALS[1:]
    for seed in range(3):
        random.Random(seed).shuffle(rows)
        write_deals(project, [DEALS[0]] + rows)
        assert attain("run", "--no-store").exit_code == 0
        again = [(project / "out" / n).read_bytes()
                 for n in ("payouts.csv", "payouts.json")]
        assert again == first


@pytest.mark.parametrize(
    "rows, expected",
    [
        (["deal_id,close_date,owner", "D1,2026-01-01,A"],
         "row 1, column 'amount'"),
        (["deal_id,close_date,amount,owner", "D1,2026-01-01,12O0,A"],
         "row 2, column 'amount'"),
        (["deal_id,close_date,amount,owner", "D1,2026-13-01,10,A"],
         "row 2, column 'close_date'"),
        (["deal_id,close_date,amount,owner", "D1,2026-01-01,10,A",
          "D1,2026-01-02,10,B"], "row 3, column 'deal_id'"),
        (["deal_id,close_date,amount,owner", "D1,2026-01-01,10,Z"],
         "row 2, column 'owner'"),
        (["deal_id,close_date,amount,owner", "D1,2026-01-01,10"],
         "row 2"),
    ],
)
def test_bad_ledgers_name_file_row_and_column(project, rows, expected):
    assert attain("run").exit_code == 0
    before = (project / "out" / "payouts.csv").read_bytes()
    write_deals(project, rows)
    result = attain("run")
    assert result.exit_code == 1
    assert "deals.csv" in result.stderr and expected in result.stderr
    assert (project / "out" / "payouts.csv").read_bytes() == before
    runs = json.loads(attain("runs", "--format", "json").stdout)
    assert len(runs) == 1
    leftovers = [p.name for p in (project / "out").iterdir()]
    assert sorted(leftovers) == ["payouts.csv", "payouts.json"]


def test_unknown_owner_suggests_a_payee(project):
    write_deals(project, ["deal_id,close_date,amount,owner", "D1,2026-01-01,1,a"])
    result = attain("run", "--no-store")
    assert "Did you mean 'A'?" in result.stderr


# -- explain ------------------------------------------------------------------


def test_explain_shows_the_statement_with_deals(project):
    result = attain("explain", "A")
    assert result.exit_code == 0, result.output
    text = result.stdout
    for expected in ("Ana Silva", "D1", "D2", "D5", "13,000.00"):
        assert expected in text


def test_explain_json_carries_the_trace(project):
    result = attain("explain", "A", "--format", "json")
    statement = json.loads(result.stdout)
    line = statement["lines"][0]
    assert line["trace"]["attainment"] == "1.2000001"
    shares = [d["share"] for d in line["trace"]["deals"]]
    assert shares == ["7000.00", "6000.00", "0.00"]


def test_explain_a_recorded_run(project):
    attain("run")
    run_id = json.loads(attain("runs", "--format", "json").stdout)[0]["run_id"]
    result = attain("explain", "B", "--run", run_id[:6], "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["lines"][0]["amount"] == "6500.05"


def test_explain_an_unknown_payee(project):
    result = CliRunner().invoke(cli, ["explain", "Anna"])
    assert result.exit_code == 1
    assert "No payout lines for 'Anna'" in result.stderr


def test_commands_outside_a_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 2
    assert "No attain.yaml" in result.stderr


def test_a_password_in_the_project_file_is_refused(project):
    text = PROJECT.replace(
        "url: sqlite:///store/attain.db",
        "url: postgresql://comp:hunter2@db.example/attain",
    )
    (project / "attain.yaml").write_text(text)
    result = attain("run")
    assert result.exit_code == 1
    assert "E-SECRET" in result.stdout


def test_plugins_lists_the_built_ins():
    result = attain("plugins", "--format", "json")
    listed = json.loads(result.stdout)
    assert {"csv", "jsonl"} <= set(listed["connectors"])
    assert {"csv", "json", "markdown"} <= set(listed["output_formats"])
    assert "new_logo_count" in listed["metrics"]
    names = [p["name"] for p in listed["plugins"]]
    assert "plugins.connectors" in names


def test_explain_shows_the_year_so_far(project):
    shutil.copy(ROOT / "plan_specs/examples/recoverable-draw.yaml",
                project / "plans" / "plan.yaml")
    write_deals(project, [
        "deal_id,close_date,amount,owner,cancels",
        "D1,2026-01-10,10000,A,",
        "D2,2026-02-10,60000,A,",
        "D3,2026-03-10,5000,A,",
    ])
    result = attain("explain", "A", "--period", "FY2026-M02")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "## Year so far" in text
    rows = [r for r in text.splitlines() if r.startswith("| FY2026-M0")]
    assert rows == [
        "| FY2026-M01 | 1,000.00 | 0.00 | 2,000.00 | 0.00 | 0.00 | 3,000.00"
        " | 2,000.00 | 0.00 |",
        "| FY2026-M02 | 6,000.00 | 0.00 | -2,000.00 | 0.00 | 0.00 | 4,000.00"
        " | 0.00 | 0.00 |",
    ]
    assert "FY2026-M03" not in text


def _quarterly(project):
    shutil.copy(ROOT / "plan_specs/examples/periodic-quarters.yaml",
                project / "plans" / "plan.yaml")


def _pay(project):
    rows = csv.DictReader(open(project / "out" / "payouts.csv"))
    return {(r["period"], r["payee_id"], r["component"]): r["amount"]
            for r in rows}


def test_closed_period_never_changes_and_late_data_becomes_an_adjustment(
    project,
):
    _quarterly(project)
    write_deals(project, ["deal_id,close_date,amount,owner",
                          "D1,2026-02-10,80000,A"])
    closed = attain("close", "FY2026-Q1", "--author", "comp-admin")
    assert closed.exit_code == 0, closed.output
    assert "Closed FY2026-Q1" in closed.stderr

    write_deals(project, ["deal_id,close_date,amount,owner",
                          "D1,2026-02-10,80000,A",
                          "D9,2026-03-20,20000,A"])
    assert attain("run").exit_code == 0
    pay = _pay(project)
    assert pay[("FY2026-Q1", "A", "commission")] == "8000.00"
    assert pay[("FY2026-Q2", "A", "prior_period_adjustment")] == "2000.00"

    explained = attain("explain", "A", "--period", "FY2026-Q2",
                       "--format", "json")
    lines = json.loads(explained.stdout)["lines"]
    adjustment = next(l for l in lines
                      if l["component"] == "prior_period_adjustment")
    assert adjustment["trace"]["closed_period"] == "FY2026-Q1"
    assert adjustment["trace"]["deals_changed"] == ["D9"]
    assert adjustment["trace"]["inputs_changed"] == ["deals"]

    again = attain("close", "FY2026-Q1")
    assert again.exit_code == 1 and "closed already" in again.stderr


def test_manual_adjustments_survive_every_run(project):
    _quarterly(project)
    added = attain("adjust", "A", "1500", "--period", "FY2026-Q2",
                   "--reason", "Spiff approved", "--author", "jo")
    assert added.exit_code == 0, added.output
    for _ in range(2):
        assert attain("run").exit_code == 0
        assert _pay(project)[("FY2026-Q2", "A", "adjustment")] == "1500.00"
    listed = json.loads(attain("adjustments", "--format", "json").stdout)
    assert [(a["payee_id"], a["amount"], a["author"])
            for a in listed["adjustments"]] == [("A", "1500", "jo")]


def test_adjustments_from_a_file_are_all_or_nothing(project):
    _quarterly(project)
    (project / "adj.csv").write_text(
        "payee_id,period,amount,reason\n"
        "A,FY2026-Q2,100,Bonus\n"
        "Z,FY2026-Q2,50,Typo\n"
    )
    result = attain("adjust", "--file", "adj.csv", "--author", "jo")
    assert result.exit_code == 1
    assert "adj.csv, row 3, column 'payee_id'" in result.stderr
    listed = json.loads(attain("adjustments", "--format", "json").stdout)
    assert listed["adjustments"] == []


def test_no_adjustment_goes_into_a_closed_period(project):
    _quarterly(project)
    assert attain("close", "FY2026-Q1", "--author", "x").exit_code == 0
    result = attain("adjust", "A", "10", "--period", "FY2026-Q1",
                    "--reason", "Late", "--author", "jo")
    assert result.exit_code == 1
    assert "FY2026-Q1 is closed" in result.stderr


def test_validate_checks_split_table_totals(project):
    shutil.copytree(ROOT / "plan_specs/examples/crediting", project / "plans",
                    dirs_exist_ok=True)
    (project / "data" / "splits.csv").write_text(
        "deal_id,payee_id,percent\nD1,A,60\nD1,B,40\nD2,A,70\nD2,B,20\n"
    )
    text = (project / "attain.yaml").read_text().replace(
        "  roster: {connector: csv, path: data/roster.csv}\n",
        "  roster: {connector: csv, path: data/roster.csv}\n"
        "  splits: {connector: csv, path: data/splits.csv}\n",
    )
    (project / "attain.yaml").write_text(text)
    result = attain("validate")
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(str(Path("data") / "splits.csv") + ":4: ")
    assert " E-SPLIT-TOTAL The splits of deal 'D2' add up to 90%" in first


def test_validate_checks_coaching_rules(project):
    rules = (ROOT / "plan_specs/coaching/default.yaml").read_text()
    (project / "plans" / "coaching.yaml").write_text(
        rules.replace("win_rate < team_win_rate", "win_rte < team_win_rate", 1)
    )
    result = attain("validate")
    assert result.exit_code == 1
    assert "E-UNKNOWN-NAME 'win_rte'" in result.stdout
    assert "in 2 file(s)" in result.stderr
