"""Fiscal calendars and periods.

A fiscal year may start in any month. Periods are labelled by fiscal
year: ``FY2026`` (the year), ``FY2026-Q1`` (its first quarter) and
``FY2026-M01`` (its first month). Whether FY2026 starts or ends in
2026 is the calendar's ``named_by``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from .spec import Calendar

MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}
_LABEL = re.compile(r"^FY(\d{4})(?:-(Q[1-4]|M(?:0[1-9]|1[0-2])))?$")


@dataclass(frozen=True, order=True)
class Period:
    """A fiscal period; ``end`` is its last day, included."""

    start: date
    end: date
    label: str
    kind: str
    fiscal_year: int
    index: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def fiscal_year_start(calendar: Calendar, fiscal_year: int) -> date:
    year = fiscal_year
    if calendar.named_by == "end" and calendar.start_month != 1:
        year -= 1
    return date(year, calendar.start_month, 1)


def fiscal_year_of(calendar: Calendar, day: date) -> int:
    year = day.year if day.month >= calendar.start_month else day.year - 1
    if calendar.named_by == "end" and calendar.start_month != 1:
        year += 1
    return year


def periods_of_year(
    calendar: Calendar, fiscal_year: int, kind: str
) -> list[Period]:
    start = fiscal_year_start(calendar, fiscal_year)
    step = MONTHS_PER_PERIOD[kind]
    periods = []
    for index in range(12 // step):
        first = _add_months(start, index * step)
        last = _add_months(first, step) - timedelta(days=1)
        periods.append(
            Period(first, last, _label(fiscal_year, kind, index),
                   kind, fiscal_year, index)
        )
    return periods


def _label(fiscal_year: int, kind: str, index: int) -> str:
    if kind == "year":
        return f"FY{fiscal_year}"
    if kind == "quarter":
        return f"FY{fiscal_year}-Q{index + 1}"
    return f"FY{fiscal_year}-M{index + 1:02d}"


def period_of(calendar: Calendar, kind: str, day: date) -> Period:
    """The period of ``kind`` that contains ``day``."""
    year = fiscal_year_of(calendar, day)
    for period in periods_of_year(calendar, year, kind):
        if day in period:
            return period
    raise AssertionError(f"{day} falls in no period of FY{year}")


def periods_between(
    calendar: Calendar, kind: str, first: date, last: date
) -> list[Period]:
    """Every period of ``kind`` that overlaps ``first`` .. ``last``."""
    periods = []
    period = period_of(calendar, kind, first)
    while period.start <= last:
        periods.append(period)
        period = period_of(calendar, kind, period.end + timedelta(days=1))
    return periods


def periods_apart(first: Period, later: Period) -> int:
    """How many periods of ``first``'s kind ``later`` starts after it."""
    months = (later.start.year - first.start.year) * 12 + (
        later.start.month - first.start.month
    )
    return months // MONTHS_PER_PERIOD[first.kind]


def parse_label(calendar: Calendar, label: str) -> tuple[date, date]:
    """The first and last day a label such as ``FY2026-Q1`` covers.

    Raises ValueError for a label not in that form.
    """
    match = _LABEL.match(label.strip())
    if not match:
        raise ValueError(
            f"'{label}' is not a fiscal period. Write FY2026 for a year, "
            "FY2026-Q1 for a quarter or FY2026-M01 for a month."
        )
    year = int(match.group(1))
    part = match.group(2)
    if part is None:
        periods = periods_of_year(calendar, year, "year")
    elif part.startswith("Q"):
        periods = periods_of_year(calendar, year, "quarter")
        periods = [periods[int(part[1:]) - 1]]
    else:
        periods = periods_of_year(calendar, year, "month")
        periods = [periods[int(part[1:]) - 1]]
    return periods[0].start, periods[0].end
