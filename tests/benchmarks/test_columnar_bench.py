"""The first stage in Python and on DuckDB, side by side.

Each benchmark runs the sample plans (splits, overlays through territory
rules, roll-up by role, windfall, a SPIF, a clawback) over a generated
ledger, once per engine, and checks that both engines give the same
payout lines. The test command runs each once at 20,000 deals; set
``ATTAIN_BENCH_LARGE=1`` to add 100,000 and 1,000,000 deals:

    ATTAIN_BENCH_LARGE=1 python -m pytest tests/benchmarks/test_columnar_bench.py \\
        --benchmark-enable --benchmark-group-by=param:size
"""

from __future__ import annotations

import decimal
import os
from pathlib import Path

import pytest

from engine.evaluate import PRECISION, _Evaluator, evaluate
from engine.loader import load_catalog
from engine.plugins import get_plugin_manager, metrics
from engine.project import load_project, read_inputs
from engine.sample import generate
from engine.targets import slots

ROOT = Path(__file__).resolve().parents[2]
LARGE = os.environ.get("ATTAIN_BENCH_LARGE") == "1"
SIZES = [20_000] + ([100_000, 1_000_000] if LARGE else [])
ENGINES = ["python", "duckdb"]
METRICS = metrics(get_plugin_manager(entry_points=False))


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}")
def size(request):
    return request.param


@pytest.fixture(scope="module")
def loaded(size, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"columnar{size}")
    data = folder / "data"
    generate(data, deals=size)
    rates = ROOT / "plan_specs/fy2026/data/exchange_rates.csv"
    (data / "exchange_rates.csv").write_bytes(rates.read_bytes())
    text = (ROOT / "attain.yaml").read_text(encoding="utf-8")
    text = text.replace("plan_specs/fy2026/data", str(data))
    text = text.replace("- plan_specs/fy2026", f"- {ROOT / 'plan_specs/fy2026'}")
    (folder / "attain.yaml").write_text(text, encoding="utf-8")
    project = load_project(folder / "attain.yaml")
    catalog = load_catalog(project.plans)
    inputs, _ = read_inputs(project, get_plugin_manager(), catalog.deal_fields)
    expected = evaluate(catalog, inputs, (), METRICS, engine="python")
    return catalog, inputs, expected


def first_stage(catalog, inputs, engine: str) -> dict:
    """Credits and measures of every plan, as the evaluation makes them."""
    with decimal.localcontext() as ctx:
        ctx.prec = PRECISION
        evaluator = _Evaluator(catalog, inputs, [], METRICS, engine)
        evaluator.columnar = evaluator._columnar_stage()
        credits, tables = {}, {}
        try:
            for plan in catalog.plans:
                key = f"{plan.crediting}/{plan.currency}/{plan.rate_date}"
                periods, _ = evaluator._periods(plan)
                tables[plan.id] = evaluator._first_stage(
                    plan, key, slots(plan, evaluator.roster, periods),
                    credits,
                )
        finally:
            if evaluator.columnar is not None:
                evaluator.columnar.close()
        return tables


@pytest.mark.parametrize("engine", ENGINES)
def test_first_stage(benchmark, loaded, size, engine):
    catalog, inputs, expected = loaded
    tables = benchmark.pedantic(
        first_stage, (catalog, inputs, engine), rounds=_rounds(size)
    )
    assert {f"{k}@1" for k in tables} == set(expected.measures)
    for plan_id, table in tables.items():
        assert table == expected.measures[f"{plan_id}@1"]


@pytest.mark.parametrize("engine", ENGINES)
def test_evaluate(benchmark, loaded, size, engine):
    catalog, inputs, expected = loaded
    result = benchmark.pedantic(
        evaluate, (catalog, inputs, (), METRICS), {"engine": engine},
        rounds=_rounds(size),
    )
    assert result.lines == expected.lines


def _rounds(size: int) -> int:
    # A million deals in Python takes minutes: one round says enough.
    return 1 if size >= 1_000_000 else 3
