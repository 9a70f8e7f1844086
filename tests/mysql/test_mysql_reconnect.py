"""A lost connection (the session killed, as a server restart or a proxy would): in the default
mode every operation reconnects once and goes on; in mode savepoint the run stops with an error
saying why, and teardown still puts the database back through a new connection."""

from __future__ import annotations

import pytest
from _support_mysql import database_content, execute, write_from_other_process
from venomqa.errors import StoreError
from venomqa_mysql import MySQLStore


def kill_connection_of(store: MySQLStore, dsn: str) -> None:
    with store.connection.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        (session,) = cur.fetchone()
    execute(dsn, f"KILL {int(session)}")


@pytest.fixture
def db(my_dsn: str) -> str:
    execute(my_dsn, "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))")
    execute(my_dsn, "INSERT INTO items (name) VALUES ('a')")
    return my_dsn


@pytest.mark.parametrize("operation", ["checkpoint", "fingerprint", "rollback", "teardown"])
def test_each_operation_reconnects_once(db: str, operation: str) -> None:
    before = database_content(db)
    store = MySQLStore(dsn=db)
    store.setup()
    try:
        token = store.checkpoint()
        original = store.fingerprint()
        write_from_other_process(db, "INSERT INTO items (name) VALUES ('b')")
        kill_connection_of(store, db)
        if operation == "checkpoint":
            store.checkpoint()
        elif operation == "fingerprint":
            assert store.fingerprint() != original
        elif operation == "rollback":
            store.rollback(token)
            assert store.fingerprint() == original
            assert execute(db, "SELECT name FROM items") == [("a",)]
    finally:
        store.teardown()
    assert database_content(db) == before


def test_savepoint_mode_stops_and_teardown_still_restores(db: str) -> None:
    before = database_content(db)
    store = MySQLStore(dsn=db, mode="savepoint")
    store.setup()
    try:
        token = store.checkpoint()
        with store.connection.cursor() as cur:
            cur.execute("INSERT INTO items (name) VALUES ('b')")
        kill_connection_of(store, db)
        with pytest.raises(StoreError, match=r"connection was lost.*the run's transaction"):
            store.rollback(token)
    finally:
        store.teardown()
    assert database_content(db) == before
