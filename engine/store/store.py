"""The run store: every run recorded, and read back exactly as it was."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    NoSuchModuleError,
    SQLAlchemyError,
)
from sqlmodel import Session, col, select

from engine.closing import Adjustment, ClosedPeriod
from engine.errors import StoreError
from engine.results import PayoutLine, PlanRef, RunResult
from engine.store.models import (
    AdjustmentRow,
    ClosedPeriodRow,
    PayoutLineRow,
    RunCreditTableRow,
    RunInputRow,
    RunPlanRow,
    RunRow,
    RunTotalRow,
    table_of,
)
from engine.store.schema import prepare
from engine.store.urls import redact, scrub

logger = logging.getLogger(__name__)

MIN_PREFIX = 4
"""The fewest characters of a run id that :meth:`Store.get_run` accepts."""

_LINE_BATCH = 5000
_CANDIDATES_SHOWN = 10


@dataclass(frozen=True)
class RunSummary:
    """One run as ``attain runs`` lists it: when, what, and how much.

    ``plans`` holds ``(plan_id, version)`` pairs in the order the run
    evaluated them.
    """

    run_id: str
    started_at: datetime
    finished_at: datetime
    status: str
    periods: list[str]
    plans: list[tuple[str, str]]
    line_count: int
    total_by_currency: dict[str, Decimal]


class Store:
    """The runs recorded in one database, SQLite or PostgreSQL.

    ``Store(url)`` only remembers the URL; :meth:`open` connects and
    brings the schema up to date. ``schema_version`` is 0 until then.
    """

    def __init__(self, url: str):
        self.url = url
        self.schema_version = 0
        self._engine: Engine | None = None

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to the store at ``url``, creating or migrating it."""
        store = cls(url)
        store._connect()
        return store

    @property
    def where(self) -> str:
        """The URL with its password hidden, for messages."""
        return redact(self.url)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def save_run(self, run: RunResult) -> str:
        """Record ``run`` in one transaction and return its id.

        Either everything is written (the run, its plans, input hashes,
        payout lines and totals) or, on any error, nothing is.
        """
        engine = self._connected()
        try:
            with engine.begin() as connection:
                _insert_run(connection, run, self.where)
        except StoreError as exc:
            message = f"Run '{run.run_id}' was not saved: {exc}"
            raise StoreError(message) from exc
        except SQLAlchemyError as exc:
            raise self._save_failed(run, exc) from exc

        logger.info(
            "Saved run %s (%d payout lines) to %s",
            run.run_id, len(run.lines), self.where,
        )
        return run.run_id

    def list_runs(self, limit: int = 50) -> list[RunSummary]:
        """The latest ``limit`` runs, newest first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1; got {limit}.")
        with self._session() as session:
            runs = session.exec(
                select(RunRow)
                .order_by(col(RunRow.started_at).desc())
                .order_by(col(RunRow.run_id).desc())
                .limit(limit)
            ).all()
            return _summaries(session, list(runs))

    def get_run(self, run_id_or_prefix: str) -> RunResult:
        """The run with this id, or the only run whose id starts with it.

        A prefix needs at least :data:`MIN_PREFIX` characters.
        """
        with self._session() as session:
            run_id = self._resolve(session, run_id_or_prefix.strip())
            return _load_run(session, run_id)

    # -- closed periods and adjustments ------------------------------------

    def close_period(self, closing: ClosedPeriod) -> None:
        """Freeze a period as the lines of ``closing.run_id``.

        A period closes once: closing it again is an error, and nothing
        changes.
        """
        row = ClosedPeriodRow(
            period=closing.period,
            run_id=closing.run_id,
            closed_at=closing.closed_at,
            closed_by=closing.closed_by,
            inputs=dict(closing.inputs),
        )
        with self._session() as session:
            earlier = session.get(ClosedPeriodRow, closing.period)
            if earlier is not None:
                raise StoreError(
                    f"{closing.period} was closed on "
                    f"{earlier.closed_at:%Y-%m-%d} by {earlier.closed_by}; "
                    "a closed period stays closed."
                )
            session.add(row)
            session.commit()

    def closed_periods(self) -> dict[str, ClosedPeriod]:
        with self._session() as session:
            rows = session.exec(select(ClosedPeriodRow)).all()
            return {
                row.period: ClosedPeriod(
                    row.period, row.run_id, row.closed_at, row.closed_by,
                    dict(row.inputs),
                )
                for row in rows
            }

    def frozen_lines(self) -> dict[str, list[PayoutLine]]:
        """The lines each closed period was frozen with."""
        frozen: dict[str, list[PayoutLine]] = {}
        for period, closing in self.closed_periods().items():
            lines = self.get_run(closing.run_id).lines
            frozen[period] = [line for line in lines if line.period == period]
        return frozen

    def add_adjustments(self, adjustments: Iterable[Adjustment]) -> None:
        """Record manual adjustments, all or none."""
        rows = [
            AdjustmentRow(
                adjustment_id=a.adjustment_id,
                payee_id=a.payee_id,
                period=a.period,
                amount=a.amount,
                reason=a.reason,
                author=a.author,
                created_at=a.created_at,
                plan_id=a.plan_id,
            )
            for a in adjustments
        ]
        with self._session() as session:
            session.add_all(rows)
            session.commit()

    def adjustments(self) -> list[Adjustment]:
        with self._session() as session:
            rows = session.exec(
                select(AdjustmentRow).order_by(
                    col(AdjustmentRow.created_at),
                    col(AdjustmentRow.adjustment_id),
                )
            ).all()
            return [
                Adjustment(
                    row.adjustment_id, row.payee_id, row.period, row.amount,
                    row.reason, row.author, row.created_at, row.plan_id,
                )
                for row in rows
            ]

    def _connect(self) -> None:
        engine = _create_engine(self.url)
        try:
            with engine.begin() as connection:
                self.schema_version = prepare(connection, self.where)
        except StoreError:
            engine.dispose()
            raise
        except SQLAlchemyError as exc:
            engine.dispose()
            reason = scrub(_reason(exc), self.url)
            raise StoreError(
                f"Cannot open the run store at {self.where}: {reason}"
            ) from exc
        self._engine = engine
        logger.debug(
            "Opened the run store at %s (schema version %d)",
            self.where, self.schema_version,
        )

    def _connected(self) -> Engine:
        if self._engine is None:
            raise StoreError(
                f"The run store at {self.where} is not open; open it with "
                "Store.open(url)."
            )
        return self._engine

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A session whose database errors become StoreErrors."""
        engine = self._connected()
        try:
            with Session(engine) as session:
                yield session
        except SQLAlchemyError as exc:
            reason = scrub(_reason(exc), self.url)
            raise StoreError(
                f"Cannot read the run store at {self.where}: {reason}"
            ) from exc

    def _resolve(self, session: Session, key: str) -> str:
        if key and session.get(RunRow, key) is not None:
            return key
        if len(key) < MIN_PREFIX:
            raise StoreError(
                f"A run id prefix needs at least {MIN_PREFIX} characters; "
                f"'{key}' has {len(key)}."
            )

        found = session.exec(
            select(RunRow.run_id).where(
                col(RunRow.run_id).startswith(key, autoescape=True)
            )
        ).all()
        # SQLite's LIKE ignores case; run ids are compared exactly.
        matches = sorted(run_id for run_id in found if run_id.startswith(key))
        if not matches:
            raise StoreError(
                f"No run '{key}' in the store at {self.where}. "
                "Runs are listed by `attain runs`."
            )
        if len(matches) > 1:
            raise StoreError(_ambiguous(key, matches, self.where))
        return matches[0]

    def _save_failed(self, run: RunResult, exc: SQLAlchemyError) -> StoreError:
        # Errors raised by a column type reach us wrapped by SQLAlchemy.
        cause = getattr(exc, "orig", None)
        if isinstance(cause, StoreError):
            return StoreError(f"Run '{run.run_id}' was not saved: {cause}")
        reason = scrub(_reason(exc), self.url)
        return StoreError(
            f"Run '{run.run_id}' was not saved to the store at "
            f"{self.where}: {reason}"
        )


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreError(
            f"'{redact(url)}' is not a database URL; give one such as "
            "sqlite:///path/to/attain.db or "
            "postgresql+psycopg://user@host:5432/db."
        ) from None

    try:
        if parsed.get_backend_name() == "sqlite":
            return _create_sqlite_engine(parsed)
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError:
        raise StoreError(
            f"No database driver for '{parsed.drivername}' is installed; "
            "for PostgreSQL install attain[postgres] and use a "
            "postgresql+psycopg:// URL."
        ) from None
    except ImportError as exc:
        raise StoreError(
            f"The database driver for '{parsed.drivername}' cannot be "
            f"imported: {exc}. For PostgreSQL install attain[postgres]."
        ) from None


