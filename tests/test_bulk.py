"""A ledger read into DuckDB gives the payout lines the Python path gives.

The bulk path reads the deal file with DuckDB's own reader (or a
connector's rows in batches), computes credits and measures in SQL and
only the aggregated measures come back to Python. Generated plans over
generated ledgers must pay the same, to the cent, as the Python path;
what the SQL path cannot do must fall back and still pay the same.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import test_columnar as generated
from engine import dealtable
from engine.dealtable import DealTable
from engine.columnar import NotColumnar
from engine.data import iter_deals
from engine.errors import DataError
from engine.evaluate import evaluate
from engine.loader import load_catalog
from engine.plugins import TableSource, connectors, get_plugin_manager, metrics
from engine.project import _open, load_project, read_inputs
from engine.sample import generate

ROOT = Path(__file__).resolve().parent.parent
METRICS = metrics(get_plugin_manager(entry_points=False))
FELL_BACK = "is evaluated in Python"


def amounts(result) -> dict:
    return {
        (line.plan_id, line.payee_id, line.period, line.component): line.amount
        for line in result.lines
    }


def same_pay(catalog, project, inputs, *, rows=False, caplog=None):
    """Evaluate in Python and in bulk; every line must pay the same.
    Returns the names of the plans that fell back to Python."""
    python = evaluate(catalog, inputs, (), METRICS, engine="python")
    table = DealTable.read(_deal_source(project, rows), project.deal_columns
                           | catalog.deal_fields)
    assert len(table) == len(inputs.deals)
    if caplog is not None:
        caplog.clear()
    with caplog.at_level(logging.INFO):
        found = evaluate(catalog, replace(inputs, deals=table), (), METRICS,
                         engine="duckdb")
    fell = [r.getMessage() for r in caplog.records
            if FELL_BACK in r.getMessage()]
    assert amounts(found) == amounts(python)
    assert [(l.payee_id, l.period, l.component) for l in found.lines] == [
        (l.payee_id, l.period, l.component) for l in python.lines
    ]
    assert any(amounts(python).values())
    return fell


def _deal_source(project, rows: bool) -> TableSource:
    source = _open(connectors(get_plugin_manager()), "deals",
                   project.data["deals"], project.root)
    if rows:
        # A connector that can only yield rows, as a third party's may.
        return TableSource(name=source.name, rows=source.rows)
    return source


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """Generated data sets: (project, typed inputs), by seed."""
    found = {}
    for seed, size in ((1, 250), (7, 600), (2026, 1200)):
        folder = tmp_path_factory.mktemp(f"bulk{seed}")
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
        found[seed] = project, inputs
    return found


def _without(folder: Path, *keys: str) -> Path:
    """The plans of ``folder`` without the given top-level keys."""
    for path in folder.glob("*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document.get("kind") == "plan":
            for key in keys:
                document.pop(key, None)
            path.write_text(yaml.safe_dump(document, sort_keys=False),
                            encoding="utf-8")
    return folder


def test_sample_plans_in_bulk(projects, tmp_path, caplog):
    plans = tmp_path / "plans"
    plans.mkdir()
    for path in (ROOT / "plan_specs/fy2026").glob("*.yaml"):
        (plans / path.name).write_bytes(path.read_bytes())
    catalog = load_catalog([_without(plans, "clawback")])
    assert not catalog.errors
    for project, inputs in projects.values():
        fell = same_pay(catalog, project, inputs, caplog=caplog)
        assert fell == []


def test_sample_plans_with_clawbacks_fall_back(projects, caplog):
    catalog = load_catalog([ROOT / "plan_specs/fy2026"])
    project, inputs = projects[7]
    fell = same_pay(catalog, project, inputs, caplog=caplog)
    assert any("clawed back" in message for message in fell)


@pytest.mark.parametrize("seed", range(12))
def test_generated_plans_in_bulk(seed, projects, tmp_path, caplog):
    catalog = load_catalog([generated._write_plans(tmp_path / "plans", seed)])
    assert not catalog.errors
    project, inputs = projects[(1, 7, 2026)[seed % 3]]
    same_pay(catalog, project, inputs, rows=seed % 4 == 0, caplog=caplog)


def _per_deal_plans(folder: Path, seed: int, measure: str) -> Path:
    """Generated plans whose commission is applied per deal to
    ``measure``, with bands on amounts, beside a second rate table per
    deal. The plans pay in dollars at written rates, without clawbacks
    or plugin metrics, so that nothing leaves them to Python. (Bands on
    attainment per deal are held to Python in test_baselines.py, on a
    roster whose quotas are never prorated.)"""
    generated._write_plans(folder, seed)
    for path in folder.glob("*generated-*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        document.pop("clawback", None)
        document["currency"] = "USD"
        document["exchange_rates"] = {"date": "close_date"}
        document["measures"]["new_logos"] = {
            "name": "New logos", "count": "deals", "where": 'type == "new"'}
        document["measures"]["discount"] = {
            "name": "Discount", "sum": "list_price - amount"}
        components = document["components"]
        commission = components["commission"]["rate_table"]
        commission.update(per="deal", measure=measure, basis="amount", bands=[
            {"from": 0, "to": 10000, "rate": "5%"},
            {"from": 10000, "to": 30000, "rate": "10%"},
            {"from": 30000, "rate": "15%",
             "when": "new_logos >= 2", "otherwise": "12%"}])
        if "threshold" in commission:
            commission["threshold"] = 2500
        components["big_deals"] = {"name": "Big deals", "rate_table": {
            "measure": "bookings", "basis": "amount", "per": "deal",
            "method": "retroactive" if seed % 2 else "marginal",
            "threshold": 5000, "bands": [
                {"from": 0, "to": 20000, "rate": "1%"},
                {"from": 20000, "rate": "2.5%",
                 "when": "deals >= 2", "otherwise": "1.5%"}]}}
        path.write_text(yaml.safe_dump(document, sort_keys=False),
                        encoding="utf-8")
    return folder


@pytest.mark.parametrize("seed", range(8))
def test_rates_per_deal_are_paid_in_bulk(seed, projects, tmp_path, caplog):
    """Rate tables applied per deal, to sums and to counts, marginal and
    retroactive, with thresholds, caps and conditional rates, pay in
    DuckDB what they pay in Python."""
    measure = "deals" if seed % 3 == 2 else "bookings"
    catalog = load_catalog([_per_deal_plans(tmp_path / "plans", seed,
                                            measure)])
    assert not catalog.errors, [str(f) for f in catalog.errors]
    project, inputs = projects[(1, 7, 2026)[seed % 3]]

    fell = same_pay(catalog, project, inputs, caplog=caplog)

    assert fell == []


def test_rates_per_deal_of_an_average_fall_back(projects, tmp_path,
                                                caplog):
    catalog = load_catalog([_per_deal_plans(tmp_path / "plans", 1,
                                            "average_deal")])
    project, inputs = projects[7]

    fell = same_pay(catalog, project, inputs, caplog=caplog)

    assert any("neither sums nor counts" in message for message in fell)


def test_rates_per_deal_on_prorated_quotas_fall_back(projects, tmp_path,
                                                     caplog):
    """A quota prorated by days has more digits than DuckDB holds, and so
    have the band edges it sets: the plan is paid in Python, the same."""
    folder = _per_deal_plans(tmp_path / "plans", 0, "bookings")
    for path in folder.glob("*generated-*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        commission = document["components"]["commission"]["rate_table"]
        commission.update(basis="attainment", bands=[
            {"from": "0%", "to": "100%", "rate": "5%"},
            {"from": "100%", "rate": "10%"}])
        commission.pop("threshold", None)
        path.write_text(yaml.safe_dump(document, sort_keys=False),
                        encoding="utf-8")
    catalog = load_catalog([folder])
    project, inputs = projects[1]

    fell = same_pay(catalog, project, inputs, caplog=caplog)

    assert any("too many digits" in message for message in fell)


def test_rows_of_a_connector_are_loaded_in_batches(projects, monkeypatch,
                                                    caplog):
    monkeypatch.setattr(dealtable, "BATCH", 97)
    project, inputs = projects[2026]
    catalog = load_catalog([ROOT / "plan_specs/fy2026"])
    same_pay(catalog, project, inputs, rows=True, caplog=caplog)


def _project(tmp_path, deals: str) -> tuple:
    (tmp_path / "deals.csv").write_text(deals, encoding="utf-8")
    source = _open(connectors(get_plugin_manager()), "deals",
                   {"connector": "csv", "path": "deals.csv"}, tmp_path)
    return source


HEADER = "deal_id,close_date,amount,owner,stage,split_percent\n"


@pytest.mark.parametrize("row, column, value", [
    ("D2,2026-02-30,10.00,A,won,", "close_date", "2026-02-30"),
    ("D2,2026/02/03,10.00,A,won,", "close_date", "2026/02/03"),
    ("D2,2026-2-3,10.00,A,won,", "close_date", "2026-2-3"),
    ("D2,-026-02-03,10.00,A,won,", "close_date", "-026-02-03"),
    ("D2,2026-02-03,1e3,A,won,", "amount", "1e3"),
    ("D2,2026-02-03,1 000,A,won,", "amount", "1 000"),
    ("D2,2026-02-03,10,,won,", "owner", ""),
    ("D2,2026-02-03,10,A,won,140", "split_percent", "140"),
    ("D1,2026-02-03,10,A,won,", "deal_id", "D1"),
])
def test_a_bad_row_is_the_row_by_row_readers_error(tmp_path, row, column,
                                                   value):
    source = _project(tmp_path, HEADER + "D1,2026-02-01,5.5,A,won,\n" + row
                      + "\n")
    with pytest.raises(DataError) as caught:
        DealTable.read(source)
    assert caught.value.row == 3
    assert caught.value.column == column


def test_values_read_as_the_input_contract_says(tmp_path):
    source = _project(
        tmp_path,
        "deal_id,close_date,amount,owner,stage,currency,tech_win,seats\n"
        " D1 ,2026-02-01, 12.50,A,Won,eur,yes,3\n"
        "D2,2026-02-02,7,A,,,0,\n"
        "D3,2026-02-03,-0.125,A,Negotiation,USD,False,12\n"
        "D4, 2026-02-04 ,1,A ,  Closed Won  ,usd , no,\n"
        'D5,2026-02-05,2,A,"",   ,"  ",""\n',
    )
    table = DealTable.read(source, {"tech_win": "boolean",
                                    "seats": "integer"})
    python = list(_rows(source))
    assert table.deals() == python
    d1, d2, d3, d4, d5 = table.deals()
    assert (d1.deal_id, d1.amount, d1.stage, d1.currency) == (
        "D1", Decimal("12.50"), "won", "EUR")
    assert d2.stage == "won" and d2.attributes["tech_win"] is False
    assert d3.stage == "Negotiation" and d3.attributes["seats"] == 12
    assert (d4.close_date, d4.owner, d4.stage, d4.currency) == (
        date(2026, 2, 4), "A", "Closed Won", "USD")
    assert (d5.stage, d5.currency, d5.attributes.get("tech_win"),
            d5.attributes.get("seats")) == ("won", None, None, None)
    assert table.kinds["tech_win"] == "flag"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_values_padded_with_any_whitespace_read_as_in_python(tmp_path,
                                                             newline):
    """Tabs, no-break and ideographic spaces, and line breaks inside a
    quoted value are trimmed as Python's strip() trims them, not only
    spaces."""
    rows = [
        "deal_id,close_date,amount,owner,stage,type",
        "\tD1\u00a0,2026-02-01,12.50,A\u2003,won\t,\u3000new\u00a0",
        'D2,2026-02-02,7,"A\n",won,"\nupsell "',
        "D3,2026-02-03,1,A,won,renewal",
    ]
    source = _project(tmp_path, newline.join(rows) + newline)

    table = DealTable.read(source)

    # Rows are numbered by record here, by line in Python: D2 spans
    # three lines.
    assert [d.attributes for d in table.deals()] == [
        d.attributes for d in iter_deals(source)
    ]
    d1, d2, d3 = table.deals()
    assert (d1.deal_id, d1.amount, d1.owner, d1.stage) == (
        "D1", Decimal("12.50"), "A", "won")
    assert d1.attributes["type"] == "new"
    assert (d2.owner, d2.attributes["type"]) == ("A", "upsell")


def test_json_lines_padded_with_any_whitespace_read_as_in_python(tmp_path):
    source = _jsonl(
        tmp_path,
        '{"deal_id": "D1\\t", "close_date": "2026-02-01", "amount": 5, '
        '"owner": "\\u00a0A", "type": "new\\u3000"}',
        '{"deal_id": "D2", "close_date": "2026-02-02", "amount": 6, '
        '"owner": "A", "type": " "}',
    )

    table = DealTable.read(source)

    assert table.deals() == list(iter_deals(source))
    assert [(d.deal_id, d.owner, d.attributes.get("type"))
            for d in table.deals()] == [("D1", "A", "new"), ("D2", "A", None)]


@pytest.fixture
def trims_used(monkeypatch) -> list[str]:
    """The trimming each table of the ledger is created with, in order."""
    used = []
    create = dealtable._create

    def spy(*args, trim=dealtable.ALL, **kwargs):
        used.append(trim)
        return create(*args, trim=trim, **kwargs)

    monkeypatch.setattr(dealtable, "_create", spy)
    return used


@pytest.mark.parametrize(("last", "trims"), [
    ("D40,2026-02-09,4,A,won,new", ["none"]),
    ("D40,2026-02-09,4, A ,won,new", ["none", "spaces"]),
    ("D40,2026-02-09,4,A,won,new\u00a0", ["none", "all"]),
])
def test_a_file_is_trimmed_no_more_than_it_needs(tmp_path, monkeypatch,
                                                 trims_used, last, trims):
    """A file whose first block has no space is read untrimmed, and read
    again when a space or other whitespace turns up further down."""
    monkeypatch.setattr(dealtable, "BLOCK", 64)
    rows = ["deal_id,close_date,amount,owner,stage,type"] + [
        f"D{n},2026-02-0{n % 9 + 1},{n},A,won,new" for n in range(1, 40)
    ] + [last]
    source = _project(tmp_path, "\n".join(rows) + "\n")

    table = DealTable.read(source)

    assert trims_used == trims
    assert table.deals() == list(iter_deals(source))
    assert table.deals()[-1].owner == "A"
    assert table.deals()[-1].attributes["type"] == "new"


def test_a_space_in_the_first_block_trims_spaces_at_once(tmp_path,
                                                         trims_used):
    source = _project(tmp_path, HEADER + "D1,2026-02-01, 5 ,A,won,\n")

    table = DealTable.read(source)

    assert trims_used == ["spaces"]
    assert table.deals()[0].amount == Decimal(5)


@pytest.mark.parametrize(("tail", "odd"), [
    ("\u00a0", True), ("\u2028", True), ("\t", True), ("\u00e9", False),
    ("\u20ac", False), ("x", False),
])
def test_a_scan_finds_whitespace_other_than_spaces(tmp_path, tail, odd):
    """Even a character cut in two where the scan's blocks meet."""
    path = tmp_path / "deals.csv"
    block = 1 << 20
    path.write_bytes(b"a" * (block - 1) + tail.encode() + b"\n")

    facts = dealtable._text_facts(path)

    assert facts.odd_space is odd
    assert facts.plain(0) is not odd


