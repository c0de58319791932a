"""Raw rows to typed records, with errors that say where.

A connector hands over a :class:`~engine.plugins.TableSource`; the
functions here check every row against the input contract and build the
records of :mod:`engine.records`. Reading stops at the first problem,
raised as a :class:`~engine.errors.DataError` that names the file, the
row as a person finds it in the file, the column and the value.

Conventions shared by every table:

- an empty cell (or a JSON ``null``) is a missing value; surrounding
  spaces are ignored;
- decimals are plain numbers with a ``.`` and are kept exact;
  a JSON number becomes a Decimal of its text, never a float;
- booleans accept true/false, yes/no and 1/0 in any case;
- dates are ISO dates, ``2026-03-31``;
- columns the contract does not name are strings unless the project
  declares their type.

Checks that need other tables (an owner missing from the roster) are
made where the tables meet, not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from engine.errors import ConfigError, DataError
from engine.plugins import TableSource, did_you_mean
from engine.records import LOST, WON, Deal, QuotaRow, RosterRow, SplitRow

COLUMN_TYPES = ("string", "integer", "decimal", "boolean", "date")

DEAL_COLUMNS: Mapping[str, str] = MappingProxyType({
    "deal_id": "string",
    "close_date": "date",
    "amount": "decimal",
    "owner": "string",
    "currency": "string",
    "type": "string",
    "stage": "string",
    "created_date": "date",
    "probability": "decimal",
    "list_price": "decimal",
    "region": "string",
    "country": "string",
    "segment": "string",
    "industry": "string",
    "product": "string",
    "account": "string",
    "split_partner": "string",
    "split_percent": "decimal",
    "cancels": "string",
})
DEAL_REQUIRED = ("deal_id", "close_date", "amount", "owner")

ROSTER_COLUMNS: Mapping[str, str] = MappingProxyType({
    "payee_id": "string",
    "name": "string",
    "role": "string",
    "manager": "string",
    "currency": "string",
    "hire_date": "date",
    "termination_date": "date",
    "target_incentive": "decimal",
    "territories": "string",
    "effective_from": "date",
    "effective_to": "date",
})
ROSTER_REQUIRED = ("payee_id", "name", "role")

QUOTA_COLUMNS: Mapping[str, str] = MappingProxyType({
    "payee_id": "string",
    "measure": "string",
    "period": "string",
    "amount": "decimal",
    "plan": "string",
})
QUOTA_REQUIRED = ("payee_id", "measure", "period", "amount")

SPLIT_COLUMNS: Mapping[str, str] = MappingProxyType({
    "deal_id": "string",
    "payee_id": "string",
    "percent": "decimal",
})
SPLIT_REQUIRED = ("deal_id", "payee_id", "percent")

SNAPSHOT_COLUMNS: Mapping[str, str] = MappingProxyType({
    "snapshot_date": "date",
    "deal_id": "string",
    "stage": "string",
    "probability": "decimal",
    "amount": "decimal",
    "close_date": "date",
})
SNAPSHOT_REQUIRED = ("snapshot_date", "deal_id", "stage", "amount",
                     "close_date")

NO_TYPES: Mapping[str, str] = MappingProxyType({})

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_PERIOD = re.compile(r"FY[0-9]{4}(?:-Q[1-4]|-M(?:0[1-9]|1[0-2]))?")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


# ---------------------------------------------------------------------------
# The tables of the input contract
# ---------------------------------------------------------------------------


def read_deals(
    source: TableSource, *, column_types: Mapping[str, str] = NO_TYPES
) -> list[Deal]:
    """Read the deal ledger; ``column_types`` types extra columns."""
    return list(iter_deals(source, column_types=column_types))


def iter_deals(
    source: TableSource, *, column_types: Mapping[str, str] = NO_TYPES
) -> Iterator[Deal]:
    """The deals of the ledger one at a time, each checked as it is read."""
    columns = declare_columns(DEAL_COLUMNS, column_types)
    first_row: dict[str, int] = {}
    for row, values in _typed_rows(source, columns, DEAL_REQUIRED):
        _check_deal(source.name, row, values)

        deal_id = values["deal_id"]
        if deal_id in first_row:
            raise DataError(
                f"Deal id {deal_id!r} appears twice, in rows"
                f" {first_row[deal_id]} and {row}. A correction is a new row"
                " with its own deal_id that names the original in 'cancels'.",
                source=source.name,
                row=row,
                column="deal_id",
                value=deal_id,
            )
        first_row[deal_id] = row

        yield _deal(source.name, row, values)


def read_roster(
    source: TableSource, *, column_types: Mapping[str, str] = NO_TYPES
) -> list[RosterRow]:
    """Read the roster and check that no payee's stretches overlap."""
    columns = declare_columns(ROSTER_COLUMNS, column_types)
    roster = []
    for row, values in _typed_rows(source, columns, ROSTER_REQUIRED):
        _check_roster_row(source.name, row, values)
        roster.append(_roster_row(source.name, row, values))

    _check_overlaps(source.name, roster)
    return roster


