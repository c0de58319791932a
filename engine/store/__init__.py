"""The run store: every ``attain run`` recorded, in SQLite or PostgreSQL.

Importing this package loads SQLModel and SQLAlchemy, which takes a
noticeable part of a second, so commands import it only when they use
it, never at the top of a module.
"""

from engine.store.schema import SCHEMA_VERSION
from engine.store.store import MIN_PREFIX, RunSummary, Store
from engine.store.urls import default_url, redact

__all__ = [
    "MIN_PREFIX",
    "SCHEMA_VERSION",
    "RunSummary",
    "Store",
    "default_url",
    "redact",
]
