"""The effective-dated roster: who a payee is, and who they report to, on a day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Iterable, Iterator

from .errors import DataError
from .records import RosterRow


class Roster:
    """Payees and their stretches of time, looked up by day."""

    def __init__(self, rows: Iterable[RosterRow]):
        self._rows: dict[str, list[RosterRow]] = {}
        self._chains: dict[tuple[str, date], list[str]] = {}
        self._hired: dict[str, date | None] = {}
        for row in rows:
            self._rows.setdefault(row.payee_id, []).append(row)
        for stretches in self._rows.values():
            stretches.sort(key=lambda r: r.effective_from or date.min)
        self._check_managers()

    def __contains__(self, payee_id: str) -> bool:
        return payee_id in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._rows))

    def __len__(self) -> int:
        return len(self._rows)

    def stretches(self, payee_id: str) -> list[RosterRow]:
        return self._rows.get(payee_id, [])

    def at(self, payee_id: str, day: date) -> RosterRow | None:
        """The payee's row in force on ``day``, if they are employed then."""
        for row in self._rows.get(payee_id, ()):
            if row.in_force(day) and self.employed(row, day):
                return row
        return None

    @staticmethod
    def employed(row: RosterRow, day: date) -> bool:
        hired = row.hire_date is None or row.hire_date <= day
        left = row.termination_date is not None and day > row.termination_date
        return hired and not left

    def name(self, payee_id: str) -> str:
        rows = self._rows.get(payee_id)
        return rows[-1].name if rows else payee_id

    def hire_date(self, payee_id: str) -> date | None:
        if payee_id not in self._hired:
            dates = [
                r.hire_date for r in self.stretches(payee_id) if r.hire_date
            ]
            self._hired[payee_id] = min(dates) if dates else None
        return self._hired[payee_id]

    def termination_date(self, payee_id: str) -> date | None:
        dates = [
            r.termination_date
            for r in self.stretches(payee_id)
            if r.termination_date
        ]
        return max(dates) if dates else None

    def role_on(self, payee_id: str, day: date) -> str | None:
        row = self.at(payee_id, day)
        return row.role if row else None

    def managers(self, payee_id: str, day: date) -> list[str]:
        """Everyone above the payee on ``day``, nearest first."""
        key = (payee_id, day)
        if key not in self._chains:
            chain = []
            row = self.at(payee_id, day) or self._in_force(payee_id, day)
            while row is not None and row.manager:
                chain.append(row.manager)
                row = self._in_force(row.manager, day)
            self._chains[key] = chain
        return list(self._chains[key])

    def _in_force(self, payee_id: str, day: date) -> RosterRow | None:
        for row in self._rows.get(payee_id, ()):
            if row.in_force(day):
                return row
        return None

    def target_incentive(self, payee_id: str, day: date) -> Decimal | None:
        row = self._in_force(payee_id, day)
        return row.target_incentive if row else None

    def territory_payees(self, territory: str, day: date) -> list[str]:
        """Payees assigned to ``territory`` on ``day``."""
        return [
            payee
            for payee, rows in sorted(self._rows.items())
            for row in rows
            if territory in row.territories
            and row.in_force(day)
            and self.employed(row, day)
        ]

    def days_matching(
        self, payee_id: str, first: date, last: date, accept
    ) -> list[tuple[date, date]]:
        """Stretches within ``first`` .. ``last`` in which the payee is
        employed and ``accept(row)`` holds, as (start, end) pairs."""
        spans = []
        for row in self._rows.get(payee_id, ()):
            if not accept(row):
                continue
            start = max(
                d for d in (first, row.effective_from, row.hire_date) if d
            )
            end = min(
                d
                for d in (last, row.effective_to, row.termination_date)
                if d
            )
            if start <= end:
                spans.append((start, end))
        return spans

    def _check_managers(self) -> None:
        for payee, rows in self._rows.items():
            for row in rows:
                if row.manager and row.manager not in self._rows:
                    raise DataError(
                        f"Manager '{row.manager}' of '{payee}' is not in "
                        "the roster.",
                        source=row.source,
                        row=row.row,
                        column="manager",
                        value=row.manager,
                    )
                self._check_cycle(row)

    def _check_cycle(self, row: RosterRow) -> None:
        day = row.effective_from or date.min + timedelta(days=1)
        seen = [row.payee_id]
        current = row
        while current is not None and current.manager:
            if current.manager in seen:
                loop = " -> ".join(seen + [current.manager])
                raise DataError(
                    f"The reporting lines form a loop: {loop}.",
                    source=row.source,
                    row=row.row,
                    column="manager",
                    value=row.manager,
                )
            seen.append(current.manager)
            current = self._in_force(current.manager, day)


def span_days(spans: Iterable[tuple[date, date]]) -> int:
    return sum((end - start).days + 1 for start, end in spans)
