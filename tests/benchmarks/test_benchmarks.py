"""Speed of the main paths, measured with pytest-benchmark.

The test command runs each once as a plain test (benchmarks disabled);
``pytest tests/benchmarks --benchmark-enable`` measures them. Sizes:
the bundled sample (5,000 deals, about 50 payees) and a generated
ledger ten times larger.
"""

from pathlib import Path

import pytest

from engine.evaluate import evaluate
from engine.loader import load_catalog
from engine.plugins import get_plugin_manager, metrics
from engine.project import load_project, read_inputs
from engine.sample import generate

ROOT = Path(__file__).resolve().parents[2]


def _project_at(folder: Path, data: Path) -> Path:
    text = (ROOT / "attain.yaml").read_text(encoding="utf-8")
    text = text.replace("plan_specs/fy2026/data", str(data))
    text = text.replace("- plan_specs/fy2026", f"- {ROOT / 'plan_specs/fy2026'}")
    path = folder / "attain.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=[5000, 50000], ids=["5k", "50k"])
def loaded(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"bench{request.param}")
    data = folder / "data"
    generate(data, deals=request.param)
    rates = ROOT / "plan_specs/fy2026/data/exchange_rates.csv"
    (data / "exchange_rates.csv").write_bytes(rates.read_bytes())
    project = load_project(_project_at(folder, data))
    catalog = load_catalog(project.plans)
    pm = get_plugin_manager()
    inputs, _ = read_inputs(project, pm, catalog.deal_fields)
    return project, catalog, pm, inputs


def test_evaluate_sample_plans(benchmark, loaded):
    _, catalog, pm, inputs = loaded
    result = benchmark(evaluate, catalog, inputs, (), metrics(pm))
    assert result.lines
    for line in result.lines:
        if line.component == "clawback":
            assert line.amount < 0
        elif line.component in ("platform_spif", "team_incentive"):
            assert line.amount >= 0


def test_read_inputs(benchmark, loaded):
    project, catalog, pm, _ = loaded
    inputs, hashes = benchmark(read_inputs, project, pm, catalog.deal_fields)
    assert len(inputs.deals) > 5000 and set(hashes) >= {"deals", "roster"}


def test_load_and_check_plans(benchmark):
    catalog = benchmark(load_catalog, [ROOT / "plan_specs"])
    assert not catalog.errors