def _create_sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    # The sqlite3 module opens transactions late and never around DDL;
    # beginning them here makes every write, migrations included, atomic.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def _insert_run(connection: Connection, run: RunResult, where: str) -> None:
    runs = table_of(RunRow)
    exists = connection.execute(
        select(runs.c.run_id).where(runs.c.run_id == run.run_id)
    ).first()
    if exists:
        raise StoreError(
            f"a run with this id is already in the store at {where}; "
            "each run is saved once, under an id of its own."
        )

    connection.execute(insert(runs), [_run_row(run)])
    _insert_rows(connection, RunPlanRow, _plan_rows(run))
    _insert_rows(connection, RunInputRow, _input_rows(run))
    _insert_rows(connection, PayoutLineRow, _line_rows(run))
    _insert_rows(connection, RunTotalRow, _total_rows(run))
    # Last: the credit tables may still be being written meanwhile.
    _insert_rows(connection, RunCreditTableRow, (
        {"run_id": run.run_id, "crediting": key, "content_hash": digest}
        for key, digest in run.credit_tables.items()
    ))


def _insert_rows(
    connection: Connection, model: type, rows: Iterable[dict[str, Any]]
) -> None:
    """Insert ``rows`` a batch at a time, each batch in one executemany
    of the driver. The statement is compiled once and each value goes
    through its column's type as SQLAlchemy would convert it, without
    the work SQLAlchemy does for every row of a general statement."""
    table = table_of(model)
    dialect = connection.dialect
    compiled = insert(table).compile(
        dialect=dialect, column_keys=[c.key for c in table.columns]
    )
    names = list(compiled.positiontup or compiled.binds)
    converters = [
        (name, table.c[name].type.dialect_impl(dialect).bind_processor(
            dialect
        ))
        for name in names
    ]

    shape = tuple if compiled.positional else (
        lambda converted: dict(zip(names, converted))
    )

    def values(row: dict[str, Any]) -> Any:
        return shape([
            row[name] if convert is None else convert(row[name])
            for name, convert in converters
        ])

    iterator = iter(rows)
    while batch := list(islice(iterator, _LINE_BATCH)):
        connection.exec_driver_sql(
            compiled.string, [values(row) for row in batch]
        )