def read_quotas(source: TableSource) -> list[QuotaRow]:
    """Read a quota table: one amount per payee, measure and period."""
    quotas = []
    first_row: dict[tuple, int] = {}
    for row, values in _typed_rows(source, QUOTA_COLUMNS, QUOTA_REQUIRED):
        _check_period(source.name, row, values["period"])

        key = tuple(values[c] for c in ("payee_id", "measure", "period", "plan"))
        if key in first_row:
            raise DataError(
                f"Rows {first_row[key]} and {row} both set the quota of"
                f" {key[0]!r} for {key[1]!r} in {key[2]}.",
                source=source.name,
                row=row,
                column="amount",
                value=values["amount"],
            )
        first_row[key] = row

        quotas.append(
            QuotaRow(
                payee_id=values["payee_id"],
                measure=values["measure"],
                period=values["period"],
                amount=values["amount"],
                plan=values.get("plan"),
                source=source.name,
                row=row,
            )
        )
    return quotas


def read_splits(source: TableSource) -> list[SplitRow]:
    """Read a split table: each payee's percent of a deal."""
    splits = []
    first_row: dict[tuple[str, str], int] = {}
    for row, values in _typed_rows(source, SPLIT_COLUMNS, SPLIT_REQUIRED):
        _check_range(source.name, row, values, "percent", _PERCENT)

        key = (values["deal_id"], values["payee_id"])
        if key in first_row:
            raise DataError(
                f"Rows {first_row[key]} and {row} both split deal {key[0]!r}"
                f" to {key[1]!r}.",
                source=source.name,
                row=row,
                column="payee_id",
                value=key[1],
            )
        first_row[key] = row

        splits.append(
            SplitRow(
                deal_id=values["deal_id"],
                payee_id=values["payee_id"],
                percent=values["percent"],
                source=source.name,
                row=row,
            )
        )
    return splits


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A deal as the pipeline saw it on ``snapshot_date``.

    ``close_date`` is the expected close date then (the close date once
    the deal is won or lost); ``amount`` is in the deal's currency.
    """

    snapshot_date: date
    deal_id: str
    stage: str
    probability: Decimal | None
    amount: Decimal
    close_date: date
    source: str = ""
    row: int = 0

    @property
    def is_open(self) -> bool:
        return self.stage not in (WON, LOST)


def read_snapshots(source: TableSource) -> list[Snapshot]:
    """Read pipeline history: one row per deal per snapshot date."""
    snapshots = []
    first_row: dict[tuple[date, str], int] = {}
    for row, values in _typed_rows(
        source, SNAPSHOT_COLUMNS, SNAPSHOT_REQUIRED
    ):
        _check_range(source.name, row, values, "probability", _PROBABILITY)
        stage = values["stage"]
        if stage.lower() in (WON, LOST):
            stage = stage.lower()

        key = (values["snapshot_date"], values["deal_id"])
        if key in first_row:
            raise DataError(
                f"Rows {first_row[key]} and {row} are both the snapshot of"
                f" deal {key[1]!r} on {key[0]}. Keep one row per deal and"
                " snapshot date.",
                source=source.name,
                row=row,
                column="deal_id",
                value=key[1],
            )
        first_row[key] = row

        snapshots.append(
            Snapshot(
                snapshot_date=values["snapshot_date"],
                deal_id=values["deal_id"],
                stage=stage,
                probability=values["probability"],
                amount=values["amount"],
                close_date=values["close_date"],
                source=source.name,
                row=row,
            )
        )
    return snapshots


def read_list(source: TableSource, column: str = "account") -> tuple[str, ...]:
    """Read a one-column list, such as named accounts, in file order."""
    values = _typed_rows(source, {column: "string"}, (column,))
    # dict keeps the first occurrence of each value, in order.
    return tuple(dict.fromkeys(row[column] for _, row in values))


def read_table(
    source: TableSource, *, columns: Mapping[str, str], required: Iterable[str]
) -> list[dict[str, Any]]:
    """Read any table: ``columns`` maps names to types, others are strings."""
    columns = declare_columns(NO_TYPES, columns)
    return [values for _, values in _typed_rows(source, columns, tuple(required))]


# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------


def declare_columns(
    standard: Mapping[str, str], declared: Mapping[str, str]
) -> dict[str, str]:
    """The standard column types with the project's declarations added."""
    for column, kind in declared.items():
        if kind not in COLUMN_TYPES:
            raise ConfigError(
                f"Column {column!r} is declared as {kind!r}, which is not a"
                f" column type.{did_you_mean(str(kind), COLUMN_TYPES)}"
                f" Column types: {', '.join(COLUMN_TYPES)}."
            )
        if standard.get(column, kind) != kind:
            raise ConfigError(
                f"Column {column!r} is a standard column of type"
                f" {standard[column]}; it cannot be declared as {kind}."
            )
    return {**standard, **declared}


