"""Figures as people read them: money, percentages, KPIs.

The report data carries every amount and ratio as an exact decimal
string. These helpers turn such a string into text without going
through a float: money gets thousands separators and two decimals,
percentages one decimal, both rounded half away from zero. Values that
are missing or not numbers are shown as a dash, never as an error, as a
report must open even on data it does not fully understand.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

DASH = "–"

_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")

# How each KPI of the report data is shown, by its key.
KPI_LABELS = {
    "attainment": "Attainment",
    "open_pipeline": "Open pipeline",
    "weighted_pipeline": "Weighted pipeline",
    "coverage": "Coverage",
    "win_rate": "Win rate",
    "average_deal_size": "Average deal size",
    "cycle_length_days": "Cycle length",
    "cycle_length": "Cycle length",
    "sales_velocity_per_day": "Sales velocity",
    "sales_velocity": "Sales velocity",
    "average_discount": "Average discount",
    "deals_closed": "Deals closed",
    "open_deals": "Open deals",
    "productivity": "Productivity",
    "bookings": "Bookings",
    "quota": "Quota",
    "attained": "Attained",
    "remaining_quota": "Remaining quota",
}
_KPI_KINDS = {
    "attainment": "percent",
    "win_rate": "percent",
    "average_discount": "percent",
    "coverage": "multiple",
    "open_pipeline": "money",
    "weighted_pipeline": "money",
    "average_deal_size": "money",
    "productivity": "money",
    "sales_velocity_per_day": "per_day",
    "sales_velocity": "per_day",
    "cycle_length_days": "days",
    "cycle_length": "days",
    "deals_closed": "count",
    "open_deals": "count",
    "bookings": "money",
    "quota": "money",
    "attained": "money",
    "remaining_quota": "money",
}


def decimal(value: Any) -> Decimal | None:
    """``value`` as a finite Decimal, or None when it is not a number."""
    if value is None or isinstance(value, bool | float):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def money(value: Any) -> str:
    """An amount with thousands separators and two decimals.

    >>> money("1234567.125")
    '1,234,567.13'
    >>> money("-399.6")
    '-399.60'
    """
    number = decimal(value)
    if number is None:
        return DASH
    return f"{number.quantize(_CENT, ROUND_HALF_UP):,f}"


def percent(value: Any) -> str:
    """A ratio as a percentage with one decimal.

    >>> percent("0.943142255")
    '94.3 %'
    """
    number = decimal(value)
    if number is None:
        return DASH
    shown = (number * 100).quantize(_TENTH, ROUND_HALF_UP)
    return f"{shown:,f} %"


def rate(value: Any) -> str:
    """A rate as a percentage, with every digit it has (at least one
    decimal): a rate of 1.25 % must not read as 1.3 %.

    >>> rate("0.0125"), rate("0.15")
    ('1.25 %', '15.0 %')
    """
    number = decimal(value)
    if number is None:
        return DASH
    shown = (number * 100).normalize()
    if shown.as_tuple().exponent > -1:
        shown = shown.quantize(_TENTH)
    return f"{shown:,f} %"


def number(value: Any) -> str:
    """Any figure: a whole number as it is, any other to the cent.

    >>> number("65"), number("43716.7244"), number("100000.0")
    ('65', '43,716.72', '100,000.00')
    """
    found = decimal(value)
    if found is None:
        return DASH if value is None else str(value)
    if found.as_tuple().exponent < 0:
        found = found.quantize(_CENT, ROUND_HALF_UP)
    return f"{found:,f}"


def count(value: Any) -> str:
    found = decimal(value)
    if found is None:
        return DASH
    return f"{found.quantize(Decimal(1), ROUND_HALF_UP):,f}"


def days(value: Any) -> str:
    found = decimal(value)
    if found is None:
        return DASH
    return f"{found.quantize(_TENTH, ROUND_HALF_UP):,f} days"


def multiple(value: Any) -> str:
    found = decimal(value)
    if found is None:
        return DASH
    return f"{found.quantize(_CENT, ROUND_HALF_UP):,f}x"


def kpi(name: str, value: Any) -> str:
    """A KPI's value in the unit its name implies."""
    kind = _KPI_KINDS.get(name)
    if kind == "percent":
        return percent(value)
    if kind == "money":
        return money(value)
    if kind == "per_day":
        shown = money(value)
        return shown if shown == DASH else f"{shown} a day"
    if kind == "days":
        return days(value)
    if kind == "count":
        return count(value)
    if kind == "multiple":
        return multiple(value)
    return number(value)


def kpi_label(name: str) -> str:
    return KPI_LABELS.get(name, name.replace("_", " ").capitalize())


def median(values: list[Decimal]) -> Decimal | None:
    """The middle value; the mean of the two middle ones for an even
    count, exact in Decimal.

    >>> median([Decimal("3"), Decimal("1"), Decimal("2"), Decimal("10")])
    Decimal('2.5')
    """
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