@pytest.mark.parametrize(("middle", "odd"), [
    (b"\t", True), (b"\x1f", True), (b"\xc2\xa0", True),
    (b"\xc3\xa9", False), (b" ", False),
])
def test_a_scan_looks_at_every_block(tmp_path, monkeypatch, middle, odd):
    """Plain ASCII blocks before and after the one that holds it."""
    monkeypatch.setattr(dealtable, "BLOCK", 64)
    path = tmp_path / "deals.csv"
    path.write_bytes(b"a" * 150 + middle + b"b" * 150 + b"\n")

    facts = dealtable._text_facts(path)

    assert facts.odd_space is odd
    assert facts.space is (middle == b" ")


@pytest.mark.parametrize(("text", "plain"), [
    (b'h\r\n"1"\r\n2\r\n', True),
    (b'h\n"1"\n2', True),
    (b'h\n"1\n"\n2\n', False),
    (b'h\n"1\r"\n2\n', False),
    (b"h\n1\n2\n", True),
])
def test_a_scan_of_a_file_with_quotes_counts_its_line_breaks(tmp_path, text,
                                                             plain):
    """A value holds a line break only between quotes; then the file has
    more line breaks than rows."""
    path = tmp_path / "deals.csv"
    path.write_bytes(text)
    assert dealtable._text_facts(path).plain(2) is plain


