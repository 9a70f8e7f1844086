"""Done when: a rollback waits for an API write still in flight (its client gave up waiting, its
transaction is open) and undoes it too, also when waiting for it deadlocks with the writer; a
table locked for longer than lock_timeout ends the rollback with an error naming it. Against the
notes API served by its own process (``POST /notes/slow`` sleeps inside its transaction)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from _support_postgres import database_content, execute
from _support_postgres_notes import notes_api, wait_for, writers_on
from venomqa.client import Client
from venomqa.errors import StoreError
from venomqa.testing.server import ApiProcess
from venomqa_postgres import PostgresStore

TABLES = ("comments", "labels", "notes")


@pytest.fixture
def notes(pg_dsn: str) -> Iterator[tuple[ApiProcess, str]]:
    with notes_api(pg_dsn) as server:
        yield server, pg_dsn


def rows(dsn: str) -> dict[str, list[str]]:
    """Every row of the API's tables, as text."""
    return {
        table: sorted(str(r[0]) for r in execute(dsn, f"SELECT t::text FROM {table} t"))
        for table in TABLES
    }


def give_up_on(url: str, body: dict[str, object], timeout: float = 0.2) -> list[str]:
    """POST /notes/slow from a thread with a client that waits only ``timeout`` seconds; the
    returned list gets how the call ended ("answered" or the exception's name)."""
    outcome: list[str] = []

    def call() -> None:
        client = Client(base_url=url, timeout=timeout)
        try:
            client.post("/notes/slow", json=body)
            outcome.append("answered")
        except Exception as exc:
            outcome.append(type(exc).__name__)
        finally:
            client.close()

    threading.Thread(target=call, daemon=True).start()
    return outcome


@pytest.mark.parametrize(
    "comment", [False, True], ids=["write in flight", "write in flight that deadlocks"]
)
def test_a_rollback_waits_for_a_write_in_flight_and_undoes_it(
    notes: tuple[ApiProcess, str], comment: bool
) -> None:
    server, dsn = notes
    before = database_content(dsn)
    store = PostgresStore(dsn=dsn)
    store.setup()
    try:
        with Client(base_url=server.url) as client:
            note = client.post("/notes", json={"title": "kept"}).json()["id"]
            client.post(f"/notes/{note}/labels", json={"name": "kept"})
        token = store.checkpoint()
        at_checkpoint, fingerprint = rows(dsn), store.fingerprint()
        ours = store.connection.info.backend_pid

        # Inserts a note, sleeps 1 s in its open transaction (then comments: the rollback,
        # holding comments, waits for notes: a deadlock the server breaks), commits.
        outcome = give_up_on(server.url, {"sleep": 1.0, "comment": comment})
        wait_for(lambda: writers_on(dsn, "notes", ours) > 0, what="the write in flight")
        wait_for(lambda: bool(outcome), what="the client to give up")
        assert outcome != ["answered"]
        assert writers_on(dsn, "notes", ours) > 0  # still uncommitted as the rollback starts

        store.rollback(token)
        wait_for(lambda: writers_on(dsn, "notes", ours) == 0, what="the write to end")

        assert rows(dsn) == at_checkpoint
        assert store.fingerprint() == fingerprint
        assert {c.collection for c in store.changed_records()} == {"notes", "labels"}
    finally:
        store.teardown()
    assert database_content(dsn) == before


@pytest.mark.parametrize("table", ["comments", "notes"])
def test_a_table_locked_beyond_lock_timeout_fails_the_rollback_naming_it(
    notes: tuple[ApiProcess, str], table: str
) -> None:
    server, dsn = notes
    before = database_content(dsn)
    store = PostgresStore(dsn=dsn)
    store.setup()
    try:
        token = store.checkpoint()
        with Client(base_url=server.url) as client:
            client.post("/notes", json={"title": "undone"})
        store.connection.execute("SET lock_timeout = '200ms'")  # 10 s by default
        with psycopg.connect(dsn) as blocker:  # a session idle in a transaction that wrote
            blocker.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")
            with pytest.raises(StoreError) as raised:
                store.rollback(token)
            blocker.rollback()
        message = str(raised.value)
        assert f"could not lock table public.{table} within lock_timeout" in message, message
        assert "pg_stat_activity" in message
        store.rollback(token)  # the lock is gone: it goes through
        assert rows(dsn)["notes"] == []
    finally:
        store.teardown()
    assert database_content(dsn) == before


def test_a_write_committed_after_a_later_one_is_still_read(notes: tuple[ApiProcess, str]) -> None:
    """Log ids are handed out as rows are written, not as transactions commit: a slow write
    (id n, in flight) can commit after a fast one (id n+1). Reading the log waits for the slow
    one, so neither the fingerprint nor the changed records ever miss it."""
    server, dsn = notes
    store = PostgresStore(dsn=dsn)
    store.setup()
    try:
        ours = store.connection.info.backend_pid
        outcome = give_up_on(server.url, {"sleep": 1.0}, timeout=5.0)
        wait_for(lambda: writers_on(dsn, "notes", ours) > 0, what="the write in flight")
        with Client(base_url=server.url) as client:
            client.post("/notes", json={"title": "fast"})  # commits first, with a higher id
        store.fingerprint()  # reads the log while the slow write is still open
        wait_for(lambda: outcome == ["answered"], what="the slow write to commit")
        titles = sorted(
            str((change.after or {}).get("title"))
            for change in store.changed_records()
            if change.collection == "notes"
        )
        assert titles == ["fast", "slow"]
    finally:
        store.teardown()
