"""The DuckDB first stage gives the payout lines the Python one gives.

Generated plans (rate tables, thresholds, curves, splits, overlays with
first- and all-match territory rules, roll-up by role, windfall,
currencies under each rate policy, SPIFs, cumulative plans, clawbacks,
custom metrics) run over generated ledgers of several seeds and sizes,
and over hand-built edge cases, on both engines. Lines, traces, credits
and measures must be identical, Decimal exponents included; what the
SQL path cannot do must fall back to Python and still be identical.
"""

from __future__ import annotations

import logging
import random
from contextlib import nullcontext
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

import test_worked_examples as worked
from support import EXAMPLES, deal, payee
from engine import columnar
from engine.columnar import MIXED, _Tables
from engine.errors import ConfigError, DataError
from engine.evaluate import Inputs, evaluate
from engine.loader import load_catalog
from engine.plugins import get_plugin_manager, metrics
from engine.project import load_project, read_inputs
from engine.records import SplitRow
from engine.sql import DATE, NUMBER, TEXT
from engine.sample import generate

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
METRICS = metrics(get_plugin_manager(entry_points=False))
FELL_BACK = "is evaluated in Python"


def both(catalog, inputs, periods=(), caplog=None, falls_back=False):
    """Evaluate on each engine; everything must be the same."""
    python = evaluate(catalog, inputs, periods, METRICS, engine="python")
    if caplog is not None:
        caplog.clear()
    with caplog.at_level(logging.INFO) if caplog else nullcontext():
        duck = evaluate(catalog, inputs, periods, METRICS, engine="duckdb")
    assert duck.lines == python.lines
    assert [repr(line) for line in duck.lines] == [
        repr(line) for line in python.lines
    ]
    assert repr(duck.credits) == repr(python.credits)
    assert repr(duck.measures) == repr(python.measures)
    if caplog is not None:
        fell = [r for r in caplog.records if FELL_BACK in r.getMessage()]
        assert bool(fell) == falls_back, [r.getMessage() for r in fell]
    return python


# ---------------------------------------------------------------------------
# Generated ledgers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory):
    """Generated data sets as typed inputs, by (seed, deals)."""
    found = {}
    for seed, size in ((1, 250), (7, 600), (2026, 1200)):
        folder = tmp_path_factory.mktemp(f"ledger{seed}")
        data = folder / "data"
        generate(data, deals=size, seed=seed)
        rates = ROOT / "plan_specs/fy2026/data/exchange_rates.csv"
        (data / "exchange_rates.csv").write_bytes(rates.read_bytes())
        text = (ROOT / "attain.yaml").read_text(encoding="utf-8")
        text = text.replace("plan_specs/fy2026/data", str(data))
        text = text.replace(
            "- plan_specs/fy2026", f"- {ROOT / 'plan_specs/fy2026'}"
        )
        (folder / "attain.yaml").write_text(text, encoding="utf-8")
        project = load_project(folder / "attain.yaml")
        inputs, _ = read_inputs(project, get_plugin_manager(), {})
        found[(seed, size)] = inputs
    return found


def test_sample_plans_on_generated_ledgers(ledgers, caplog):
    catalog = load_catalog([ROOT / "plan_specs/fy2026"])
    for inputs in ledgers.values():
        result = both(catalog, inputs, caplog=caplog)
        assert any(line.amount for line in result.lines)
        kinds = {c.credit_type for cs in result.credits.values() for c in cs}
        assert kinds == {"direct", "split", "overlay", "rollup"}


# ---------------------------------------------------------------------------
# Generated plans
# ---------------------------------------------------------------------------

REGIONS = ("NA", "LATAM", "EMEA", "APAC")
CONDITIONS = (
    None,
    'type in ("new", "upsell")',
    'segment != "SMB"',
    "amount >= 20000",
    'product == "platform" or region == "EMEA"',
    "not (tech_win)",
    "coalesce(split_percent, 0) < 50",
    'created_date < date("2026-01-01")',
)
SUMS = ("credit", "credit", "credit * 0.5", "amount", "list_price - amount")


