"""The blog demo's storage on PostgreSQL, as a real Postgres-backed API would keep it (psycopg 3).

``python -m venomqa.demo.blog --storage _support_postgres_blog:open_storage:postgresql://...``
(with this folder on PYTHONPATH) runs the blog on it. The schema is the one a real API would
have: uuid keys, ``timestamptz`` columns, foreign keys to ``users``, and none from ``comments`` to
``posts`` (the seeded bug leaves comments behind). Every method is one unit of work on a
connection of a small ``psycopg_pool`` pool in autocommit mode, as an API's handlers would run
it. Rows come back as dicts whose uuids and timestamps are strings (the API returns them as
JSON).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

Row = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id uuid PRIMARY KEY,
    name text UNIQUE NOT NULL,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    jti text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id uuid PRIMARY KEY,
    author_id uuid NOT NULL REFERENCES users(id),
    title text NOT NULL,
    body text NOT NULL,
    checksum text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS comments (
    id uuid PRIMARY KEY,
    post_id uuid NOT NULL,
    author_id uuid NOT NULL REFERENCES users(id),
    text text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (
    id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL
);
"""


def _plain(value: Any) -> Any:
    """A column value as the API's JSON carries it: uuids and timestamps as strings."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _row(row: Row) -> Row:
    return {name: _plain(value) for name, value in row.items()}


class PostgresBlogStorage:
    """The blog's data in one PostgreSQL database, through a small autocommit pool."""

    def __init__(self, dsn: str) -> None:
        self.pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=4,
            kwargs={"autocommit": True, "row_factory": dict_row},
            open=True,
        )
        with self.pool.connection() as conn:
            conn.execute(SCHEMA)

    def _execute(self, query: sql.Composable | str, params: Any = ()) -> int:
        with self.pool.connection() as conn:
            return conn.execute(query, params).rowcount  # type: ignore[arg-type]

    def _one(self, query: str, *params: Any) -> Row | None:
        with self.pool.connection() as conn:
            row = conn.execute(query, params).fetchone()
        return None if row is None else _row(row)

    def _all(self, query: str) -> list[Row]:
        with self.pool.connection() as conn:
            return [_row(row) for row in conn.execute(query)]

    def _insert(self, table: str, row: Row) -> None:
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() for _ in row),
        )
        self._execute(query, tuple(row.values()))

    # -- users and sessions --------------------------------------------------------------------

    def add_user(self, user: Row) -> bool:
        try:
            self._insert("users", user)
        except psycopg.errors.UniqueViolation:
            return False
        return True

    def user_named(self, name: str) -> Row | None:
        return self._one("SELECT * FROM users WHERE name = %s", name)

    def add_session(self, session: Row) -> None:
        self._insert("sessions", session)

    def session_user(self, jti: str) -> str | None:
        row = self._one("SELECT user_id FROM sessions WHERE jti = %s", jti)
        return None if row is None else str(row["user_id"])

    def end_sessions(self, user_id: str) -> None:
        self._execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))

    # -- posts, comments, tickets ---------------------------------------------------------------

    def add_post(self, post: Row) -> None:
        self._insert("posts", post)

    def post(self, post_id: str) -> Row | None:
        return self._one("SELECT * FROM posts WHERE id = %s", post_id)

    def update_post(self, post_id: str, changes: Row) -> None:
        query = sql.SQL("UPDATE posts SET {} WHERE id = %s").format(
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(name)) for name in changes)
        )
        self._execute(query, (*changes.values(), post_id))

    def delete_post(self, post_id: str) -> bool:
        return self._execute("DELETE FROM posts WHERE id = %s", (post_id,)) > 0

    def add_comment(self, comment: Row) -> None:
        self._insert("comments", comment)

    def posts(self) -> list[Row]:
        return self._all("SELECT * FROM posts ORDER BY created_at, id")

    def comments(self) -> list[Row]:
        return self._all("SELECT * FROM comments ORDER BY created_at, id")

    def add_tickets(self, tickets: list[Row]) -> None:
        with self.pool.connection() as conn, conn.transaction():
            for ticket in tickets:
                conn.execute(
                    "INSERT INTO tickets (id, created_at) VALUES (%s, %s)",
                    (ticket["id"], ticket["created_at"]),
                )


def open_storage(dsn: str) -> PostgresBlogStorage:
    """The ``FUNCTION`` of ``--storage _support_postgres_blog:open_storage:DSN``."""
    return PostgresBlogStorage(dsn)
