"""Copies of a database for parallel workers (``SupportsClone`` of the PostgreSQL store).

A worker's copy of database ``shop`` is the database ``shop__venomqa_w2`` (a long name is
shortened with a hash, ``venomqa.stores.copies``), made on the same server with ``CREATE
DATABASE ... TEMPLATE shop``: a file-level copy of every schema, table, sequence (with its
value), function, trigger and view, so whatever ``schema`` the store's options name is in it.
Database-level settings (``ALTER DATABASE ... SET``, also per role) are not part of a template
copy; they are set on the copy the same way. Cost: O(size of the database) on the server (see
the package README for figures); VenomQA reads nothing itself.

PostgreSQL copies a template only while no other session is connected to it, so the original's
sessions are listed first and, if there are any, the error names each (pid, application, client
address, user, since when) and says what to do. (Why there is no fallback to copying a schema:
the package README.) A copy is guarded by the advisory lock a store set up on it holds
(``_run_lock``): it is taken on the copy before the copy is replaced or dropped (``DROP
DATABASE ... WITH (FORCE)``, which also ends the lock's own session), so a copy a live run uses
is never touched. A killed run's leftovers in the original (the ``_venomqa`` schema) are
repaired first, by the store's own setup and teardown, so copies hold the user's data only.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from typing import Any

from venomqa.errors import StoreError, StorePermissionError
from venomqa.json_types import Json
from venomqa.stores.copies import copy_label, copy_name, url_with_database
from venomqa.stores.kit import hide_password

from venomqa_postgres._catalog import quote_ident
from venomqa_postgres._recovery import leftovers_exist
from venomqa_postgres._run_lock import take_run_lock
from venomqa_postgres._unreachable import cannot_connect

#: PostgreSQL's longest identifier (NAMEDATALEN - 1), in bytes.
MAX_NAME = 63
_APPLICATION_NAME = "venomqa"
_CONNECT_TIMEOUT = 10
#: Settings whose value is a list of names, each quoted apart (as pg_dump does).
_LIST_SETTINGS = frozenset(
    {
        "search_path",
        "temp_tablespaces",
        "session_preload_libraries",
        "local_preload_libraries",
        "shared_preload_libraries",
        "unix_socket_directories",
    }
)
_SESSIONS_SQL = (
    "SELECT pid, application_name, pg_catalog.host(client_addr), usename, backend_start, state "
    "FROM pg_catalog.pg_stat_activity WHERE datname = %s AND pid <> pg_catalog.pg_backend_pid() "
    "ORDER BY backend_start"
)


class CopyInUse(StoreError):
    """A live run holds the copy's lock: it is left alone."""


