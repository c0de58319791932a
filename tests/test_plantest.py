"""Plan tests: reading test files, running cases, reporting, updating."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.plantest import check_test_file, run_tests

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "plan_specs" / "examples" / "tiered-marginal.yaml"

TEST_FILE = """\
# yaml-language-server: $schema=../schemas/test.schema.json
kind: test
name: Tiered commission
plans: [plan.yaml]
periods: [FY2026]
roster:
  - {payee_id: A, name: Ana Silva, role: AE, hire_date: 2020-01-01}
  - {payee_id: B, name: Ben Okafor, role: AE, hire_date: 2020-01-01}

cases:
  # 100,000 x 10 % + 20,000 x 15 %
  - name: Above quota
    deals:
      - {deal_id: D1, close_date: 2026-02-10, amount: 70000, owner: A}
      - {deal_id: D2, close_date: 2026-06-01, amount: 50000, owner: A}
      - {deal_id: D3, close_date: 2026-06-01, amount: 40000, owner: B}
    expect:
      payouts:
        - {payee: A, component: commission, period: FY2026, amount: "13000.00"}
        - {payee: B, amount: 4000}     # all components, all periods
      credits:
        - {payee: A, amount: 120000}
        - {payee: A, deal: D2, credit_type: direct, amount: 50000}
      measures:
        - {payee: B, measure: bookings, value: 40000}
  - name: Nothing booked
    deals:
      - {deal_id: D1, close_date: 2026-02-10, amount: 0, owner: A}
    expect:
      payouts:
        - {payee: A, amount: '0.00'}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    shutil.copy(PLAN, tmp_path / "tests" / "plan.yaml")
    return tmp_path


def write(folder: Path, text: str, name: str = "commission.yaml") -> Path:
    path = folder / "tests" / name
    path.write_text(text)
    return path


