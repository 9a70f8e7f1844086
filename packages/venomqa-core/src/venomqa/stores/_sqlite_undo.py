"""Replaying the undo log backwards, and the sqlite_sequence counters around it.

``replay_down_to(conn, tables, seq)`` undoes every logged change with a sequence number above
``seq``, newest first, inside the caller's transaction. The caller's connection keeps
``foreign_keys`` off, so no check or ON DELETE/UPDATE action interferes with the replay (the
result is a state that was consistent before). The user's own triggers on the replayed tables are
dropped for the replay and re-created, unchanged, in the same transaction, so they do not fire a
second time. The store's triggers do fire; what they log is removed together with the replayed
entries by ``discard_above``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TypeAlias

from venomqa.stores._sqlite_schema import LOG_TABLE, PREFIX, TableInfo, quote_ident

SequenceSnapshot = tuple[tuple[str, int], ...]
#: A value SQLite stores: NULL, INTEGER, REAL, TEXT or BLOB.
SqlValue: TypeAlias = int | float | str | bytes | None
#: A log row: (seq, table, operation, new rowid, old rowid, c0, c1, ...).
LogEntry: TypeAlias = tuple[int, str, str, int | None, int | None, *tuple[SqlValue, ...]]


def max_seq(conn: sqlite3.Connection) -> int:
    """The newest log entry's sequence number (0 for an empty log)."""
    row = conn.execute(f"SELECT max(seq) FROM {LOG_TABLE}").fetchone()
    return int(row[0] or 0)


def entries_above(
    conn: sqlite3.Connection, seq: int, width: int, *, newest_first: bool = False
) -> list[LogEntry]:
    """Log rows ``(seq, tbl, op, new_rid, old_rid, c0..)`` above ``seq``."""
    cols = "".join(f", c{i}" for i in range(width))
    order = "DESC" if newest_first else "ASC"
    return conn.execute(
        f"SELECT seq, tbl, op, new_rid, old_rid{cols} FROM {LOG_TABLE} "
        f"WHERE seq > ? ORDER BY seq {order}",
        (seq,),
    ).fetchall()


def log_width(conn: sqlite3.Connection) -> int:
    """How many ``cN`` columns the installed log has."""
    names = [r[1] for r in conn.execute(f"PRAGMA table_info({LOG_TABLE})")]
    return sum(1 for n in names if n.startswith("c") and n[1:].isdigit())


def replay_down_to(
    conn: sqlite3.Connection, tables: dict[str, TableInfo], seq: int, width: int
) -> set[str]:
    """Undo every change above ``seq`` (newest first); returns the names of tables touched."""
    entries = entries_above(conn, seq, width, newest_first=True)
    touched = {e[1] for e in entries}
    if not entries:
        return touched
    missing = touched - tables.keys()
    if missing:
        raise LookupError(
            f"the undo log holds changes of table(s) {sorted(missing)} that no longer exist "
            "(was the schema changed during the run?)"
        )
    user_triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        f"AND substr(name, 1, {len(PREFIX)}) <> ? AND tbl_name IN "
        f"({', '.join('?' * len(touched))})",
        (PREFIX, *sorted(touched)),
    ).fetchall()
    for name, _sql in user_triggers:
        conn.execute(f"DROP TRIGGER {quote_ident(name)}")
    for entry in entries:
        _undo_one(conn, tables[entry[1]], entry)
    for _name, sql in user_triggers:
        conn.execute(sql)
    return touched


def _undo_one(conn: sqlite3.Connection, table: TableInfo, entry: LogEntry) -> None:
    op, new_rid, old_rid, values = entry[2], entry[3], entry[4], entry[5:]
    n = len(table.columns)
    image = list(values[:n])
    if table.rowid_name:
        new_key: list[SqlValue] = [new_rid]
        image = [old_rid, *image]
    else:
        new_key = list(values[n : n + len(table.key_columns)])
    targets = ", ".join(table.row_columns)
    marks = ", ".join("?" * len(image))
    where = f"{table.key_expr} = ({', '.join('?' * len(new_key))})"
    if op == "I":
        conn.execute(f"DELETE FROM {table.q} WHERE {where}", new_key)
    elif op == "U":
        conn.execute(f"UPDATE {table.q} SET ({targets}) = ({marks}) WHERE {where}", image + new_key)
    elif op in ("D", "R"):
        conn.execute(f"INSERT OR REPLACE INTO {table.q}({targets}) VALUES ({marks})", image)
    else:
        raise LookupError(f"unknown operation {op!r} in the undo log of table {table.name!r}")


def discard_above(conn: sqlite3.Connection, seq: int) -> None:
    """Forget every log entry above ``seq``."""
    conn.execute(f"DELETE FROM {LOG_TABLE} WHERE seq > ?", (seq,))


def has_sequence_table(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).fetchone()
    return row is not None


def read_sequences(conn: sqlite3.Connection) -> SequenceSnapshot:
    """The AUTOINCREMENT counters, sorted by table name (empty when there are none)."""
    if not has_sequence_table(conn):
        return ()
    rows = conn.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name, seq").fetchall()
    return tuple((str(n), int(s)) for n, s in rows)


def restore_sequences(conn: sqlite3.Connection, snapshot: Iterable[tuple[str, int]]) -> None:
    """Make sqlite_sequence hold exactly ``snapshot``, touching only rows that differ."""
    if not has_sequence_table(conn):
        return
    wanted = dict(snapshot)
    current = dict(read_sequences(conn))
    if current == wanted:
        return
    for name in current.keys() - wanted.keys():
        conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (name,))
    for name, value in wanted.items():
        if name not in current:
            conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", (name, value))
        elif current[name] != value:
            conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (value, name))


def remove_machinery(conn: sqlite3.Connection) -> None:
    """Drop every trigger and table the store installed (names starting with the prefix)."""
    rows = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'table') "
        f"AND substr(name, 1, {len(PREFIX)}) = ? ORDER BY type = 'table'",
        (PREFIX,),
    ).fetchall()
    for kind, name in rows:
        conn.execute(f"DROP {kind.upper()} IF EXISTS {quote_ident(name)}")