def _typed_rows(
    source: TableSource, columns: Mapping[str, str], required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each row's number and its values, typed; every column is present."""
    if source.rows is None:
        raise ConfigError(
            f"Table {source.name!r} ({source.format or 'unknown format'})"
            " cannot be read row by row."
        )

    header = source.columns() if source.columns is not None else None
    if header is not None:
        check_columns(source.name, 1, header, required, "The header has")

    for row, raw in source.rows():
        if header is None:
            check_columns(source.name, row, raw, required, "This row has")
        values = dict.fromkeys(columns)
        for column, value in raw.items():
            kind = columns.get(column, "string")
            values[column] = _typed(source.name, row, column, kind, value)
        _check_required(source.name, row, values, raw, required)
        yield row, values


def check_columns(
    source: str,
    row: int,
    found: Iterable[str],
    required: tuple[str, ...],
    intro: str,
) -> None:
    found = list(found)
    for column in required:
        if column not in found:
            raise DataError(
                f"Required column {column!r} is missing."
                f"{did_you_mean(column, found)}"
                f" {intro}: {', '.join(found) or 'no columns'}.",
                source=source,
                row=row,
                column=column,
            )


def _check_required(
    source: str,
    row: int,
    values: Mapping[str, Any],
    raw: Mapping[str, Any],
    required: tuple[str, ...],
) -> None:
    for column in required:
        if values[column] is None:
            raise DataError(
                f"Required column {column!r} is empty.",
                source=source,
                row=row,
                column=column,
                value=raw.get(column),
            )


def _typed(source: str, row: int, column: str, kind: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return _PARSERS[kind](value)
    except _Invalid as err:
        raise DataError(
            str(err), source=source, row=row, column=column, value=value
        ) from None


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


class _Invalid(ValueError):
    """A value that does not have its column's type; says what would."""


def _string(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise _Invalid(
        f"Expected a single value, not a {type(value).__name__}."
    )


def _decimal(value: Any) -> Decimal:
    number = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        # str() gives the shortest text that reads back as this float,
        # which is what the file said.
        number = Decimal(str(value))
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = Decimal(value.strip())

    if number is None or not number.is_finite():
        raise _Invalid(
            f"{value!r} is not a plain decimal number. Expected digits with"
            " an optional '.', such as 1234.50, without thousands"
            " separators or currency symbols."
        )
    return number


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal | float):
        number = Decimal(str(value))
        if number.is_finite() and number == number.to_integral_value():
            return int(number)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise _Invalid(
        f"{value!r} is not a whole number. Expected digits only, such as 12."
    )


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid(
        f"{value!r} is not a boolean. Expected true or false"
        " (yes/no and 1/0 work too)."
    )


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(
        f"{value!r} is not a date. Expected an ISO date such as 2026-03-31."
    )


_PARSERS: Mapping[str, Callable[[Any], Any]] = MappingProxyType({
    "string": _string,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
})


# ---------------------------------------------------------------------------
# Records and the checks of each table
# ---------------------------------------------------------------------------


def _check_deal(source: str, row: int, values: dict[str, Any]) -> None:
    """Check a deal's values and bring stage and currency to one spelling."""
    _check_range(source, row, values, "probability", _PROBABILITY)
    _check_range(source, row, values, "split_percent", _PERCENT)
    values["currency"] = _currency(source, row, values["currency"])

    # "Won" and "WON" mean won; an empty stage is a won deal.
    stage = values["stage"]
    if stage is None or stage.lower() in (WON, LOST):
        values["stage"] = (stage or WON).lower()


def _deal(source: str, row: int, values: dict[str, Any]) -> Deal:
    return Deal(
        deal_id=values["deal_id"],
        close_date=values["close_date"],
        amount=values["amount"],
        owner=values["owner"],
        currency=values["currency"],
        stage=values["stage"],
        type=values["type"],
        attributes=values,
        source=source,
        row=row,
    )


_PROBABILITY = (Decimal(1), "a probability from 0 to 1, such as 0.4")
_PERCENT = (Decimal(100), "percent units from 0 to 100, such as 40")


def _check_range(
    source: str,
    row: int,
    values: Mapping[str, Any],
    column: str,
    limit: tuple[Decimal, str],
) -> None:
    value = values.get(column)
    top, expected = limit
    if value is not None and not Decimal(0) <= value <= top:
        raise DataError(
            f"{value} is outside 0 to {top}. Expected {expected}.",
            source=source,
            row=row,
            column=column,
            value=value,
        )


def _currency(source: str, row: int, value: str | None) -> str | None:
    if value is None:
        return None
    if not _CURRENCY.fullmatch(value):
        raise DataError(
            f"{value!r} is not a currency code. Expected the three letters"
            " of an ISO 4217 code, such as USD or EUR.",
            source=source,
            row=row,
            column="currency",
            value=value,
        )
    return value.upper()


def _check_period(source: str, row: int, period: str) -> None:
    if not _PERIOD.fullmatch(period):
        raise DataError(
            f"{period!r} is not a fiscal period. Expected a label such as"
            " FY2026-Q1, FY2026-M01 or FY2026.",
            source=source,
            row=row,
            column="period",
            value=period,
        )


def _check_roster_row(source: str, row: int, values: dict[str, Any]) -> None:
    values["currency"] = _currency(source, row, values["currency"])
    for first, last in (
        ("effective_from", "effective_to"),
        ("hire_date", "termination_date"),
    ):
        if values[first] and values[last] and values[first] > values[last]:
            raise DataError(
                f"{values[last]} is before {first} {values[first]}.",
                source=source,
                row=row,
                column=last,
                value=values[last],
            )

    territories = (values["territories"] or "").split(";")
    values["territories"] = tuple(t.strip() for t in territories if t.strip())


def _roster_row(source: str, row: int, values: dict[str, Any]) -> RosterRow:
    return RosterRow(
        payee_id=values["payee_id"],
        name=values["name"],
        role=values["role"],
        manager=values["manager"],
        currency=values["currency"],
        hire_date=values["hire_date"],
        termination_date=values["termination_date"],
        target_incentive=values["target_incentive"],
        territories=values["territories"],
        effective_from=values["effective_from"],
        effective_to=values["effective_to"],
        attributes=values,
        source=source,
        row=row,
    )


def _check_overlaps(source: str, roster: list[RosterRow]) -> None:
    stretches: dict[str, list[RosterRow]] = {}
    for entry in roster:
        stretches.setdefault(entry.payee_id, []).append(entry)

    for payee_id, rows in stretches.items():
        rows.sort(key=lambda r: (r.effective_from or date.min, r.row))
        for earlier, later in zip(rows, rows[1:]):
            if _overlap(earlier, later):
                first, second = sorted((earlier.row, later.row))
                raise DataError(
                    f"Rows {first} and {second} give payee {payee_id!r}"
                    f" stretches that overlap ({_span(earlier)} and"
                    f" {_span(later)}). End one stretch the day before"
                    " the next one starts.",
                    source=source,
                    row=second,
                    column="effective_from",
                    value=later.effective_from,
                )


def _overlap(earlier: RosterRow, later: RosterRow) -> bool:
    """Whether two stretches share a day; ``earlier`` starts first."""
    if earlier.effective_to is None or later.effective_from is None:
        return True
    return later.effective_from <= earlier.effective_to


def _span(entry: RosterRow) -> str:
    start = entry.effective_from or "always"
    end = entry.effective_to or "open"
    return f"{start} to {end}"
