"""Forecasts: the pipeline as of a date, the simulation and its range.

The calibration test builds a world whose win probabilities are known:
each payee-quarter has deals closed before the forecast date and open
deals with a probability each; the outcome of every open deal is drawn
with its probability. The forecast's 80 % range (p10 to p90) must hold
the attainment that then happens in 70 % to 90 % of cases.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random

import pytest

from engine.data import Snapshot
from engine.evaluate import Inputs, evaluate
from engine.insights import load_workspace
from engine.insights.forecast import Range, forecast, pipeline_at
from engine.loader import load_catalog
from support import deal, payee

ROOT = Path(__file__).resolve().parents[1]
D = Decimal
AS_OF = date(2026, 2, 15)

PLAN = """\
kind: plan
id: calibration
name: Calibration plan
currency: USD
period: quarter
effective: {from: 2026-01-01, to: 2026-12-31}
participants: {roles: [AE]}
measures:
  bookings: {sum: credit}
quotas:
  bookings: {per_period: 100000}
components:
  commission:
    rate_table:
      measure: bookings
      method: marginal
      bands:
        - {from: 0%, to: 100%, rate: 10%}
        - {from: 100%, rate: 15%}
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    path = tmp_path_factory.mktemp("forecast") / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    found = load_catalog([path])
    assert not found.errors
    return found


def _money(rng: Random) -> Decimal:
    return D(rng.randint(500_000, 4_000_000)).scaleb(-2)


def known_world(payees: int, seed: int):
    """Deals, roster and snapshots of a quarter whose odds are known.

    Returns (deals as they turned out, roster, snapshots as of AS_OF).
    """
    rng = Random(seed)
    deals, people, snapshots = [], [], []
    for number in range(payees):
        owner = f"AE-{number:03d}"
        people.append(payee(owner, hire_date="2020-01-01"))
        for _ in range(rng.randint(0, 5)):
            close = date(2026, 1, 2) + timedelta(days=rng.randint(0, 43))
            deals.append(deal(f"D{len(deals):05d}", close.isoformat(),
                              _money(rng), owner))
        for _ in range(rng.randint(4, 12)):
            deal_id = f"D{len(deals):05d}"
            close = AS_OF + timedelta(days=rng.randint(1, 44))
            amount, chance = _money(rng), D(rng.randint(5, 95)) / 100
            stage = "won" if rng.random() < chance else "lost"
            deals.append(deal(deal_id, close.isoformat(), amount, owner,
                              stage=stage))
            snapshots.append(Snapshot(date(2026, 2, 1), deal_id,
                                      "proposal", chance, amount, close))
    return deals, people, snapshots


def test_eighty_percent_ranges_hold_the_outcome_about_eighty_percent(catalog):
    deals, people, snapshots = known_world(200, seed=2026)
    inputs = Inputs(deals=deals, roster=people, snapshots=snapshots)
    result = forecast(catalog, inputs, "FY2026-Q1", as_of=AS_OF,
                      simulations=500, seed=11)

    actual = evaluate(catalog, Inputs(deals=deals, roster=people),
                      ["FY2026-Q1"])
    realised = {
        line.payee_id: D(line.trace["attainment"]).quantize(D("0.0001"))
        for line in actual.lines
    }
    rows = [row for row in result.rows if row.scope == "payee"]
    assert len(rows) == 200
    inside = sum(
        row.attainment.p10 <= realised[row.id] <= row.attainment.p90
        for row in rows
    )
    assert 0.70 <= inside / len(rows) <= 0.90


def test_a_payee_with_nothing_open_has_a_range_of_one_value(catalog):
    people = [payee("A", hire_date="2020-01-01")]
    deals = [deal("D1", "2026-01-10", 120000, "A")]
    result = forecast(catalog, Inputs(deals=deals, roster=people),
                      "FY2026-Q1", as_of=AS_OF, simulations=50)
    [row] = result.rows
    assert row.closed == 120000 and row.quota == 100000
    assert row.attainment == Range(D("1.2"), D("1.2"), D("1.2"))
    # 10 % of 100,000 and 15 % of the 20,000 above quota.
    assert row.payout == Range(D("13000"), D("13000"), D("13000"))
    assert not row.below_threshold and not row.overdue_deals