def test_whitespace_is_what_python_strips():
    assert dealtable.WHITESPACE == "".join(
        chr(c) for c in range(0x110000) if chr(c).isspace()
    )


def _rows(source):
    return iter_deals(source, column_types={"tech_win": "boolean",
                                            "seats": "integer"})


def test_a_value_with_too_many_places_is_read_in_python(tmp_path):
    source = _project(tmp_path, HEADER + "D1,2026-02-01,0.0000000001,A,won,\n")
    with pytest.raises(NotColumnar, match="does not in SQL"):
        DealTable.read(source)


def test_credit_tables_are_written_by_content_hash(projects, tmp_path):
    project, inputs = projects[1]
    catalog = load_catalog([_without(_copy_sample(tmp_path), "clawback")])
    table = DealTable.read(_deal_source(project, False),
                           project.deal_columns | catalog.deal_fields)
    folder = tmp_path / "credits"
    found = evaluate(catalog, replace(inputs, deals=table), (), METRICS,
                     engine="duckdb", credit_folder=folder)
    assert found.credit_tables
    import duckdb
    import hashlib

    for digest in found.credit_tables.values():
        path = folder / f"{digest}.parquet"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        rows = duckdb.connect().execute(
            "SELECT count(*), count(DISTINCT deal_id), sum(credit) "
            "FROM read_parquet(?)", [str(path)]
        ).fetchone()
        assert rows[0] > rows[1] > 0


