"""The PostgreSQL store: checkpoint and roll back a database a separate API server writes.

``setup()`` creates the private schema ``_venomqa`` (undo log, trigger functions, a generated
rollback function; see ``_sql``) and adds two triggers to every tracked table. The API under test
keeps writing through its own pool and committing normally; its changes are logged by the
triggers inside its own transactions. Then:

- ``checkpoint()``: one query, the newest log id plus every tracked sequence's
  ``last_value``/``is_called`` (SERIAL and IDENTITY), and the log entries not read yet:
  O(number of sequences + rows changed since the previous read).
- ``rollback(token)``: one call of ``_venomqa.rollback_to`` in one transaction on VenomQA's own
  connection: locks the tracked tables against writers first, so an API request still in flight
  (the client gave up waiting) finishes and is undone too and no new write starts meanwhile
  (``_locks``), then replays the log backwards to the token with triggers and foreign-key checks
  off, deletes those entries and ``setval``s the sequences, so ids repeat: O(rows changed).
  Once 200 entries have been rolled back this way, the log is ``VACUUM``ed (a few ms), so the
  dead rows they leave never pile up under the reads above a token (``_vacuum_log``).
- ``fingerprint()``: a content hash relative to the content at setup, kept up to date from the
  log entries above the last one read, hashing their row images server-side (read after locking
  the tracked tables against writers, so a write in flight is read once it commits, never
  skipped): O(rows changed since the previous read), never a scan. Sequence values are not part
  of it (insert-then-delete gives the original value back).
- ``changed_records()`` (``SupportsRecords``): the rows that differ from setup, as they were then
  and are now (see ``_records``), kept up to date by the same read as the fingerprint, which also
  returns the new entries' row images as JSON: one query, O(rows changed since the previous
  read) to bring up to date, O(rows that differ from setup) to list (the list is cached until a
  read finds new entries or a rollback undoes some; a rollback undoes the entries above the
  token in memory too, O(rows changed after it)). Values are plain: timestamps ISO-8601 text in
  UTC, uuid and numeric text, jsonb and arrays as dicts and lists, bytea ``\\x``-hex text,
  non-finite floats as text; generated columns are included. A table's records are named by its
  primary key; a table without one names a row by all its values. Memory: the entries read
  since setup and not rolled back (like the log itself).
- ``teardown()``: rolls back to the setup point and drops the schema (and with it the
  triggers), leaving schema, data and sequences as the user had them. A run killed before
  teardown is recovered by the next ``setup()`` (or ``venomqa recover``), which says what it
  undid with a ``LeftoversRepaired`` warning (``_recovery``). A live run is never taken for a
  killed one: a set-up store holds a session advisory lock keyed on the database and schema,
  and a second store on them is refused, naming the backend that holds it (``_run_lock``).
- ``clone(label)`` (``SupportsClone``, for parallel workers): the database ``<db>__venomqa_<label>``
  made with ``CREATE DATABASE ... TEMPLATE <db>``; ``drop_clone`` and ``drop_leftover_clones``
  drop copies no live run holds the lock of (``_clone``).

VenomQA's connection is named ``application_name = 'venomqa'`` (unless the dsn names it). When
it is lost (the backend terminated, the server restarted, a proxy dropped it), every operation
reconnects once, with the same session settings, and runs again: each is a read or a rollback
in one transaction that the server aborted (or committed: redoing it changes nothing).

Mode ``savepoint`` is for an app running in VenomQA's process: it runs its SQL on
``store.connection``, and the whole run is one transaction on it. ``setup()`` opens it and installs
the same log and triggers inside it; ``checkpoint()`` is a ``SAVEPOINT``, ``rollback()`` a
``ROLLBACK TO SAVEPOINT`` plus ``setval`` of the sequences (not transactional); the fingerprint
and the changed records are read from the log as above; ``teardown()`` rolls the transaction
back, so nothing installed or written survives. The app must not commit; its own
``with conn.transaction():`` blocks nest as savepoints. A lost connection takes the run's
transaction with it: the operation that finds it raises a StoreError saying so, and teardown
puts the sequences back through a new connection.

Limits: the tracked tables' definitions must not change during a run; rows of a table without a
primary key are found by a scan of that table when undone; in the fallback used when the role may
not set ``session_replication_role`` (not superuser, no ``GRANT SET ON PARAMETER``), the user's
own triggers fire during a rollback and only DEFERRABLE foreign keys are deferred.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from venomqa.errors import LeftoversRepaired, StoreError, StorePermissionError, VenomQAWarning
from venomqa.json_types import Json
from venomqa.ports.store import RecordChange
from venomqa.stores.copies import CopiedByDsn
from venomqa.stores.kit import TokenStack, already_set_up, hide_password, new_serial, not_set_up

from venomqa_postgres import _sql
from venomqa_postgres._catalog import (
    SequenceInfo,
    TableInfo,
    UnknownTableError,
    tracked_sequences,
    user_tables,
)
from venomqa_postgres._clone import Cloner
from venomqa_postgres._locks import TableLocked, table_in_context
from venomqa_postgres._privileges import can_use_replica_role, check_privileges
from venomqa_postgres._records import ChangedRows
from venomqa_postgres._recovery import Repaired, leftovers_exist, repair
from venomqa_postgres._run_lock import take_run_lock
from venomqa_postgres._unreachable import cannot_connect

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

_MASK = (1 << 64) - 1
_MODES = ("triggers", "savepoint")
_LOCK_TIMEOUT = "10s"
#: How VenomQA's connection shows in ``pg_stat_activity`` (unless the dsn or PGAPPNAME names it).
APPLICATION_NAME = "venomqa"
_CONNECT_TIMEOUT = 10
#: Attempts of a rollback the server aborted to break a deadlock with a writer in flight.
_DEADLOCK_ATTEMPTS = 3


@dataclass(frozen=True)
class PostgresToken:
    """A checkpoint: a position in the undo log, the content hash there and sequence values."""

    serial: int
    log_id: int
    content_hash: int
    values: tuple[int, ...]
    called: tuple[bool, ...]


class PostgresStore(CopiedByDsn):
    """Checkpoint/rollback of the tables of one PostgreSQL schema, across processes.

    Options (the ``venomqa.yaml`` keys): ``dsn`` (required, a libpq URL or key=value string),
    ``schema`` (default ``public``), ``tables`` (default: every table of the schema),
    ``exclude`` (tables not to track) and ``mode`` (``triggers``, the default, or ``savepoint``
    for an in-process app sharing :attr:`connection`).
    """

    name = "postgres"

    def __init__(
        self,
        dsn: str,
        schema: str = "public",
        tables: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        mode: str = "triggers",
    ) -> None:
        if not isinstance(dsn, str) or not dsn:
            raise ValueError("option 'dsn' must be a non-empty connection string")
        if mode not in _MODES:
            raise ValueError(f"option 'mode' must be one of {', '.join(_MODES)}, not {mode!r}")
        if isinstance(tables, str) or isinstance(exclude, str):
            raise ValueError("options 'tables' and 'exclude' must be lists of table names")
        self.dsn = dsn
        self.schema = schema
        self.tables = list(tables) if tables is not None else None
        self.exclude = list(exclude)
        self.mode = mode
        self._conn: psycopg.Connection[Any] | None = None
        self._tracked: list[TableInfo] = []
        self._sequences: list[SequenceInfo] = []
        self._checkpoint_sql = ""
        self._replica = True
        self._root: PostgresToken | None = None
        self._tokens = TokenStack(self.name, PostgresToken)
        self._seen = 0
        self._hash = 0
        self._dead_entries = 0  # log entries rolled back since the log was last vacuumed
        self._rows = ChangedRows([])
        self._savepoints: list[int] = []  # savepoint mode: serials of savepoints still open

    # -- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        """Install the undo log and triggers (recovering a crashed run's leftovers first)."""
        if self._conn is not None:
            raise already_set_up(self._where, self.name)
        conn = self._connect()
        try:
            self._take_run_lock(conn)
            if self.mode == "savepoint":
                self._begin_run_transaction(conn)
            self._install(conn)
            if self.mode == "savepoint" and self._root is not None:
                self._savepoint(conn, self._root.serial)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._seen, self._hash = 0, 0
        self._rows = ChangedRows(self._tracked)
        self._tokens.reset(*([self._root] if self._root is not None else []))
        self._savepoints = [t.serial for t in self._tokens] if self.mode == "savepoint" else []

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """VenomQA's connection. In mode ``savepoint`` an in-process app must run its queries
        on it (between ``setup()`` and ``teardown()``): everything happens inside one
        transaction that teardown rolls back. The app must not commit or roll it back itself;
        ``with store.connection.transaction():`` blocks become savepoints and are fine."""
        return self._require()

    def teardown(self) -> None:
        """Roll back to the state at setup and remove everything setup installed. Idempotent.
        A lost connection is re-opened once (mode ``savepoint``: the server rolled the run
        back; the sequences are put back through a new connection)."""
        root = self._root
        try:
            if self._conn is None:
                return
            if self.mode == "savepoint":
                self._teardown_run_transaction(root)
            else:
                self._guard(
                    "teardown",
                    partial(self._uninstall, root),
                    hint="; the next setup() (or `venomqa recover`) will finish it",
                )
        finally:
            conn, self._conn = self._conn, None
            self._root = None
            self._tokens.reset()
            self._seen, self._hash = 0, 0
            self._rows = ChangedRows([])
            if conn is not None:
                conn.close()

    # -- contract --------------------------------------------------------------------------

    def checkpoint(self) -> PostgresToken:
        """Remember the current state: log position, content hash and sequence values."""
        self._require()

        def take(conn: psycopg.Connection[Any]) -> PostgresToken:
            serial = new_serial()
            if self.mode == "savepoint":
                self._savepoint(conn, serial)
                self._savepoints.append(serial)
            row = self._quiesced(
                "checkpoint", lambda: conn.execute(self._checkpoint_sql, (self._seen,)).fetchone()
            )
            assert row is not None
            self._advance(int(row[0]), row[1], row[2])
            rest = row[3:]
            return PostgresToken(
                serial,
                self._seen,
                self._hash,
                tuple(int(v) for v in rest[0::2]),
                tuple(bool(c) for c in rest[1::2]),
            )

        return self._tokens.push(self._guard("checkpoint", take))

    def rollback(self, token: Any) -> None:
        """Undo every change made after ``token``; tokens taken after it become invalid."""
        self._require()
        token = self._tokens.require(token)
        self._guard("rollback", partial(self._rollback_on, token))
        self._seen, self._hash = token.log_id, token.content_hash
        undone = self._rows.undo_above(token.log_id)  # the entries above the token are gone
        if self.mode != "savepoint":
            self._dead_entries += undone  # the rollback deleted them (read ones, at least)
        self._tokens.rolled_back_to(token)
        if self._dead_entries >= VACUUM_AFTER:
            self._dead_entries = 0
            self._guard("vacuuming the undo log", _vacuum_log)

    def _rollback_on(self, token: PostgresToken, conn: psycopg.Connection[Any]) -> None:
        if self.mode == "savepoint":
            conn.execute(f"ROLLBACK TO SAVEPOINT {_savepoint_name(token.serial)}")
            del self._savepoints[self._savepoints.index(token.serial) + 1 :]
            self._restore_sequences(conn, token.values, token.called)
            return

        def undo() -> None:
            with conn.cursor() as cur:
                self._call_rollback(cur, token.log_id, token.values, token.called)

        self._quiesced("rollback", undo)

    def release(self, token: Any) -> None:
        """Forget ``token``; it can no longer be rolled back to."""
        if self._tokens.release(token) and self._conn is not None:
            self._guard("release", self._release_unused_savepoints)

    def _release_unused_savepoints(self, conn: psycopg.Connection[Any]) -> None:
        """Savepoint mode: release the newest savepoints no live token needs. (Releasing an
        older one would also destroy the newer ones, which live tokens may still need.)"""
        import psycopg.pq

        live = {token.serial for token in self._tokens}
        while self._savepoints and self._savepoints[-1] not in live:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
                return
            conn.execute(f"RELEASE SAVEPOINT {_savepoint_name(self._savepoints.pop())}")

    def fingerprint(self) -> str:
        """16 hex digits, equal for equal contents of the tracked tables (not sequences)."""
        self._require()

        def compute(conn: psycopg.Connection[Any]) -> str:
            self._read_new_entries(conn)
            return f"{self._hash:016x}"

        return self._guard("fingerprint", compute)

    def changed_records(self) -> Sequence[RecordChange]:
        """Every row whose content differs from setup (``SupportsRecords``): ``collection`` is
        the table's name, ``identity`` its primary-key values (a table without a primary key:
        all the row's values, so identical rows share one), ``before``/``after`` the row at
        setup and now as column -> plain value (None where it did not or does not exist).

        One query, O(rows changed since the previous read) to bring up to date and O(rows
        that differ from setup) to list; the returned tuple is the same object until a change
        is seen (do not modify it)."""
        self._require()

        def read(conn: psycopg.Connection[Any]) -> Sequence[RecordChange]:
            self._read_new_entries(conn)
            return self._rows.records()

        return self._guard("changed_records", read)

    def audit(self) -> dict[str, str]:
        """Each tracked table's rows and each tracked sequence's value, read afresh from the
        database and hashed server-side (a scan of every tracked table: for
        ``verify_rollback``, see ``venomqa.ports.store.SupportsAudit``)."""
        self._require()

        def read(conn: psycopg.Connection[Any]) -> dict[str, str]:
            parts = [
                f"SELECT %s::text, md5(coalesce(string_agg(r::text, chr(10) ORDER BY r::text), "
                f"'')) FROM {t.q} r"
                for t in self._tracked
            ] + [
                f"SELECT %s::text, last_value::text || '/' || is_called::text FROM {s.q}"
                for s in self._sequences
            ]
            names = [f"table {t.label}" for t in self._tracked]
            names += [f"sequence {s.label}" for s in self._sequences]
            if not parts:
                return {}
            rows = conn.execute(" UNION ALL ".join(parts), names).fetchall()  # one snapshot
            return {str(name): str(digest) for name, digest in rows}

        return self._guard("audit", read)

    def observe(self) -> dict[str, Any]:
        """Row counts per tracked table (one count per table: meant for reports, not loops)."""
        self._require()

        def count(conn: psycopg.Connection[Any]) -> dict[str, Any]:
            if not self._tracked:
                return {}
            sql = " UNION ALL ".join(
                f"SELECT {i}, count(*) FROM {t.q}" for i, t in enumerate(self._tracked)
            )
            rows = conn.execute(sql).fetchall()
            return {self._tracked[int(i)].name: int(n) for i, n in rows}

        return self._guard("observe", count)

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Run a query (for invariants); each row as a dict of column -> value. Run again on a
        new connection when the connection was lost: meant for reads."""
        self._require()

        def run(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
            from psycopg.rows import dict_row

            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(sql, params or None)
                return list(cur.fetchall()) if cur.description else []

        return self._guard(f"query {sql!r}", run)

    # -- copies for parallel workers (SupportsClone: CopiedByDsn, see _clone) --------------

    def copy_options(self, dsn: str) -> dict[str, Json]:
        """This store's options for the copy at ``dsn`` (``CopiedByDsn`` adds the tables)."""
        return {"dsn": dsn, "schema": self.schema, "mode": self.mode}

    @property
    def cloner(self) -> Cloner:
        return Cloner(self.dsn, self.schema, self.name)

    # -- internals: connecting -------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"database {hide_password(self.dsn)} (schema {self.schema})"

    def _connect(self) -> psycopg.Connection[Any]:
        """A new connection for setup; a StoreError when there is none to be had."""
        import psycopg

        try:
            return self._open()
        except psycopg.OperationalError as exc:
            if self._answered(exc):  # connected, then a session setting failed
                raise self._wrap("connecting", exc) from exc
            raise cannot_connect(self.dsn, exc, self.name) from exc
        except psycopg.Error as exc:
            raise self._wrap("connecting", exc) from exc

    @staticmethod
    def _answered(exc: Exception) -> bool:
        """Whether the server was reached (the error carries an SQLSTATE from a session)."""
        return getattr(exc, "sqlstate", None) is not None

    def _open(self) -> psycopg.Connection[Any]:
        """Connect (autocommit, named ``APPLICATION_NAME``) and apply the session settings."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        given = conninfo_to_dict(self.dsn)
        extra: dict[str, str | int] = {}
        if "application_name" not in given and "PGAPPNAME" not in os.environ:
            extra["application_name"] = APPLICATION_NAME
        if "connect_timeout" not in given and "PGCONNECT_TIMEOUT" not in os.environ:
            extra["connect_timeout"] = _CONNECT_TIMEOUT
        conn = psycopg.connect(make_conninfo(self.dsn, **extra), autocommit=True)
        try:
            conn.execute(f"SET lock_timeout = '{_LOCK_TIMEOUT}'")
            # Our commits (rollbacks) need atomicity, not waiting for the WAL flush; the API's
            # own sessions keep their settings.
            conn.execute("SET synchronous_commit = off")
        except BaseException:
            conn.close()
            raise
        return conn

    def _guard(
        self, operation: str, fn: Callable[[psycopg.Connection[Any]], T], hint: str = ""
    ) -> T:
        """``fn(connection)``, a driver error becoming a StoreError. When the connection turns
        out lost, reconnect once and run ``fn`` again (see ``_reopen``)."""
        import psycopg

        conn = self._require()
        try:
            return fn(conn)
        except psycopg.Error as exc:
            if not _is_lost(conn):
                raise self._wrap(operation, exc, hint) from exc
            lost = exc
        conn = self._reopen(operation, lost, hint)
        try:
            return fn(conn)
        except psycopg.Error as exc:
            raise self._wrap(operation, exc, hint) from exc

    def _reopen(self, operation: str, lost: Exception, hint: str = "") -> psycopg.Connection[Any]:
        """Replace the lost connection with a new one (triggers mode). A StoreError when that
        fails, and always in savepoint mode, whose run lived in the lost transaction."""
        import psycopg

        self._require().close()
        why = _one_line(lost)
        if self.mode == "savepoint":
            raise StoreError(
                f"{operation} on {self._where} failed: the connection was lost ({why}), and "
                "with it the run's transaction: in mode savepoint everything the app wrote and "
                "every checkpoint lived in that one transaction, which the server rolled back, "
                "so the run cannot go on (teardown() puts the sequences back)",
                store=self.name,
            ) from lost
        try:
            self._conn = self._open()
            self._take_run_lock(self._conn)  # the old connection's lock went with it
        except psycopg.Error as exc:
            raise StoreError(
                f"{operation} on {self._where} failed: the connection to the database was "
                f"lost ({why}) and reconnecting failed: {hide_password(_one_line(exc))}{hint}",
                store=self.name,
            ) from exc
        return self._conn

    def _take_run_lock(self, conn: psycopg.Connection[Any]) -> None:
        """Refuse to go on while another VenomQA run uses this schema (``_run_lock``)."""
        import psycopg

        try:
            take_run_lock(conn, self.schema, self._where, self.name)
        except psycopg.Error as exc:
            raise self._wrap("setup", exc) from exc

    # -- internals: installing and removing ------------------------------------------------

    def _install(self, conn: psycopg.Connection[Any]) -> None:
        import psycopg

        repaired = None
        try:
            with conn.transaction(), conn.cursor() as cur:
                self._replica = can_use_replica_role(cur)
                if leftovers_exist(cur):
                    repaired = self._repair(cur)
                tables = user_tables(cur, self.schema, self.tables, self.exclude)
                sequences = tracked_sequences(cur, self.schema, tables)
                check_privileges(cur, self.name, self.schema, tables, sequences)
                for ddl in _sql.base_ddl(self._replica):
                    cur.execute(ddl)
                for ddl in _sql.image_type_ddl(tables):
                    cur.execute(ddl)
                for index, table in enumerate(tables):
                    for ddl in _sql.trigger_ddl(table, index):
                        cur.execute(ddl)
                cur.execute(_sql.rollback_function_ddl(tables, sequences))
                cur.execute(_sql.read_function_ddl(tables))
                checkpoint_sql = _sql.checkpoint_sql(sequences)
                cur.execute(checkpoint_sql, (0,))
                first = cur.fetchone()
                assert first is not None
                rest = first[3:]
                values = [int(v) for v in rest[0::2]]
                called = [bool(c) for c in rest[1::2]]
                saved = {"values": values, "called": called, "oids": [s.oid for s in sequences]}
                cur.execute(
                    f"INSERT INTO {_sql.META}(key, value) VALUES ('sequences', %s)",
                    (json.dumps(saved),),
                )
        except UnknownTableError as exc:
            raise StoreError(f"{self._where}: {exc}", store=self.name) from exc
        except psycopg.Error as exc:
            raise self._wrap("setup", exc) from exc
        self._report_repaired(repaired)
        self._tracked, self._sequences = tables, sequences
        self._root = PostgresToken(new_serial(), 0, 0, tuple(values), tuple(called))
        self._checkpoint_sql = checkpoint_sql
        if not self._replica and self.mode == "triggers":
            warnings.warn(
                f"{self._where}: the role may not SET session_replication_role, so during a "
                "rollback the tables' own triggers fire and only DEFERRABLE foreign keys are "
                "deferred; run as a superuser or GRANT SET ON PARAMETER "
                "session_replication_role to the role",
                VenomQAWarning,
                stacklevel=3,
            )

    def _uninstall(self, root: PostgresToken | None, conn: psycopg.Connection[Any]) -> None:
        """Triggers mode: roll back to setup and drop the schema, in one transaction."""

        def run() -> None:
            with conn.transaction(), conn.cursor() as cur:
                if root is not None:
                    self._call_rollback(cur, 0, root.values, root.called)
                cur.execute(f"DROP SCHEMA IF EXISTS {_sql.S} CASCADE")

        self._quiesced("teardown", run)

    def _repair(self, cur: Any) -> Repaired:
        """Undo and remove what a run that never tore down left behind (``_recovery``)."""
        try:
            return repair(cur, self._replica)
        except TableLocked as exc:
            raise self._locked_out("setup (undoing an earlier run's leftovers)", exc.table) from exc

    def _report_repaired(self, repaired: Repaired | None) -> None:
        """Once the repair has committed: say what it undid (for ``setup()``'s caller)."""
        if repaired is not None:
            warnings.warn(f"{self._where}: {repaired.describe()}", LeftoversRepaired, stacklevel=4)

    def _begin_run_transaction(self, conn: psycopg.Connection[Any]) -> None:
        """Savepoint mode: recover a crashed triggers-mode run (committed, so the final
        rollback does not bring its leftovers back), then open the run's transaction."""
        import psycopg

        repaired = None
        try:
            with conn.transaction(), conn.cursor() as cur:
                if leftovers_exist(cur):
                    self._replica = can_use_replica_role(cur)
                    repaired = self._repair(cur)
            conn.execute("BEGIN")
        except psycopg.Error as exc:
            raise self._wrap("setup", exc) from exc
        finally:
            self._report_repaired(repaired)

    def _teardown_run_transaction(self, root: PostgresToken | None) -> None:
        """Savepoint mode: put the sequences back and roll the whole run back. After a lost
        connection the server has rolled it back already: put the sequences back anew."""
        import psycopg

        conn = self._require()
        try:
            if root is not None:
                conn.execute(f"ROLLBACK TO SAVEPOINT {_savepoint_name(root.serial)}")
                self._restore_sequences(conn, root.values, root.called)
            conn.rollback()
        except psycopg.Error as exc:
            if not _is_lost(conn):
                raise self._wrap("teardown", exc, hint="; the sequences may have moved") from exc
            if root is not None:
                self._restore_sequences_anew(root, exc)

    def _restore_sequences_anew(self, root: PostgresToken, lost: Exception) -> None:
        """Savepoint mode, connection lost: ``setval`` the sequences through a new one."""
        import psycopg

        hint = "; the rows are back (the server rolled the run back), the sequences may not be"
        try:
            conn = self._open()
        except psycopg.Error as exc:
            raise StoreError(
                f"teardown on {self._where} failed: the connection was lost "
                f"({_one_line(lost)}) and reconnecting failed: {hide_password(_one_line(exc))}"
                f"{hint}",
                store=self.name,
            ) from exc
        try:
            self._restore_sequences(conn, root.values, root.called)
        except psycopg.Error as exc:
            raise self._wrap("teardown", exc, hint) from exc
        finally:
            conn.close()

    # -- internals: operations -------------------------------------------------------------

    def _savepoint(self, conn: psycopg.Connection[Any], serial: int) -> None:
        import psycopg.pq

        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            raise StoreError(
                f"{self._where}: a statement on the shared connection failed and its error was "
                "not handled, so the run's transaction is aborted; run the app's writes inside "
                "'with store.connection.transaction():' so a failing one is rolled back alone",
                store=self.name,
            )
        conn.execute(f"SAVEPOINT {_savepoint_name(serial)}")

    def _restore_sequences(
        self, conn: psycopg.Connection[Any], values: Sequence[int], called: Sequence[bool]
    ) -> None:
        """``setval`` every tracked sequence (not transactional, so no savepoint restores it)."""
        if not self._sequences:
            return
        calls = ", ".join(f"pg_catalog.setval({s.oid}::oid, %s, %s)" for s in self._sequences)
        params: list[Any] = []
        for value, is_called in zip(values, called, strict=True):
            params += [value, is_called]
        conn.execute(f"SELECT {calls}", params)

    def _quiesced(self, operation: str, fn: Callable[[], T]) -> T:
        """Run ``fn``, a rollback or a read of the log (which lock the tracked tables against
        writers first): again when the server aborted it to break a deadlock with a writer in
        flight; a StoreError naming the table when a lock was not granted within
        ``lock_timeout``."""
        import psycopg.errors

        for attempt in range(1, _DEADLOCK_ATTEMPTS + 1):
            try:
                return fn()
            except psycopg.errors.DeadlockDetected:
                if attempt == _DEADLOCK_ATTEMPTS:
                    raise
            except psycopg.errors.LockNotAvailable as exc:
                tables = ((t.q, t.label) for t in self._tracked)
                raise self._locked_out(
                    operation, table_in_context(exc.diag.context, tables)
                ) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _locked_out(self, operation: str, table: str) -> StoreError:
        """The error for a lock on ``table`` not granted within ``lock_timeout``."""
        return StoreError(
            f"{operation} on {self._where} failed: could not lock table {table} within "
            f"lock_timeout ({_LOCK_TIMEOUT}): another transaction holds a lock on it that "
            "conflicts with writing (a rollback first waits for the writes in flight to "
            "finish); is a request of the API stuck, or a session idle in a transaction? "
            "(see pg_stat_activity and pg_locks)",
            store=self.name,
        )

    def _call_rollback(
        self,
        cur: Any,
        log_id: int,
        values: Sequence[int] | None,
        called: Sequence[bool] | None,
    ) -> None:
        cur.execute(
            _sql.ROLLBACK_SQL,
            (
                log_id,
                None if values is None else list(values),
                None if called is None else list(called),
                self._replica,
            ),
        )

    def _read_new_entries(self, conn: psycopg.Connection[Any]) -> None:
        """Bring the content hash and the changed rows up to date with the log (one query)."""
        row = self._quiesced(
            "reading the undo log", lambda: conn.execute(_sql.READ_SQL, (self._seen,)).fetchone()
        )
        assert row is not None
        self._advance(int(row[0]), row[1], row[2])

    def _advance(self, top: int, delta: Any, entries: str | None) -> None:
        """Take in the log entries above ``_seen``: their hash delta and their row images
        (``entries``: the JSON text of ``[id, tbl, old, new]`` lists, None when there are none)."""
        if entries is not None:
            self._rows.apply(json.loads(entries))
        self._hash = (self._hash + int(delta)) & _MASK
        self._seen = max(self._seen, top)

    def _require(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise not_set_up(self._where, self.name)
        return self._conn

    def _wrap(self, operation: str, exc: Exception, hint: str = "") -> StoreError:
        import psycopg.errors

        message = f"{operation} on {self._where} failed: {hide_password(str(exc).strip())}{hint}"
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return StorePermissionError(message, store=self.name)
        return StoreError(message, store=self.name)


def _is_lost(conn: psycopg.Connection[Any]) -> bool:
    """Whether ``conn`` is gone (killed backend, restarted server, dropped proxy, closed)."""
    return bool(conn.closed or conn.broken)


def _one_line(exc: BaseException) -> str:
    """An error's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


#: Rolled-back log entries after which the log is vacuumed (see ``_vacuum_log``).
VACUUM_AFTER = 200


def _vacuum_log(conn: psycopg.Connection[Any]) -> None:
    """``VACUUM`` the undo log (outside any transaction: the store's connection autocommits).

    Every rollback deletes the log entries it undid; the dead rows they leave (and their index
    entries) would otherwise be walked by every read above a token until autovacuum comes by,
    so after 10,000 rollbacks a checkpoint would cost more than on a fresh log. A small table:
    a few ms, once per ``VACUUM_AFTER`` entries rolled back."""
    conn.execute(f"VACUUM {_sql.LOG}")


def _savepoint_name(serial: int) -> str:
    return f"venomqa_{serial}"