def attain(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def line_of(text: str, fragment: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


# -- running ----------------------------------------------------------------


def test_a_correct_file_passes_every_case(folder: Path):
    write(folder, TEST_FILE)
    report = run_tests([folder / "tests"])
    assert [r.name for r in report.results] == ["Above quota", "Nothing booked"]
    assert [f.message for r in report.results for f in r.failures] == []
    assert (report.passed, report.failed) == (2, 0)


def test_the_bundled_plan_tests_pass():
    report = run_tests([ROOT / "plan_specs"])
    failures = [f.message for r in report.results for f in r.failures]
    assert failures == []
    assert report.passed >= 10


def test_a_wrong_amount_fails_at_its_line_with_the_trace(folder: Path):
    text = TEST_FILE.replace('amount: "13000.00"', 'amount: "13500.00"')
    path = write(folder, text)

    result = attain("test", str(folder / "tests"))

    assert result.exit_code == 1
    line = line_of(text, '"13500.00"')
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{path}:{line}:")
    assert first.endswith(
        "expected 13500.00, got 13000.00 for payee A component "
        "commission period FY2026"
    )
    assert "attainment 120%" in result.stdout
    assert "deal D2 2026-06-01 credit 50000" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 passed, 1 failed"


def test_wrong_credit_and_measure_are_reported(folder: Path):
    text = TEST_FILE.replace("amount: 120000}", "amount: 110000}")
    text = text.replace("value: 40000}", "value: 45000}")
    write(folder, text)

    messages = [
        f.message for r in run_tests([folder / "tests"]).results
        for f in r.failures
    ]

    assert messages == [
        "expected credit 110000, got 120000 for payee A",
        "expected measure 45000, got 40000 for payee B measure bookings",
    ]


def test_a_payee_without_lines_is_named(folder: Path):
    write(folder, TEST_FILE.replace("{payee: B, amount", "{payee: Z, amount"))
    failures = [f for r in run_tests([folder / "tests"]).results
                for f in r.failures]
    assert len(failures) == 1
    assert "got no payout line" in failures[0].message


def test_tolerance_allows_a_small_difference(folder: Path):
    near = TEST_FILE.replace('amount: "13000.00"', 'amount: "13000.004"')
    write(folder, near)
    assert run_tests([folder / "tests"]).failed == 1

    write(folder, near.replace("periods: [FY2026]",
                               "periods: [FY2026]\ntolerance: 0.01"))
    assert run_tests([folder / "tests"]).failed == 0


def test_a_bad_inline_row_points_at_its_line(folder: Path):
    text = TEST_FILE.replace("close_date: 2026-06-01, amount: 40000",
                             "close_date: 2026-06-31, amount: 40000")
    path = write(folder, text)

    report = run_tests([folder / "tests"])

    failure = report.results[0].failures[0]
    assert failure.location.file == str(path)
    assert failure.location.line == line_of(text, "2026-06-31")
    assert "column 'close_date'" in failure.message
    assert "is not a date" in failure.message
    assert report.failed == 1


def test_deals_from_a_file_beside_the_test(folder: Path):
    (folder / "tests" / "deals.csv").write_text(
        "deal_id,close_date,amount,owner\n"
        "D1,2026-02-10,120000,A\n"
        "D2,2026-02-10,x,B\n"
    )
    text = TEST_FILE.replace(
        "  - name: Nothing booked", "  - name: From a file\n"
        "    deals: {file: deals.csv}\n"
        "    expect:\n      payouts:\n        - {payee: A, amount: 13000}\n"
        "  - name: Nothing booked",
    )
    write(folder, text)

    report = run_tests([folder / "tests"])

    failure = report.results[1].failures[0]
    assert "deals.csv, row 3, column 'amount'" in failure.message


# -- the schema of test files ------------------------------------------------


def test_unknown_keys_are_errors_with_lines(folder: Path):
    text = TEST_FILE.replace("    expect:\n      payouts:\n        - {payee: A,"
                             " amount: '0.00'}",
                             "    expect:\n      payout:\n        - {payee: A,"
                             " amount: '0.00'}")
    path = write(folder, text)

    findings = check_test_file(path)

    assert [f.code for f in findings] == ["E-UNKNOWN-KEY"]
    assert findings[0].location.line == line_of(text, "payout:")
    assert "Did you mean 'payouts'?" in findings[0].message


def test_amounts_with_separators_are_refused(folder: Path):
    path = write(folder, TEST_FILE.replace('"13000.00"', '"13,000.00"'))
    findings = check_test_file(path)
    assert [f.code for f in findings] == ["E-FORMAT"]


def test_an_invalid_file_counts_as_one_failure(folder: Path):
    write(folder, TEST_FILE.replace("plans:", "plan:"))
    result = attain("test", str(folder / "tests"))
    assert result.exit_code == 1
    assert "E-UNKNOWN-KEY" in result.stdout
    assert result.stdout.splitlines()[-1] == "0 passed, 1 failed"


def test_validate_checks_test_files_too(folder: Path):
    write(folder, TEST_FILE.replace("name: Nothing booked",
                                    "name: Nothing booked\n    colour: red"))
    result = attain("validate", str(folder / "tests"))
    assert result.exit_code == 1
    assert "E-UNKNOWN-KEY Unknown key 'colour'" in result.stdout


# -- the command ------------------------------------------------------------


def test_no_test_files_and_fail_on_empty(folder: Path):
    assert attain("test", str(folder / "tests")).exit_code == 0
    result = attain("test", "--fail-on-empty", str(folder / "tests"))
    assert result.exit_code == 1
    assert "No test files found." in result.stderr


def test_json_report(folder: Path):
    write(folder, TEST_FILE.replace("amount: 4000}", "amount: 4100}"))
    result = attain("test", "--format", "json", str(folder / "tests"))
    report = json.loads(result.stdout)
    assert (report["passed"], report["failed"]) == (1, 1)
    failure = report["cases"][0]["failures"][0]
    assert (failure["expected"], failure["actual"]) == ("4100", "4000.00")


def test_update_rewrites_only_the_values_that_changed(folder: Path):
    text = TEST_FILE.replace('amount: "13000.00"', 'amount: "12000.00"')
    text = text.replace("amount: 4000}", "amount: 4100}")
    text = text.replace("amount: '0.00'}", "amount: '1.00'}")
    path = write(folder, text)

    result = attain("test", "--update", str(folder / "tests"))

    assert result.exit_code == 0
    assert "Updated 3 expected value(s)" in result.stderr
    expected = text.replace('"12000.00"', '"13000.00"')
    expected = expected.replace("amount: 4100}", "amount: 4000}")
    expected = expected.replace("amount: '1.00'}", "amount: '0.00'}")
    assert path.read_text() == expected
    assert attain("test", str(folder / "tests")).exit_code == 0


def test_update_leaves_what_it_cannot_fix(folder: Path):
    text = TEST_FILE.replace("{payee: B, amount", "{payee: Z, amount")
    path = write(folder, text)
    result = attain("test", "--update", str(folder / "tests"))
    assert result.exit_code == 1
    assert path.read_text() == text