def _territories(rng: random.Random) -> list[dict]:
    """A first-match set with named payees and a named-account list, and
    an all-match set whose payees come from roster territories."""
    named = {
        "kind": "territories", "id": "engineers", "name": "Engineers",
        "match": "first",
        "lists": {
            "strategic_accounts": {"source": "strategic_accounts"},
            "watched": ["ACME-0001", "ACME-0002", "ACME-0734"],
        },
        "rules": [
            {"name": "Named", "when": "account in strategic_accounts",
             "payees": ["SE-STRAT"]},
            {"name": "Watched", "when": "account in watched",
             "payees": ["SE-EMEA", "SE-AMER"]},
            {"name": "EMEA big", "when": 'region == "EMEA" and amount > '
             f"{rng.choice([10000, 50000])}", "payees": ["SE-EMEA-ENT"]},
            {"name": "Americas", "when": 'region in ("NA", "LATAM")',
             "payees": ["SE-AMER"]},
            {"name": "Rest", "payees": ["SE-APAC"]},
        ],
    }
    regions = {
        "kind": "territories", "id": "regions", "name": "Regions",
        "match": rng.choice(["all", "first"]),
        "rules": [
            {"name": region, "when": f'region == "{region}"',
             "territory": region}
            for region in REGIONS
        ] + [
            {"name": "Enterprise", "when": 'segment == "Enterprise"',
             "territory": rng.choice(REGIONS)},
            {"name": "Nowhere", "when": "amount < 0", "territory": "NA"},
        ],
    }
    return [named, regions]


def _crediting(rng: random.Random) -> dict:
    body: dict = {"kind": "crediting", "id": "generated", "name": "Generated"}
    if rng.random() < 0.5:
        body["windfall"] = {"above": rng.choice([100000, 300000]),
                            "credit": rng.choice(["50%", "25%"])}
    if rng.random() < 0.3:
        body["direct"] = {"territories": "regions"}
    splits = rng.choice(["table", "columns", "both", None])
    if splits:
        body["splits"] = {"total": "100%"}
        if splits in ("table", "both"):
            body["splits"]["table"] = "splits"
        if splits in ("columns", "both"):
            body["splits"]["columns"] = {"partner": "split_partner",
                                         "percent": "split_percent"}
    overlays = []
    for ident in rng.sample(["engineers", "regions"], rng.randint(0, 2)):
        overlay = {"name": f"Overlay {ident}", "territories": ident,
                   "credit": rng.choice(["100%", "50%", "12.5%"])}
        where = rng.choice(CONDITIONS)
        if where:
            overlay["where"] = where
        overlays.append(overlay)
    if overlays:
        body["overlays"] = overlays
    roll = rng.choice([None, ["AE"], [], ["AE", "Manager"]])
    if roll is not None:
        body["rollup"] = {"roles": roll} if roll else {}
    return body


def _measures(rng: random.Random) -> dict:
    measures = {
        "bookings": {"name": "Bookings", "sum": rng.choice(SUMS)},
        "deals": {"name": "Deals", "count": "deals"},
        "average_deal": {"name": "Average", "average": "amount"},
        "accounts": {"name": "Accounts", "distinct": "account"},
        "new_logos": {"name": "New logos", "metric": "new_logo_count"},
        "discount": {"name": "Discount", "metric": "average_discount"},
        "per_deal": {"name": "Per deal", "formula": "bookings / 4"},
    }
    for measure in ("bookings", "deals", "average_deal", "accounts"):
        where = rng.choice(CONDITIONS + ("credit >= 10000",
                                         'credit_type == "direct"'))
        if where:
            measures[measure]["where"] = where
        if rng.random() < 0.4:
            types = ["direct", "split", "overlay", "rollup"]
            measures[measure]["credit_types"] = rng.sample(
                types, rng.randint(1, 4)
            )
        if rng.random() < 0.2:
            measures[measure]["stages"] = ["won", "lost"]
    return measures


