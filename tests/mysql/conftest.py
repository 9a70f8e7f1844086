"""Fixtures of the MySQL store tests: a real MariaDB/MySQL server at 127.0.0.1:3306, a fresh
database per test. Without a server the tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from services import require_module, require_service
from venomqa.demo.blog import start_blog_server
from venomqa.testing.server import ApiProcess

pymysql = require_module("pymysql")

from _support_mysql import ADMIN, HERE, execute, fresh_database  # noqa: E402


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


@pytest.fixture
def blog(my_dsn: str) -> Iterator[tuple[ApiProcess, str]]:
    """The blog served by its own process on a fresh database, with one user already there."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    with start_blog_server(
        f"_support_mysql_blog:open_storage:{my_dsn}", env={"PYTHONPATH": path}
    ) as server:
        execute(  # a user who was there before
            my_dsn,
            "INSERT INTO users VALUES ('11111111-aaaa-4bbb-8ccc-000000000001', 'carol', "
            "'pbkdf2:sha256:1000$00$00', '2020-01-01 00:00:00')",
        )
        yield server, my_dsn
