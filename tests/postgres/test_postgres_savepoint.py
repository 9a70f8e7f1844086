"""Mode ``savepoint``: an in-process WSGI app shares the store's connection; the whole run is one
transaction, checkpoints are savepoints, sequences are put back, and nothing survives teardown."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from _support_postgres import database_content, execute
from venomqa import World, action, explore, invariant
from venomqa.client import Client
from venomqa.errors import StoreError
from venomqa_postgres import PostgresStore

SCHEMA = """
CREATE TABLE cart (item text PRIMARY KEY, qty integer NOT NULL CHECK (qty > 0));
CREATE TABLE event (id serial PRIMARY KEY, note text);
INSERT INTO event (note) VALUES ('seed');
"""
CAPS = {"apple": 2, "pear": 1}

Start = Callable[[str, list[tuple[str, str]]], Any]


class CartApp:
    """A WSGI app running its SQL on ``store.connection``: POST/DELETE /cart/<item>."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def __call__(self, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        method, item = environ["REQUEST_METHOD"], environ["PATH_INFO"].rsplit("/", 1)[1]
        conn = self.store.connection
        with conn.transaction():  # a savepoint inside the run's transaction
            row = conn.execute("SELECT qty FROM cart WHERE item = %s", (item,)).fetchone()
            qty = row[0] if row else 0
            if method == "POST" and qty < CAPS[item]:
                conn.execute(
                    "INSERT INTO cart VALUES (%s, 1) ON CONFLICT (item) "
                    "DO UPDATE SET qty = cart.qty + 1",
                    (item,),
                )
                status, qty = "200 OK", qty + 1
            elif method == "DELETE" and qty > 0:
                if qty == 1:
                    conn.execute("DELETE FROM cart WHERE item = %s", (item,))
                else:
                    conn.execute("UPDATE cart SET qty = qty - 1 WHERE item = %s", (item,))
                status, qty = "200 OK", qty - 1
            else:
                status = "409 Conflict"
        start(status, [("Content-Type", "application/json")])
        return [json.dumps({"item": item, "qty": qty}).encode()]


@action()
def add_apple(api: Any, ctx: Any) -> Any:
    return api.post("/cart/apple")


@action()
def remove_apple(api: Any, ctx: Any) -> Any:
    return api.delete("/cart/apple")


@action()
def add_pear(api: Any, ctx: Any) -> Any:
    return api.post("/cart/pear")


@invariant()
def quantities_within_caps(world: Any) -> bool:
    rows = world.stores["db"].query("SELECT item, qty FROM cart")
    return all(r["qty"] <= CAPS[r["item"]] for r in rows)


@pytest.fixture
def db(pg_dsn: str) -> str:
    execute(pg_dsn, SCHEMA)
    return pg_dsn


def test_explore_an_in_process_app_sharing_the_connection(db: str) -> None:
    before = database_content(db)
    store = PostgresStore(dsn=db, mode="savepoint")
    world = World(Client(app=CartApp(store)), {"db": store})
    result = explore(
        world,
        [add_apple, remove_apple, add_pear],
        [quantities_within_caps],
        max_depth=5,
        check_server_errors=False,
    )
    # apple 0..2 x pear 0..1, every one reachable within 5 steps
    assert result.states == 3 * 2
    assert not result.violations
    assert database_content(db) == before


def test_savepoint_rollback_fingerprint_and_sequences(db: str) -> None:
    before = database_content(db)
    store = PostgresStore(dsn=db, mode="savepoint")
    store.setup()
    try:
        conn = store.connection
        start = store.fingerprint()
        outer = store.checkpoint()
        conn.execute("INSERT INTO event (note) VALUES ('a')")
        conn.execute("INSERT INTO cart VALUES ('apple', 1)")
        changed = store.fingerprint()
        assert changed != start
        inner = store.checkpoint()
        conn.execute("UPDATE cart SET qty = 2")
        conn.execute("DELETE FROM event WHERE note = 'seed'")
        store.rollback(inner)
        assert store.fingerprint() == changed
        assert store.observe() == {"cart": 1, "event": 2}
        store.rollback(outer)
        assert store.fingerprint() == start
        assert store.observe() == {"cart": 0, "event": 1}
        # the sequence was put back: the id repeats
        row = conn.execute("INSERT INTO event (note) VALUES ('b') RETURNING id").fetchone()
        assert row == (2,)
        conn.execute("DELETE FROM event WHERE note = 'b'")
        assert store.fingerprint() == start  # equal contents, different history
        store.rollback(outer)  # a savepoint stays valid after a rollback to it
        with pytest.raises(StoreError, match="invalidated"):
            store.rollback(inner)
        # another connection sees nothing of the run: it is one uncommitted transaction
        assert execute(db, "SELECT count(*) FROM pg_namespace WHERE nspname = '_venomqa'") == [(0,)]
        # a failed statement that the app did not handle: rollback recovers the transaction
        token = store.checkpoint()
        with pytest.raises(Exception, match="duplicate key"):
            conn.execute("INSERT INTO event (id, note) VALUES (1, 'clash')")
        with pytest.raises(StoreError, match="aborted"):
            store.checkpoint()
        store.rollback(token)
        assert store.observe() == {"cart": 0, "event": 1}
        store.release(token)
    finally:
        store.teardown()
    assert database_content(db) == before
    assert execute(db, "SELECT nextval('event_id_seq')") == [(2,)]


def test_release_keeps_the_savepoints_live_tokens_need(db: str) -> None:
    store = PostgresStore(dsn=db, mode="savepoint")
    store.setup()
    try:
        conn = store.connection
        first = store.checkpoint()
        conn.execute("INSERT INTO cart VALUES ('apple', 1)")
        second = store.checkpoint()
        conn.execute("INSERT INTO cart VALUES ('pear', 1)")
        store.release(first)  # must not destroy the savepoint of ``second``
        store.rollback(second)
        assert store.observe() == {"cart": 1, "event": 1}
        store.release(second)
        third = store.checkpoint()
        conn.execute("DELETE FROM cart")
        store.rollback(third)
        assert store.observe() == {"cart": 1, "event": 1}
    finally:
        store.teardown()
    assert execute(db, "SELECT count(*) FROM cart") == [(0,)]