def _copy_sample(tmp_path: Path) -> Path:
    plans = tmp_path / "plans"
    plans.mkdir()
    for path in (ROOT / "plan_specs/fy2026").glob("*.yaml"):
        (plans / path.name).write_bytes(path.read_bytes())
    return plans


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------


def _attain(folder: Path, *args: str, stderr=None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr is None else stderr,
        text=True, check=False,
    )


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """A project whose deal file is over the size "auto" reads into
    DuckDB, with the sample plans less their clawback clause."""
    folder = tmp_path_factory.mktemp("large")
    generate(folder / "data", deals=18_000, seed=5)
    rates = ROOT / "plan_specs/fy2026/data/exchange_rates.csv"
    (folder / "data/exchange_rates.csv").write_bytes(rates.read_bytes())
    plans = _without(_copy_sample(folder), "clawback")
    text = (ROOT / "attain.yaml").read_text(encoding="utf-8")
    text = text.replace("plan_specs/fy2026/data", "data")
    text = text.replace("- plan_specs/fy2026", f"- {plans.name}")
    (folder / "attain.yaml").write_text(text, encoding="utf-8")
    from engine.project import AUTO_BYTES

    assert (folder / "data/deals.csv").stat().st_size > AUTO_BYTES
    return folder


def test_auto_reads_a_large_ledger_into_duckdb(large):
    project = load_project(large / "attain.yaml")
    catalog = load_catalog(project.plans)
    inputs, _ = read_inputs(project, get_plugin_manager(),
                            catalog.deal_fields, engine="auto")
    assert isinstance(inputs.deals, DealTable)
    small, _ = read_inputs(load_project(ROOT / "attain.yaml"),
                           get_plugin_manager(), {}, engine="auto")
    assert isinstance(small.deals, list)


