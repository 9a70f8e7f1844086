"""World names a failing store by its key in the world, whatever name the adapter gave itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from venomqa.errors import StoreError
from venomqa.world import World


class BrokenRollbackStore:
    """A store whose rollback fails the way adapters report it: under the adapter's own name."""

    name = "broken"

    def __init__(self) -> None:
        self.torn_down = False

    def setup(self) -> None: ...
    def teardown(self) -> None:
        self.torn_down = True

    def checkpoint(self) -> int:
        return 0

    def rollback(self, token: Any) -> None:
        raise StoreError("connection lost", store=self.name)

    def fingerprint(self) -> str:
        raise RuntimeError("disk on fire")

    def observe(self) -> dict[str, Any]:
        return {}


def test_store_errors_name_the_world_key_and_the_adapter() -> None:
    store = BrokenRollbackStore()
    with World("http://127.0.0.1:9", {"orders_db": store}) as world:
        token = world.checkpoint()
        with pytest.raises(StoreError) as caught:
            world.rollback(token)
        assert caught.value.store == "orders_db"
        assert str(caught.value) == "store 'orders_db' (broken): connection lost"
        with pytest.raises(StoreError, match=r"store 'orders_db': fingerprint failed: Runtime"):
            world.fingerprint()
    assert store.torn_down


def test_ports_give_typed_access_and_name_what_is_missing(tmp_path: Path) -> None:
    import sqlite3

    from venomqa.errors import UsageError
    from venomqa.ports import ClientPort, DatabasePort
    from venomqa.stores.sqlite import SQLiteStore

    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    conn.close()
    store = SQLiteStore(str(db))
    world = World("http://127.0.0.1:1", {"db": store})
    assert isinstance(world.api, ClientPort)
    with world.session():
        database = world.database("db")
        assert isinstance(database, DatabasePort)
        assert database.query("SELECT count(*) AS n FROM t") == [{"n": 0}]
        with pytest.raises(
            UsageError, match="store 'db' \\(adapter 'sqlite'\\) is not a CachePort"
        ):
            world.cache("db")
        with pytest.raises(UsageError, match="no store named 'files' \\(stores: 'db'\\)"):
            world.storage("files")
    world.api.close()
