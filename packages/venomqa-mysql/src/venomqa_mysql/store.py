"""The MySQL/MariaDB store: checkpoint and roll back a database a separate API server writes.

``setup()`` installs, in the database itself, an undo log table per tracked table, AFTER row
triggers that fill it inside the writer's own transaction, and a rollback procedure (all named
``_venomqa_*``; see ``_sql``). The API under test keeps writing through its own pool. Then:

- ``checkpoint()``: one round trip: waits for writes in flight (``LOCK TABLES`` on the logs,
  released at once), reads the log entries not read yet and the tracked tables' AUTO_INCREMENT
  counters and catalog digest: O(tables + rows changed since the previous read).
- ``rollback(token)``: one round trip: the same wait, then one ``CALL`` that checks no DDL or
  TRUNCATE touched a tracked table, replays the logs back to the token in one transaction
  (foreign-key checks off, VenomQA's triggers silent) and deletes those entries: O(rows
  changed). AUTO_INCREMENT counters that moved go back with ``ALTER TABLE`` so ids repeat;
  that DDL runs on after the rollback returns, under ``LOCK TABLES ... WRITE`` granted before
  it returns (in the same round trip when the inserts were read from the logs, else one
  more), so the API's next statement on the table waits for it (``_lower_counters``).
- ``fingerprint()``: a content hash relative to setup, kept up to date from the 64-bit row
  hashes the triggers store with every entry: O(rows changed since the previous read), never a
  scan. Counters are not part of it.
- ``changed_records()``: the rows that differ from setup, from the same read (``_records``).
- ``teardown()``: rolls back to setup and drops every ``_venomqa_*`` object. A run killed before
  teardown is repaired by the next ``setup()`` (or ``venomqa recover``) with a
  ``LeftoversRepaired`` warning (``_recovery``). A live run is never taken for a killed one:
  a set-up store holds ``GET_LOCK('venomqa:<database>')`` on its connection, and a second store
  on the same database is refused, naming the holder (``_run_lock``).
- ``clone(label)`` (``SupportsClone``, for parallel workers): the database
  ``<db>__venomqa_<label>``, each table copied with its rows, counters, keys, triggers and views
  (``_clone``); ``drop_clone`` and ``drop_leftover_clones`` drop copies no live run holds.

When VenomQA's connection is lost, every operation reconnects once and runs again (see
``_guard``).

Mode ``savepoint`` is for an app in VenomQA's process running its SQL on ``store.connection``:
the objects are installed (committed) as above, then the whole run is one transaction on that
connection: a checkpoint is a ``SAVEPOINT`` (plus the same read), a rollback ``ROLLBACK TO
SAVEPOINT``; teardown rolls the transaction back, then replays what got committed anyway and sets
the counters back. AUTO_INCREMENT counters are not put back between branches in this mode
(lowering one is DDL, which would commit the run).

ON DELETE CASCADE / SET NULL cascades (which fire no triggers) are logged by a BEFORE DELETE
trigger on the parent (``_cascades``). Refused with a clear StoreError: cascades that cannot be
logged (``_cascades``), DDL on a tracked table during the run and TRUNCATE (no triggers fire:
the rows it removed are not in the log). Missing privileges: a StorePermissionError
naming the privilege and the GRANT.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from venomqa.errors import LeftoversRepaired, StoreError, StorePermissionError, VenomQAWarning
from venomqa.json_types import Json
from venomqa.ports.store import RecordChange
from venomqa.stores.copies import CopiedByDsn
from venomqa.stores.kit import TokenStack, already_set_up, hide_password, new_serial, not_set_up

from venomqa_mysql import _sql
from venomqa_mysql._cascades import before_delete_ddl, cascade_paths, read_keys
from venomqa_mysql._catalog import (
    META,
    ROLLBACK_PROC,
    CascadeError,
    TableInfo,
    UnknownTableError,
    user_tables,
    user_triggers,
)
from venomqa_mysql._clone import Cloner
from venomqa_mysql._connect import LOCK_TIMEOUT_S, Target, connect, is_mariadb, parse_dsn, run
from venomqa_mysql._privileges import account_of, check_privileges, explain_denied
from venomqa_mysql._records import ChangedRows, Entry, plain
from venomqa_mysql._recovery import Repaired, installed, remove, repair
from venomqa_mysql._run_lock import take_run_lock

T = TypeVar("T")
_MASK = (1 << 64) - 1
_MODES = ("triggers", "savepoint")


@dataclass(frozen=True)
class MySQLToken:
    """A checkpoint: each log's position, the content hash there and the counters."""

    serial: int
    positions: tuple[int, ...]
    content_hash: int
    counters: tuple[int | None, ...]


