"""Column types that give back exactly what was stored, on every backend.

SQLite has no exact decimal and no time zones: its NUMERIC keeps about
15 significant digits and ``sum()`` answers with a float. These types
store money as text there and as NUMERIC on PostgreSQL, keep datetimes
in UTC, and keep traces as JSON text, so a run reads back equal to the
run that was saved.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import DateTime, Numeric, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from engine.errors import JsonPath, StoreError, format_path


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored without losing a digit, read back as a Decimal.

    PostgreSQL gets an unconstrained NUMERIC, which keeps the scale it
    is given (``12.50`` stays ``12.50``) and never rounds; SQLite gets
    the Decimal's canonical text.
    """

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String())

    def process_bind_param(
        self, value: Decimal | None, dialect: Dialect
    ) -> Decimal | str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise StoreError(
                f"Money must be a finite Decimal; got {value!r} "
                f"({type(value).__name__})."
            )
        if dialect.name == "postgresql":
            return value
        return str(value)

    def process_result_value(
        self, value: Any, dialect: Dialect
    ) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise StoreError(
                f"The store holds {value!r} where an amount of money "
                "belongs."
            ) from None


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC and read back in UTC.

    SQLite keeps no offset, so the value is written there as naive UTC;
    PostgreSQL keeps a ``timestamp with time zone``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise StoreError(
                f"Datetimes in the store must carry a time zone; got the "
                f"naive {value.isoformat()}."
            )
        utc = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class JsonDocument(TypeDecorator[Any]):
    """A JSON-ready value (a trace, a list of periods) kept as JSON text.

    Only what JSON holds is accepted: a Decimal inside a trace must
    already be a string, so that no digit depends on a float.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return dump_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(value)


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def dump_json(value: Any) -> str:
    """Serialize ``value`` or raise StoreError naming what is not JSON."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError):
        path, bad = _first_non_json(value, ()) or ((), value)
        raise StoreError(
            f"A trace holds {bad!r} ({type(bad).__name__}) at "
            f"{format_path(path)}; traces hold only JSON values, with "
            "Decimals written as strings."
        ) from None


_JSON_SCALARS = (str, int, bool, type(None))


def _first_non_json(value: Any, path: JsonPath) -> tuple[JsonPath, Any] | None:
    """Find the first value below ``value`` that JSON cannot hold."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)):
                return path, key
            found = _first_non_json(item, path + (str(key),))
            if found:
                return found
        return None

    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _first_non_json(item, path + (index,))
            if found:
                return found
        return None

    if isinstance(value, _JSON_SCALARS):
        return None
    if isinstance(value, float) and math.isfinite(value):
        return None
    return path, value