def test_projected_payout_runs_the_plan_on_the_projected_measure(catalog):
    people = [payee("A", hire_date="2020-01-01")]
    deals = [deal("D1", "2026-01-10", 90000, "A"),
             deal("D2", "2026-03-10", 30000, "A", stage="won")]
    sure = [Snapshot(date(2026, 2, 1), "D2", "negotiation", D(1),
                     D(30000), date(2026, 3, 10))]
    result = forecast(catalog, Inputs(deals=deals, roster=people,
                                      snapshots=sure),
                      "FY2026-Q1", as_of=AS_OF, simulations=20)
    [row] = result.rows
    # A certain win: 90,000 + 30,000 = 120 %, paid 10,000 + 3,000.
    assert row.attainment.p10 == row.attainment.p90 == D("1.2")
    assert row.payout.p50 == D("13000")
    assert row.weighted_pipeline == 30000


def test_below_threshold_and_overdue_deals_are_flagged(catalog):
    people = [payee("A", hire_date="2020-01-01")]
    deals = [deal("D1", "2026-01-10", 10000, "A"),
             deal("D2", "2026-03-30", 20000, "A", stage="lost"),
             deal("D3", "2026-03-30", 5000, "A", stage="lost")]
    snapshots = [
        Snapshot(date(2026, 2, 1), "D2", "proposal", D("0.4"), D(20000),
                 date(2026, 2, 10)),
        # Expected before the quarter: stale, flagged, not forecast.
        Snapshot(date(2026, 1, 1), "D3", "proposal", D("0.9"), D(5000),
                 date(2025, 12, 20)),
    ]
    result = forecast(catalog, Inputs(deals=deals, roster=people,
                                      snapshots=snapshots),
                      "FY2026-Q1", as_of=AS_OF, simulations=200)
    [row] = result.rows
    assert row.attainment.p90 <= D("0.3")
    assert row.below_threshold and row.threshold == D("0.5")
    assert row.overdue_deals == ["D2", "D3"]
    assert row.weighted_pipeline == 8000


def test_same_seed_same_forecast_and_another_seed_another(catalog):
    deals, people, snapshots = known_world(5, seed=4)
    inputs = Inputs(deals=deals, roster=people, snapshots=snapshots)

    def run(seed):
        return forecast(catalog, inputs, "FY2026-Q1", as_of=AS_OF,
                        simulations=300, seed=seed).as_dict()

    assert run(1) == run(1)
    assert run(1) != run(2)


# -- the pipeline as of a date ------------------------------------------------


def test_pipeline_uses_the_latest_snapshot_up_to_the_date():
    deals = [
        deal("D1", "2026-03-10", 1000, stage="won"),
        deal("D2", "2026-02-01", 1000, stage="lost"),
        deal("D3", "2026-03-20", 1000, stage="lost"),
        deal("D4", "2026-03-25", 1000, stage="won"),
        deal("D5", "2026-05-01", 1000, stage="proposal"),
    ]
    snapshots = [
        Snapshot(date(2026, 1, 5), "D1", "discovery", D("0.1"), D(800),
                 date(2026, 3, 1)),
        Snapshot(date(2026, 2, 1), "D1", "proposal", D("0.4"), D(1000),
                 date(2026, 3, 10)),
        Snapshot(date(2026, 3, 1), "D1", "negotiation", D("0.7"), D(1000),
                 date(2026, 3, 10)),
        Snapshot(date(2026, 1, 5), "D2", "proposal", D("0.4"), D(1000),
                 date(2026, 2, 1)),
        Snapshot(date(2026, 2, 20), "D3", "proposal", D("0.4"), D(1000),
                 date(2026, 3, 20)),
        Snapshot(date(2026, 1, 5), "D4", "proposal", D("0.4"), D(1000),
                 date(2026, 2, 10)),
        Snapshot(date(2026, 1, 5), "D5", "proposal", D("0.4"), D(1000),
                 date(2026, 5, 1)),
    ]
    found = pipeline_at(deals, snapshots, AS_OF, date(2026, 1, 1),
                        date(2026, 3, 31))
    by_id = {item.deal.deal_id: item for item in found}
    # D2 was lost before the date, D3 created after it, D5 expected
    # after the quarter.
    assert sorted(by_id) == ["D1", "D4"]
    d1 = by_id["D1"]
    assert d1.probability == 0.4 and d1.deal.amount == 1000
    assert d1.deal.stage == "won" and not d1.overdue
    d4 = by_id["D4"]
    assert d4.overdue and d4.deal.close_date == AS_OF + timedelta(days=1)


