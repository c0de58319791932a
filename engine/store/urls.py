"""Database URLs of the run store: the default one, and how to show one."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from engine.project import default_store_url

MASK = "***"

# A password can also travel in the query string, as libpq allows.
_QUERY_SECRET = re.compile(r"([?&][^=&#]*pass(?:word)?[^=&#]*=)[^&#]*", re.I)
_USERINFO_SECRET = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")


def default_url(project_dir: Path) -> str:
    """The embedded SQLite store of a project: ``.attain/attain.db`` in it."""
    return default_store_url(project_dir)


def redact(url: str) -> str:
    """Return ``url`` fit for a message or a log: any password masked.

    >>> redact("postgresql+psycopg://attain:hunter2@db:5432/pay")
    'postgresql+psycopg://attain:***@db:5432/pay'
    """
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        shown = _USERINFO_SECRET.sub(rf"\g<1>{MASK}@", url)
    return _QUERY_SECRET.sub(rf"\g<1>{MASK}", shown)


def scrub(text: str, url: str) -> str:
    """Remove the password of ``url`` from ``text``, a driver's message."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return text
    if password:
        text = text.replace(str(password), MASK)
    return text
