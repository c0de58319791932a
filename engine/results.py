"""What a run produces: payout lines with their traces, and the run itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class PlanRef:
    """The exact plan a run evaluated.

    ``commit`` is the last git commit that touched the file and ``dirty``
    whether it had changes not committed yet; both are None outside git.
    """

    plan_id: str
    version: str
    content_hash: str
    path: str
    commit: str | None = None
    dirty: bool | None = None


@dataclass
class PayoutLine:
    """One amount of pay: a payee, a plan component and a period.

    ``amount`` is rounded to the currency's minor unit; ``trace`` holds the
    explanation (measure, quota, attainment, band, rate and the deals with
    their shares of the pay) as plain JSON-ready values.
    """

    payee_id: str
    payee_name: str
    plan_id: str
    plan_version: str
    period: str
    period_start: date
    period_end: date
    component: str
    component_name: str
    amount: Decimal
    currency: str
    trace: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple:
        return (self.period_start, self.payee_id, self.plan_id, self.component)


@dataclass
class RunResult:
    """A finished run, as the store records it."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    engine_version: str
    project: str
    periods: list[str]
    plans: list[PlanRef]
    inputs: dict[str, str]
    lines: list[PayoutLine]
    status: str = "succeeded"
    # Crediting (with currency and rate policy) to the SHA-256 of the
    # Parquet file holding its credits, for runs that wrote one.
    credit_tables: dict[str, str] = field(default_factory=dict)


@dataclass
class Statement:
    """What one payee sees: every payout line of theirs with its trace."""

    payee_id: str
    payee_name: str
    role: str
    currency: str
    periods: list[str]
    lines: list[PayoutLine]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))
