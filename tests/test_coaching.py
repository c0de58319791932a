"""Coaching rules: checked like plans, and flags that match the KPIs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import InvalidPlanError
from engine.evaluate import Inputs
from engine.insights.coaching import check_rules_file, coach, load_rules
from engine.loader import load_catalog
from engine.schema import SCHEMA_NAMES, load_schema
from support import payee
from test_kpis import PLAN, Q1, ledger, roster, small_book

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "plan_specs" / "coaching" / "default.yaml"

RULES = """\
kind: coaching
id: test-rules
rules:
  - id: low-win-rate
    title: Wins too few of the deals decided
    when: win_rate < team_win_rate * 0.9
    focus: Qualify harder.
  - id: big-pipeline
    title: More pipeline than a seller's share
    when: weighted_pipeline > team_weighted_pipeline / team_sellers
    focus: Work the pipeline.
    evidence: [weighted_pipeline, team_sellers]
  - id: no-velocity
    title: Never fires on a missing value
    when: sales_velocity < 1000000 and win_rate > 2
    focus: Nothing.
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("coach") / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    catalog = load_catalog([path])
    return small_book(catalog, Inputs(deals=ledger(), roster=roster()))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_flags_fire_on_the_hand_computed_kpis(book, tmp_path):
    rules = load_rules(_write(tmp_path, RULES))
    flags = coach(book, rules, Q1)
    fired = {(f.payee_id, f.rule) for f in flags}
    # A wins 2 of 3 (67 %), B 1 of 3 (33 %); the team 3 of 6 (50 %).
    # Weighted pipeline: A 10,000, B 1,000; the team 11,000 over two.
    assert fired == {("B", "low-win-rate"), ("A", "big-pipeline")}

    [pipeline] = [f for f in flags if f.rule == "big-pipeline"]
    assert pipeline.team == "M"
    shown = {
        kpi: {side: Decimal(text) for side, text in pair.items()}
        for kpi, pair in pipeline.evidence.items()
    }
    assert shown == {
        "weighted_pipeline": {"payee": 10000, "team": 11000},
        "sellers": {"payee": 1, "team": 2},
    }
    [low] = [f for f in flags if f.rule == "low-win-rate"]
    assert set(low.evidence) == {"win_rate"}
    assert Decimal(low.evidence["win_rate"]["team"]) == Decimal("0.5")
    assert low.as_dict()["focus"] == "Qualify harder."


def test_a_seller_without_a_manager_is_compared_with_the_company(
        tmp_path):
    people = [payee("A", "AE", hire_date="2020-01-01"),
              payee("B", "AE", hire_date="2020-01-01")]
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    book = small_book(load_catalog([path]),
                      Inputs(deals=ledger(), roster=people))
    flags = coach(book, load_rules(_write(tmp_path, RULES)), Q1)
    assert {f.team for f in flags} == {"company"}
    assert ("B", "low-win-rate") in {(f.payee_id, f.rule) for f in flags}


def test_the_default_rules_are_valid_and_fire_on_the_sample():
    assert check_rules_file(DEFAULT) == []
    rules = load_rules(DEFAULT)
    assert {r.id for r in rules.rules} >= {
        "pipeline-not-converting", "heavy-discounting", "long-cycle",
        "low-coverage"}
    for rule in rules.rules:
        assert rule.evidence and rule.focus.endswith(".")


def test_unknown_kpi_is_a_finding_at_its_place(tmp_path):
    text = RULES.replace("team_win_rate * 0.9", "team_winrate * 0.9")
    findings = check_rules_file(_write(tmp_path, text))
    [finding] = findings
    assert finding.code == "E-UNKNOWN-NAME"
    assert "team_win_rate" in finding.message
    assert finding.location.line == 6


def test_attribute_access_is_refused_with_its_column(tmp_path):
    text = RULES.replace("team_win_rate * 0.9", "team.win_rate * 0.9")
    [finding] = check_rules_file(_write(tmp_path, text))
    assert finding.code == "E-EXPR-FORBIDDEN"
    assert (finding.location.line, finding.location.column) == (6, 22)
    with pytest.raises(InvalidPlanError):
        load_rules(_write(tmp_path, text))


def test_schema_errors_say_what_is_wrong(tmp_path):
    text = RULES.replace("    focus: Qualify harder.\n",
                         "    focus: Qualify harder.\n    fokus: x\n")
    text = text.replace("evidence: [weighted_pipeline, team_sellers]",
                        "evidence: [weighted_pipeline, wins]")
    findings = check_rules_file(_write(tmp_path, text))
    assert [f.code for f in findings] == ["E-UNKNOWN-KEY"]
    assert "'focus'" in findings[0].message
    fixed = text.replace("    fokus: x\n", "")
    [unknown] = check_rules_file(_write(tmp_path, fixed))
    assert unknown.code == "E-UNKNOWN-NAME" and "'wins'" in unknown.message


def test_duplicate_rule_ids_and_bad_yaml(tmp_path):
    text = RULES.replace("id: big-pipeline", "id: low-win-rate")
    [finding] = check_rules_file(_write(tmp_path, text))
    assert finding.code == "E-DUPLICATE-ID"
    [broken] = check_rules_file(_write(tmp_path, "kind: [coaching"))
    assert broken.code == "E-YAML"


def test_coaching_files_have_a_schema_and_plan_folders_skip_them(tmp_path):
    assert "coaching" in SCHEMA_NAMES
    assert load_schema("coaching")["properties"]["kind"] == {
        "const": "coaching"}
    _write(tmp_path, RULES)
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    catalog = load_catalog([tmp_path])
    assert not catalog.errors
    assert [Path(f).name for f in catalog.files] == ["plan.yaml"]


def test_a_rule_on_a_missing_value_never_fires(book, tmp_path):
    flags = coach(book, load_rules(_write(tmp_path, RULES)), "FY2026-Q2")
    # In Q2 nothing is decided: no win rate, so no win-rate rule fires.
    assert all(f.rule == "big-pipeline" for f in flags)
