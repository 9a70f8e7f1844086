"""The lock a set-up store holds so that no second VenomQA run uses the same schema.

A session-level advisory lock (``pg_try_advisory_lock``) is held by one connection until it ends,
so a killed run never leaves a stale one (``venomqa.stores.live_run`` says why the lock exists).
Its key is derived from the database and schema; the store takes it on its connection before it
looks for leftovers to repair, and again on the new connection after a reconnect.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from venomqa.stores.live_run import GRACE_S, busy_error


def lock_key(database: str, schema: str) -> int:
    """A 64-bit advisory-lock key for ``database``.``schema`` whose two 32-bit halves are
    positive, so ``pg_locks`` shows them as they are (``classid``, ``objid``)."""
    digest = hashlib.sha256(f"venomqa:{database}:{schema}".encode()).digest()
    high = int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
    low = int.from_bytes(digest[4:8], "big") & 0x7FFFFFFF
    return (high << 32) | low


def take_run_lock(conn: Any, schema: str, where: str, store: str) -> None:
    """Take the schema's lock on ``conn`` (waiting up to ``GRACE_S`` for a holder that is going
    away), or raise the busy error naming who has it (the backend's pid, client address,
    application name and start)."""
    [database] = conn.execute("SELECT current_database()").fetchone()
    key = lock_key(str(database), schema)
    deadline = time.monotonic() + GRACE_S
    while True:
        [taken] = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if taken:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)  # a connection that just closed may hold it a moment longer
    holder = conn.execute(
        "SELECT a.pid, a.client_addr, a.application_name, a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.classid = %s AND l.objid = %s AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
        (key >> 32, key & 0xFFFFFFFF),
    ).fetchone()
    if holder is None:
        owner = "its connection has just ended: try again"
    else:
        pid, address, application, started = holder
        since = f"{started:%Y-%m-%d %H:%M:%S}"
        owner = (
            f"PostgreSQL backend {pid} from {address or 'a local socket'}"
            f" ({application or 'no application_name'}), connected since {since}"
        )
    raise busy_error(where, store, owner)
