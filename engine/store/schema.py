"""Schema versions of the run store and the migrations between them.

A new database is created at :data:`SCHEMA_VERSION` from the table
models. An older one is brought there by the migrations, in order, in
the transaction that opens it: a migration that fails leaves the
database at the version it had.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, func, insert, inspect, select, update

from engine.errors import StoreError
from engine.store.models import (
    AdjustmentRow,
    ClosedPeriodRow,
    MetaRow,
    RunCreditTableRow,
    metadata,
    table_of,
)

logger = logging.getLogger(__name__)

Migration = Callable[[Connection], None]


def _add_run_status(connection: Connection) -> None:
    """Version 2 records each run's status.

    Version 1 stored finished runs only, so every run it holds succeeded.
    """
    connection.exec_driver_sql(
        "ALTER TABLE runs ADD COLUMN status VARCHAR "
        "DEFAULT 'succeeded' NOT NULL"
    )


def _add_plan_provenance(connection: Connection) -> None:
    """Version 3 records where each plan came from in git.

    Runs recorded before it have no such record, so both stay empty.
    """
    connection.exec_driver_sql(
        'ALTER TABLE run_plans ADD COLUMN "commit" VARCHAR'
    )
    connection.exec_driver_sql(
        'ALTER TABLE run_plans ADD COLUMN "dirty" BOOLEAN'
    )


def _add_closing_tables(connection: Connection) -> None:
    """Version 4 keeps closed periods and manual adjustments.

    Both tables are new, so they are created from their models.
    """
    tables = [table_of(ClosedPeriodRow), table_of(AdjustmentRow)]
    metadata.create_all(connection, tables=tables)


def _add_credit_tables(connection: Connection) -> None:
    """Version 5 names the credit tables a run wrote beside the store.

    Runs recorded before it wrote none.
    """
    metadata.create_all(connection, tables=[table_of(RunCreditTableRow)])


# MIGRATIONS[n - 1] takes a database from version n to version n + 1.
MIGRATIONS: list[Migration] = [
    _add_run_status,
    _add_plan_provenance,
    _add_closing_tables,
    _add_credit_tables,
]

SCHEMA_VERSION = len(MIGRATIONS) + 1

# Any fixed number: it keeps two processes from migrating at once.
_PG_MIGRATION_LOCK = 0x41747461696E


def prepare(connection: Connection, where: str) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; return that version.

    ``where`` names the store in messages and must already be redacted.
    """
    if connection.dialect.name == "postgresql":
        lock = func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)
        connection.execute(select(lock))

    found = read_version(connection, where)
    if found is None:
        _create(connection)
        logger.info("Created the run store at %s", where)
        return SCHEMA_VERSION

    if found > SCHEMA_VERSION:
        raise StoreError(
            f"The run store at {where} has schema version {found}, newer "
            f"than the version {SCHEMA_VERSION} this Attain knows. "
            "Upgrade Attain to open it."
        )

    for version in range(found, SCHEMA_VERSION):
        migrate = MIGRATIONS[version - 1]
        logger.info(
            "Migrating the run store at %s from version %d to %d",
            where, version, version + 1,
        )
        migrate(connection)
    if found < SCHEMA_VERSION:
        _write_version(connection, SCHEMA_VERSION)
    return SCHEMA_VERSION


def read_version(connection: Connection, where: str) -> int | None:
    """The schema version of the database, or None when it has no store."""
    tables = set(inspect(connection).get_table_names())
    if "attain_meta" not in tables:
        if "runs" in tables:
            raise StoreError(
                f"The database at {where} has a 'runs' table but no "
                "'attain_meta' table, so it is not an Attain run store. "
                "Give the store a database of its own."
            )
        return None

    meta = table_of(MetaRow)
    version = connection.execute(select(meta.c.schema_version)).scalar()
    if version is None:
        raise StoreError(
            f"The run store at {where} has no schema version in its "
            "'attain_meta' table."
        )
    return int(version)


def _create(connection: Connection) -> None:
    metadata.create_all(connection)
    connection.execute(
        insert(table_of(MetaRow)).values(id=1, schema_version=SCHEMA_VERSION)
    )


def _write_version(connection: Connection, version: int) -> None:
    meta = table_of(MetaRow)
    connection.execute(update(meta).values(schema_version=version))