def test_run_records_its_credit_table_and_pays_as_python(large):
    duck = _attain(large, "run")
    assert duck.returncode == 0, duck.stderr
    assert duck.stderr.startswith("Run "), "progress only on a terminal"
    python = _attain(large, "run", "--engine", "python", "--no-store",
                     "--format", "csv")
    assert python.returncode == 0, python.stderr
    written = (large / "out/payouts.csv").read_text(encoding="utf-8")
    assert _paid(written) == _paid(python.stdout)

    shown = _attain(large, "show", duck.stderr.split()[1])
    assert shown.returncode == 0, shown.stderr
    paths = [line.split()[-1] for line in shown.stderr.splitlines()
             if line.startswith("  credits")]
    assert len(paths) == 1
    import duckdb

    deals = duckdb.connect().execute(
        "SELECT count(DISTINCT deal_id) FROM read_parquet(?)",
        [str(large / paths[0])],
    ).fetchone()[0]
    assert deals > 10_000


def _paid(text: str) -> dict:
    import csv
    import io

    return {
        (row["payee_id"], row["period"], row["component"]):
            Decimal(row["amount"])
        for row in csv.DictReader(io.StringIO(text))
    }


def test_explain_lists_the_deals_of_a_large_ledger(large):
    found = _attain(large, "explain", "AE-003", "--period", "FY2026-Q2",
                    "--format", "json")
    assert found.returncode == 0, found.stderr
    import json

    statement = json.loads(found.stdout)
    commission = [line for line in statement["lines"]
                  if line["component"] == "commission"
                  and line["period"] == "FY2026-Q2"]
    deals = commission[0]["trace"]["deals"]
    assert deals and all(
        "2026-05-01" <= d["close_date"] <= "2026-07-31" for d in deals
    )
    python = _attain(large, "run", "--engine", "python", "--no-store",
                     "--format", "csv", "--period", "FY2026-Q2")
    paid = _paid(python.stdout)
    assert Decimal(commission[0]["amount"]) == paid[
        ("AE-003", "FY2026-Q2", "commission")]


