"""Copies of a database for parallel workers (``SupportsClone`` of the MySQL/MariaDB store).

A worker's copy of database ``shop`` is the database ``shop__venomqa_w2`` on the same server
(at most 56 characters, so its run lock ``venomqa:<name>`` is never cut short; a longer name is
shortened with a hash, ``venomqa.stores.copies``), with the original's character set and
collation. MySQL has no command that copies a database, so each base table is copied:

1. ``CREATE TABLE copy.t LIKE shop.t`` (columns, indexes, table options; not foreign keys);
2. under ``LOCK TABLES`` (the originals READ, the copies WRITE), so the copy is one consistent
   state even if something writes the original meanwhile: ``INSERT INTO copy.t SELECT ...``
   (generated columns left to the server), and each table's AUTO_INCREMENT counter read;
3. ``ALTER TABLE copy.t AUTO_INCREMENT = n`` with the original's counter, so the next insert
   gets the same id in both (it may be above the largest id, after deletes);
4. the foreign keys, added with checks off (the data is the original's) as ``SHOW CREATE
   TABLE`` shows them, pointing at the copy's tables (or at another database's, as they did);
5. the user's stored routines, triggers (in their original order, each with its own
   ``sql_mode``) and views (their definitions name the database: renamed to the copy), each
   without its DEFINER clause, so they run as the cloning account.

Nothing VenomQA installs (``_venomqa_*``) is copied; a killed run's leftovers in the original are
repaired first, by the store's own setup and teardown, so copies hold the user's data only. The
run lock of the original (``GET_LOCK('venomqa:shop')``, ``_run_lock``) is held while it is read,
and the copy's while it is made or dropped: a copy a live run uses is never touched, and a
copy of the same name left by a dead run is dropped and made again. Cost: O(rows), all on the
server (figures in the package README). Not copied: events, MariaDB sequences; a trigger or
routine that names the original database explicitly still writes there.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

from venomqa.errors import StoreError
from venomqa.json_types import Json
from venomqa.stores.copies import copy_label, copy_name, url_with_database
from venomqa.stores.kit import hide_password

from venomqa_mysql._catalog import TableInfo, quote_ident, user_tables
from venomqa_mysql._connect import Target, connect, parse_dsn, run
from venomqa_mysql._recovery import installed
from venomqa_mysql._run_lock import take_run_lock

#: A copy's name leaves room for its run lock's ``venomqa:`` within the server's 64 characters.
MAX_NAME = 56
_DEFINER = re.compile(r"\s+DEFINER\s*=\s*(`[^`]*`|'[^']*'|\S+?)@(`[^`]*`|'[^']*'|\S+)", re.I)
#: Leaves VenomQA's own objects out (in a query with parameters: its % doubled).
_NOT_OURS = "NOT LIKE '\\\\_venomqa\\\\_%%'"


class CopyInUse(StoreError):
    """A live run holds the copy's lock: it is left alone."""


