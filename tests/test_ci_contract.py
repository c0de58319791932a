"""Plans in git, as a comp admin and CI use them.

A throwaway git repository holds a project: a plan, a plan test, a deal
ledger and a roster. The admin commits it, changes a rate and a band,
and checks what CI would say: annotations, test failures with their
lines, and which payees' pay moves and by how much.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from engine.cli import cli

ROOT = Path(__file__).resolve().parent.parent

PROJECT = """\
kind: project
name: Acme sales
plans: [plans]
data:
  deals: {connector: csv, path: data/deals.csv}
  roster: {connector: csv, path: data/roster.csv}
store:
  url: sqlite:///.attain/attain.db
"""

PLAN = """\
# yaml-language-server: $schema=../schemas/plan.schema.json
kind: plan
id: commission
name: FY2026 commission
currency: USD
period: year
effective:
  from: 2026-01-01
  to: 2026-12-31
participants:
  roles: [AE]

measures:
  bookings: {name: Bookings, sum: credit}
quotas:
  bookings: {per_period: 100000}
components:
  commission:
    name: Commission
    rate_table:
      measure: bookings
      method: marginal
      bands:
        - {from: 0%, to: 100%, rate: 10%}
        - {from: 100%, rate: 15%}
"""

# The change under review: 12 % from 80 % of quota, 20 % above quota.
NEW_BANDS = """\
        - {from: 0%, to: 80%, rate: 10%}
        - {from: 80%, to: 100%, rate: 12%}
        - {from: 100%, rate: 20%}
"""

TEST = """\
kind: test
name: Commission plan
plans: [..]
periods: [FY2026]
roster:
  - {payee_id: A, name: Ana Silva, role: AE}

cases:
  # 100,000 x 10 % + 20,000 x 15 %
  - name: Above quota
    deals:
      - {deal_id: D1, close_date: 2026-05-01, amount: 120000, owner: A}
    expect:
      payouts:
        - {payee: A, component: commission, amount: "13000.00"}
  - name: Below quota
    deals:
      - {deal_id: D1, close_date: 2026-05-01, amount: 50000, owner: A}
    expect:
      payouts:
        - {payee: A, component: commission, amount: "5000.00"}
"""

ROSTER = """\
payee_id,name,role
A,Ana Silva,AE
B,Ben Okafor,AE
C,Chen Wei,AE
D,Dara Nolan,AE
"""

DEALS = """\
deal_id,close_date,amount,owner
D1,2026-02-10,120000,A
D2,2026-03-01,50000,B
D3,2026-04-15,90000,C
D4,2026-05-20,100000,D
D5,2026-06-30,50000,D
"""


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *args],
        capture_output=True, text=True, check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed project on branch main, the current folder."""
    for name, text in {
        "attain.yaml": PROJECT,
        "plans/commission.yaml": PLAN,
        "plans/tests/commission.yaml": TEST,
        "data/roster.csv": ROSTER,
        "data/deals.csv": DEALS,
        ".gitignore": ".attain/\n",
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(tmp_path, "init", "-q")
    git(tmp_path, "symbolic-ref", "HEAD", "refs/heads/main")
    git(tmp_path, "config", "user.name", "Comp Admin")
    git(tmp_path, "config", "user.email", "comp@example.com")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "FY2026 commission plan")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def change_rates(repo: Path) -> None:
    plan = repo / "plans" / "commission.yaml"
    text = plan.read_text()
    old_bands = text[text.index("        - {from: 0%"):]
    plan.write_text(text.replace(old_bands, NEW_BANDS))


