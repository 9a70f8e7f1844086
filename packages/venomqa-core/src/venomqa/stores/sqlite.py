"""The built-in SQLite store: checkpoint and roll back a SQLite file another process writes.

``setup()`` installs real (not TEMP) triggers on every user table that copy the old image of each
changed row into an undo log inside the writer's own transaction, so an API running in a separate
process, through its own connections, is recorded like any other writer (see
``_sqlite_schema``). Then:

- ``checkpoint()`` is the log's newest sequence number plus the AUTOINCREMENT counters
  (sqlite_sequence, one row per AUTOINCREMENT table): O(number of such tables).
- ``rollback(token)`` replays the log backwards down to the token in one transaction, deletes
  those entries and restores sqlite_sequence exactly, so AUTOINCREMENT ids repeat (other tables
  reuse ``max(rowid) + 1`` by themselves): O(rows the branch changed).
- ``fingerprint()`` hashes the content incrementally, relative to the content at setup (see
  ``_sqlite_hash``): O(rows changed since the previous call), never a table scan. The
  AUTOINCREMENT counters are not part of it, so insert-then-delete gives the original value.
- ``changed_records()`` lists the rows that differ from setup, as they were then and are now,
  kept up to date by the same pass.
- ``teardown()`` rolls back to the state at ``setup()`` and removes every trigger and table the
  store installed, leaving the user's schema, data and sqlite_sequence as they were. If a run was
  killed before teardown, the next ``setup()`` finds the leftovers, rolls their log back, removes
  them and warns.
- While set up, the store holds an exclusive lock on ``<file>.venomqa.lock`` (see
  ``venomqa.stores.live_run``): a second run on the same file is refused, naming the first,
  instead of taking its undo log for a killed run's leftovers.
- ``clone(label)`` (``SupportsClone``, for parallel workers): a consistent copy of the file
  beside it, ``<stem>.venomqa-<label><suffix>``, made with the backup API (``_sqlite_clone``).

The store never changes the journal mode. It keeps ``foreign_keys`` off on its own connection,
so rollback works whatever the API's connections enable, and ``synchronous`` off, so a rollback
does not wait for the disk (the API's own connections keep their settings).
Limits: the schema must not change during a run; virtual tables are refused; rows an
``UPDATE OR REPLACE`` deletes are not recorded (``INSERT OR REPLACE`` is).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.json_types import Json
from venomqa.ports.database import QueryParams
from venomqa.ports.store import RecordChange
from venomqa.stores import _sqlite_clone
from venomqa.stores import _sqlite_undo as undo
from venomqa.stores._sqlite_hash import ContentHashes
from venomqa.stores._sqlite_schema import (
    LOG_TABLE,
    META_TABLE,
    TableInfo,
    UnsupportedTableError,
    log_ddl,
    meta_ddl,
    trigger_ddl,
    user_tables,
)
from venomqa.stores._sqlite_undo import SqlValue
from venomqa.stores.kit import TokenStack, already_set_up, new_serial, not_set_up
from venomqa.stores.live_run import FileRunLock

T = TypeVar("T")

_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class SQLiteToken:
    """A checkpoint of a SQLiteStore: a position in its undo log plus the AUTOINCREMENT counters."""

    serial: int
    seq: int
    sequences: undo.SequenceSnapshot


class SQLiteStore:
    """Checkpoint/rollback of one SQLite database file (the store contract,
    ``venomqa.ports.store``), also across processes."""

    name = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._tables: dict[str, TableInfo] = {}
        self._width = 0
        self._tokens = TokenStack(self.name, SQLiteToken)
        self._hashes = ContentHashes(0)
        self._lock = FileRunLock(self.path)

    # -- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        """Install the undo log and triggers (recovering a crashed run's leftovers first)."""
        if self._conn is not None:
            raise already_set_up(self.path, self.name)
        if os.path.exists(self.path):  # a missing file is _connect's error to report
            self._lock.acquire(self.path, self.name)
        try:
            conn = self._connect()
        except BaseException:
            self._lock.release()
            raise
        try:
            with _transaction(conn):
                if _installed(conn):
                    self._recover(conn)
                tables = {t.name: t for t in user_tables(conn)}
                width = max((t.log_width for t in tables.values()), default=1)
                conn.execute(log_ddl(width))
                conn.execute(meta_ddl())
                conn.execute(
                    f"INSERT INTO {META_TABLE}(key, value) VALUES ('sequences', ?)",
                    (json.dumps(undo.read_sequences(conn)),),
                )
                for index, table in enumerate(tables.values()):
                    for ddl in trigger_ddl(table, index):
                        conn.execute(ddl)
        except BaseException as exc:
            conn.close()
            self._lock.release()
            if isinstance(exc, UnsupportedTableError):
                raise StoreError(f"{self.path}: {exc}", store=self.name) from exc
            if isinstance(exc, sqlite3.Error | LookupError):  # LookupError: a damaged undo log
                raise StoreError(f"setup of {self.path} failed: {exc}", store=self.name) from exc
            raise
        self._conn, self._tables, self._width = conn, tables, max(width, 1)
        self._tokens.reset()
        self._hashes = ContentHashes(0)  # the log is empty: every table's delta is 0

    def teardown(self) -> None:
        """Roll back to the state at setup and remove everything setup installed. Idempotent."""
        conn, self._conn = self._conn, None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._tokens.reset()
        if conn is None:
            return
        try:
            with _transaction(conn):
                if _installed(conn):
                    self._restore_original(conn, self._tables)
        except sqlite3.Error as exc:
            raise StoreError(
                f"teardown of {self.path} failed: {exc}; the next setup() will finish it",
                store=self.name,
            ) from exc
        finally:
            conn.close()
            self._lock.release()

    # -- contract --------------------------------------------------------------------------

    def checkpoint(self) -> SQLiteToken:
        """Remember the current state: the log position and the AUTOINCREMENT counters."""
        conn = self._require()

        def take() -> SQLiteToken:
            with _transaction(conn, "BEGIN"):
                token = SQLiteToken(new_serial(), undo.max_seq(conn), undo.read_sequences(conn))
            return token

        return self._tokens.push(self._guard("checkpoint", take))

    def rollback(self, token: object) -> None:
        """Undo every change made after ``token``; tokens taken after it become invalid."""
        conn = self._require()
        token = self._tokens.require(token)

        hashes = self._hashes.copy()

        def run() -> None:
            with _transaction(conn):
                undo.replay_down_to(conn, self._tables, token.seq, self._width)
                undo.restore_sequences(conn, token.sequences)
                hashes.refresh(conn, self._tables, self._width)  # includes the replay's entries
                undo.discard_above(conn, token.seq)

        self._guard("rollback", run)
        hashes.seen_seq = token.seq  # the entries above it are gone; the hashes are current
        self._hashes = hashes
        self._tokens.rolled_back_to(token)

    def release(self, token: object) -> None:
        """Forget ``token``; it can no longer be rolled back to."""
        self._tokens.release(token)

    def fingerprint(self) -> str:
        """A 16-hex-digit value, equal for equal contents of the user tables (rowids included).

        It is a hash of how the rows differ from the content at setup, kept up to date from the
        undo log at O(rows changed since the previous call). The AUTOINCREMENT counters are left
        out on purpose: inserting a row and deleting it again gives the original fingerprint.
        """
        values = self._guard("fingerprint", self._refresh)
        text = repr(sorted(values.items()))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def changed_records(self) -> list[RecordChange]:
        """Every row whose content differs from setup (``SupportsRecords``): its table, its
        rowid (or primary key), the row at setup and now. O(rows changed since the previous
        call) to bring up to date, O(rows changed since setup) to list."""
        self._guard("changed_records", self._refresh)
        return self._hashes.changed_records(self._tables)

    def _refresh(self) -> dict[str, int]:
        """Bring the content hashes and changed rows up to date with the undo log."""
        conn = self._require()
        hashes = self._hashes.copy()
        with _transaction(conn, "BEGIN"):
            values = hashes.refresh(conn, self._tables, self._width)
        self._hashes = hashes
        return values

    def audit(self) -> dict[str, str]:
        """Each user table's rows and the file's id counters, read afresh and hashed (a scan of
        every table: for ``verify_rollback``, see ``venomqa.ports.store.SupportsAudit``)."""
        conn = self._require()

        def read() -> dict[str, str]:
            with _transaction(conn, "BEGIN"):
                parts = {
                    f"table {name}": _digest(conn.execute(f"SELECT * FROM {t.q}").fetchall())
                    for name, t in self._tables.items()
                }
                if _has_table(conn, "sqlite_sequence"):
                    counters = conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
                    parts["id counters (sqlite_sequence)"] = _digest(counters)
                return parts

        return self._guard("audit", read)

    def observe(self) -> dict[str, Json]:
        """Row counts per user table."""
        conn = self._require()

        def count() -> dict[str, Json]:
            with _transaction(conn, "BEGIN"):
                return {
                    name: conn.execute(f"SELECT count(*) FROM {t.q}").fetchone()[0]
                    for name, t in self._tables.items()
                }

        return self._guard("observe", count)

    def query(self, sql: str, params: QueryParams = ()) -> list[dict[str, SqlValue]]:
        """Run a read-only query (for invariants); each row as a dict of column -> value."""
        self._require()
        if self._reader is None:
            self._reader = self._connect(read_only=True)
        reader = self._reader

        def run() -> list[dict[str, SqlValue]]:
            cursor = reader.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return self._guard(f"query {sql!r}", run)

    # -- copies for parallel workers (SupportsClone, see _sqlite_clone) ----------------------

    def clone(self, label: str) -> dict[str, Json]:
        """Copy the file (not set up) for worker ``label``: ``{"path": "<stem>.venomqa-<label>
        <suffix>"}``, repairing a killed run's leftovers in it first."""
        return _sqlite_clone.clone(self.path, label, self.name, repair=self._repair_leftovers)

    def drop_clone(self, options: Mapping[str, Json]) -> None:
        """Remove the copy ``clone`` made with these options."""
        _sqlite_clone.drop(self.path, options, self.name)

    def drop_leftover_clones(self) -> list[str]:
        """Remove the copies of the file no live run uses; one line per copy removed."""
        return _sqlite_clone.drop_leftovers(self.path, self.name)

    def _repair_leftovers(self) -> None:
        self.setup()
        self.teardown()

    # -- internals -------------------------------------------------------------------------

    def _connect(self, *, read_only: bool = False) -> sqlite3.Connection:
        if not os.path.isfile(self.path):
            raise StoreError(
                f"database file {os.path.abspath(self.path)} does not exist "
                "(create it, or fix the store's path)",
                store=self.name,
            )
        try:
            conn = sqlite3.connect(
                _sqlite_clone.database_uri(self.path, "ro" if read_only else "rw"),
                uri=True,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("PRAGMA recursive_triggers = OFF")
            # Our own commits (rollbacks) need atomicity, not durability against power loss.
            conn.execute("PRAGMA synchronous = OFF")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}", store=self.name) from exc
        return conn

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise not_set_up(self.path, self.name)
        return self._conn

    def _guard(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (sqlite3.Error, LookupError) as exc:
            raise StoreError(f"{operation} on {self.path} failed: {exc}", store=self.name) from exc

    def _recover(self, conn: sqlite3.Connection) -> None:
        try:
            tables = {t.name: t for t in user_tables(conn)}
        except UnsupportedTableError as exc:
            raise StoreError(f"{self.path}: {exc}", store=self.name) from exc
        changes = (
            conn.execute(f"SELECT count(*) FROM {LOG_TABLE}").fetchone()[0] if _has_log(conn) else 0
        )
        self._restore_original(conn, tables)
        warnings.warn(
            f"{self.path}: an earlier VenomQA run was stopped before its clean-up; undid its "
            f"{changes} logged change(s) and removed its undo log and triggers",
            LeftoversRepaired,
            stacklevel=3,
        )

    @staticmethod
    def _restore_original(conn: sqlite3.Connection, tables: dict[str, TableInfo]) -> None:
        """Replay the whole log, restore the original counters and drop the machinery."""
        if _has_log(conn):
            undo.replay_down_to(conn, tables, 0, undo.log_width(conn))
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (META_TABLE,)
        ).fetchone()
        row = (
            conn.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'sequences'").fetchone()
            if has_meta
            else None
        )
        if row is not None:
            undo.restore_sequences(conn, [(str(n), int(s)) for n, s in json.loads(row[0])])
        undo.remove_machinery(conn)


def _installed(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE substr(name, 1, 9) = '_venomqa_' LIMIT 1"
    ).fetchone()
    return row is not None


@contextmanager
def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
    """One transaction on an autocommit connection: commit on success, roll back otherwise."""
    conn.execute(begin)
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _has_log(conn: sqlite3.Connection) -> bool:
    """Whether the file holds an undo log (of this run, or of one that never tore down)."""
    return _has_table(conn, LOG_TABLE)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


def _digest(rows: list[tuple[object, ...]]) -> str:
    """An order-independent digest of ``rows`` (their repr, sorted)."""
    digest = hashlib.blake2b(digest_size=16)
    for text in sorted(repr(row) for row in rows):
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()
