"""Fixtures of the PostgreSQL store tests: a real server at 127.0.0.1:5432, a fresh database
per test. Without a server the tests skip, except under CI=true, where they fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from services import require_module, require_service

psycopg = require_module("psycopg")

from _support_postgres import ADMIN_DSN, fresh_database  # noqa: E402


@pytest.fixture(scope="session")
def postgres_available() -> None:
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        require_service(f"PostgreSQL is not reachable at {ADMIN_DSN}: {exc}")


@pytest.fixture
def pg_dsn(postgres_available: None) -> Iterator[str]:
    """The DSN of a new, empty database, dropped after the test."""
    with fresh_database() as dsn:
        yield dsn
