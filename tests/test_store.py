"""The run store, on SQLite and on PostgreSQL (see the store_url fixture)."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from engine.errors import StoreError
from engine.later import Later
from engine.results import PayoutLine, PlanRef, RunResult
from engine.store import SCHEMA_VERSION, Store, default_url, redact
from engine.store import schema as store_schema
from engine.store import store as store_module

UTC = timezone.utc
BIG = Decimal("12345678901234567.1234567890")
TABLES = ("runs", "run_plans", "run_inputs", "payout_lines", "run_totals",
          "run_credit_tables")


def line(
    amount: str,
    payee: str = "ana",
    currency: str = "USD",
    trace: dict | None = None,
) -> PayoutLine:
    return PayoutLine(
        payee_id=payee,
        payee_name=payee.title(),
        plan_id="ae-2026",
        plan_version="3",
        period="2026-Q1",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        component="commission",
        component_name="Commission",
        amount=Decimal(amount),
        currency=currency,
        trace=trace if trace is not None else {"attainment": "1.2"},
    )


def make_run(
    lines: list[PayoutLine] | None = None,
    run_id: str | None = None,
    started_at: datetime = datetime(2026, 4, 2, 9, 30, tzinfo=UTC),
) -> RunResult:
    return RunResult(
        run_id=run_id or uuid.uuid4().hex,
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=42),
        engine_version="0.1.0",
        project="acme",
        periods=["2026-Q1"],
        plans=[
            PlanRef("ae-2026", "3", "sha256:aa", "plans/ae.yaml"),
            PlanRef("se-2026", "1", "sha256:bb", "plans/se.yaml"),
        ],
        inputs={"deals": "sha256:d1", "roster": "sha256:r1"},
        lines=lines if lines is not None else [line("100.00")],
    )


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: connection.execute(
                    text(f"SELECT count(*) FROM {table}")
                ).scalar_one()
                for table in TABLES
            }
    finally:
        engine.dispose()


def execute_sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def columns(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            present = set(found.get_table_names())
            return {
                table: {c["name"] for c in found.get_columns(table)}
                for table in ("attain_meta",) + TABLES
                if table in present
            }
    finally:
        engine.dispose()


# Round trips ------------------------------------------------------------


def test_run_reads_back_equal_with_exact_money_and_dates(store: Store):
    trace = {
        "measure": "bookings",
        "attainment": "1.25",
        "deals": [{"id": "D-1", "share": "0.10"}, {"id": "D-2", "ok": True}],
        "band": None,
        "count": 3,
    }
    run = make_run(
        [
            line(str(BIG), trace=trace),
            line("0.10", payee="bo"),
            line("-4000.00", payee="cy", currency="EUR"),
            line("0", payee="di"),
        ],
        started_at=datetime(
            2026, 4, 2, 11, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2))
        ),
    )

    assert store.save_run(run) == run.run_id
    back = store.get_run(run.run_id)

    assert back == run
    assert [str(x.amount) for x in back.lines] == [
        str(BIG), "0.10", "-4000.00", "0"
    ]
    assert all(isinstance(x.amount, Decimal) for x in back.lines)
    in_utc = datetime(2026, 4, 2, 9, 30, 0, 123456, tzinfo=UTC)
    assert back.started_at == in_utc
    assert back.started_at.utcoffset() == timedelta(0)
    assert back.lines[0].period_end == date(2026, 3, 31)
    assert back.lines[0].trace == trace


def test_lines_keep_their_order_across_write_batches(store: Store):
    count = store_module._LINE_BATCH * 2 + 7
    lines = [line(f"{n}.01", payee=f"p{n:05d}") for n in range(count)]
    lines.reverse()
    run = make_run(lines)

    store.save_run(run)
    back = store.get_run(run.run_id)

    assert [x.payee_id for x in back.lines] == [x.payee_id for x in lines]
    assert store.list_runs()[0].line_count == count


def test_naive_datetime_is_refused(store: Store):
    run = make_run(started_at=datetime(2026, 4, 2, 9, 30))

    with pytest.raises(StoreError, match="must carry a time zone"):
        store.save_run(run)
    assert store.list_runs() == []


def test_float_amount_is_refused(store: Store):
    bad = line("1.00")
    bad.amount = 0.1  # type: ignore[assignment]

    with pytest.raises(StoreError, match="finite Decimal"):
        store.save_run(make_run([bad]))
    assert store.list_runs() == []


# Listing runs -----------------------------------------------------------


def test_list_runs_is_newest_first_and_limited(store: Store):
    day = datetime(2026, 4, 1, tzinfo=UTC)
    runs = [make_run(started_at=day + timedelta(days=n)) for n in (1, 3, 2)]
    for run in runs:
        store.save_run(run)

    listed = store.list_runs()
    newest_two = store.list_runs(limit=2)

    assert [s.run_id for s in listed] == [
        runs[1].run_id, runs[2].run_id, runs[0].run_id
    ]
    assert [s.run_id for s in newest_two] == [runs[1].run_id, runs[2].run_id]
    assert listed[0].started_at == day + timedelta(days=3)
    assert listed[0].plans == [("ae-2026", "3"), ("se-2026", "1")]
    assert listed[0].periods == ["2026-Q1"]
    assert listed[0].status == "succeeded"


def test_list_runs_totals_are_exact_per_currency(store: Store):
    amounts = ["0.10", "0.20", str(BIG), "-0.30", "99999999999999999.99"]
    lines = [line(a, payee=f"p{i}") for i, a in enumerate(amounts)]
    lines.append(line("10.005", payee="eu", currency="EUR"))
    store.save_run(make_run(lines))

    summary = store.list_runs()[0]

    expected_usd = sum((Decimal(a) for a in amounts), Decimal(0))
    assert summary.total_by_currency == {
        "EUR": Decimal("10.005"),
        "USD": expected_usd,
    }
    assert str(summary.total_by_currency["USD"]) == str(expected_usd)
    assert summary.line_count == 6


def test_run_without_lines_is_listed_with_no_totals(store: Store):
    store.save_run(make_run([]))

    summary = store.list_runs()[0]

    assert summary.line_count == 0
    assert summary.total_by_currency == {}


def test_empty_store_lists_no_runs(store: Store):
    assert store.list_runs() == []


def test_list_runs_needs_a_positive_limit(store: Store):
    with pytest.raises(ValueError):
        store.list_runs(limit=0)


# Finding a run ----------------------------------------------------------


def test_get_run_by_unique_prefix(store: Store):
    wanted = make_run(run_id="abcdef" + "0" * 26)
    other = make_run(run_id="abcxyz" + "0" * 26)
    store.save_run(wanted)
    store.save_run(other)

    assert store.get_run("abcd").run_id == wanted.run_id
    assert store.get_run("abcx").run_id == other.run_id
    assert store.get_run(" abcdef ").run_id == wanted.run_id


def test_unknown_run_says_where_and_how_to_list(store: Store, store_url: str):
    store.save_run(make_run(run_id="1234" + "0" * 28))

    with pytest.raises(StoreError) as caught:
        store.get_run("abcd")

    assert str(caught.value) == (
        f"No run 'abcd' in the store at {redact(store_url)}. "
        "Runs are listed by `attain runs`."
    )


def test_prefix_is_matched_with_its_case(store: Store):
    store.save_run(make_run(run_id="abcd" + "0" * 28))

    with pytest.raises(StoreError, match="No run 'ABCD'"):
        store.get_run("ABCD")


def test_prefix_wildcards_are_taken_literally(store: Store):
    store.save_run(make_run(run_id="abcd" + "0" * 28))

    with pytest.raises(StoreError, match="No run"):
        store.get_run("ab_d")
    with pytest.raises(StoreError, match="No run"):
        store.get_run("abc%")


def test_ambiguous_prefix_lists_the_candidates(store: Store):
    first = "abcd1" + "0" * 27
    second = "abcd2" + "0" * 27
    store.save_run(make_run(run_id=second))
    store.save_run(make_run(run_id=first))
    store.save_run(make_run(run_id="ffff" + "0" * 28))

    with pytest.raises(StoreError) as caught:
        store.get_run("abcd")

    message = str(caught.value)
    assert "matches 2 runs" in message
    assert f"{first}, {second}" in message
    assert "ffff" not in message


def test_prefix_shorter_than_four_characters_is_refused(store: Store):
    store.save_run(make_run(run_id="abcd" + "0" * 28))

    with pytest.raises(StoreError, match="at least 4 characters"):
        store.get_run("abc")


# Failed saves -----------------------------------------------------------


def test_trace_with_a_decimal_fails_the_save_and_leaves_no_rows(
    store: Store, store_url: str
):
    store.save_run(make_run())
    before = row_counts(store_url)
    lines = [line("1.00", payee=f"p{n}") for n in range(3)]
    lines.append(line("2.00", trace={"deals": [{"share": Decimal("0.5")}]}))
    failing = make_run(lines)

    with pytest.raises(StoreError) as caught:
        store.save_run(failing)

    assert "$.deals[0].share" in str(caught.value)
    assert "Decimal('0.5')" in str(caught.value)
    assert row_counts(store_url) == before
    with pytest.raises(StoreError, match="No run"):
        store.get_run(failing.run_id)


def test_failure_at_the_last_insert_rolls_back_the_whole_run(
    store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch
):
    store.save_run(make_run())
    before = row_counts(store_url)

    def clashing_totals(run: RunResult):
        row = {"run_id": run.run_id, "currency": "USD", "total": Decimal(1)}
        return iter([row, dict(row)])

    monkeypatch.setattr(store_module, "_total_rows", clashing_totals)
    with pytest.raises(StoreError, match="was not saved"):
        store.save_run(make_run([line("5.00")] * 20))

    assert row_counts(store_url) == before
    assert len(store.list_runs()) == 1


def test_run_id_already_saved_is_refused_and_kept(store: Store):
    run = make_run([line("7.00")])
    store.save_run(run)
    again = make_run([line("8.00")], run_id=run.run_id)

    with pytest.raises(StoreError, match="already in the store"):
        store.save_run(again)

    assert store.get_run(run.run_id).lines[0].amount == Decimal("7.00")


def test_database_error_on_reading_is_a_store_error(
    store: Store, store_url: str
):
    store.save_run(make_run())
    execute_sql(store_url, "DROP TABLE run_totals")

    with pytest.raises(StoreError, match="Cannot read the run store"):
        store.list_runs()


def test_closed_store_says_so(store_url: str):
    store = Store.open(store_url)
    store.close()

    with pytest.raises(StoreError, match="is not open"):
        store.list_runs()


# Schema versions --------------------------------------------------------

V1_DDL = """
CREATE TABLE attain_meta (
    id INTEGER NOT NULL PRIMARY KEY,
    schema_version INTEGER NOT NULL
);
CREATE TABLE runs (
    run_id VARCHAR NOT NULL PRIMARY KEY,
    started_at {datetime} NOT NULL,
    finished_at {datetime} NOT NULL,
    engine_version VARCHAR NOT NULL,
    project VARCHAR NOT NULL,
    periods TEXT NOT NULL
);
CREATE INDEX ix_runs_started_at ON runs (started_at);
CREATE TABLE run_plans (
    run_id VARCHAR NOT NULL REFERENCES runs (run_id),
    position INTEGER NOT NULL,
    plan_id VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE run_inputs (
    run_id VARCHAR NOT NULL REFERENCES runs (run_id),
    name VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE payout_lines (
    run_id VARCHAR NOT NULL REFERENCES runs (run_id),
    line_no INTEGER NOT NULL,
    payee_id VARCHAR NOT NULL,
    payee_name VARCHAR NOT NULL,
    plan_id VARCHAR NOT NULL,
    plan_version VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    component VARCHAR NOT NULL,
    component_name VARCHAR NOT NULL,
    amount {money} NOT NULL,
    currency VARCHAR NOT NULL,
    trace TEXT NOT NULL,
    PRIMARY KEY (run_id, line_no)
);
CREATE TABLE run_totals (
    run_id VARCHAR NOT NULL REFERENCES runs (run_id),
    currency VARCHAR NOT NULL,
    total {money} NOT NULL,
    PRIMARY KEY (run_id, currency)
);
INSERT INTO attain_meta (id, schema_version) VALUES (1, 1);
INSERT INTO runs VALUES
    ('{run_id}', '{started}', '{finished}', '0.0.9', 'acme', '["2025-Q4"]');
INSERT INTO run_plans VALUES
    ('{run_id}', 0, 'ae-2025', '7', 'sha256:old', 'plans/ae.yaml');
INSERT INTO run_inputs VALUES ('{run_id}', 'deals', 'sha256:d0');
INSERT INTO payout_lines VALUES
    ('{run_id}', 0, 'ana', 'Ana', 'ae-2025', '7', '2025-Q4', '2025-10-01',
     '2025-12-31', 'commission', 'Commission', '{amount}', 'USD',
     '{{"rate":"0.10"}}');
INSERT INTO run_totals VALUES ('{run_id}', 'USD', '{amount}')
"""

V1_TYPES = {
    "sqlite": {
        "datetime": "DATETIME",
        "money": "VARCHAR",
        "started": "2026-01-05 08:00:00.000000",
        "finished": "2026-01-05 08:01:00.000000",
    },
    "postgresql": {
        "datetime": "TIMESTAMP WITH TIME ZONE",
        "money": "NUMERIC",
        "started": "2026-01-05 08:00:00+00",
        "finished": "2026-01-05 08:01:00+00",
    },
}

V1_RUN_ID = "0a1b" + "c" * 28


def create_v1_store(url: str) -> None:
    """A database as schema version 1 left it, holding one run."""
    backend = make_url(url).get_backend_name()
    script = V1_DDL.format(run_id=V1_RUN_ID, amount=BIG, **V1_TYPES[backend])
    execute_sql(url, *script.split(";"))


def test_version_1_store_is_migrated_and_keeps_its_run(store_url: str):
    create_v1_store(store_url)

    with Store.open(store_url) as store:
        old = store.get_run("0a1b")
        store.save_run(make_run())
        listed = store.list_runs()

        assert store.schema_version == SCHEMA_VERSION == 5
    assert old.status == "succeeded"
    assert old.started_at == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert old.plans == [
        PlanRef("ae-2025", "7", "sha256:old", "plans/ae.yaml")
    ]
    assert old.inputs == {"deals": "sha256:d0"}
    assert old.lines[0].amount == BIG
    assert old.lines[0].period_start == date(2025, 10, 1)
    assert old.lines[0].trace == {"rate": "0.10"}
    assert [s.run_id for s in listed][1] == V1_RUN_ID
    assert listed[1].total_by_currency == {"USD": BIG}
    assert "status" in columns(store_url)["runs"]
    assert "run_credit_tables" in columns(store_url)


def test_run_keeps_the_names_of_its_credit_tables(store: Store):
    run = make_run()
    run.credit_tables = {"new-business/USD/close_date": "ab" * 32}
    store.save_run(run)

    assert store.get_run(run.run_id).credit_tables == run.credit_tables


def test_credit_tables_still_being_written_are_waited_for(store: Store):
    """The payout lines go in while the credit tables are written; the
    run is stored once both are done, with the tables' names."""
    written = threading.Event()

    def write():
        written.wait(5)
        return {"new-business/USD/close_date": "cd" * 32}

    run = make_run()
    run.credit_tables = Later(write, ["new-business/USD/close_date"],
                              "test-write")
    threading.Timer(0.2, written.set).start()
    store.save_run(run)

    assert store.get_run(run.run_id).credit_tables == {
        "new-business/USD/close_date": "cd" * 32
    }


def test_a_failed_credit_table_leaves_no_run(store: Store):
    def write():
        raise OSError("No space left on device")

    run = make_run()
    run.credit_tables = Later(write, ["new-business/USD/close_date"],
                              "test-write")

    with pytest.raises(OSError, match="No space"):
        store.save_run(run)

    assert store.list_runs() == []


def test_migrated_store_has_the_tables_of_a_new_one(
    store_url: str, tmp_path: Path
):
    create_v1_store(store_url)
    Store.open(store_url).close()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    Store.open(fresh).close()

    assert columns(store_url) == columns(fresh)


def test_failed_migration_leaves_the_store_at_its_version(
    store_url: str, monkeypatch: pytest.MonkeyPatch
):
    create_v1_store(store_url)

    add_status = store_schema.MIGRATIONS[0]

    def half_done(connection):
        add_status(connection)
        connection.exec_driver_sql("ALTER TABLE no_such_table ADD x INTEGER")

    monkeypatch.setattr(store_schema, "MIGRATIONS", [half_done])

    with pytest.raises(StoreError, match="Cannot open the run store"):
        Store.open(store_url)

    assert "status" not in columns(store_url)["runs"]
    monkeypatch.undo()
    with Store.open(store_url) as store:
        assert store.get_run(V1_RUN_ID).status == "succeeded"


def test_newer_schema_is_refused_and_left_unchanged(store_url: str):
    with Store.open(store_url) as store:
        store.save_run(make_run())
    execute_sql(store_url, "UPDATE attain_meta SET schema_version = 99")
    before = (columns(store_url), row_counts(store_url))

    with pytest.raises(StoreError) as caught:
        Store.open(store_url)

    message = str(caught.value)
    assert "schema version 99" in message
    assert "Upgrade Attain" in message
    assert (columns(store_url), row_counts(store_url)) == before
    engine = create_engine(store_url)
    with engine.connect() as connection:
        version = connection.exec_driver_sql(
            "SELECT schema_version FROM attain_meta"
        ).scalar_one()
    engine.dispose()
    assert version == 99


def test_foreign_runs_table_is_not_taken_for_a_store(store_url: str):
    execute_sql(store_url, "CREATE TABLE runs (id INTEGER PRIMARY KEY)")

    with pytest.raises(StoreError, match="not an Attain run store"):
        Store.open(store_url)


def test_store_opens_again_without_migrating(store_url: str):
    with Store.open(store_url) as store:
        store.save_run(make_run())
    with Store.open(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert len(store.list_runs()) == 1


# URLs and secrets -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://attain:hunter2@db.example:5432/pay",
            "postgresql+psycopg://attain:***@db.example:5432/pay",
        ),
        (
            "postgresql+psycopg://attain@db/pay?sslmode=require&password=x1",
            "postgresql+psycopg://attain@db/pay?password=***&sslmode=require",
        ),
        (
            "postgresql+psycopg://attain@127.0.0.1:5432/pay",
            "postgresql+psycopg://attain@127.0.0.1:5432/pay",
        ),
        ("sqlite:////srv/acme/.attain/attain.db",) * 2,
        ("not a url://me:pw@host", "not a url://me:***@host"),
    ],
)
def test_redact_hides_passwords_only(url: str, shown: str):
    assert redact(url) == shown


