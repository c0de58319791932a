"""Typed input records: deals, roster rows, quotas and splits.

Connectors yield raw rows; :mod:`engine.data` checks them against the
input contract and builds these records, so the evaluation never sees a
string where it expects money or a date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

WON = "won"
LOST = "lost"


@dataclass(frozen=True, slots=True)
class Deal:
    """One row of the deal ledger.

    ``attributes`` holds every column, standard ones included, with its
    type applied; it is what conditions and formulas see.
    """

    deal_id: str
    close_date: date
    amount: Decimal
    owner: str
    currency: str | None = None
    stage: str = WON
    type: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    row: int = 0

    @property
    def is_won(self) -> bool:
        return self.stage == WON

    @property
    def is_open(self) -> bool:
        return self.stage not in (WON, LOST)


@dataclass(frozen=True, slots=True)
class RosterRow:
    """A payee as known between ``effective_from`` and ``effective_to``.

    A payee has one row per stretch of time in which their role, manager,
    territories or target incentive stay the same; the stretches of one
    payee never overlap.
    """

    payee_id: str
    name: str
    role: str
    manager: str | None = None
    currency: str | None = None
    hire_date: date | None = None
    termination_date: date | None = None
    target_incentive: Decimal | None = None
    territories: tuple[str, ...] = ()
    effective_from: date | None = None
    effective_to: date | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    row: int = 0

    def in_force(self, day: date) -> bool:
        starts = self.effective_from is None or self.effective_from <= day
        ends = self.effective_to is None or day <= self.effective_to
        return starts and ends


@dataclass(frozen=True, slots=True)
class QuotaRow:
    """A quota from a quota table: payee, measure, fiscal period, amount."""

    payee_id: str
    measure: str
    period: str
    amount: Decimal
    plan: str | None = None
    source: str = ""
    row: int = 0


@dataclass(frozen=True, slots=True)
class SplitRow:
    """A payee's share of a deal, in percent (60 means 60 %)."""

    deal_id: str
    payee_id: str
    percent: Decimal
    source: str = ""
    row: int = 0