def attain(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def line_of(path: Path, fragment: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if fragment in text)


# -- attain diff ----------------------------------------------------------------

# By hand, old -> new: A 120,000: 13,000 -> 8,000 + 2,400 + 4,000;
# B 50,000: 5,000 either way; C 90,000: 9,000 -> 8,000 + 1,200;
# D 150,000: 17,500 -> 8,000 + 2,400 + 10,000.
MOVES = {"A": ("13000.00", "14400.00", "1400.00"),
         "C": ("9000.00", "9200.00", "200.00"),
         "D": ("17500.00", "20400.00", "2900.00")}


def moves(result) -> dict[str, tuple[str, str, str]]:
    found = json.loads(result.stdout)
    return {
        p["payee_id"]: tuple(p["changes"][0][k] for k in ("old", "new", "delta"))
        for p in found["payees"]
    }


def test_diff_against_main_names_exactly_the_payees_whose_pay_moves(repo):
    change_rates(repo)

    result = attain("diff", "main", "--format", "json")

    assert result.exit_code == 0, result.output
    assert moves(result) == MOVES
    found = json.loads(result.stdout)
    assert found["payees_unchanged"] == 1
    assert found["changed_files"] == ["plans/commission.yaml"]
    assert found["totals"]["USD"] == {
        "old": "44500.00", "new": "49000.00", "delta": "4500.00"
    }


def test_diff_between_two_commits(repo):
    change_rates(repo)
    git(repo, "commit", "-q", "-am", "Raise the accelerator")

    result = attain("diff", "main~1", "main", "--format", "json")

    assert moves(result) == MOVES


def test_diff_as_a_pull_request_comment(repo):
    change_rates(repo)

    result = attain("diff", "main", "--format", "markdown")

    rows = [r for r in result.stdout.splitlines() if r.startswith("| ")]
    payees = [r.split(" | ")[0] for r in rows[3:]]
    assert payees == ["| A Ana Silva", "| C Chen Wei", "| D Dara Nolan"]
    assert ("| D Dara Nolan | commission | Commission | FY2026 | 17,500.00 "
            "| 20,400.00 | +2,900.00 |") in rows
    assert "3 payee(s) with changed pay, 1 unchanged." in result.stdout


@pytest.mark.parametrize(
    "limit, code", [("4499.99", 1), ("4500", 0), ("10%", 1), ("11%", 0)]
)
def test_diff_fails_above_a_threshold(repo, limit, code):
    # 4,500.00 moves in all, on an old total of 44,500.00 (10.1 %).
    change_rates(repo)
    result = attain("diff", "main", "--fail-above", limit)
    assert result.exit_code == code


def test_diff_with_nothing_changed_runs_nothing(repo):
    result = attain("diff", "main", "--format", "json")
    assert json.loads(result.stdout)["payees"] == []


def test_diff_an_unknown_revision(repo):
    result = CliRunner().invoke(cli, ["diff", "mian"])
    assert result.exit_code == 1
    assert "No revision 'mian'" in result.stderr


# -- attain test ----------------------------------------------------------------


def test_a_broken_test_fails_at_its_line(repo):
    change_rates(repo)
    test_file = repo / "plans" / "tests" / "commission.yaml"

    result = attain("test")

    assert result.exit_code == 1
    line = line_of(test_file, '"13000.00"')
    column = TEST.splitlines()[line - 1].index('"13000.00"') + 1
    assert result.stdout.splitlines()[0] == (
        f"plans/tests/commission.yaml:{line}:{column}: expected 13000.00, "
        "got 14400.00 for payee A component commission all periods"
    )
    assert "rate 20%" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 passed, 1 failed"


def test_update_after_review_keeps_the_comments(repo):
    change_rates(repo)
    test_file = repo / "plans" / "tests" / "commission.yaml"

    assert attain("test", "--update").exit_code == 0

    assert test_file.read_text() == TEST.replace('"13000.00"', '"14400.00"')
    assert attain("test").stdout.strip() == "2 passed, 0 failed"


def test_test_from_the_shell():
    done = subprocess.run(
        [sys.executable, "-m", "engine", "test", "--fail-on-empty",
         str(ROOT / "plan_specs")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"\d+ passed, 0 failed\n", done.stdout)


# -- attain validate ------------------------------------------------------------


def test_annotations_point_at_the_file_and_line(repo):
    plan = repo / "plans" / "commission.yaml"
    plan.write_text(plan.read_text().replace("rate: 15%}", "rate: 15 pc}"))
    line = line_of(plan, "15 pc")
    column = plan.read_text().splitlines()[line - 1].index("15 pc") + 1

    done = subprocess.run(
        [sys.executable, "-m", "engine", "validate", "--format", "github"],
        capture_output=True, text=True, cwd=repo,
    )

    assert done.returncode == 1
    assert done.stdout.startswith(
        f"::error file=plans/commission.yaml,line={line},col={column},"
        "title=E-VALUE::"
    )


def test_warnings_are_annotations_and_strict_makes_them_errors(repo):
    plan = repo / "plans" / "commission.yaml"
    plan.write_text(plan.read_text().replace(
        "quotas:", "  logos: {name: Logos, count: deals}\nquotas:"
    ))

    relaxed = attain("validate", "--format", "github")
    strict = attain("validate", "--format", "github", "--strict")

    line = line_of(plan, "logos:")
    assert relaxed.exit_code == 0
    assert relaxed.stdout.startswith(
        f"::warning file=plans/commission.yaml,line={line},"
    )
    assert "title=W-UNUSED-MEASURE::" in relaxed.stdout
    assert strict.exit_code == 1
    assert strict.stdout.startswith("::error file=plans/commission.yaml")


def test_changed_since_reports_only_changed_files(repo):
    other = repo / "plans" / "other.yaml"
    other.write_text(PLAN.replace("id: commission", "id: other").replace(
        "quotas:", "  logos: {name: Logos, count: deals}\nquotas:"
    ))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "A plan with a warning")

    assert "other.yaml" in attain("validate").stdout
    quiet = attain("validate", "--strict", "--changed-since", "main")
    assert (quiet.exit_code, quiet.stdout) == (0, "")

    plan = repo / "plans" / "commission.yaml"
    plan.write_text(plan.read_text().replace("sum: credit", "sum: credits"))
    found = json.loads(attain(
        "validate", "--changed-since", "main", "--format", "json"
    ).stdout)
    assert [(f["code"], Path(f["file"]).name) for f in found] == [
        ("E-UNKNOWN-NAME", "commission.yaml")
    ]


# -- provenance -----------------------------------------------------------------


def test_a_run_records_commit_and_uncommitted_changes(repo):
    head = git(repo, "rev-parse", "HEAD")

    def run_and_show() -> str:
        assert attain("run").exit_code == 0
        runs = json.loads(attain("runs", "--format", "json").stdout)
        return attain("show", runs[0]["run_id"], "--format", "csv").stderr

    clean = run_and_show()
    change_rates(repo)
    dirty = run_and_show()

    assert f"git {head[:12]}" in clean
    assert "uncommitted" not in clean
    assert f"git {head[:12]} with uncommitted changes" in dirty


# -- editors, hooks and CI files ------------------------------------------------


def test_schema_prints_each_schema():
    one = json.loads(attain("schema", "test").stdout)
    every = json.loads(attain("schema").stdout)
    on_disk = json.loads((ROOT / "schemas" / "test.schema.json").read_text())
    assert one == on_disk == every["test"]
    assert sorted(every) == ["coaching", "plan", "project", "test"]


def test_sample_files_name_their_schema():
    for path in sorted((ROOT / "plan_specs").rglob("*.yaml")):
        first = path.read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, path
        kind = "plan"
        if "/tests/" in path.as_posix():
            kind = "test"
        elif "/coaching/" in path.as_posix():
            kind = "coaching"
        target = (path.parent / match.group(1)).resolve()
        assert target == (ROOT / "schemas" / f"{kind}.schema.json"), path


def test_pre_commit_hooks():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    by_id = {hook["id"]: hook for hook in hooks}
    assert sorted(by_id) == ["attain-test", "attain-validate"]
    for hook_id, entry in (("attain-validate", "attain validate"),
                           ("attain-test", "attain test")):
        hook = by_id[hook_id]
        assert hook["entry"] == entry
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        pattern = re.compile(hook["files"])
        assert pattern.search("plans/ae.yaml") and pattern.search("x.yml")
        assert not pattern.search("data/deals.csv")


def test_example_workflow_validates_tests_and_comments():
    workflow = yaml.safe_load(
        (ROOT / "docs" / "ci" / "github-workflow.yml").read_text()
    )
    steps = workflow["jobs"]["plans"]["steps"]
    commands = " ".join(step.get("run", "") for step in steps)
    assert "attain validate --format github" in commands
    assert "attain test --fail-on-empty" in commands
    assert "attain diff" in commands and "--format markdown" in commands
    assert "gh pr comment" in commands
    checkout = next(s for s in steps if "checkout" in s.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0
