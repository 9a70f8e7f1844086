"""The blog demo's storage on MySQL/MariaDB, as a real MySQL-backed API would keep it (PyMySQL).

``python -m venomqa.demo.blog --storage _support_mysql_blog:open_storage:mysql://...`` (with
this folder on PYTHONPATH) runs the blog on it. The schema is a real API's: CHAR(36) uuid keys,
DATETIME(6) columns (UTC), foreign keys to ``users`` and none from ``comments`` to ``posts``
(the seeded bug leaves comments behind). Every method is one unit of work on a connection of a
small pool of autocommit connections, as an API's handlers would run it; rows come back with
timestamps as ISO-8601 strings (the API returns them as JSON).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pymysql
from _support_mysql import connect

Row = dict[str, Any]

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS users (id CHAR(36) PRIMARY KEY, name VARCHAR(100) UNIQUE NOT "
    "NULL, password_hash VARCHAR(255) NOT NULL, created_at DATETIME(6) NOT NULL) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS sessions (jti VARCHAR(64) PRIMARY KEY, user_id CHAR(36) NOT "
    "NULL, created_at DATETIME(6) NOT NULL, expires_at DATETIME(6) NOT NULL, FOREIGN KEY "
    "(user_id) REFERENCES users(id)) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS posts (id CHAR(36) PRIMARY KEY, author_id CHAR(36) NOT NULL, "
    "title TEXT NOT NULL, body TEXT NOT NULL, checksum VARCHAR(64) NOT NULL, created_at "
    "DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL, FOREIGN KEY (author_id) REFERENCES "
    "users(id)) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS comments (id CHAR(36) PRIMARY KEY, post_id CHAR(36) NOT NULL, "
    "author_id CHAR(36) NOT NULL, text TEXT NOT NULL, created_at DATETIME(6) NOT NULL, "
    "FOREIGN KEY (author_id) REFERENCES users(id)) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS tickets (id CHAR(36) PRIMARY KEY, created_at DATETIME(6) NOT "
    "NULL) ENGINE=InnoDB",
]
_TIMES = ("created_at", "updated_at", "expires_at")


def _stored(name: str, value: Any) -> Any:
    """An API value as the column holds it: ISO-8601 timestamps as naive UTC datetimes."""
    if name in _TIMES and isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC).isoformat()
    return value


class MySQLBlogStorage:
    """The blog's data in one MySQL database, through a small pool of autocommit connections."""

    def __init__(self, dsn: str, size: int = 4) -> None:
        self.dsn = dsn
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue(maxsize=size)
        with self._connection() as cur:
            for ddl in SCHEMA:
                cur.execute(ddl)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self.dsn)
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                yield cur
        except BaseException:
            conn.close()
            raise
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def _execute(self, sql: str, params: Any = ()) -> int:
        with self._connection() as cur:
            return int(cur.execute(sql, params))

    def _one(self, sql: str, *params: Any) -> Row | None:
        with self._connection() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return None if row is None else {k: _plain(v) for k, v in row.items()}

    def _all(self, sql: str) -> list[Row]:
        with self._connection() as cur:
            cur.execute(sql)
            return [{k: _plain(v) for k, v in row.items()} for row in cur.fetchall()]

    def _insert(self, table: str, row: Row) -> None:
        names = ", ".join(f"`{name}`" for name in row)
        marks = ", ".join("%s" for _ in row)
        values = tuple(_stored(k, v) for k, v in row.items())
        self._execute(f"INSERT INTO `{table}` ({names}) VALUES ({marks})", values)

    def add_user(self, user: Row) -> bool:
        try:
            self._insert("users", user)
        except pymysql.err.IntegrityError:
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

    def add_post(self, post: Row) -> None:
        self._insert("posts", post)

    def post(self, post_id: str) -> Row | None:
        return self._one("SELECT * FROM posts WHERE id = %s", post_id)

    def update_post(self, post_id: str, changes: Row) -> None:
        sets = ", ".join(f"`{name}` = %s" for name in changes)
        values = tuple(_stored(k, v) for k, v in changes.items())
        self._execute(f"UPDATE posts SET {sets} WHERE id = %s", (*values, post_id))

    def delete_post(self, post_id: str) -> bool:
        return self._execute("DELETE FROM posts WHERE id = %s", (post_id,)) > 0

    def add_comment(self, comment: Row) -> None:
        self._insert("comments", comment)

    def posts(self) -> list[Row]:
        return self._all("SELECT * FROM posts ORDER BY created_at, id")

    def comments(self) -> list[Row]:
        return self._all("SELECT * FROM comments ORDER BY created_at, id")

    def add_tickets(self, tickets: list[Row]) -> None:
        conn = connect(self.dsn)
        try:
            conn.begin()
            with conn.cursor() as cur:
                for ticket in tickets:
                    cur.execute(
                        "INSERT INTO tickets (id, created_at) VALUES (%s, %s)",
                        (ticket["id"], _stored("created_at", ticket["created_at"])),
                    )
            conn.commit()
        finally:
            conn.close()


def open_storage(dsn: str) -> MySQLBlogStorage:
    """The ``FUNCTION`` of ``--storage _support_mysql_blog:open_storage:DSN``."""
    return MySQLBlogStorage(dsn)