def test_no_pipeline_once_the_period_is_over():
    deals = [deal("D1", "2026-03-10", 1000, stage="proposal")]
    snapshot = Snapshot(date(2026, 1, 5), "D1", "proposal", D("0.4"),
                        D(1000), date(2026, 3, 10))
    assert pipeline_at(deals, [snapshot], date(2026, 3, 31),
                       date(2026, 1, 1), date(2026, 3, 31)) == []


# -- the sample data, as of past dates ----------------------------------------


@pytest.fixture(scope="module")
def sample():
    return load_workspace(ROOT / "attain.yaml")


def test_forecast_mid_quarter_reads_only_what_was_known(sample):
    as_of = date(2026, 6, 15)
    known = [s for s in sample.inputs.snapshots if s.snapshot_date <= as_of]
    assert len(known) < len(sample.inputs.snapshots)

    def run(inputs):
        return forecast(sample.catalog, inputs, "FY2026-Q2", as_of=as_of,
                        simulations=100, metrics=sample.metrics).as_dict()

    everything = run(sample.inputs)
    assert everything == run(replace(sample.inputs, snapshots=known))

    # The ledger as it stood then: deals decided later were still open,
    # and what the ledger says of them now does not leak in.
    then = [_still_open(d) if d.close_date > as_of else d
            for d in sample.inputs.deals]
    assert everything == run(replace(sample.inputs, deals=then,
                                     snapshots=known))


def test_forecast_on_the_sample_gives_ordered_ranges_per_payee_and_team(
        sample):
    result = forecast(sample.catalog, sample.inputs, "FY2026-Q3",
                      as_of=date(2026, 9, 10), simulations=150,
                      metrics=sample.metrics)
    payees = {row.id: row for row in result.rows if row.scope == "payee"}
    teams = {row.id: row for row in result.rows if row.scope == "team"}
    assert {"MGR-1", "MGR-2", "MGR-3", "MGR-4", "VP-1"} <= set(teams)
    assert sum(1 for p in payees if p.startswith("AE-")) >= 36
    for row in result.rows:
        assert row.payout.p10 <= row.payout.p50 <= row.payout.p90
        if row.attainment is not None:
            assert row.attainment.p10 <= row.attainment.p50
            assert row.attainment.p50 <= row.attainment.p90
            assert row.closed + row.weighted_pipeline >= 0

    # What closed by the date is what a run over that ledger measures.
    cut = [d for d in sample.inputs.deals
           if d.close_date <= date(2026, 9, 10)
           and d.stage in ("won", "lost")]
    run = evaluate(sample.catalog, replace(sample.inputs, deals=cut),
                   ["FY2026-Q3"], sample.metrics)
    measured = run.measures["ae-fy2026@1"][("AE-001", "FY2026-Q3")]
    assert payees["AE-001"].closed == measured["bookings"].value

    # A team's attainment is that of its sellers, not of its manager.
    team = teams["MGR-1"]
    members = [payees[p] for p in _team(sample, "MGR-1")
               if p.startswith("AE-") and p in payees]
    assert team.quota == sum(m.quota for m in members)
    assert team.closed == sum(m.closed for m in members)


def _still_open(deal):
    attributes = {**deal.attributes, "stage": "proposal",
                  "amount": deal.amount * 3}
    return replace(deal, stage="proposal", amount=deal.amount * 3,
                   attributes=attributes)


def _team(sample, manager) -> set[str]:
    from engine.roster import Roster

    roster = Roster(sample.inputs.roster)
    day = date(2026, 10, 31)
    return {p for p in roster if manager in roster.managers(p, day)}