def test_open_failure_names_the_store_without_its_password():
    # Port 1 on loopback refuses at once: nothing listens there.
    url = "postgresql+psycopg://attain:s3cr3t-pw@127.0.0.1:1/pay"

    with pytest.raises(StoreError) as caught:
        Store.open(url)

    message = str(caught.value)
    assert "s3cr3t-pw" not in message
    assert "attain:***@127.0.0.1:1/pay" in message


def test_malformed_url_is_a_store_error():
    with pytest.raises(StoreError, match="is not a database URL"):
        Store.open("attain.db")


def test_default_url_is_inside_the_project(tmp_path: Path):
    url = default_url(tmp_path)

    assert url == f"sqlite:///{tmp_path.resolve()}/.attain/attain.db"
    with Store.open(url) as store:
        assert store.list_runs() == []
    assert (tmp_path / ".attain" / "attain.db").is_file()


def test_creating_a_store_does_not_touch_the_database(tmp_path: Path):
    store = Store(default_url(tmp_path))

    assert store.schema_version == 0
    assert not (tmp_path / ".attain").exists()


def test_no_other_module_imports_the_store_when_imported():
    # Walks the packages by hand: pkgutil.walk_packages would import
    # engine.store itself to look inside it. A __main__ runs the CLI.
    probe = """
import importlib, pkgutil, sys

def walk(package):
    prefix = package.__name__ + "."
    for found in pkgutil.iter_modules(package.__path__, prefix):
        if found.name == "engine.store" or found.name.endswith("__main__"):
            continue
        module = importlib.import_module(found.name)
        if "sqlmodel" in sys.modules:
            print(found.name)
            sys.exit(0)
        if found.ispkg:
            walk(module)

for name in ("engine", "plugins"):
    walk(importlib.import_module(name))
"""

    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "", f"{done.stdout.strip()} imports the store"


