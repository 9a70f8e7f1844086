"""Done when: VenomQA's connection shows as ``application_name = 'venomqa'``; when another
session terminates its backend (``pg_terminate_backend``) the store reconnects once and the
operation goes on: an exploration of the notes API (its own process) whose backend is killed
again and again finds what an undisturbed one finds and leaves the database as it was, also when
killed during the final rollback or the teardown; a failed reconnect says the connection was
lost, naming the database without its password; in mode savepoint the run's transaction is lost
with the connection, and the store says so."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from _support_postgres import ADMIN_DSN, database_content, execute
from _support_postgres_notes import (
    ACTIONS,
    BackendKiller,
    database_name,
    notes_api,
    terminate,
    venomqa_backends,
    wait_for,
)
from venomqa import World, explore
from venomqa.client import Client
from venomqa.errors import StoreError
from venomqa.models import ExplorationResult
from venomqa.testing.server import ApiProcess
from venomqa_postgres import PostgresStore

DEPTH = 5


@pytest.fixture
def notes(pg_dsn: str) -> Iterator[tuple[ApiProcess, str]]:
    with notes_api(pg_dsn) as server:
        yield server, pg_dsn


@pytest.fixture
def shelf(pg_dsn: str) -> str:
    """A database with one table with a SERIAL key and two rows."""
    execute(pg_dsn, "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL)")
    execute(pg_dsn, "INSERT INTO item (name) VALUES ('a'), ('b')")
    return pg_dsn


def waiting_on_a_lock(pid: int) -> bool:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        row = admin.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
    return bool(row and row[0] == "Lock")


def test_the_connection_is_named_venomqa_unless_the_dsn_names_it(shelf: str) -> None:
    store = PostgresStore(dsn=shelf)
    store.setup()
    try:
        assert venomqa_backends(shelf) == [store.connection.info.backend_pid]
    finally:
        store.teardown()
    named = PostgresStore(dsn=f"{shelf}?application_name=mine")
    named.setup()
    try:
        assert venomqa_backends(shelf) == []
        assert named.query("SHOW application_name") == [{"application_name": "mine"}]
    finally:
        named.teardown()


def roll_back(store: PostgresStore, token: Any) -> str:
    store.rollback(token)
    return store.fingerprint()


OPERATIONS: dict[str, Callable[[PostgresStore, Any], Any]] = {
    "checkpoint": lambda store, token: store.checkpoint().values,
    "rollback": roll_back,
    "fingerprint": lambda store, token: store.fingerprint(),
    "changed_records": lambda store, token: store.changed_records(),
    "observe": lambda store, token: store.observe(),
    "query": lambda store, token: store.query("SELECT name FROM item ORDER BY id"),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_operation_reconnects_after_its_backend_was_killed(shelf: str, operation: str) -> None:
    before = database_content(shelf)
    store = PostgresStore(dsn=shelf)
    store.setup()
    try:
        token = store.checkpoint()
        execute(shelf, "INSERT INTO item (name) VALUES ('c')")
        execute(shelf, "UPDATE item SET name = 'z' WHERE id = 1")
        undisturbed = OPERATIONS[operation](store, token)
        if operation == "rollback":
            token = store.checkpoint()
            execute(shelf, "INSERT INTO item (name) VALUES ('d')")
        old = store.connection.info.backend_pid
        assert terminate(old)  # idle: the next statement finds the connection gone

        assert OPERATIONS[operation](store, token) == undisturbed
        assert venomqa_backends(shelf) == [store.connection.info.backend_pid] != [old]
    finally:
        store.teardown()
    assert database_content(shelf) == before


def run(server: ApiProcess, dsn: str) -> ExplorationResult:
    world = World(server.url, stores={"db": PostgresStore(dsn=dsn)})
    try:
        return explore(world, ACTIONS, max_depth=DEPTH)
    finally:
        world.api.close()


def summary(result: ExplorationResult) -> dict[str, Any]:
    return {
        "states": result.states,
        "transitions": result.transitions,
        "violations": sorted(v.message for v in result.violations),
        "volatile": sorted(v.spec for v in result.volatile),
        "stop": result.stop_reason,
    }


def test_an_exploration_whose_backend_is_killed_again_and_again_finds_the_same(
    notes: tuple[ApiProcess, str],
) -> None:
    server, dsn = notes
    before = database_content(dsn)
    undisturbed = run(server, dsn)
    assert database_content(dsn) == before

    # min_age: a reconnected backend lives long enough to finish the retried operation, even
    # on a loaded machine (the store reconnects once per operation, by design). On a fast
    # machine one exploration may end before three kills: explore again (each run must find
    # the same) until three backends were killed.
    killer = BackendKiller(dsn, every=0.05, min_age=0.1)
    killer.start()
    runs = 0
    try:
        while runs == 0 or (len(set(killer.killed)) < 3 and runs < 6):
            disturbed = run(server, dsn)
            runs += 1
            assert summary(disturbed) == summary(undisturbed), f"run {runs}"
    finally:
        killed = killer.stop()

    assert len(set(killed)) >= 3, killed  # each kill hit a new connection: it had reconnected
    assert database_content(dsn) == before


@pytest.mark.parametrize("operation", ["rollback", "teardown"])
def test_a_backend_killed_during_the_final_rollback_or_teardown(
    notes: tuple[ApiProcess, str], operation: str
) -> None:
    server, dsn = notes
    before = database_content(dsn)
    store = PostgresStore(dsn=dsn)
    store.setup()
    start = store.checkpoint()
    with Client(base_url=server.url) as client:
        note = client.post("/notes", json={"title": "undone"}).json()["id"]
        client.post(f"/notes/{note}/comments", json={"body": "undone"})
        client.post(f"/notes/{note}/labels", json={"name": "undone"})
    errors: list[BaseException] = []

    def finish() -> None:
        try:
            store.rollback(start) if operation == "rollback" else store.teardown()
        except BaseException as exc:
            errors.append(exc)

    first = store.connection.info.backend_pid
    with psycopg.connect(dsn) as blocker:  # holds the rollback in its lock wait
        blocker.execute("LOCK TABLE notes IN ROW EXCLUSIVE MODE")
        worker = threading.Thread(target=finish, daemon=True)
        worker.start()
        wait_for(lambda: waiting_on_a_lock(first), what="the rollback to wait")
        assert terminate(first)
        wait_for(
            lambda: any(p != first and waiting_on_a_lock(p) for p in venomqa_backends(dsn)),
            what="the rollback to wait again on a new connection",
        )
        blocker.rollback()
    worker.join(30)

    assert errors == []
    if operation == "rollback":
        assert store.observe() == {"comments": 0, "labels": 0, "notes": 0}
        store.teardown()
    assert database_content(dsn) == before


def test_a_failed_reconnect_says_the_connection_was_lost_without_the_password(
    shelf: str,
) -> None:
    before = database_content(shelf)
    database = database_name(shelf)
    store = PostgresStore(dsn=shelf.replace("postgres@", "postgres:hunter2@"))
    store.setup()
    try:
        fingerprint = store.fingerprint()
        execute(ADMIN_DSN, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        try:
            assert terminate(store.connection.info.backend_pid)
            with pytest.raises(StoreError) as raised:
                store.fingerprint()
        finally:
            execute(ADMIN_DSN, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        message = str(raised.value)
        assert "the connection to the database was lost" in message, message
        assert "reconnecting failed" in message and database in message
        assert "hunter2" not in message and "postgres:***@" in message
        assert store.fingerprint() == fingerprint  # the next operation reconnects
    finally:
        store.teardown()
    assert database_content(shelf) == before


def test_savepoint_mode_says_the_run_is_lost_with_its_connection(shelf: str) -> None:
    before = database_content(shelf)
    store = PostgresStore(dsn=shelf, mode="savepoint")
    store.setup()
    try:
        token = store.checkpoint()
        with store.connection.transaction():
            store.connection.execute("INSERT INTO item (name) VALUES ('c')")  # moves the SERIAL
        assert terminate(store.connection.info.backend_pid)

        for operation in (store.fingerprint, store.checkpoint, lambda: store.rollback(token)):
            with pytest.raises(StoreError) as raised:
                operation()
            message = str(raised.value)
            assert "the connection was lost" in message, message
            assert "the run's transaction" in message and "savepoint" in message
    finally:
        store.teardown()  # the rows went with the transaction; the sequence is put back
    assert database_content(shelf) == before
