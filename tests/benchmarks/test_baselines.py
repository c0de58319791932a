"""The realistic case and the two baselines Attain is measured against.

On a few thousand deals, Attain's Python engine, the hand-written DuckDB
SQL and the row-by-row evaluator must pay every payee the same amount
to the cent, component by component and quarter by quarter; otherwise
a speed comparison between them would compare different work.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from engine.evaluate import Evaluation, evaluate
from engine.loader import load_catalog
from engine.plugins import get_plugin_manager, metrics
from engine.project import load_project, read_inputs
from handwritten import run_handwritten
from realistic import AE_PLAN, MANAGER_PLAN, PLANS, Tiers, build_case
from rowwise import run_rowwise

SIZE = 3_000
METRICS = metrics(get_plugin_manager(entry_points=False))


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("realistic")
    build_case(folder, SIZE)
    return folder


@pytest.fixture(scope="module")
def attain(case) -> Evaluation:
    project = load_project(case / "attain.yaml")
    catalog = load_catalog(project.plans)
    assert not catalog.errors
    inputs, _ = read_inputs(project, get_plugin_manager(), catalog.deal_fields)
    return evaluate(catalog, inputs, (), METRICS, engine="python")


def lines(evaluation: Evaluation) -> dict[tuple[str, str, str], Decimal]:
    return {
        (line.payee_id, line.period, line.component): line.amount
        for line in evaluation.lines
    }


def paid(found: dict) -> dict:
    return {key: amount for key, amount in found.items() if amount}


# -- the baselines pay what Attain pays ------------------------------------


def test_handwritten_sql_pays_what_attain_pays(case, attain, tmp_path):
    expected = lines(attain)
    found = run_handwritten(case, tmp_path)

    assert paid(found) == paid(expected)
    assert found == expected
    assert len(paid(expected)) > 1_000


@pytest.mark.parametrize("program", [run_handwritten, run_rowwise],
                         ids=["handwritten", "rowwise"])
def test_baseline_writes_its_lines_and_credits(case, attain, tmp_path,
                                               program):
    found = program(case, tmp_path)
    assert sorted(f.name for f in tmp_path.iterdir()) == [
        "credits.parquet", "payouts.parquet"
    ]
    written = duckdb.sql(
        f"SELECT payee_id, period, component, amount "
        f"FROM '{tmp_path / 'payouts.parquet'}'"
    ).fetchall()
    assert {(p, q, c): a for p, q, c, a in written} == found

    credits = duckdb.sql(
        f"SELECT * FROM '{tmp_path / 'credits.parquet'}'"
    ).fetchall()
    expected = Counter(
        (c.deal.deal_id, c.payee_id, c.credit_type, c.amount)
        for table in attain.credits.values()
        for c in table
    )
    assert Counter(credits) == expected


def test_rowwise_evaluator_pays_what_attain_pays(case, attain):
    expected = lines(attain)
    found = run_rowwise(case)

    assert paid(found) == paid(expected)
    assert found == expected


def _changed(case: Path, folder: Path, plan_file: str, component: str,
             **changes):
    """A copy of the case with one rate table changed; its project and
    checked plans."""
    shutil.copytree(case, folder)
    path = folder / "plans" / plan_file
    plan = yaml.safe_load(path.read_text(encoding="utf-8"))
    plan["components"][component]["rate_table"].update(changes)
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    project = load_project(folder / "attain.yaml")
    catalog = load_catalog(project.plans)
    assert not catalog.errors, [str(f) for f in catalog.errors]
    return project, catalog


def _paid_on(project, catalog, engine: str) -> dict:
    inputs, _ = read_inputs(project, get_plugin_manager(),
                            catalog.deal_fields, engine=engine)
    return lines(evaluate(catalog, inputs, (), METRICS, engine=engine))


def _fell_back(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if "evaluated in Python" in r.getMessage()]


@pytest.mark.parametrize("method", ["marginal", "retroactive"])
def test_rates_per_deal_on_attainment_are_paid_in_duckdb(case, tmp_path,
                                                         method, caplog):
    """The commission applied per deal, each deal's band set by its own
    credit against the quarter's quota: DuckDB pays what Python pays,
    without leaving the plan to Python."""
    project, catalog = _changed(case, tmp_path / "case", "ae-fy2026.yaml",
                                "commission", per="deal", method=method,
                                threshold="1%")

    python = _paid_on(project, catalog, "python")
    with caplog.at_level(logging.INFO):
        found = _paid_on(project, catalog, "duckdb")

    assert found == python
    assert _fell_back(caplog) == []
    commission = [v for (_, _, c), v in python.items() if c == "commission"]
    assert sum(1 for v in commission if v) > 100


def test_rates_per_deal_on_a_rolled_up_sum_fall_back(case, tmp_path,
                                                     caplog):
    """A manager's team bookings are summed along the chains of managers,
    deal by deal nowhere: the plan is paid in Python, the same."""
    project, catalog = _changed(case, tmp_path / "case",
                                "manager-fy2026.yaml", "team_commission",
                                per="deal")

    python = _paid_on(project, catalog, "python")
    with caplog.at_level(logging.INFO):
        found = _paid_on(project, catalog, "duckdb")

    assert found == python
    assert any("chains of managers" in m for m in _fell_back(caplog))


# -- the case ----------------------------------------------------------------


def digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)):
            hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_same_seed_and_size_give_the_same_bytes(tmp_path):
    build_case(tmp_path / "a", 2_000)
    build_case(tmp_path / "b", 2_000)
    build_case(tmp_path / "c", 2_000, seed=8)

    first = digests(tmp_path / "a")
    assert first == digests(tmp_path / "b")
    assert first["data/deals.csv"] != digests(tmp_path / "c")["data/deals.csv"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def depths(roster: list[dict[str, str]]) -> dict[str, int]:
    """Each payee's level: 1 at the top of the hierarchy."""
    manager = {row["payee_id"]: row["manager"] for row in roster}
    found = {}
    for payee in manager:
        level, above = 1, manager[payee]
        while above:
            level, above = level + 1, manager[above]
        found[payee] = level
    return found


