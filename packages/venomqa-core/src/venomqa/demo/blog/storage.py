"""Where the blog keeps its data: the storage protocol, and its SQLite implementation.

The blog's rules (``venomqa.demo.blog.app``) only talk to a ``BlogStorage``, so the same API runs
on any store: the demo uses SQLite; the PostgreSQL and Redis test suites plug in their own
implementations (``--storage MODULE:FUNCTION:ARGUMENT``). Records are plain dicts; ids are
strings; every method is one short unit of work on the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Protocol

#: A record: column name -> text (every column of the blog is text).
Row = dict[str, str]

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    jti TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY, author_id TEXT NOT NULL REFERENCES users(id), title TEXT NOT NULL,
    body TEXT NOT NULL, checksum TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS comments (
    id TEXT PRIMARY KEY, post_id TEXT NOT NULL, author_id TEXT NOT NULL REFERENCES users(id),
    text TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
"""


class BlogStorage(Protocol):
    """What the blog needs from a store."""

    def add_user(self, user: Row) -> bool:
        """Store a user (id, name, password_hash, created_at); False when the name is taken."""

    def user_named(self, name: str) -> Row | None:
        """The user called ``name`` (id, name, password_hash, created_at), if any."""

    def add_session(self, session: Row) -> None:
        """Store a session (jti, user_id, created_at, expires_at)."""

    def session_user(self, jti: str) -> str | None:
        """The id of the user whose session ``jti`` is, if it exists."""

    def end_sessions(self, user_id: str) -> None:
        """Delete every session of the user."""

    def add_post(self, post: Row) -> None:
        """Store a post (id, author_id, title, body, checksum, created_at, updated_at)."""

    def post(self, post_id: str) -> Row | None:
        """The post, if it exists."""

    def update_post(self, post_id: str, changes: Row) -> None:
        """Overwrite some fields of the post."""

    def delete_post(self, post_id: str) -> bool:
        """Delete the post (not its comments); False when it did not exist."""

    def add_comment(self, comment: Row) -> None:
        """Store a comment (id, post_id, author_id, text, created_at)."""

    def posts(self) -> list[Row]:
        """Every post."""

    def comments(self) -> list[Row]:
        """Every comment."""

    def add_tickets(self, tickets: list[Row]) -> None:
        """Store tickets (id, created_at)."""


class SqliteBlogStorage:
    """The blog's data in a SQLite file; a connection per unit of work, like a pool would."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self._connection() as conn:
            conn.executescript(SQLITE_SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            conn.row_factory = sqlite3.Row
            yield conn

    def _insert(self, table: str, row: Row) -> None:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._connection() as conn:
            conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))

    def _one(self, sql: str, *params: str) -> Row | None:
        with self._connection() as conn:
            row = conn.execute(sql, params).fetchone()
        return None if row is None else dict(row)

    def _all(self, sql: str) -> list[Row]:
        with self._connection() as conn:
            return [dict(row) for row in conn.execute(sql)]

    def add_user(self, user: Row) -> bool:
        try:
            self._insert("users", user)
        except sqlite3.IntegrityError:
            return False
        return True

    def user_named(self, name: str) -> Row | None:
        return self._one("SELECT * FROM users WHERE name = ?", name)

    def add_session(self, session: Row) -> None:
        self._insert("sessions", session)

    def session_user(self, jti: str) -> str | None:
        row = self._one("SELECT user_id FROM sessions WHERE jti = ?", jti)
        return None if row is None else str(row["user_id"])

    def end_sessions(self, user_id: str) -> None:
        with self._connection() as conn:
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    def add_post(self, post: Row) -> None:
        self._insert("posts", post)

    def post(self, post_id: str) -> Row | None:
        return self._one("SELECT * FROM posts WHERE id = ?", post_id)

    def update_post(self, post_id: str, changes: Row) -> None:
        sets = ", ".join(f"{name} = ?" for name in changes)
        with self._connection() as conn:
            conn.execute(f"UPDATE posts SET {sets} WHERE id = ?", (*changes.values(), post_id))

    def delete_post(self, post_id: str) -> bool:
        with self._connection() as conn:
            return conn.execute("DELETE FROM posts WHERE id = ?", (post_id,)).rowcount > 0

    def add_comment(self, comment: Row) -> None:
        self._insert("comments", comment)

    def posts(self) -> list[Row]:
        return self._all("SELECT * FROM posts ORDER BY created_at, id")

    def comments(self) -> list[Row]:
        return self._all("SELECT * FROM comments ORDER BY created_at, id")

    def add_tickets(self, tickets: list[Row]) -> None:
        for ticket in tickets:
            self._insert("tickets", ticket)