class Cloner:
    """Makes and removes the copies of the database ``dsn`` names, for ``store``."""

    def __init__(self, dsn: str, where: str, store: str) -> None:
        self.dsn = dsn
        self.target: Target = parse_dsn(dsn)
        self.where = where
        self.store = store

    # -- the three operations --------------------------------------------------------------

    def clone(self, label: str, repair: Callable[[], None]) -> str:
        """Copy the database for ``label`` (replacing a dead run's copy of that name); the dsn
        of the copy. ``repair`` sets the original's store up and tears it down."""
        original = self.target.database
        copy = copy_name(original, label, MAX_NAME)
        with self._connect() as conn:
            if self._step("reading", lambda: installed(conn)):
                repair()
            self._step("locking", partial(take_run_lock, conn, original, self.where, self.store))
            self._lock_copy(conn, copy)
            if self._step("reading", lambda: installed(conn)):
                raise StoreError(
                    f"{self.where}: a VenomQA run set it up and was stopped while it was being "
                    "prepared for copying; run `venomqa recover`, then start again",
                    store=self.store,
                )
            try:
                self._step(f"copying {original} to {copy}", lambda: _copy(conn, original, copy))
            except StoreError as exc:
                with contextlib.suppress(Exception):
                    run(conn, f"UNLOCK TABLES; DROP DATABASE IF EXISTS {quote_ident(copy)}")
                raise StoreError(f"{self.where}: {exc.detail}", store=self.store) from exc
            except BaseException:
                with contextlib.suppress(Exception):
                    run(conn, f"UNLOCK TABLES; DROP DATABASE IF EXISTS {quote_ident(copy)}")
                raise
        return url_with_database(self.dsn, copy)

    def drop(self, options: Mapping[str, Json]) -> None:
        """Drop the copy ``options`` name; a StoreError when it is not a copy of this database
        (nothing else is ever dropped) or a live run uses it."""
        dsn = options.get("dsn")
        original = self.target.database
        try:
            copy = parse_dsn(dsn).database if isinstance(dsn, str) else ""
        except ValueError:
            copy = ""
        if copy_label(copy, original, MAX_NAME) is None:
            raise StoreError(
                f"{hide_password(str(dsn))} does not name a worker copy of database "
                f"{original!r} (named like {copy_name(original, 'w2', MAX_NAME)}), so it is not "
                "dropped",
                store=self.store,
            )
        with self._connect() as conn:
            self._lock_copy(conn, copy)
            self._step(f"dropping {copy}", lambda: run(conn, _drop(copy)))

    def drop_leftovers(self) -> list[str]:
        """Drop every copy of the database no live run uses; one line per copy dropped."""
        original = self.target.database
        removed: list[str] = []
        with self._connect() as conn:
            names = self._step(
                "listing databases",
                lambda: run(conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")[0],
            )
            for name in sorted(_text(n) for (n,) in names):
                if copy_label(name, original, MAX_NAME) is None:
                    continue
                try:
                    self._lock_copy(conn, name)
                except CopyInUse:
                    continue  # a live run's: left alone
                self._step(f"dropping {name}", partial(run, conn, _drop(name)))
                removed.append(f"database {name} (a copy of {original})")
        return removed

    # -- internals -------------------------------------------------------------------------

    def _lock_copy(self, conn: Any, copy: str) -> None:
        """Take the copy's run lock on ``conn`` (held until it closes), or ``CopyInUse``."""
        import pymysql

        where = f"the worker copy {copy} (database of a parallel worker)"
        try:
            take_run_lock(conn, copy, where, self.store)
        except StoreError as exc:  # the busy error, naming the holder
            raise CopyInUse(exc.detail, store=self.store) from None
        except pymysql.Error as exc:
            raise self._wrap(f"locking {copy}", exc) from exc

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        conn = self._step("connecting", lambda: connect(self.target))
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.close()  # releases the run locks taken on it

    def _step(self, what: str, fn: Callable[[], Any]) -> Any:
        """``fn()``, a driver error becoming a StoreError saying what failed, on which server."""
        import pymysql

        try:
            return fn()
        except pymysql.Error as exc:
            raise self._wrap(what, exc) from exc

    def _wrap(self, what: str, exc: Exception) -> StoreError:
        text = " ".join(hide_password(str(exc)).split())
        return StoreError(f"{what} failed ({self.where}): {text}", store=self.store)


def _copy(conn: Any, original: str, copy: str) -> None:
    """Make ``copy`` a copy of ``original`` (steps 1 to 5 of the module docstring)."""
    o, c = quote_ident(original), quote_ident(copy)
    [(charset, collation)] = run(
        conn,
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM "
        "information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
        (original,),
    )[0]
    run(conn, _drop(copy))
    run(conn, f"CREATE DATABASE {c} CHARACTER SET {_text(charset)} COLLATE {_text(collation)}")
    with conn.cursor() as cur:
        tables = user_tables(cur, None, (), original)
    for t in tables:
        run(conn, f"CREATE TABLE {c}.{t.q} LIKE {o}.{t.q}")
    counters = _copy_rows(conn, original, c, tables)
    for t in tables:
        if counters.get(t.name) is not None:
            run(conn, f"ALTER TABLE {c}.{t.q} AUTO_INCREMENT = {int(counters[t.name] or 1)}")
    run(conn, f"USE {c}")
    try:
        _copy_foreign_keys(conn, original, copy)
        _copy_routines(conn, original)
        _copy_triggers(conn, original)
        _copy_views(conn, original, copy)
    finally:
        run(conn, f"USE {o}")


def _copy_rows(conn: Any, original: str, c: str, tables: list[TableInfo]) -> dict[str, int | None]:
    """Every table's rows under one LOCK TABLES; the original AUTO_INCREMENT counters."""
    o = quote_ident(original)
    if not tables:
        return {}
    locks = [f"{o}.{t.q} READ" for t in tables] + [f"{c}.{t.q} WRITE" for t in tables]
    run(conn, f"LOCK TABLES {', '.join(locks)}")
    try:
        for t in tables:
            columns = ", ".join(col.q for col in t.stored)
            run(conn, f"INSERT INTO {c}.{t.q} ({columns}) SELECT {columns} FROM {o}.{t.q}")
        rows = run(
            conn,
            "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (original,),
        )[0]
    finally:
        run(conn, "UNLOCK TABLES")
    auto = {t.name for t in tables if t.auto_increment}
    return {_text(n): None if v is None else int(v) for n, v in rows if _text(n) in auto}


def _copy_foreign_keys(conn: Any, original: str, copy: str) -> None:
    """Add the original's foreign keys to the copy's tables (the current database), unchecked
    (same data), each as ``SHOW CREATE TABLE`` renders it: that text makes the same key again
    (rules included: MariaDB stores an explicit ``RESTRICT`` as ``NO ACTION``), naming a table
    of the same database without the database, so it points at the copy's."""
    tables = run(
        conn,
        "SELECT DISTINCT TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE "
        f"CONSTRAINT_SCHEMA = %s AND TABLE_NAME {_NOT_OURS} ORDER BY 1",
        (original,),
    )[0]
    for (table,) in tables:
        name = quote_ident(_text(table))
        [shown] = run(conn, f"SHOW CREATE TABLE {quote_ident(original)}.{name}")[0]
        keys = [
            line.strip().rstrip(",")
            for line in _text(shown[1]).splitlines()
            if line.strip().startswith("CONSTRAINT ") and " FOREIGN KEY " in line
        ]
        if keys:
            adds = ", ".join(f"ADD {key}" for key in keys)
            run(conn, f"ALTER TABLE {quote_ident(copy)}.{name} {adds}")


def _copy_routines(conn: Any, original: str) -> None:
    """The original's procedures and functions, created in the current database (the copy)."""
    rows = run(
        conn,
        "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE "
        f"ROUTINE_SCHEMA = %s AND ROUTINE_NAME {_NOT_OURS} ORDER BY ROUTINE_NAME",
        (original,),
    )[0]
    for kind, name in rows:
        [shown] = run(
            conn,
            f"SHOW CREATE {_text(kind)} {quote_ident(original)}.{quote_ident(_text(name))}",
        )[0]
        if shown[2] is None:  # the server hides the body from this account
            raise StoreError(
                f"cannot copy {_text(kind).lower()} {_text(name)} of database {original}: the "
                "account may not read its definition (it needs to be its DEFINER, or SELECT on "
                "mysql.proc on MariaDB, SHOW_ROUTINE on MySQL 8.0.20+)"
            )
        _create_with_mode(conn, _text(shown[1]), _text(shown[2]))


def _copy_triggers(conn: Any, original: str) -> None:
    """The user's triggers, in their order, created in the current database (the copy)."""
    rows = run(
        conn,
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s AND "
        f"TRIGGER_NAME {_NOT_OURS} ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, "
        "EVENT_MANIPULATION, ACTION_ORDER",
        (original,),
    )[0]
    for (name,) in rows:
        [shown] = run(
            conn, f"SHOW CREATE TRIGGER {quote_ident(original)}.{quote_ident(_text(name))}"
        )[0]
        _create_with_mode(conn, _text(shown[1]), _text(shown[2]))


def _copy_views(conn: Any, original: str, copy: str) -> None:
    """The original's views, their definitions naming the copy; a view on another view waits
    until that one exists."""
    rows = run(
        conn,
        "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
        (original,),
    )[0]
    pending: dict[str, str] = {}
    for (name,) in rows:
        [shown] = run(conn, f"SHOW CREATE VIEW {quote_ident(original)}.{quote_ident(_text(name))}")[
            0
        ]
        text = _DEFINER.sub("", _text(shown[1]), count=1)
        pending[_text(name)] = text.replace(f"{quote_ident(original)}.", f"{quote_ident(copy)}.")
    import pymysql

    while pending:
        failed: dict[str, str] = {}
        last: Exception | None = None
        for name, ddl in pending.items():
            try:
                run(conn, ddl)
            except pymysql.Error as exc:  # it uses a view not created yet
                failed[name], last = ddl, exc
        if len(failed) == len(pending):
            assert last is not None
            raise last
        pending = failed


def _create_with_mode(conn: Any, sql_mode: str, ddl: str) -> None:
    """Run ``ddl`` (a routine's or trigger's CREATE, its DEFINER dropped) under the
    ``sql_mode`` it was made with, then put VenomQA's session mode back."""
    [[(mode,)]] = run(conn, "SELECT @@SESSION.sql_mode")
    run(conn, "SET SESSION sql_mode = %s", (sql_mode,))
    try:
        run(conn, _DEFINER.sub("", ddl, count=1))
    finally:
        run(conn, "SET SESSION sql_mode = %s", (_text(mode),))


def _drop(database: str) -> str:
    return f"DROP DATABASE IF EXISTS {quote_ident(database)}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)