# ---------------------------------------------------------------------------
# Closed periods and manual adjustments
# ---------------------------------------------------------------------------


def test_a_closed_period_keeps_its_run_and_closes_once(store: Store):
    from engine.closing import ClosedPeriod

    run = make_run()
    store.save_run(run)
    when = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
    closing = ClosedPeriod(run.lines[0].period, run.run_id, when, "comp-admin",
                           {"deals": "sha256:d1"})
    store.close_period(closing)

    assert store.closed_periods() == {closing.period: closing}
    assert store.frozen_lines() == {closing.period: run.lines}
    with pytest.raises(StoreError, match="stays closed"):
        store.close_period(closing)
    assert store.closed_periods() == {closing.period: closing}


def test_adjustments_round_trip_exactly_in_order(store: Store):
    from engine.closing import Adjustment

    first = Adjustment("a" * 32, "AE-1", "FY2026-Q2", Decimal("1500.005"),
                       "Spiff approved", "jo",
                       datetime(2026, 5, 1, tzinfo=UTC))
    second = Adjustment("b" * 32, "AE-2", "FY2026-Q2", Decimal("-20"),
                        "Correction", "jo",
                        datetime(2026, 5, 2, tzinfo=UTC), plan_id="ae")
    store.add_adjustments([second, first])
    assert store.adjustments() == [first, second]
