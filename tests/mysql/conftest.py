"""Fixtures of the MySQL store tests: a real MariaDB/MySQL server at 127.0.0.1:3306, a fresh
database per test. Without a server the tests skip, except under CI=true, where they fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from services import require_module, require_service

pymysql = require_module("pymysql")

from _support_mysql import ADMIN, fresh_database  # noqa: E402


@pytest.fixture(scope="session")
def mysql_available() -> None:
    try:
        pymysql.connect(**ADMIN, connect_timeout=3).close()
    except pymysql.Error as exc:
        require_service(f"MySQL/MariaDB is not reachable at {ADMIN['host']}:{ADMIN['port']}: {exc}")


@pytest.fixture
def my_dsn(mysql_available: None) -> Iterator[str]:
    """The DSN of a new, empty database, dropped after the test."""
    with fresh_database() as dsn:
        yield dsn
