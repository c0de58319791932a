"""Shared fixtures: the run stores tests run against, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engine.store import Store

POSTGRES_ENV = "ATTAIN_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a PostgreSQL database the tests may create schemas in."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{POSTGRES_ENV} must be set in CI: run the tests through "
            "scripts/test, which starts PostgreSQL and sets it."
        )
    pytest.skip(
        f"No PostgreSQL: {POSTGRES_ENV} is not set. Run the tests with "
        "scripts/test, which starts a throwaway server."
    )


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty place for a run store, on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'attain.db'}"
        return
    with _postgres_schema(request.getfixturevalue("postgres_url")) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An opened, empty run store; closed after the test."""
    from engine.store import Store

    opened = Store.open(store_url)
    yield opened
    opened.close()


@contextmanager
def _postgres_schema(base_url: str) -> Iterator[str]:
    """A schema of the test's own, dropped after it, as a URL to use.

    The URL sets ``search_path`` so that the store's tables land in that
    schema and tests never see each other's runs.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base_url).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
