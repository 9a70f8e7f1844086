"""Crash recovery, and the removal of everything a run installed.

A run killed before its teardown (SIGKILL, a crashed CI runner) leaves its ``_venomqa_*``
objects behind: the undo logs with its changes, the triggers, the rollback procedure, and in
``_venomqa_meta`` the tables it tracked and their AUTO_INCREMENT counters at its setup.
``repair`` (called by the next ``setup()``, so also by ``venomqa recover``) replays every log
with that run's own procedure, sets the AUTO_INCREMENT counters back to the saved ones, then
``remove`` drops all of it. It returns
what it did, for the store's ``LeftoversRepaired`` warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from venomqa_mysql._catalog import META, PREFIX, ROLLBACK_PROC, quote_ident, quote_string
from venomqa_mysql._connect import run

_LIKE = "'\\_venomqa\\_%'"
_OBJECTS_SQL = (
    "SELECT 'TABLE', TABLE_NAME, NULL FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
    f"DATABASE() AND TABLE_NAME LIKE {_LIKE} UNION ALL SELECT 'TRIGGER', TRIGGER_NAME, "
    "EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() "
    f"AND TRIGGER_NAME LIKE {_LIKE} UNION ALL SELECT 'PROCEDURE', ROUTINE_NAME, NULL FROM "
    "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME LIKE "
    f"{_LIKE}"
)


@dataclass(frozen=True)
class Repaired:
    """What ``repair`` undid: logged changes, counters reset, tables whose triggers it removed."""

    changes: int
    counters: int | None
    tables: int

    def describe(self) -> str:
        """One sentence for the warning (and ``venomqa recover``)."""
        counters = (
            "could not reset AUTO_INCREMENT counters (its record of them was missing)"
            if self.counters is None
            else f"reset {self.counters} AUTO_INCREMENT counter(s)"
        )
        return (
            "an earlier VenomQA run was stopped before its clean-up; undid its "
            f"{self.changes} logged change(s), {counters} and removed its {PREFIX}* tables, "
            f"procedure and the triggers on {self.tables} table(s)"
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def installed(conn: Any) -> list[tuple[str, str, str | None]]:
    """VenomQA's objects in the database: (kind, name, table of a trigger)."""
    rows = run(conn, _OBJECTS_SQL)[0]
    return [(_text(k), _text(n), None if t is None else _text(t)) for k, n, t in rows]


def remove(conn: Any, objects: list[tuple[str, str, str | None]]) -> None:
    """Drop ``objects`` (triggers first, so no write is logged into a dropped log), one round
    trip."""
    order = {"TRIGGER": 0, "PROCEDURE": 1, "TABLE": 2}
    drops = [
        f"DROP {kind} IF EXISTS {quote_ident(name)}"
        for kind, name, _ in sorted(objects, key=lambda o: order[o[0]])
    ]
    if drops:
        run(conn, "; ".join(drops))


def _reset_counters(conn: Any, saved: dict[str, int | None]) -> None:
    """Set every AUTO_INCREMENT counter that is not at its saved value back to it (the
    procedure does not: the store sets them after it, which a killed run may not have done)."""
    names = ", ".join(quote_string(n) for n, v in saved.items() if v is not None)
    if not names:
        return
    rows = run(
        conn,
        "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE "
        f"TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ({names})",
    )[0]
    alters = [
        f"ALTER TABLE {quote_ident(_text(name))} AUTO_INCREMENT = {int(value)}"
        for name, now in rows
        if (value := saved.get(_text(name))) is not None and now != value
    ]
    if alters:
        run(conn, "; ".join(alters))


def repair(conn: Any) -> Repaired:
    """Undo the leftover logs, reset the counters, drop every leftover object."""
    objects = installed(conn)
    names = {name for kind, name, _ in objects if kind == "TABLE"}
    saved: dict[str, Any] | None = None
    if META.strip("`") in names:
        rows = run(conn, f"SELECT v FROM {META} WHERE k = 'run'")[0]
        saved = json.loads(_text(rows[0][0])) if rows else None
    logs = sorted(n for n in names if n.startswith(f"{PREFIX}log_"))
    changes = 0
    if logs:
        counts = run(
            conn, " UNION ALL ".join(f"SELECT COUNT(*) FROM {quote_ident(n)}" for n in logs)
        )[0]
        changes = sum(int(c[0]) for c in counts)
    has_proc = any(
        kind == "PROCEDURE" and name == ROLLBACK_PROC.strip("`") for kind, name, _ in objects
    )
    counters: int | None = None
    if saved is not None and has_proc:
        tables = len(saved["tables"])
        values = saved["counters"]
        locks = ", ".join(f"{quote_ident(n)} READ" for n in logs)
        barrier = f"LOCK TABLES {locks}; UNLOCK TABLES; " if locks else ""
        args = (
            ["NULL", "0"] + ["0"] * tables + ["NULL" if v is None else str(int(v)) for v in values]
        )
        run(conn, f"{barrier}CALL {ROLLBACK_PROC}({', '.join(args)})")
        _reset_counters(conn, dict(zip(saved["tables"], values, strict=True)))
        counters = sum(1 for v in values if v is not None)
    triggered = {table for kind, _, table in objects if kind == "TRIGGER"}
    remove(conn, objects)
    return Repaired(changes=changes, counters=counters, tables=len(triggered))
