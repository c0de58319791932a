"""How fast the command line starts, and how fast plans validate.

``attain --help`` and a bare ``python -c pass`` share one group, so a
single run shows what the command line adds to the interpreter's own
start. Validation runs over 100 generated plans that differ in their
ids, measures, quotas and rate tables: once as ``attain validate`` in a
fresh interpreter, once in process.

Each interpreter gets a bytecode cache of its own, warmed before it is
measured, as an installed package has its bytecode; where
``PYTHONDONTWRITEBYTECODE`` is set, every start would otherwise compile
each module again and measure the compiler. Measure with:

    python -m pytest tests/benchmarks/test_startup_bench.py --benchmark-enable
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.loader import load_catalog
from engine.plugins import get_plugin_manager, metrics

ROOT = Path(__file__).resolve().parents[2]
PLANS = 100
PERIODS = ("month", "quarter", "year")
CONDITIONS = (
    'type in ("new", "upsell")',
    'type == "new"',
    'type != "renewal"',
    "amount >= {floor}",
)

CREDITING = """\
kind: crediting
id: direct-with-windfall
name: Direct credit with a windfall rule
windfall: {above: 500000, credit: 50%}
"""


@pytest.fixture(scope="module")
def python_env(tmp_path_factory) -> dict[str, str]:
    """The environment of every interpreter started here."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


def python(env, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def attain(env, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return python(env, "-m", "engine", *args, cwd=cwd)


@pytest.mark.benchmark(group="start-up")
def test_bare_python(benchmark, python_env):
    python(python_env, "-c", "pass")
    done = benchmark(python, python_env, "-c", "pass")
    assert done.returncode == 0


@pytest.mark.benchmark(group="start-up")
def test_attain_help(benchmark, python_env):
    attain(python_env, "--help")
    done = benchmark(attain, python_env, "--help")
    assert done.returncode == 0, done.stderr
    assert "validate" in done.stdout


# -- 100 plans ---------------------------------------------------------------


def plan_text(number: int) -> str:
    """A valid plan of its own: its measure, condition, quota, bands
    and rates differ from those of its neighbours."""
    measure = f"bookings_{number}"
    condition = CONDITIONS[number % len(CONDITIONS)]
    quota = 40000 + 1500 * number
    quota_kind = "annual" if number % 2 else "per_period"
    return "\n".join([
        "kind: plan",
        f"id: plan-{number:03}",
        f"name: Generated plan {number}",
        "currency: USD",
        f"period: {PERIODS[number % len(PERIODS)]}",
        "effective: {from: 2026-01-01, to: 2026-12-31}",
        "participants: {roles: [AE]}",
        f"target_incentive: {20000 + 500 * number}",
        "crediting: direct-with-windfall",
        "measures:",
        f"  {measure}:",
        f"    name: Bookings {number}",
        "    sum: credit",
        f"    where: '{condition.format(floor=100 * number)}'",
        f"  new_logos_{number}:",
        f"    name: New logos {number}",
        "    count: deals",
        "    where: type == \"new\"",
        "quotas:",
        f"  {measure}: {{{quota_kind}: {quota}}}",
        "components:",
        "  commission:",
        "    name: Commission",
        "    rate_table:",
        f"      measure: {measure}",
        f"      method: {'marginal' if number % 3 else 'retroactive'}",
        "      bands:",
        *bands(number),
        f"    cap: {2 + number % 3}x target incentive",
        *([] if number % 5 == 0 else logo_bonus(number)),
        "",
    ])


def logo_bonus(number: int) -> list[str]:
    """A bonus on new logos, for the plans whose bands do not read them."""
    return [
        "  logo_bonus:",
        "    name: New-logo bonus",
        "    bonus:",
        f"      amount: {250 * (1 + number % 4)}",
        f"      when: new_logos_{number} >= {2 + number % 4}",
    ]


def bands(number: int) -> list[str]:
    """Two to four bands; the top one is gated on new logos in every
    fifth plan."""
    count = 2 + number % 3
    edges = [0] + [50 + 10 * (number % 5) + 40 * i for i in range(count - 1)]
    lines = []
    for i, edge in enumerate(edges):
        band = f"from: {edge}%"
        if i + 1 < count:
            band += f", to: {edges[i + 1]}%"
        band += f", rate: {band_rate(number, i)}"
        if i + 1 == count and number % 5 == 0:
            band += f", when: new_logos_{number} >= {1 + number % 3}"
            band += ", otherwise: 1x base rate"
        lines.append(f"        - {{{band}}}")
    return lines


def band_rate(number: int, band: int) -> str:
    """A percentage, or in every fourth plan a multiple of the base rate."""
    if number % 4 == 0:
        return f"{band + 1}x base rate"
    return f"{3 + number % 7 + 2 * band}%"


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plans")
    (folder / "crediting.yaml").write_text(CREDITING, encoding="utf-8")
    for number in range(PLANS):
        path = folder / f"plan-{number:03}.yaml"
        path.write_text(plan_text(number), encoding="utf-8")
    return folder


@pytest.mark.benchmark(group="validate-100-plans")
def test_validate_100_plans_command(benchmark, python_env, plan_folder):
    attain(python_env, "validate", str(plan_folder), cwd=plan_folder)
    done = benchmark(
        attain, python_env, "validate", str(plan_folder), cwd=plan_folder
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr == (
        f"0 error(s), 0 warning(s) in {PLANS + 1} file(s).\n"
    )


@pytest.mark.benchmark(group="validate-100-plans")
def test_load_and_check_100_plans(benchmark, plan_folder):
    known = set(metrics(get_plugin_manager(entry_points=False)))
    catalog = benchmark(load_catalog, [plan_folder], metrics=known)
    assert catalog.findings == []
    assert len({plan.id for plan in catalog.plans}) == PLANS
    assert len({plan.content_hash for plan in catalog.plans}) == PLANS
