"""Quiescing the tracked tables before a rollback.

An API request may still be in flight when VenomQA rolls back (the client gave up waiting, the
user pressed Ctrl-C twice): its transaction has written rows, and logged them, but not committed
yet, so the rollback cannot see those entries. Every rollback (``_venomqa.rollback_to``, also
at teardown and in crash recovery) therefore first locks each tracked table ``IN EXCLUSIVE
MODE``, in the same transaction as the replay. That mode conflicts with every writer (``ROW
EXCLUSIVE``: INSERT, UPDATE, DELETE; ``ROW SHARE``: SELECT ... FOR UPDATE and foreign-key
checks) and with nothing that only reads. So the rollback waits until the writers in flight
have committed (the replay then sees and undoes their entries) or rolled back, and no new write
starts before the rollback commits. A lock not granted within ``lock_timeout`` ends the
rollback with an error naming the table (``TableLocked``).

Waiting on writers can deadlock (the rollback holds table A and waits for a writer holding B
that next writes A); the server then aborts one of the two transactions, and the store retries
its rollback when that was its own.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The lock mode: conflicts with every row writer and with nothing that only reads.
MODE = "EXCLUSIVE"


def lock_sql(table: str) -> str:
    """The statement locking ``table`` (a quoted, qualified name) against writers."""
    return f"LOCK TABLE {table} IN {MODE} MODE"


class TableLocked(Exception):
    """A table's lock was not granted within ``lock_timeout``: another transaction held it."""

    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table


def table_in_context(context: str | None, tables: Iterable[tuple[str, str]]) -> str:
    """The label of the table whose lock statement the error ``context`` (a server error's
    ``CONTEXT``, naming the statement that failed) shows; ``tables`` are (quoted name, label)
    pairs. "a tracked table" when none matches."""
    for quoted, label in tables:
        if context and lock_sql(quoted) in context:
            return label
    return "a tracked table"