@dataclass(frozen=True)
class _Catalog:
    """What the server's catalog says of the tracked tables (see ``_sql.catalog_sql``)."""

    counters: dict[str, int | None]
    parts: dict[str, tuple[str, str, int]]  # name -> (create time, table id, digest)

    @property
    def digest(self) -> tuple[int, int]:
        value = 0
        for _, _, d in self.parts.values():
            value ^= d
        return value, len(self.parts)


class MySQLStore(CopiedByDsn):
    """Checkpoint/rollback of the tables of one MySQL or MariaDB database, across processes.

    Options (the ``venomqa.yaml`` keys): ``dsn`` (required,
    ``mysql://user:password@host:3306/dbname``), ``tables`` (default: every base table),
    ``exclude`` (tables not to track) and ``mode`` (``triggers``, the default, or ``savepoint``
    for an in-process app sharing :attr:`connection`).
    """

    name = "mysql"

    def __init__(
        self,
        dsn: str,
        tables: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        mode: str = "triggers",
    ) -> None:
        if not isinstance(dsn, str) or not dsn:
            raise ValueError("option 'dsn' must be a non-empty connection URL")
        if mode not in _MODES:
            raise ValueError(f"option 'mode' must be one of {', '.join(_MODES)}, not {mode!r}")
        if isinstance(tables, str) or isinstance(exclude, str):
            raise ValueError("options 'tables' and 'exclude' must be lists of table names")
        self.target: Target = parse_dsn(dsn)
        self.dsn = dsn
        self.tables = list(tables) if tables is not None else None
        self.exclude = list(exclude)
        self.mode = mode
        self._conn: Any = None
        self._account: str | None = None
        self._innodb: str | None = None
        self._tracked: list[TableInfo] = []
        self._read_sql = ""
        self._barrier = ""
        self._catalog_sql = ""
        self._expected: _Catalog | None = None
        #: The lowest each AUTO_INCREMENT counter can be now (only TRUNCATE or someone's DDL
        #: lowers one): a second way to notice TRUNCATE, for users who may not read table ids.
        self._floor: dict[str, int] = {}
        self._root: MySQLToken | None = None
        self._tokens = TokenStack(self.name, MySQLToken)
        self._seen: list[int] = []
        self._hash = 0
        self._rows = ChangedRows([])
        #: Per tracked table, the log ids of the inserts read (ascending), to foresee which
        #: counters a rollback will set back.
        self._inserts: list[list[int]] = []
        #: Let ``rollback()`` return before its ALTERs end (``_lower_counters``); False: after.
        self._defer_counters = True
        #: The cursor whose results after the first (the ALTERs) are still on the wire.
        self._lowering: Any = None
        self._lowering_tables: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        """Install logs, procedure and triggers (repairing a killed run's leftovers first)."""
        if self._conn is not None:
            raise already_set_up(self._where, self.name)
        conn = self._connect()
        try:
            self._take_run_lock(conn)
            self._install(conn)
        except BaseException:
            conn.close()
            raise
        if self.mode == "savepoint":
            assert self._root is not None
            try:
                conn.begin()
                run(conn, f"SAVEPOINT {_savepoint(self._root)}")
            except BaseException:
                with contextlib.suppress(Exception):
                    remove(conn, installed(conn))
                conn.close()
                raise
        self._conn = conn
        self._rows = ChangedRows(self._tracked)
        assert self._root is not None
        self._tokens.reset(self._root)

    @property
    def connection(self) -> Any:
        """VenomQA's connection (PyMySQL). In mode ``savepoint`` an in-process app runs its SQL
        on it, between ``setup()`` and ``teardown()``: everything happens inside one
        transaction that teardown rolls back, so the app must not commit (nor run DDL, which
        MySQL commits implicitly)."""
        return self._require()

    def teardown(self) -> None:
        """Roll back to the state at setup and drop every object setup installed. Idempotent.
        When the rollback fails (DDL or TRUNCATE during the run) the objects are still removed
        and the error says what could not be put back."""
        root = self._root
        if self._conn is None:
            return
        failure: StoreError | None = None
        try:
            if self.mode == "savepoint":
                with contextlib.suppress(Exception):  # the run's transaction; what got
                    self._conn.rollback()  # committed anyway is undone next
            if root is not None:
                try:
                    self._call_rollback(root, "teardown")
                except StoreError as exc:
                    failure = exc
                    # DDL or TRUNCATE: still put back every row the logs hold, as far as the
                    # tables' definitions now allow
                    with contextlib.suppress(StoreError):
                        self._call_rollback(root, "teardown", check=False)
            try:
                self._guard("teardown", lambda c: remove(c, installed(c)))
            except StoreError as exc:
                raise StoreError(
                    f"{exc.detail}; the next setup() (or `venomqa recover`) will finish it",
                    store=self.name,
                ) from exc
        finally:
            self._settle(quietly=True)  # read what a rollback left on the wire first
            conn, self._conn, self._root = self._conn, None, None
            self._tokens.reset()
            self._seen, self._hash, self._inserts = [], 0, []
            self._rows = ChangedRows([])
            with contextlib.suppress(Exception):
                conn.close()
        if failure is not None:
            raise StoreError(
                f"{failure.detail}; VenomQA put back the rows its logs held as far as it could and "
                "removed its triggers, logs and procedure anyway",
                store=self.name,
            ) from failure

    # -- contract --------------------------------------------------------------------------

    def checkpoint(self) -> MySQLToken:
        """Remember the current state: log positions, content hash and counters."""
        conn = self._require()
        serial = new_serial()
        prefix = self._barrier
        if self.mode == "savepoint":
            self._check_run_transaction(conn, "checkpoint")
            prefix = f"SAVEPOINT venomqa_{serial}; "
        sets = self._guard(
            "checkpoint",
            lambda c: run(c, prefix + self._read_sql + "; " + self._catalog_sql, tuple(self._seen)),
        )
        self._advance(sets[:-1])
        catalog = self._parse_catalog(sets[-1])
        self._check_catalog(catalog, "checkpoint")
        self._floor.update({k: v for k, v in catalog.counters.items() if v is not None})
        token = MySQLToken(
            serial,
            tuple(self._seen),
            self._hash,
            tuple(
                catalog.counters.get(t.name) if t.auto_increment else None for t in self._tracked
            ),
        )
        return self._tokens.push(token)

    def rollback(self, token: Any) -> None:
        """Undo every change made after ``token``; tokens taken after it become invalid."""
        conn = self._require()
        token = self._tokens.require(token)
        if self.mode == "savepoint":
            self._check_run_transaction(conn, "rollback")
            self._guard("rollback", lambda c: run(c, f"ROLLBACK TO SAVEPOINT {_savepoint(token)}"))
        else:
            self._call_rollback(token, "rollback", defer=self._defer_counters)
        self._seen, self._hash = list(token.positions), token.content_hash
        self._floor = {
            t.name: c for t, c in zip(self._tracked, token.counters, strict=True) if c is not None
        }
        self._rows.undo_above(token.positions)
        for inserts, position in zip(self._inserts, token.positions, strict=True):
            while inserts and inserts[-1] > position:
                inserts.pop()
        self._tokens.rolled_back_to(token)

    def release(self, token: Any) -> None:
        """Forget ``token``; it can no longer be rolled back to."""
        self._tokens.release(token)

    def fingerprint(self) -> str:
        """16 hex digits, equal for equal contents of the tracked tables (not counters)."""
        self._read_new_entries("fingerprint")
        return f"{self._hash:016x}"

    def changed_records(self) -> Sequence[RecordChange]:
        """Every row whose content differs from setup (``SupportsRecords``): ``collection`` is
        the table, ``identity`` its primary-key values (no primary key: all its values),
        ``before``/``after`` the row at setup and now (generated columns left out). One round
        trip, O(rows changed since the previous read); the tuple is cached until a change."""
        self._read_new_entries("changed_records")
        return self._rows.records()

    def audit(self) -> dict[str, str]:
        """Each tracked table's rows (count and a sum of row hashes) and AUTO_INCREMENT counter,
        read afresh from the tables (a scan of each: for ``verify_rollback``)."""
        self._require()
        if not self._tracked:
            return {}
        sets = self._guard(
            "audit", lambda c: run(c, _sql.audit_sql(self._tracked) + "; " + self._catalog_sql)
        )
        out = {f"table {self._tracked[int(i)].name}": f"{int(n)}/{_text(h)}" for i, n, h in sets[0]}
        catalog = self._parse_catalog(sets[1])
        for t in self._tracked:
            if t.auto_increment:
                out[f"counter {t.name}"] = str(catalog.counters.get(t.name))
        return out

    def observe(self) -> dict[str, Any]:
        """Row counts per tracked table (one count per table: meant for reports, not loops)."""
        self._require()
        if not self._tracked:
            return {}
        rows = self._guard("observe", lambda c: run(c, _sql.count_sql(self._tracked))[0])
        return {self._tracked[int(i)].name: int(n) for i, n in rows}

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Run a query (for invariants); each row as a dict of column -> value."""
        self._require()

        def go(conn: Any) -> list[dict[str, Any]]:
            with conn.cursor() as cur:
                cur.execute(sql, params or None)
                if cur.description is None:
                    return []
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        return self._guard(f"query {sql!r}", go)

    # -- copies for parallel workers (SupportsClone: CopiedByDsn, see _clone) --------------

    def copy_options(self, dsn: str) -> dict[str, Json]:
        """This store's options for the copy at ``dsn`` (``CopiedByDsn`` adds the tables)."""
        return {"dsn": dsn, "mode": self.mode}

    @property
    def cloner(self) -> Cloner:
        return Cloner(self.dsn, self._where, self.name)

    # -- internals -------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        t = self.target
        return f"database {t.database!r} at {t.host}:{t.port} (dsn {hide_password(self.dsn)})"

    def _connect(self) -> Any:
        import pymysql

        try:
            return connect(self.target)
        except pymysql.Error as exc:
            raise self._wrap(
                "connecting", exc, "; is the server running and the dsn right?"
            ) from exc

    def _install(self, conn: Any) -> None:
        import pymysql

        repaired: Repaired | None = None
        try:
            with conn.cursor() as cur:
                self._account = account_of(cur)
            self._innodb = self._innodb_table(conn)
            if installed(conn):
                repaired = repair(conn)
            with conn.cursor() as cur:
                tables = user_tables(cur, self.tables, self.exclude, self.target.database)
                check_privileges(cur, self.name, self.target.database, [t.name for t in tables])
                theirs = user_triggers(cur, tables)
                cascades = cascade_paths(read_keys(cur), {t.name for t in tables})
        except (UnknownTableError, CascadeError) as exc:
            raise StoreError(f"{self._where}: {exc}", store=self.name) from exc
        except pymysql.Error as exc:
            raise self._wrap("setup", exc) from exc
        if repaired is not None:
            warnings.warn(f"{self._where}: {repaired.describe()}", LeftoversRepaired, stacklevel=3)
        if theirs:
            names = ", ".join(f"{name} (on {table})" for name, table in theirs)
            warnings.warn(
                f"{self._where}: the user trigger(s) {names} fire during rollbacks too "
                "(VenomQA puts rows back with INSERT and DELETE): a BEFORE trigger that changes "
                "the row, or a trigger that writes other tables, makes a rollback inexact "
                "(World.verify_rollback shows it); triggers that recompute the same values "
                "are fine",
                VenomQAWarning,
                stacklevel=3,
            )
        self._tracked = tables
        self._catalog_sql = _sql.catalog_sql(tables, self._innodb)
        self._read_sql = "; ".join(_sql.read_sql(t) for t in tables) or "DO 0"
        logs = ", ".join(f"{t.log} READ" for t in tables)
        # (LOCK TABLES would commit the run's transaction of mode savepoint; it has no other
        # writers to wait for)
        self._barrier = (
            f"LOCK TABLES {logs}; UNLOCK TABLES; " if logs and self.mode != "savepoint" else ""
        )
        try:
            catalog = self._parse_catalog(run(conn, self._catalog_sql)[0])
            counters = [catalog.counters.get(t.name) if t.auto_increment else None for t in tables]
            saved = {"tables": [t.name for t in tables], "counters": counters}
            statements = [_sql.meta_ddl()]
            statements += [_sql.log_ddl(t) for t in tables]
            statements.append(_sql.rollback_proc_ddl(tables, self._innodb))
            for ddl in statements:
                run(conn, ddl)
            run(conn, f"INSERT INTO {META} (k, v) VALUES ('run', %s)", (json.dumps(saved),))
            infos = {t.name: t for t in tables}
            for t in tables:
                for ddl in _sql.trigger_ddl(t):
                    run(conn, ddl)
                if cascades.get(t.name):
                    run(conn, before_delete_ddl(t, cascades[t.name], infos, _sql.row_hash))
            catalog = self._parse_catalog(run(conn, self._catalog_sql)[0])
        except BaseException as exc:
            with contextlib.suppress(pymysql.Error):
                remove(conn, installed(conn))
            if isinstance(exc, pymysql.Error):
                raise self._wrap("setup", exc) from exc
            raise
        self._expected = catalog
        self._floor = {t.name: c for t, c in zip(tables, counters, strict=True) if c is not None}
        self._seen, self._hash = [0] * len(tables), 0
        self._inserts = [[] for _ in tables]
        self._root = MySQLToken(new_serial(), tuple(self._seen), 0, tuple(counters))

    def _innodb_table(self, conn: Any) -> str | None:
        """The ``information_schema`` table of InnoDB table ids (they change on TRUNCATE),
        or None when the user may not read it (it needs PROCESS): then a warning."""
        import pymysql

        name = "INNODB_SYS_TABLES" if is_mariadb(conn) else "INNODB_TABLES"
        try:
            run(conn, f"SELECT COUNT(*) FROM information_schema.{name} WHERE NAME = ''")
        except pymysql.Error:
            warnings.warn(
                f"{self._where}: the user may not read information_schema.{name} (it needs "
                "the PROCESS privilege), so a TRUNCATE of a tracked table without an "
                "AUTO_INCREMENT column goes unnoticed; as an administrator run: GRANT PROCESS "
                f"ON *.* TO {self._account}",
                VenomQAWarning,
                stacklevel=4,
            )
            return None
        return name

    def _parse_catalog(self, rows: list[tuple[Any, ...]]) -> _Catalog:
        counters: dict[str, int | None] = {}
        parts: dict[str, tuple[str, str, int]] = {}
        for name, counter, created, table_id, digest in rows:
            counters[_text(name)] = None if counter is None else int(counter)
            parts[_text(name)] = (str(created), str(table_id), int(digest))
        return _Catalog(counters, parts)

    def _check_catalog(self, catalog: _Catalog, operation: str) -> None:
        """StoreError naming the table when DDL or TRUNCATE changed a tracked table."""
        expected = self._expected
        lowered = any((catalog.counters.get(k) or 0) < v for k, v in self._floor.items())
        if expected is None or (catalog.parts == expected.parts and not lowered):
            return
        raise self._schema_changed(operation, catalog)

    def _schema_changed(self, operation: str, catalog: _Catalog) -> StoreError:
        expected = self._expected
        assert expected is not None
        for name, (created, table_id, _) in expected.parts.items():
            now = catalog.parts.get(name)
            counter = catalog.counters.get(name)
            if now is None:
                what = "was dropped or renamed"
            elif now[0] != created:
                what = "was altered (DDL)"
            elif now[1] != table_id or (counter or 0) < self._floor.get(name, 0):
                what = (
                    "was truncated or rebuilt (TRUNCATE fires no triggers, so the rows it "
                    "removed are not in VenomQA's undo log and cannot be put back)"
                )
            else:
                continue
            return StoreError(
                f"{operation} on {self._where} refused: table {name!r} {what} during the run; "
                "VenomQA undoes row changes only, so the tracked tables' definitions must not "
                "change and they must not be truncated while it runs (restore the table from a "
                "backup if its rows matter; teardown removes VenomQA's objects)",
                store=self.name,
            )
        return StoreError(
            f"{operation} on {self._where} refused: the tracked tables changed during the run "
            "(DDL or TRUNCATE)",
            store=self.name,
        )

    def rollback_sql(self, token: MySQLToken, check: bool = True) -> str:
        """The one round trip a rollback to ``token`` is (for benchmarks of the driver);
        without ``check`` the procedure does not compare the tracked tables' catalog."""
        assert self._expected is not None
        sig, n = self._expected.digest
        args = [str(sig) if check else "NULL", str(n), *(str(p) for p in token.positions)]
        args += ["NULL" if c is None else str(int(c)) for c in token.counters]
        return f"{self._barrier}CALL {ROLLBACK_PROC}({', '.join(args)})"

    def _call_rollback(
        self, token: MySQLToken, operation: str, check: bool = True, defer: bool = False
    ) -> None:
        """Replay the logs back to ``token``, then set moved AUTO_INCREMENT counters back
        (``_lower_counters``). With ``defer``, the counters of the tables the logs read so far
        show inserts into are locked and set back in the rollback's own batch."""
        self._settle()  # (its catalog read updates what rollback_sql checks)
        sql = self.rollback_sql(token, check)
        foreseen = [
            t
            for t in self._tracked
            if defer
            and token.counters[t.index] is not None
            and self._inserts[t.index]
            and self._inserts[t.index][-1] > token.positions[t.index]
        ]
        if not foreseen:
            sets = self._guard(operation, lambda c: run(c, sql))
            moved = self._moved(sets[-1]) if sets else []
            if moved:
                self._lower_counters(moved, token, operation, defer)
            return
        lock, batch = self._counter_sql(foreseen, token)

        def send(conn: Any) -> tuple[Any, list[TableInfo]]:
            cur = conn.cursor()
            try:
                cur.execute(f"{sql}; {lock}; {batch}")
                while cur.description is None:  # the barrier's results
                    if not cur.nextset():
                        raise StoreError(
                            f"{operation} on {self._where}: the rollback procedure returned "
                            "no row (was it replaced?)",
                            store=self.name,
                        )
                moved = self._moved(list(cur.fetchall()))  # the procedure's row
                cur.nextset()  # the CALL's status
                cur.nextset()  # LOCK TABLES granted: the ALTERs come after
            except BaseException:
                cur.close()
                raise
            return cur, moved

        self._lowering, moved = self._guard(operation, send)
        self._lowering_tables = [t.name for t in foreseen]
        missed = [t for t in moved if t not in foreseen]  # inserts not read yet, failed ones
        if missed:
            self._settle()
            self._lower_counters(missed, token, operation, defer)

    def _moved(self, rows: list[tuple[Any, ...]]) -> list[TableInfo]:
        """The tables named by the procedure's row of moved counters (``'0,3'``)."""
        text = _text(rows[0][0]) if rows and rows[0][0] is not None else ""
        return [self._tracked[int(i)] for i in text.split(",") if i]

    def _counter_sql(self, tables: list[TableInfo], token: MySQLToken) -> tuple[str, str]:
        """``LOCK TABLES`` of ``tables`` and the batch that sets their counters back to the
        token's, unlocks and reads the catalog (ALTER changes CREATE_TIME)."""
        lock = "LOCK TABLES " + ", ".join(f"{t.q} WRITE" for t in tables)
        alters = "; ".join(
            f"ALTER TABLE {t.q} AUTO_INCREMENT = {int(token.counters[t.index] or 1)}"
            for t in tables
        )
        return lock, f"{alters}; UNLOCK TABLES; {self._catalog_sql}"

    def _lower_counters(
        self, tables: list[TableInfo], token: MySQLToken, operation: str, defer: bool
    ) -> None:
        """Set the AUTO_INCREMENT counters of ``tables`` back to the token's.

        InnoDB lowers a counter only through ``ALTER TABLE t AUTO_INCREMENT = n`` (DDL: about
        2.5 ms a table on MariaDB 10.11, whatever the ALGORITHM). With ``defer`` the rollback
        does not wait for it: it sends ``LOCK TABLES <tables> WRITE; ALTER ...; UNLOCK TABLES;
        <catalog>`` as one batch and reads only the first result, so it returns as soon as the
        lock is granted (every read and write of those tables by anyone else now waits for
        the ALTERs), while the server goes on with the rest. VenomQA's next operation reads
        the rest first (``_settle``). Only ``information_schema`` can show the old counter in
        between (its reads do not wait for table locks). ``_call_rollback`` puts the same
        batch after the replay in one round trip when it foresees the tables."""
        lock, batch = self._counter_sql(tables, token)
        if not defer:
            self._expected = self._parse_catalog(
                self._guard(operation, lambda c: run(c, batch))[-1]
            )
            return

        def send(conn: Any) -> Any:
            cur = conn.cursor()
            try:
                cur.execute(f"{lock}; {batch}")  # returns with the first statement's result
            except BaseException:
                cur.close()
                raise
            return cur

        self._lowering = self._guard(operation, send)
        self._lowering_tables = [t.name for t in tables]

    def _settle(self, quietly: bool = False) -> None:
        """Read the rest of the batch ``_lower_counters`` left on the wire (waiting for the
        ALTERs to finish); a StoreError when one failed (unless ``quietly``)."""
        import pymysql

        cur, self._lowering = self._lowering, None
        if cur is None:
            return
        sets: list[list[tuple[Any, ...]]] = []
        try:
            while cur.nextset():
                if cur.description is not None:
                    sets.append(list(cur.fetchall()))
            cur.close()
        except pymysql.Error as exc:
            with contextlib.suppress(Exception):  # the lock outlives a failed ALTER
                run(cur.connection, "UNLOCK TABLES")
            if quietly:
                return
            names = ", ".join(repr(n) for n in self._lowering_tables)
            raise StoreError(
                f"setting the AUTO_INCREMENT counter(s) of {names} on {self._where} back after "
                f"the last rollback failed: {hide_password(_one_line(exc))}; the ids the API got "
                "since then may differ from the first time",
                store=self.name,
            ) from exc
        self._expected = self._parse_catalog(sets[-1])

    def _read_new_entries(self, operation: str) -> None:
        self._require()
        sets = self._guard(
            operation, lambda c: run(c, self._barrier + self._read_sql, tuple(self._seen))
        )
        self._advance(sets)

    def _advance(self, sets: list[list[tuple[Any, ...]]]) -> None:
        """Take in each log's new entries: their hash delta and row images."""
        delta = 0
        for table, rows in zip(self._tracked, sets, strict=True):
            if not rows:
                continue
            names = [c.name for c in table.stored]
            width = len(names)
            entries: list[Entry] = []
            for row in rows:
                h_old, h_new = row[1], row[2]
                delta += (0 if h_new is None else int(h_new)) - (0 if h_old is None else int(h_old))
                old = (
                    None
                    if h_old is None
                    else {k: plain(v) for k, v in zip(names, row[3 : 3 + width], strict=True)}
                )
                new = (
                    None
                    if h_new is None
                    else {k: plain(v) for k, v in zip(names, row[3 + width :], strict=True)}
                )
                entries.append((int(row[0]), old, new))
                if old is None:
                    self._inserts[table.index].append(int(row[0]))
            self._rows.apply(table.index, entries)
            self._seen[table.index] = entries[-1][0]
        self._hash = (self._hash + delta) & _MASK

    def _check_run_transaction(self, conn: Any, operation: str) -> None:
        """Mode savepoint: a StoreError when the run's transaction is gone (committed)."""
        from pymysql.constants import SERVER_STATUS

        if not conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS:
            raise StoreError(
                f"{operation} on {self._where} failed: the run's transaction on "
                "store.connection was committed (a COMMIT, or DDL, which MySQL commits "
                "implicitly), so its savepoints are gone and the run cannot go on; the app "
                "must not commit in mode savepoint (teardown() still undoes what it wrote)",
                store=self.name,
            )

    def _guard(self, operation: str, fn: Callable[[Any], T]) -> T:
        """``fn(connection)``, a driver error becoming a StoreError (a schema change during the
        run one that names the table). When the connection turns out lost (killed, server
        restarted), reconnect once and run ``fn`` again: every operation is a read or a
        rollback in one transaction that the server rolled back (or committed: redoing it
        changes nothing). Not in mode savepoint, whose run lived in the lost transaction."""
        import pymysql

        self._require()
        self._settle()
        conn = self._require()
        try:
            return fn(conn)
        except pymysql.Error as exc:
            if not _is_lost(conn, exc):
                raise self._error(operation, conn, exc) from exc
            lost = exc
        conn = self._reopen(operation, lost)
        try:
            return fn(conn)
        except pymysql.Error as exc:
            raise self._error(operation, conn, exc) from exc

    def _error(self, operation: str, conn: Any, exc: Exception) -> StoreError:
        if _sql.SCHEMA_CHANGED in str(exc):
            return self._schema_changed(
                operation, self._parse_catalog(run(conn, self._catalog_sql)[0])
            )
        return self._wrap(operation, exc)

    def _reopen(self, operation: str, lost: Exception) -> Any:
        """Replace the lost connection (triggers mode); a StoreError when that fails, and
        always in mode savepoint."""
        import pymysql

        with contextlib.suppress(Exception):
            self._require().close()
        why = _one_line(lost)
        if self.mode == "savepoint" and operation != "teardown":
            raise StoreError(
                f"{operation} on {self._where} failed: the connection was lost ({why}), and "
                "with it the run's transaction: in mode savepoint everything the app wrote and "
                "every checkpoint lived in it, so the run cannot go on",
                store=self.name,
            ) from lost
        try:
            self._conn = connect(self.target)
            self._take_run_lock(self._conn)  # the old connection's lock went with it
        except pymysql.Error as exc:
            raise StoreError(
                f"{operation} on {self._where} failed: the connection to the server was lost "
                f"({why}) and reconnecting failed: {hide_password(_one_line(exc))}",
                store=self.name,
            ) from exc
        return self._conn

    def _take_run_lock(self, conn: Any) -> None:
        """Refuse to go on while another VenomQA run uses this database (``_run_lock``)."""
        import pymysql

        try:
            take_run_lock(conn, self.target.database, self._where, self.name)
        except pymysql.Error as exc:
            raise self._wrap("setup", exc) from exc

    def _require(self) -> Any:
        if self._conn is None:
            raise not_set_up(self._where, self.name)
        return self._conn

    def _wrap(self, operation: str, exc: Exception, hint: str = "") -> StoreError:
        denied = explain_denied(exc, self.target.database, self._account)
        text = hide_password(_one_line(exc))
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code == 1205:
            hint += (
                f"; a lock was not granted within {LOCK_TIMEOUT_S} s: a request of the API may "
                "be stuck, or a session idle in a transaction (see SHOW PROCESSLIST)"
            )
        message = f"{operation} on {self._where} failed: {text}{denied or ''}{hint}"
        if denied is not None:
            return StorePermissionError(message, store=self.name)
        return StoreError(message, store=self.name)


#: Client errors that mean the connection is gone: server gone away, lost during a query, lost.
_LOST = {2006, 2013, 2055}


def _is_lost(conn: Any, exc: Exception) -> bool:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return code in _LOST or not conn.open


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _savepoint(token: MySQLToken) -> str:
    return f"venomqa_{token.serial}"