def _run_row(run: RunResult) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "engine_version": run.engine_version,
        "project": run.project,
        "periods": list(run.periods),
        "status": run.status,
    }


def _plan_rows(run: RunResult) -> Iterator[dict[str, Any]]:
    for position, plan in enumerate(run.plans):
        yield {
            "run_id": run.run_id,
            "position": position,
            "plan_id": plan.plan_id,
            "version": plan.version,
            "content_hash": plan.content_hash,
            "path": plan.path,
            "commit": plan.commit,
            "dirty": plan.dirty,
        }


def _input_rows(run: RunResult) -> Iterator[dict[str, Any]]:
    for name, content_hash in run.inputs.items():
        yield {
            "run_id": run.run_id,
            "name": name,
            "content_hash": content_hash,
        }


def _line_rows(run: RunResult) -> Iterator[dict[str, Any]]:
    for line_no, line in enumerate(run.lines):
        yield {
            "run_id": run.run_id,
            "line_no": line_no,
            "payee_id": line.payee_id,
            "payee_name": line.payee_name,
            "plan_id": line.plan_id,
            "plan_version": line.plan_version,
            "period": line.period,
            "period_start": line.period_start,
            "period_end": line.period_end,
            "component": line.component,
            "component_name": line.component_name,
            "amount": line.amount,
            "currency": line.currency,
            "trace": line.trace,
        }


