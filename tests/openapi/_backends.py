"""Where the test shop keeps its data: a SQLite file or a fresh PostgreSQL database. Each backend
gives the shop's ``--db`` value, the ``stores:`` entry that rolls it back, a way to put a row in
before a run, and a dump of everything (rows and id counters) to compare before and after."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

_POSTGRES_TESTS = str(Path(__file__).resolve().parent.parent / "postgres")


class Backend(Protocol):
    """The shop's database as the tests see it."""

    name: str
    #: The shop's ``--db`` argument.
    url: str
    #: The ``stores:`` entry (YAML flow mapping) for venomqa.yaml.
    store: str
    #: The VENOMQA_LOAD_PLUGINS a run needs.
    plugins: str

    def execute(self, sql: str) -> None: ...

    def dump(self) -> Any: ...


class SqliteBackend:
    """A SQLite file in the test's folder; the built-in ``sqlite`` store."""

    name = "sqlite"
    plugins = "openapi"

    def __init__(self, folder: Path) -> None:
        self.path = folder / "shop.db"
        self.url = f"sqlite:///{self.path}"
        self.store = f"{{adapter: sqlite, path: {self.path}}}"

    def execute(self, sql: str) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.execute(sql)

    def dump(self) -> Any:
        with sqlite3.connect(self.path) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            return {
                table: conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
                for table in sorted(tables)
            }


class PostgresBackend:
    """A fresh PostgreSQL database; the ``postgres`` store (venomqa-postgres)."""

    name = "postgres"
    plugins = "openapi,postgres"

    def __init__(self, dsn: str) -> None:
        self.url = dsn
        self.store = f'{{adapter: postgres, dsn: "{dsn}"}}'

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def dump(self) -> Any:
        """Rows, sequences (last_value, is_called), triggers and functions: see
        tests/postgres/_support_postgres.py."""
        return postgres_support().database_content(self.url)


def postgres_support() -> Any:
    """tests/postgres/_support_postgres (its fresh databases and full dump)."""
    if _POSTGRES_TESTS not in sys.path:
        sys.path.insert(0, _POSTGRES_TESTS)
    import _support_postgres

    return _support_postgres


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped after); skips, or fails under CI, without a
    server."""
    from services import require_module, require_service

    psycopg = require_module("psycopg")
    support = postgres_support()
    try:
        with psycopg.connect(support.ADMIN_DSN, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        require_service(f"PostgreSQL is not reachable at {support.ADMIN_DSN}: {exc}")
    with support.fresh_database("vq_openapi") as dsn:
        yield dsn
