"""The lock a set-up store holds so that no second VenomQA run uses the same database.

MySQL's ``GET_LOCK`` names a lock held by one connection until it releases it or the connection
ends, so a killed run never leaves a stale one (``venomqa.stores.live_run`` says why the lock
exists). The store takes it on its connection before it looks for leftovers to repair, and again
on the new connection after a reconnect.
"""

from __future__ import annotations

from typing import Any

from venomqa.stores.live_run import GRACE_S, busy_error

from venomqa_mysql._connect import run

#: MySQL and MariaDB accept lock names of up to 64 characters.
_MAX_NAME = 64


def lock_name(database: str) -> str:
    """The lock of ``database``: ``venomqa:<database>`` (cut to what the server accepts)."""
    return f"venomqa:{database}"[:_MAX_NAME]


def take_run_lock(conn: Any, database: str, where: str, store: str) -> None:
    """Take the database's lock on ``conn`` (waiting up to ``GRACE_S`` for a holder that is
    going away), or raise the busy error naming who has it (their connection id, host and
    user, as the process list shows them)."""
    name = lock_name(database)
    # waits up to GRACE_S: a connection that just closed may hold it a moment longer
    [[(taken,)]] = run(conn, "SELECT GET_LOCK(%s, %s)", (name, GRACE_S))
    if taken == 1:
        return
    [[(holder,)]] = run(conn, "SELECT IS_USED_LOCK(%s)", (name,))
    owner = f"MySQL connection {holder}"
    try:
        rows = run(
            conn,
            "SELECT HOST, USER, TIME FROM information_schema.PROCESSLIST WHERE ID = %s",
            (holder,),
        )[0]
    except Exception:  # the process list is a courtesy: the refusal stands without it
        rows = []
    if rows:
        host, user, seconds = rows[0]
        owner += f" from {host} as {user}, idle {seconds}s"
    raise busy_error(where, store, owner)