def _total_rows(run: RunResult) -> Iterator[dict[str, Any]]:
    for currency, total in _totals(run.lines).items():
        yield {"run_id": run.run_id, "currency": currency, "total": total}


def _totals(lines: Iterable[PayoutLine]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line.currency] += line.amount
    return dict(sorted(totals.items()))


def _summaries(session: Session, runs: list[RunRow]) -> list[RunSummary]:
    ids = [run.run_id for run in runs]

    plans: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for plan in session.exec(
        select(RunPlanRow)
        .where(col(RunPlanRow.run_id).in_(ids))
        .order_by(col(RunPlanRow.run_id), col(RunPlanRow.position))
    ):
        plans[plan.run_id].append((plan.plan_id, plan.version))

    counts = dict(
        session.exec(
            select(PayoutLineRow.run_id, func.count())
            .where(col(PayoutLineRow.run_id).in_(ids))
            .group_by(col(PayoutLineRow.run_id))
        ).all()
    )

    totals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for total in session.exec(
        select(RunTotalRow)
        .where(col(RunTotalRow.run_id).in_(ids))
        .order_by(col(RunTotalRow.currency))
    ):
        totals[total.run_id][total.currency] = total.total

    return [
        RunSummary(
            run_id=run.run_id,
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=run.status,
            periods=list(run.periods),
            plans=plans[run.run_id],
            line_count=counts.get(run.run_id, 0),
            total_by_currency=totals[run.run_id],
        )
        for run in runs
    ]


def _load_run(session: Session, run_id: str) -> RunResult:
    run = session.get(RunRow, run_id)
    if run is None:  # removed between lookup and load
        raise StoreError(f"Run '{run_id}' is no longer in the store.")

    plans = session.exec(
        select(RunPlanRow)
        .where(RunPlanRow.run_id == run_id)
        .order_by(col(RunPlanRow.position))
    ).all()
    inputs = session.exec(
        select(RunInputRow)
        .where(RunInputRow.run_id == run_id)
        .order_by(col(RunInputRow.name))
    ).all()
    credit_tables = session.exec(
        select(RunCreditTableRow)
        .where(RunCreditTableRow.run_id == run_id)
        .order_by(col(RunCreditTableRow.crediting))
    ).all()

    return RunResult(
        run_id=run.run_id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        engine_version=run.engine_version,
        project=run.project,
        periods=list(run.periods),
        plans=[
            PlanRef(
                p.plan_id, p.version, p.content_hash, p.path,
                p.commit, p.dirty,
            )
            for p in plans
        ],
        inputs={i.name: i.content_hash for i in inputs},
        lines=_load_lines(session, run_id),
        status=run.status,
        credit_tables={c.crediting: c.content_hash for c in credit_tables},
    )


def _load_lines(session: Session, run_id: str) -> list[PayoutLine]:
    # Plain rows: building a model object per line would cost more
    # than the query itself on large runs.
    table = table_of(PayoutLineRow)
    rows = session.connection().execute(
        select(table)
        .where(table.c.run_id == run_id)
        .order_by(table.c.line_no)
    )
    return [
        PayoutLine(
            payee_id=row.payee_id,
            payee_name=row.payee_name,
            plan_id=row.plan_id,
            plan_version=row.plan_version,
            period=row.period,
            period_start=row.period_start,
            period_end=row.period_end,
            component=row.component,
            component_name=row.component_name,
            amount=row.amount,
            currency=row.currency,
            trace=row.trace,
        )
        for row in rows
    ]


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own words for an error, on one line."""
    cause = getattr(exc, "orig", None) or exc
    return " ".join(str(cause).split())


def _ambiguous(key: str, matches: list[str], where: str) -> str:
    shown = ", ".join(matches[:_CANDIDATES_SHOWN])
    more = len(matches) - _CANDIDATES_SHOWN
    if more > 0:
        shown += f" and {more} more"
    return (
        f"Run id prefix '{key}' matches {len(matches)} runs in the store "
        f"at {where}: {shown}. Give more characters of the id."
    )
