"""The tables of the run store, at the current schema version.

A run is one row of ``runs``; the plans it evaluated, the hashes of its
inputs, its payout lines and its totals per currency hang off it by
``run_id``. Rows keep their order through ``position`` and ``line_no``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from engine.store.types import ExactDecimal, JsonDocument, UtcDateTime


class StoreModel(SQLModel, registry=registry()):
    """Base of the store's tables, on metadata of their own.

    Other SQLModel tables in the same process are never created in, or
    mistaken for part of, the run store.
    """


class MetaRow(StoreModel, table=True):
    """The single row that says which schema version the database has."""

    __tablename__ = "attain_meta"

    id: int = Field(default=1, primary_key=True)
    schema_version: int


class RunRow(StoreModel, table=True):
    __tablename__ = "runs"

    run_id: str = Field(primary_key=True)
    started_at: datetime = Field(sa_type=UtcDateTime, index=True)
    finished_at: datetime = Field(sa_type=UtcDateTime)
    engine_version: str
    project: str
    periods: list[str] = Field(sa_type=JsonDocument)
    status: str = Field(
        default="succeeded",
        sa_column_kwargs={"server_default": "succeeded"},
    )


class RunPlanRow(StoreModel, table=True):
    __tablename__ = "run_plans"

    run_id: str = Field(foreign_key="runs.run_id", primary_key=True)
    position: int = Field(primary_key=True)
    plan_id: str
    version: str
    content_hash: str
    path: str
    commit: str | None = None
    dirty: bool | None = None


class RunInputRow(StoreModel, table=True):
    __tablename__ = "run_inputs"

    run_id: str = Field(foreign_key="runs.run_id", primary_key=True)
    name: str = Field(primary_key=True)
    content_hash: str


class RunCreditTableRow(StoreModel, table=True):
    """A credit table of a run: a Parquet file beside the store, named by
    the SHA-256 of its content."""

    __tablename__ = "run_credit_tables"

    run_id: str = Field(foreign_key="runs.run_id", primary_key=True)
    crediting: str = Field(primary_key=True)
    content_hash: str


class PayoutLineRow(StoreModel, table=True):
    __tablename__ = "payout_lines"

    run_id: str = Field(foreign_key="runs.run_id", primary_key=True)
    line_no: int = Field(primary_key=True)
    payee_id: str
    payee_name: str
    plan_id: str
    plan_version: str
    period: str
    period_start: date
    period_end: date
    component: str
    component_name: str
    amount: Decimal = Field(sa_type=ExactDecimal)
    currency: str
    trace: dict[str, Any] = Field(sa_type=JsonDocument)


class RunTotalRow(StoreModel, table=True):
    """A run's total pay in one currency, summed exactly when saved.

    Kept beside the lines so that listing runs never sums money in SQL,
    where SQLite would answer with a float.
    """

    __tablename__ = "run_totals"

    run_id: str = Field(foreign_key="runs.run_id", primary_key=True)
    currency: str = Field(primary_key=True)
    total: Decimal = Field(sa_type=ExactDecimal)


class ClosedPeriodRow(StoreModel, table=True):
    """A period whose pay is frozen as the lines of one run."""

    __tablename__ = "closed_periods"

    period: str = Field(primary_key=True)
    run_id: str = Field(foreign_key="runs.run_id")
    closed_at: datetime = Field(sa_type=UtcDateTime)
    closed_by: str
    inputs: dict[str, Any] = Field(sa_type=JsonDocument)


class AdjustmentRow(StoreModel, table=True):
    """A manual amount of pay with its reason and author."""

    __tablename__ = "adjustments"

    adjustment_id: str = Field(primary_key=True)
    payee_id: str = Field(index=True)
    period: str
    amount: Decimal = Field(sa_type=ExactDecimal)
    reason: str
    author: str
    created_at: datetime = Field(sa_type=UtcDateTime)
    plan_id: str | None = None


metadata = StoreModel.metadata


def table_of(model: type[StoreModel]) -> Table:
    """The Core table of a model, for bulk writes and plain-row reads."""
    return cast(Table, model.__table__)
