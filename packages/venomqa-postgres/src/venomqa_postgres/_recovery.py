"""Crash recovery: undo and remove what a run that never tore down left in the database.

A run killed before its teardown (SIGKILL, a power cut, a crashed CI runner) leaves the
``_venomqa`` schema behind: the undo log with its changes, the triggers on the tables it
tracked, the sequence values at its setup. ``repair`` (called by the next ``setup()``, inside
its transaction, so ``venomqa recover`` too) locks the tables those triggers are on against
writers, replays the whole log with that run's own ``rollback_to``, sets its sequences back and
drops the schema (and with it the triggers). It returns what it did, for the store's
``LeftoversRepaired`` warning, which the store issues once the repair has committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from venomqa_postgres import _sql
from venomqa_postgres._catalog import SCHEMA
from venomqa_postgres._locks import TableLocked, lock_sql

_TRIGGERED_TABLES_SQL = """
SELECT DISTINCT t.tgrelid::bigint,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname), n.nspname || '.' || c.relname
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE pn.nspname = %s AND NOT t.tgisinternal
ORDER BY 1
"""

_HAS_ROLLBACK_SQL = """
SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %s AND p.proname = 'rollback_to'
"""


@dataclass(frozen=True)
class Repaired:
    """What ``repair`` undid: logged changes, sequences set back (None when the leftovers do
    not say which sequences were tracked) and tables whose triggers were removed."""

    changes: int
    sequences: int | None
    tables: int

    def describe(self) -> str:
        """One sentence for the warning (and ``venomqa recover``)."""
        sequences = (
            "put its sequences back"
            if self.sequences is None
            else f"reset {self.sequences} sequence(s)"
        )
        return (
            "an earlier VenomQA run was stopped before its clean-up; undid its "
            f"{self.changes} logged change(s), {sequences} and removed its {SCHEMA} schema and "
            f"the triggers on {self.tables} table(s)"
        )


def leftovers_exist(cur: Any) -> bool:
    """Whether an earlier run left its ``_venomqa`` schema in this database."""
    cur.execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (SCHEMA,))
    return cur.fetchone() is not None


def repair(cur: Any, replica: bool) -> Repaired:
    """Undo the leftover log, restore the sequences, drop the schema (in the caller's
    transaction). Raises TableLocked when a table stays locked beyond ``lock_timeout``."""
    tables = _lock_triggered_tables(cur)
    changes = _logged_changes(cur)
    saved = _saved_sequences(cur)
    moved = _moved_sequences(cur, saved)
    cur.execute(_HAS_ROLLBACK_SQL, (SCHEMA,))
    if cur.fetchone() is not None:
        values = saved.get("values") if saved else None
        called = saved.get("called") if saved else None
        cur.execute(_sql.ROLLBACK_SQL, (0, values, called, replica))
    cur.execute(f"DROP SCHEMA {_sql.S} CASCADE")
    return Repaired(changes, moved, tables)


def _lock_triggered_tables(cur: Any) -> int:
    """Lock every table carrying a trigger of the leftover schema; how many there are."""
    import psycopg.errors

    cur.execute(_TRIGGERED_TABLES_SQL, (SCHEMA,))
    tables = [(str(quoted), str(label)) for _, quoted, label in cur.fetchall()]
    for quoted, label in tables:
        try:
            cur.execute(lock_sql(quoted))
        except psycopg.errors.LockNotAvailable as exc:
            raise TableLocked(label) from exc
    return len(tables)


def _logged_changes(cur: Any) -> int:
    """The number of entries in the leftover undo log (0 when it is gone)."""
    cur.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", (_sql.LOG,))
    row = cur.fetchone()
    if not row or not row[0]:
        return 0
    cur.execute(f"SELECT count(*) FROM {_sql.LOG}")
    return int(cur.fetchone()[0])


def _saved_sequences(cur: Any) -> dict[str, Any] | None:
    """The sequence values (and, from newer runs, oids) the leftover run saved at its setup."""
    cur.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", (_sql.META,))
    row = cur.fetchone()
    if not row or not row[0]:
        return None
    cur.execute(f"SELECT value FROM {_sql.META} WHERE key = 'sequences'")
    row = cur.fetchone()
    saved: dict[str, Any] | None = json.loads(row[0]) if row else None
    return saved


def _moved_sequences(cur: Any, saved: dict[str, Any] | None) -> int | None:
    """How many of the saved sequences are not at their saved values (None: not known)."""
    if saved is None:
        return 0
    oids = saved.get("oids")
    if oids is None:
        return None
    moved = 0
    for oid, value, called in zip(oids, saved["values"], saved["called"], strict=True):
        cur.execute(
            "SELECT c.oid::regclass::text FROM pg_catalog.pg_class c "
            "WHERE c.oid = %s::oid AND c.relkind = 'S'",
            (oid,),
        )
        row = cur.fetchone()
        if row is None:  # dropped since: nothing to put back
            continue
        cur.execute(f"SELECT last_value, is_called FROM {row[0]}")
        now = cur.fetchone()
        moved += (int(now[0]), bool(now[1])) != (int(value), bool(called))
    return moved