def _components(rng: random.Random) -> dict:
    bands = [
        {"from": "0%", "to": "50%", "rate": "5%"},
        {"from": "50%", "to": "100%", "rate": "10%"},
        {"from": "100%", "rate": rng.choice(["15%", "2x base rate"])},
    ]
    table = {"measure": "bookings",
             "method": rng.choice(["marginal", "retroactive"]),
             "bands": bands}
    if rng.random() < 0.5:
        table["threshold"] = rng.choice(["25%", "50%"])
    components = {"commission": {"name": "Commission", "rate_table": table}}
    if rng.random() < 0.5:
        components["commission"]["cap"] = "2x target incentive"
    if rng.random() < 0.6:
        components["incentive"] = {"name": "Incentive", "payout_curve": {
            "measure": "bookings",
            "interpolation": rng.choice(["linear", "step"]),
            "points": [{"attainment": "50%", "payout": "25%"},
                       {"attainment": "100%", "payout": "100%"}],
            "above": {"per_point": "2%"}}}
    spif = {"amount": 250, "where": rng.choice(CONDITIONS[1:4]),
            "pays": rng.choice(["owner", "credited"])}
    if rng.random() < 0.7:
        spif["from"], spif["to"] = date(2026, 3, 1), date(2026, 8, 31)
    components["spif"] = {"name": "SPIF", "spif": spif}
    components["logos"] = {"name": "Logo bonus", "bonus": {
        "amount": 500, "when": "new_logos >= 2"}}
    return components


def _plan(rng: random.Random, number: int) -> dict:
    plan = {
        "kind": "plan", "id": f"generated-{number}",
        "name": f"Generated plan {number}", "version": 1,
        "currency": rng.choice(["USD", "USD", "EUR"]),
        "calendar": {"fiscal_year_starts": "February"},
        "period": rng.choice(["month", "quarter", "quarter", "year"]),
        "effective": {"from": date(2026, 2, 1), "to": date(2027, 1, 31)},
        "participants": {"roles": rng.choice(
            [["AE"], ["AE", "Manager", "SE"], ["SE"]])},
        "target_incentive": 60000,
        "crediting": "generated",
        "deal_fields": {"tech_win": "boolean"},
        "exchange_rates": {"date": rng.choice(
            ["close_date", "period_end", "period_average"])},
        "accumulation": rng.choice(["periodic", "cumulative"]),
        "measures": _measures(rng),
        "quotas": {"bookings": {"per_period": rng.choice(
            [50000, 150000, 400000])}},
        "components": _components(rng),
    }
    clawback = rng.choice([None, 90, 30])
    if clawback:
        plan["clawback"] = {"window_days": clawback,
                            "reduce_attainment": rng.random() < 0.3}
    return plan


def _write_plans(folder: Path, seed: int) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    documents = _territories(rng) + [_crediting(rng)]
    documents += [_plan(rng, n) for n in range(2)]
    for number, document in enumerate(documents):
        path = folder / f"{number}-{document['id']}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False),
                        encoding="utf-8")
    return folder


@pytest.mark.parametrize("seed", range(12))
def test_generated_plans_on_generated_ledgers(seed, ledgers, tmp_path):
    catalog = load_catalog([_write_plans(tmp_path / "plans", seed)])
    assert not catalog.errors, [str(f) for f in catalog.errors]
    keys = sorted(ledgers)
    for key in (keys[seed % len(keys)], keys[(seed + 1) % len(keys)]):
        result = both(catalog, ledgers[key])
        assert result.lines


