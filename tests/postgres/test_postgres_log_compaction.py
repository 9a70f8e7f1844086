"""The undo log stays compact: rolled-back entries are deleted by the rollback itself, and the
log is VACUUMed once enough of them piled up, so its dead rows do not outlive a few thousand."""

from __future__ import annotations

from typing import Any

import psycopg
import venomqa_postgres.store as pg_store
from venomqa_postgres import PostgresStore


def _log_pages(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_relation_size('_venomqa.log') / current_setting('block_size')::int"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_rolled_back_entries_are_deleted_and_the_log_vacuumed(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, qty integer NOT NULL)")
        conn.execute("INSERT INTO items (qty) SELECT i FROM generate_series(1, 100) i")
    store = PostgresStore(dsn=pg_dsn)
    store.setup()
    api = psycopg.connect(pg_dsn, autocommit=True)
    try:
        root = store.checkpoint()
        batch = 20  # entries per branch
        rounds = pg_store.VACUUM_AFTER // batch + 1
        pages: list[int] = []
        for _ in range(rounds):
            api.execute("UPDATE items SET qty = qty + 1 WHERE id <= %s", (batch // 2,))
            api.execute("UPDATE items SET qty = qty + 1 WHERE id <= %s", (batch // 2,))
            assert store.fingerprint() != "0" * 16
            store.rollback(root)
            pages.append(_log_pages(pg_dsn))
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM _venomqa.log").fetchone() == (0,)
            assert conn.execute("SELECT sum(qty) FROM items").fetchone() == (5050,)
        # Until the VACUUM the log keeps every page the rolled-back entries filled (a DELETE
        # frees no page); the VACUUM after VACUUM_AFTER entries truncates the empty ones.
        assert max(pages) >= 2 and pages[-1] < max(pages) and 0 in pages, str(pages)
    finally:
        api.close()
        store.teardown()


def test_savepoint_mode_never_vacuums(pg_dsn: str) -> None:
    """VACUUM cannot run inside the run's transaction; savepoint rollbacks leave no log rows."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, qty integer NOT NULL)")
    store = PostgresStore(dsn=pg_dsn, mode="savepoint")
    store.setup()
    try:
        conn: Any = store.connection
        root = store.checkpoint()
        for _ in range(3):
            conn.execute("INSERT INTO items (qty) SELECT 1 FROM generate_series(1, 2000)")
            store.fingerprint()
            store.rollback(root)
        assert store.query("SELECT count(*) AS n FROM items") == [{"n": 0}]
    finally:
        store.teardown()