def test_the_case_has_a_thousand_payees_in_four_levels(case):
    roster = read_csv(case / "data" / "roster.csv")
    depth = depths(roster)
    levels: dict[str, set[int]] = {}
    for row in roster:
        levels.setdefault(row["role"], set()).add(depth[row["payee_id"]])

    assert len(roster) == 1_000
    assert Counter(row["role"] for row in roster) == {
        "VP": 1, "Director": 9, "Manager": 60, "AE": 800, "SE": 130,
    }
    assert levels == {"VP": {1}, "Director": {2}, "Manager": {3},
                      "SE": {3}, "AE": {4}}


def test_the_case_has_a_hundred_rules_and_a_fifth_of_deals_split(case):
    catalog = load_catalog(load_project(case / "attain.yaml").plans)
    deals = read_csv(case / "data" / "deals.csv")
    split = sum(1 for d in deals if d["split_partner"])

    assert [len(t.rules) for t in catalog.territories.values()] == [100]
    assert len(deals) == SIZE
    assert 0.17 < split / SIZE < 0.23
    assert {d["stage"] for d in deals} == {"won", "lost", "negotiation"}
    assert {d["type"] for d in deals} == {"new", "upsell", "renewal"}


def reached(evaluation: Evaluation) -> Counter:
    """What the rules of pay did, counted over every payout line."""
    found = Counter()
    for line in evaluation.lines:
        trace = line.trace
        if trace.get("cap_applied"):
            found["capped", line.plan_id] += 1
        if trace.get("band") is not None:
            rate = Decimal(trace["rate"])
            found["band", line.plan_id, trace["band"], rate] += 1
            found["band", line.plan_id, trace["band"]] += 1
        earned_nothing = trace.get("value") != "0" and not line.amount
        if trace.get("threshold") and earned_nothing:
            found["below threshold", line.plan_id] += 1
        if trace.get("kind") == "spif" and line.amount:
            found["spif"] += 1
    return found


def test_the_case_reaches_every_rule_of_pay(attain):
    found = reached(attain)
    credit_types = {
        c.credit_type for table in attain.credits.values() for c in table
    }

    for plan in PLANS:
        for tiers in plan.components:
            if not isinstance(tiers, Tiers):
                continue
            assert found["capped", plan.id], plan.id
            for number in range(1, len(tiers.bands) + 1):
                assert found["band", plan.id, number], (plan.id, number)
    commission = AE_PLAN.components[0]
    gated = commission.bands[-1]
    for rate in (gated.rate, gated.otherwise):
        assert found["band", AE_PLAN.id, len(commission.bands), rate]
    assert found["below threshold", MANAGER_PLAN.id]
    assert found["spif"]
    assert credit_types == {"direct", "split", "overlay", "rollup"}