def test_progress_is_shown_on_a_terminal(large):
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        done = _attain(large, "run", "--no-store", stderr=follower)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0
    text = shown.decode()
    stages = [line.split("] ", 1)[1] for line in text.splitlines()
              if line.startswith("[")]
    assert stages[0] == "reading the inputs"
    assert "ae-fy2026: credits and measures" in stages
    assert stages[-1] == "writing the payout lines"


# ---------------------------------------------------------------------------
# JSON Lines and Parquet, read directly
# ---------------------------------------------------------------------------


def _formats(projects, tmp_path) -> dict:
    """The seed-1 ledger as CSV, JSON Lines (numbers as JSON numbers)
    and Parquet (typed by DuckDB's sniffer)."""
    import csv
    import json

    import duckdb

    project, _ = projects[1]
    path = project.root / "data/deals.csv"
    lines = []
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            values = {k: v for k, v in row.items() if v != ""}
            for key in ("amount", "probability", "list_price"):
                if key in values:
                    values[key] = _JsonNumber(values[key])
            lines.append(json.dumps({k: (repr(v) if isinstance(v, _JsonNumber) else v) for k, v in values.items()})
                         .replace('"@@', "").replace('@@"', ""))
    (tmp_path / "deals.jsonl").write_text("\n".join(lines) + "\n")
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{path}')) TO "
        f"'{tmp_path / 'deals.parquet'}' (FORMAT parquet)"
    )
    found = {}
    for name, options in (
        ("csv", {"connector": "csv", "path": str(path)}),
        ("jsonl", {"connector": "jsonl", "path": "deals.jsonl"}),
        ("parquet", {"connector": "parquet", "path": "deals.parquet"}),
    ):
        found[name] = _open(connectors(get_plugin_manager()), "deals",
                            options, tmp_path)
    return found


class _JsonNumber(str):
    """A number written into JSON as it was in the CSV."""

    def __repr__(self) -> str:
        return f"@@{self}@@"


