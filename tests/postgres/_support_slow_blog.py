"""The PostgreSQL blog storage of ``_support_postgres_blog`` with every statement 60 ms slower, as
an API whose database is across a network: a run lasts long enough to be interrupted.

``--storage _support_slow_blog:open_slow_storage:DSN`` (with this folder on PYTHONPATH).
"""

from __future__ import annotations

import time
from typing import Any

from _support_postgres_blog import PostgresBlogStorage, Row
from psycopg import sql

DELAY_S = 0.06


class SlowBlogStorage(PostgresBlogStorage):
    """``PostgresBlogStorage``, waiting ``DELAY_S`` before each statement."""

    def _execute(self, query: sql.Composable | str, params: Any = ()) -> int:
        time.sleep(DELAY_S)
        return super()._execute(query, params)

    def _one(self, query: str, *params: Any) -> Row | None:
        time.sleep(DELAY_S)
        return super()._one(query, *params)

    def _all(self, query: str) -> list[Row]:
        time.sleep(DELAY_S)
        return super()._all(query)


def open_slow_storage(dsn: str) -> SlowBlogStorage:
    """The ``FUNCTION`` of ``--storage _support_slow_blog:open_slow_storage:DSN``."""
    return SlowBlogStorage(dsn)