def test_generated_plans_run_in_duckdb_not_python(ledgers, tmp_path, caplog):
    """A plan without conditions on credit amounts needs no fallback."""
    folder = _write_plans(tmp_path / "plans", 3)
    for path in folder.glob("*generated-*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for measure in document.get("measures", {}).values():
            if "credit" in str(measure.get("where", "")).split(" ")[0]:
                del measure["where"]
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    catalog = load_catalog([folder])
    both(catalog, ledgers[(7, 600)], caplog=caplog)


# ---------------------------------------------------------------------------
# Hand-built edge cases
# ---------------------------------------------------------------------------


def _catalog(tmp_path, plan: dict, crediting: dict | None = None):
    base = {
        "kind": "plan", "id": "edge", "name": "Edge cases", "version": 1,
        "currency": "USD", "period": "quarter",
        "effective": {"from": date(2026, 1, 1), "to": date(2026, 12, 31)},
        "participants": {"roles": ["AE", "Manager"]},
        "crediting": "edge",
        "deal_fields": {"size": "decimal", "note": "string",
                        "partner": "string", "share": "decimal"},
        "measures": {"bookings": {"name": "Bookings", "sum": "credit"}},
        "quotas": {"bookings": {"per_period": 100000}},
        "components": {"commission": {"name": "Commission", "rate_table": {
            "measure": "bookings", "method": "marginal", "bands": [
                {"from": "0%", "to": "100%", "rate": "10%"},
                {"from": "100%", "rate": "15%"}]}}},
    }
    base.update(plan)
    credit = {"kind": "crediting", "id": "edge", "name": "Edge",
              "rollup": {"roles": ["AE"]}}
    credit.update(crediting or {})
    for name, document in (("plan", base), ("crediting", credit)):
        (tmp_path / f"{name}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    catalog = load_catalog([tmp_path])
    assert not catalog.errors, [str(f) for f in catalog.errors]
    return catalog


ROSTER = [payee("A", "AE", manager="M"), payee("B", "AE", manager="M"),
          payee("M", "Manager")]


def test_missing_values_negative_amounts_and_band_edges(tmp_path, caplog):
    catalog = _catalog(tmp_path, {"measures": {
        "bookings": {"name": "Bookings", "sum": "credit",
                     "where": 'region != "EMEA" or size > 2'},
        "sized": {"name": "Sized", "sum": "size * 1000"},
    }})
    deals = [
        deal("D1", "2026-01-05", "102500.50", region="NA"),
        deal("D2", "2026-02-05", "-2500.50", region="NA", size=D("1.5")),
        deal("D3", "2026-02-05", "0.001", region="EMEA"),
        deal("D4", "2026-04-01", 100000, owner="B", size=3),
        deal("D5", "2026-05-10", "-100000", owner="B", region="EMEA",
             size=D(5)),
        deal("D6", "2026-07-01", "99999.999", region=None),
        deal("D7", "2026-12-31", "1E+3", owner="B", size=D("2.50")),
    ]
    result = both(catalog, Inputs(deals=deals, roster=ROSTER), caplog=caplog)
    pay = {(line.payee_id, line.period): line for line in result.lines}
    q1 = pay[("A", "FY2026-Q1")]
    assert q1.trace["band"] == 2 and q1.amount == D("10000.00")


def test_mixed_column_types_fall_back_to_python(tmp_path, caplog):
    catalog = _catalog(tmp_path, {"measures": {"bookings": {
        "name": "Bookings", "sum": "credit", "where": 'note in ("x", 1)'}}})
    deals = [deal("D1", "2026-01-05", 5000, note="x"),
             deal("D2", "2026-01-06", 7000, note=1),
             deal("D3", "2026-01-07", 9000, note=D(2))]
    result = both(catalog, Inputs(deals=deals, roster=ROSTER), caplog=caplog,
                  falls_back=True)
    assert [line.amount for line in result.lines if line.payee_id == "A"][0] \
        == D("1200.00")


def test_condition_on_unexact_credit_falls_back(tmp_path, caplog):
    """Credits converted at an inverse rate have 60 digits, more than a
    DuckDB DECIMAL holds: the plan runs in Python."""
    catalog = _catalog(tmp_path, {"currency": "EUR", "measures": {
        "bookings": {"name": "Bookings", "sum": "credit",
                     "where": "credit > 1000"}}})
    deals = [deal("D1", "2026-01-05", 5000, currency="USD"),
             deal("D2", "2026-02-05", 800, currency="USD")]
    rates = [{"date": date(2026, 1, 1), "from": "EUR", "to": "USD",
              "rate": D("1.1")}]
    both(catalog, Inputs(deals=deals, roster=ROSTER, rates=rates),
         caplog=caplog, falls_back=True)


def test_splits_overlays_and_rollup_on_edges(tmp_path, caplog):
    (tmp_path / "territories.yaml").write_text(yaml.safe_dump({
        "kind": "territories", "id": "areas", "name": "Areas",
        "match": "all", "lists": {"big": ["K1", "K2"], "none": []},
        "rules": [
            {"name": "Big", "when": "account in big", "payees": ["S", "S"]},
            {"name": "Not none", "when": "account not in none",
             "territory": "T"},
            {"name": "Everyone", "territory": "T"},
        ]}), encoding="utf-8")
    catalog = _catalog(tmp_path, {}, {
        "splits": {"table": "splits", "columns": {
            "partner": "partner", "percent": "share"}},
        "overlays": [{"name": "Area", "territories": "areas",
                      "credit": "33.3%"}],
        "rollup": {}})
    roster = ROSTER + [
        payee("S", "SE", territories=("T",), effective_to=date(2026, 3, 31)),
        payee("S", "SE", manager="M", territories=("T", "T"),
              effective_from=date(2026, 4, 1)),
        payee("T2", "SE", territories=("T",), hire_date="2026-02-01",
              termination_date="2026-05-31"),
    ]
    deals = [
        deal("D1", "2026-01-31", 50000, account="K1"),
        deal("D2", "2026-02-01", 40000, partner="B", share=D("40")),
        deal("D3", "2026-05-31", 30000, account="Z", partner="",
             share=D(10)),
        deal("D4", "2026-06-01", 20000, owner="B", account=None),
        deal("D5", "2026-06-02", 10000, account="K2"),
    ]
    splits = [SplitRow("D5", "A", D("33.3"), "splits.csv", 2),
              SplitRow("D5", "B", D("66.7"), "splits.csv", 3)]
    result = both(catalog, Inputs(deals=deals, roster=roster, splits=splits),
                  caplog=caplog)
    credits = next(iter(result.credits.values()))
    assert {c.credit_type for c in credits} == {
        "direct", "split", "overlay", "rollup"}


def test_split_table_that_does_not_add_up_is_the_python_error(tmp_path):
    catalog = _catalog(tmp_path, {}, {"splits": {"table": "splits"}})
    deals = [deal("D1", "2026-01-05", 5000), deal("D2", "2026-01-06", 7000)]
    splits = [SplitRow("D2", "A", D(60), "splits.csv", 2),
              SplitRow("D2", "B", D(30), "splits.csv", 3)]
    inputs = Inputs(deals=deals, roster=ROSTER, splits=splits)
    messages = []
    for engine in ("python", "duckdb"):
        with pytest.raises(DataError) as found:
            evaluate(catalog, inputs, engine=engine)
        messages.append(str(found.value))
    assert messages[0] == messages[1]
    assert "'D2'" in messages[0] and "row 2" in messages[0]


def test_missing_exchange_rate_is_the_python_error(tmp_path):
    catalog = _catalog(tmp_path, {})
    deals = [deal("D1", "2026-01-05", 5000),
             deal("D2", "2026-01-06", 7000, currency="GBP")]
    messages = []
    for engine in ("python", "duckdb"):
        with pytest.raises(DataError) as found:
            evaluate(catalog, Inputs(deals=deals, roster=ROSTER),
                     engine=engine)
        messages.append(str(found.value))
    assert messages[0] == messages[1] and "GBP" in messages[0]


def test_engine_choice(tmp_path, monkeypatch):
    catalog = _catalog(tmp_path, {})
    inputs = Inputs(deals=[deal("D1", "2026-01-05", 5000)], roster=ROSTER)
    with pytest.raises(ConfigError, match="Engine 'spark'"):
        evaluate(catalog, inputs, engine="spark")

    def refuse(*args, **kwargs):
        raise AssertionError("the columnar stage was started")

    monkeypatch.setattr(columnar, "ColumnarStage", refuse)
    assert evaluate(catalog, inputs, engine="auto").lines
    with pytest.raises(AssertionError, match="columnar stage"):
        evaluate(catalog, inputs, engine="duckdb")


# ---------------------------------------------------------------------------
# The worked examples of the domain, on both engines
# ---------------------------------------------------------------------------


@pytest.fixture(params=["python", "duckdb"])
def engine(request, monkeypatch):
    """Runs the worked-example tests with ``run`` on one engine."""

    def run(paths, deals, roster=None, periods=(), **tables):
        catalog = load_catalog([EXAMPLES / p for p in paths])
        assert not catalog.errors, [str(f) for f in catalog.errors]
        inputs = Inputs(deals=deals, roster=roster or [payee()], **tables)
        return evaluate(catalog, inputs, periods, engine=request.param)

    monkeypatch.setattr(worked, "run", run)
    return request.param


def _worked_examples():
    """Each worked-example test with each of its parameter sets."""
    for name, test in vars(worked).items():
        if not name.startswith("test_"):
            continue
        marks = [m for m in getattr(test, "pytestmark", [])
                 if m.name == "parametrize"]
        cases = [()]
        if marks:
            cases = [tuple(case) for case in marks[0].args[1]]
        for number, case in enumerate(cases):
            yield pytest.param(test, case, id=f"{name}-{number}")


@pytest.mark.parametrize("example, arguments", list(_worked_examples()))
def test_worked_example_on_each_engine(example, arguments, engine):
    example(*arguments)


def test_run_command_takes_the_engine(ledgers, tmp_path):
    from click.testing import CliRunner

    from engine.cli import cli

    project = ROOT / "attain.yaml"
    outputs = []
    for engine in ("python", "duckdb"):
        result = CliRunner().invoke(cli, [
            "--project", str(project), "run", "--no-store", "--format",
            "csv", "--engine", engine,
        ])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count("\n") > 100
    refused = CliRunner().invoke(cli, [
        "--project", str(project), "run", "--engine", "spark"])
    assert refused.exit_code == 2


def test_project_names_its_engine(tmp_path):
    from engine.errors import InvalidPlanError

    text = (ROOT / "attain.yaml").read_text(encoding="utf-8")
    path = tmp_path / "attain.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_project(path).engine == "auto"
    path.write_text(text + "engine: duckdb\n", encoding="utf-8")
    assert load_project(path).engine == "duckdb"
    path.write_text(text + "engine: spark\n", encoding="utf-8")
    with pytest.raises(InvalidPlanError, match="engine"):
        load_project(path)


def test_python_values_load_into_duckdb_exactly():
    """Columns built in Python reach DuckDB with their kinds and every
    digit: numbers as the narrowest exact DECIMAL, text as it is (the
    text of a missing value too), numbers no DECIMAL holds as text."""
    con = duckdb.connect()
    tables = _Tables(con)
    kinds = tables.load("loaded", [
        ("text", None, ["\\N", None, " padded "]),
        ("number", None, [Decimal("1E+2"), 5, None]),
        ("fraction", None, [Decimal("-0.005"), Decimal("-12.5"), None]),
        ("float", None, [0.1, 2.5, None]),
        ("huge", None, [Decimal("1" + "0" * 40), None, None]),
        ("day", None, [date(2026, 1, 31), None, date(2026, 2, 1)]),
        ("mixed", None, [1, "x", None]),
        ("nothing", None, [None, None, None]),
    ])

    assert kinds == {
        "text": TEXT, "number": NUMBER, "fraction": NUMBER,
        "float": NUMBER, "huge": MIXED, "day": DATE, "mixed": MIXED,
        "nothing": None,
    }
    types = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE table_name = 'loaded'"
    ).fetchall())
    assert types["number"] == "DECIMAL(3,0)"
    assert types["fraction"] == "DECIMAL(5,3)"
    assert types["float"] == "DECIMAL(2,1)"
    assert types["huge"] == "VARCHAR"
    assert con.execute("SELECT * FROM loaded").fetchall() == [
        ("\\N", Decimal(100), Decimal("-0.005"), Decimal("0.1"),
         "1" + "0" * 40, date(2026, 1, 31), None, None),
        (None, Decimal(5), Decimal("-12.5"), Decimal("2.5"), None, None,
         None, None),
        (" padded ", None, None, None, None, date(2026, 2, 1), None, None),
    ]

    tables.append("loaded", [(name, None, [None]) for name in kinds])
    tables.load("empty", [("text", TEXT, [])])
    assert con.execute("SELECT count(*) FROM loaded").fetchone() == (4,)
    assert con.execute("SELECT count(*) FROM empty").fetchone() == (0,)
