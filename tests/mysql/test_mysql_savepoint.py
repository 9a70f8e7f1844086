"""Mode ``savepoint``: an in-process WSGI app shares the store's connection; the whole run is one
transaction, checkpoints are savepoints, and teardown leaves the database as found (rows,
AUTO_INCREMENT counters, no ``_venomqa_*`` object)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from _support_mysql import database_content, execute
from venomqa import World, action, explore, invariant
from venomqa.client import Client
from venomqa.errors import StoreError
from venomqa_mysql import MySQLStore

CAPS = {"apple": 2, "pear": 1}
Start = Callable[[str, list[tuple[str, str]]], Any]


class CartApp:
    """A WSGI app running its SQL on ``store.connection``: POST/DELETE /cart/<item>."""

    def __init__(self, store: MySQLStore) -> None:
        self.store = store

    def __call__(self, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        method, item = environ["REQUEST_METHOD"], environ["PATH_INFO"].rsplit("/", 1)[1]
        with self.store.connection.cursor() as cur:
            cur.execute("SELECT qty FROM cart WHERE item = %s", (item,))
            row = cur.fetchone()
            qty = row[0] if row else 0
            if method == "POST" and qty < CAPS[item]:
                cur.execute(
                    "INSERT INTO cart VALUES (%s, 1) ON DUPLICATE KEY UPDATE qty = qty + 1",
                    (item,),
                )
                status, qty = "200 OK", qty + 1
            elif method == "DELETE" and qty > 0:
                if qty == 1:
                    cur.execute("DELETE FROM cart WHERE item = %s", (item,))
                else:
                    cur.execute("UPDATE cart SET qty = qty - 1 WHERE item = %s", (item,))
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
def db(my_dsn: str) -> str:
    execute(my_dsn, "CREATE TABLE cart (item VARCHAR(10) PRIMARY KEY, qty INT NOT NULL)")
    execute(my_dsn, "CREATE TABLE event (id INT AUTO_INCREMENT PRIMARY KEY, note TEXT)")
    execute(my_dsn, "INSERT INTO event (note) VALUES ('seed')")
    return my_dsn


def test_explore_an_in_process_app_sharing_the_connection(db: str) -> None:
    before = database_content(db)
    store = MySQLStore(dsn=db, mode="savepoint", exclude=["event"])
    world = World(Client(app=CartApp(store)), {"db": store})
    result = explore(
        world,
        [add_apple, remove_apple, add_pear],
        [quantities_within_caps],
        max_depth=5,
        check_server_errors=False,
    )
    assert result.states == 3 * 2  # apple 0..2 x pear 0..1
    assert not result.violations
    assert database_content(db) == before


def test_savepoints_fingerprint_and_what_teardown_puts_back(db: str) -> None:
    before = database_content(db)
    store = MySQLStore(dsn=db, mode="savepoint")
    store.setup()
    try:
        cur = store.connection.cursor()
        start = store.fingerprint()
        outer = store.checkpoint()
        cur.execute("INSERT INTO event (note) VALUES ('a')")
        cur.execute("INSERT INTO cart VALUES ('apple', 1)")
        changed = store.fingerprint()
        assert changed != start
        inner = store.checkpoint()
        cur.execute("UPDATE cart SET qty = 2")
        cur.execute("DELETE FROM event WHERE note = 'seed'")
        store.rollback(inner)
        assert store.fingerprint() == changed
        assert store.observe() == {"cart": 1, "event": 2}
        store.rollback(outer)
        assert store.fingerprint() == start
        assert [c for c in store.changed_records() if c.before != c.after] == []
        assert store.observe() == {"cart": 0, "event": 1}
        with pytest.raises(StoreError, match="invalidated"):
            store.rollback(inner)
        # another connection sees nothing of the run: it is one uncommitted transaction
        assert execute(db, "SELECT COUNT(*) FROM cart") == [(0,)]
        # the app commits: the run cannot go on, and says why
        cur.execute("INSERT INTO cart VALUES ('pear', 1)")
        store.connection.commit()
        with pytest.raises(StoreError, match="was committed"):
            store.checkpoint()
    finally:
        store.teardown()
    assert database_content(db) == before  # the committed row undone, the counter back