def test_json_lines_and_parquet_read_as_the_python_reader(projects,
                                                          tmp_path):
    import json

    from engine.data import read_deals

    formats = _formats(projects, tmp_path)
    first = json.loads((tmp_path / "deals.jsonl").read_text().splitlines()[0])
    assert not isinstance(first["amount"], str)
    columns = {"tech_win": "boolean"}
    expected = [
        (d.deal_id, d.close_date, d.amount, d.stage, d.currency,
         d.attributes["tech_win"], d.attributes["probability"])
        for d in read_deals(formats["csv"], column_types=columns)
    ]
    for name, source in formats.items():
        python = read_deals(source, column_types=columns)
        table = DealTable.read(source, columns)
        found = [
            (d.deal_id, d.close_date, d.amount, d.stage, d.currency,
             d.attributes["tech_win"], d.attributes["probability"])
            for d in table.deals()
        ]
        assert found == expected, name
        assert [d.attributes for d in table.deals()] == [
            d.attributes for d in python
        ], name
        assert table.source.format == name


def _jsonl(tmp_path, *lines: str):
    (tmp_path / "deals.jsonl").write_text("\n".join(lines) + "\n")
    return _open(connectors(get_plugin_manager()), "deals",
                 {"connector": "jsonl", "path": "deals.jsonl"}, tmp_path)


def test_a_long_json_number_is_left_to_python(tmp_path):
    from engine.project import _ledger

    source = _jsonl(
        tmp_path,
        '{"deal_id": "D1", "close_date": "2026-02-01", "owner": "A", '
        '"amount": 0.1000000000000000055511151231257827}',
    )
    with pytest.raises(NotColumnar):
        DealTable.read(source)
    (deal,) = _ledger(source, {}, "duckdb")
    assert deal.amount == Decimal("0.1000000000000000055511151231257827")


def test_json_values_of_another_kind_read_as_python_reads_them(tmp_path):
    source = _jsonl(
        tmp_path,
        '{"deal_id": "D1", "close_date": "2026-02-01", "owner": "A", '
        '"amount": 12.50, "region": 7, "segment": true, "industry": 2.50}',
        "",
        '{"deal_id": "D2", "close_date": "2026-02-02", "owner": "A", '
        '"amount": 1e3, "note": "kept"}',
    )
    d1, d2 = DealTable.read(source).deals()
    assert (d1.amount, d2.amount) == (Decimal("12.50"), Decimal("1000"))
    assert d1.attributes["region"] == "7"
    assert d1.attributes["segment"] == "true"
    assert d1.attributes["industry"] == "2.50"
    assert d2.attributes["note"] == "kept" and d1.attributes["note"] is None


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_bad_ledger_is_reported_before_a_bad_roster(tmp_path, engine):
    """The roster is read while DuckDB reads the ledger; when both are
    wrong, the ledger's fault is the one reported, on either engine."""
    (tmp_path / "deals.csv").write_text(
        HEADER + "D1,2026-02-01,5.5,A,won,\nD2,2026-02-31,1,A,won,\n",
        encoding="utf-8",
    )
    (tmp_path / "roster.csv").write_text(
        "payee_id,name,role,hire_date\nA,Ann,ae,not a date\n",
        encoding="utf-8",
    )
    (tmp_path / "attain.yaml").write_text(yaml.safe_dump({
        "kind": "project", "name": "Both wrong", "plans": ["plans"],
        "data": {
            "deals": {"connector": "csv", "path": "deals.csv"},
            "roster": {"connector": "csv", "path": "roster.csv"},
        },
    }), encoding="utf-8")
    project = load_project(tmp_path / "attain.yaml")

    with pytest.raises(DataError) as caught:
        read_inputs(project, get_plugin_manager(), {}, engine=engine)

    assert caught.value.source.endswith("deals.csv")
    assert (caught.value.row, caught.value.column) == (3, "close_date")

    (tmp_path / "deals.csv").write_text(
        HEADER + "D1,2026-02-01,5.5,A,won,\n", encoding="utf-8"
    )
    with pytest.raises(DataError) as caught:
        read_inputs(project, get_plugin_manager(), {}, engine=engine)
    assert caught.value.column == "hire_date"