class Cloner:
    """Makes and removes the copies of the database ``dsn`` names, for ``store``."""

    def __init__(self, dsn: str, schema: str, store: str) -> None:
        self.dsn = dsn
        self.schema = schema
        self.store = store

    # -- the three operations --------------------------------------------------------------

    def clone(self, label: str, repair: Callable[[], None]) -> str:
        """Copy the database for ``label`` (replacing a dead run's copy of that name); the dsn
        of the copy. ``repair`` sets the original's store up and tears it down."""
        import psycopg

        with self._connect(self.dsn) as conn:
            [database] = _one(conn, "SELECT pg_catalog.current_database()")
            with conn.cursor() as cur:
                left = leftovers_exist(cur)
        original = str(database)
        copy = copy_name(original, label, MAX_NAME)
        if left:
            repair()
        with self._admin() as admin:
            self._drop_unused(admin, copy)
            sessions = admin.execute(_SESSIONS_SQL, (original,)).fetchall()
            if sessions:
                raise self._in_use(original, copy, sessions)
            try:
                admin.execute(
                    f"CREATE DATABASE {quote_ident(copy)} TEMPLATE {quote_ident(original)}"
                )
            except psycopg.errors.ObjectInUse as exc:  # a session connected meanwhile
                sessions = admin.execute(_SESSIONS_SQL, (original,)).fetchall()
                raise self._in_use(original, copy, sessions) from exc
            except psycopg.Error as exc:
                raise self._failed(f"copying database {original} to {copy}", exc) from exc
            try:
                self._copy_settings(admin, original, copy)
            except BaseException:
                with suppress(psycopg.Error):
                    admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(copy)} WITH (FORCE)")
                raise
        return _dsn_with_database(self.dsn, copy)

    def drop(self, options: Mapping[str, Json]) -> None:
        """Remove the copy ``options`` name; a StoreError when it is not a copy of this
        database (nothing else is ever dropped) or a live run uses it."""
        from psycopg.conninfo import conninfo_to_dict

        dsn = options.get("dsn")
        original = database_of(self.dsn)
        copy = str(conninfo_to_dict(dsn).get("dbname") or "") if isinstance(dsn, str) else ""
        if copy_label(copy, original, MAX_NAME) is None:
            raise StoreError(
                f"{hide_password(str(dsn))} does not name a worker copy of database {original} "
                f"(named like {copy_name(original, 'w2', MAX_NAME)}), so it is not dropped",
                store=self.store,
            )
        with self._admin() as admin:
            self._drop_unused(admin, copy)

    def drop_leftovers(self) -> list[str]:
        """Drop every copy of the database no live run uses; one line per copy dropped."""
        original = database_of(self.dsn)
        removed: list[str] = []
        with self._admin() as admin:
            names = admin.execute(
                "SELECT datname FROM pg_catalog.pg_database ORDER BY datname"
            ).fetchall()
            for (name,) in names:
                if copy_label(str(name), original, MAX_NAME) is None:
                    continue
                try:
                    dropped = self._drop_unused(admin, str(name))
                except CopyInUse:
                    continue  # a live run's: left alone
                if dropped:
                    removed.append(f"database {name} (a copy of {original})")
        return removed

    # -- internals -------------------------------------------------------------------------

    def _drop_unused(self, admin: Any, copy: str) -> bool:
        """Drop ``copy`` unless a live run holds its lock (then ``CopyInUse``, naming the
        holder); False when there is no such database."""
        import psycopg

        exists = admin.execute(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (copy,)
        ).fetchone()
        if exists is None:
            return False
        where = f"the worker copy {copy} (database of a parallel worker)"
        try:
            guard = self._open(_dsn_with_database(self.dsn, copy))
        except psycopg.errors.InvalidCatalogName:
            return False  # dropped meanwhile
        except psycopg.Error as exc:
            raise self._failed(f"connecting to {copy}", exc) from exc
        with closing(guard):
            try:
                take_run_lock(guard, self.schema, where, self.store)
            except StoreError as exc:
                raise CopyInUse(exc.detail, store=self.store) from None
            except psycopg.Error as exc:
                raise self._failed(f"locking {copy}", exc) from exc
            try:  # ends the guard's session too, and with it the lock, once it is gone
                admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(copy)} WITH (FORCE)")
            except psycopg.Error as exc:
                raise self._failed(f"dropping {copy}", exc) from exc
        return True

    def _copy_settings(self, admin: Any, original: str, copy: str) -> None:
        """Give ``copy`` the original's ``ALTER DATABASE [ROLE ... IN DATABASE] SET`` values."""
        import psycopg

        rows = admin.execute(
            "SELECT r.rolname, s.setconfig FROM pg_catalog.pg_db_role_setting s "
            "JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase "
            "LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole WHERE d.datname = %s",
            (original,),
        ).fetchall()
        for role, config in rows:
            head = (
                f"ALTER DATABASE {quote_ident(copy)}"
                if role is None
                else f"ALTER ROLE {quote_ident(role)} IN DATABASE {quote_ident(copy)}"
            )
            for item in config or ():
                name, _, value = str(item).partition("=")
                try:
                    admin.execute(
                        f"{head} SET {quote_ident(name)} TO {_setting_value(name, value)}"
                    )
                except psycopg.Error as exc:
                    raise self._failed(f"setting {name} on {copy} as on {original}", exc) from exc

    def _in_use(self, original: str, copy: str, sessions: list[tuple[Any, ...]]) -> StoreError:
        if not sessions:
            return StoreError(
                f"copying database {original} to {copy} failed: a session connected to "
                f"{original} meanwhile; try again",
                store=self.store,
            )
        listed = "; ".join(
            f"backend {pid} (application {app or '(none)'!r}, from "
            f"{address or 'a local socket or hidden'}, user {user}"
            + (f", since {started:%Y-%m-%d %H:%M:%S}" if started is not None else "")
            + (f", {state}" if state else "")
            + ")"
            for pid, app, address, user, started, state in sessions
        )
        return StoreError(
            f"cannot copy database {original} to {copy} for a parallel worker: PostgreSQL "
            "copies a database (CREATE DATABASE ... TEMPLATE) only while no other session is "
            f"connected to it, and {len(sessions)} is/are: {listed}. Stop what holds them (the "
            "API under test, its connection pool, a psql or IDE session) before the run; with "
            "`target.command` VenomQA starts the API itself, after copying. To end them: "
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            f"'{original}' AND pid <> pg_backend_pid()",
            store=self.store,
        )

    def _failed(self, what: str, exc: Exception) -> StoreError:
        import psycopg.errors

        text = " ".join(hide_password(str(exc)).split())
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return StorePermissionError(
                f"{what} failed: {text}; parallel workers need a role that may create "
                "databases: ALTER ROLE <role> CREATEDB (and own the original, or be superuser)",
                store=self.store,
            )
        return StoreError(f"{what} failed: {text}", store=self.store)

    @contextmanager
    def _connect(self, dsn: str) -> Iterator[Any]:
        """A connection to ``dsn``, closed afterwards; unreachable: StoreUnreachableError."""
        import psycopg

        try:
            conn = self._open(dsn)
        except psycopg.OperationalError as exc:
            if getattr(exc, "sqlstate", None) is None:
                raise cannot_connect(dsn, exc, self.store) from exc
            raise self._failed("connecting", exc) from exc
        except psycopg.Error as exc:
            raise self._failed("connecting", exc) from exc
        with closing(conn):
            yield conn

    @contextmanager
    def _admin(self) -> Iterator[Any]:
        """A connection to the maintenance database ``postgres`` of the same server (or
        ``template1`` where there is none): the original must have no session while copied."""
        import psycopg

        try:
            conn = self._open(_dsn_with_database(self.dsn, "postgres"))
        except psycopg.errors.InvalidCatalogName:
            conn = None
        except psycopg.OperationalError as exc:
            if getattr(exc, "sqlstate", None) is None:
                raise cannot_connect(self.dsn, exc, self.store) from exc
            conn = None  # e.g. no CONNECT on postgres: try template1
        if conn is None:
            with self._connect(_dsn_with_database(self.dsn, "template1")) as conn:
                yield conn
            return
        with closing(conn):
            yield conn

    @staticmethod
    def _open(dsn: str) -> Any:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        given = conninfo_to_dict(dsn)
        extra: dict[str, str | int] = {}
        if "application_name" not in given and "PGAPPNAME" not in os.environ:
            extra["application_name"] = _APPLICATION_NAME
        if "connect_timeout" not in given and "PGCONNECT_TIMEOUT" not in os.environ:
            extra["connect_timeout"] = _CONNECT_TIMEOUT
        return psycopg.connect(make_conninfo(dsn, **extra), autocommit=True)


def database_of(dsn: str) -> str:
    """The database ``dsn`` names, libpq's defaults filled in (``PGDATABASE``, the user)."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(dsn)
    return str(
        given.get("dbname")
        or os.environ.get("PGDATABASE")
        or given.get("user")
        or os.environ.get("PGUSER")
        or getpass.getuser()
    )


def _dsn_with_database(dsn: str, database: str) -> str:
    """``dsn`` naming ``database`` instead, in the form it was written in (a URL stays a URL,
    password kept), so it can be handed to the worker's API as it is."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if "://" in dsn.split("?", 1)[0]:
        url = url_with_database(dsn, database)
        if conninfo_to_dict(url).get("dbname") == database:
            return url  # (not when the query names the database too)
    return make_conninfo(dsn, dbname=database)


def _setting_value(name: str, value: str) -> str:
    """``value`` of ``pg_db_role_setting`` as SQL: one literal, or one per list element."""
    if name.lower() not in _LIST_SETTINGS:
        return _literal(value)
    items, current, quoted = [], "", False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(current.strip())
            current = ""
            continue
        current += char
    items.append(current.strip())
    return ", ".join(_literal(i[1:-1].replace('""', '"') if i[:1] == '"' else i) for i in items)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _one(conn: Any, sql: str) -> tuple[Any, ...]:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return tuple(row)
