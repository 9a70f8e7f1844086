"""SQLiteStore as ``SupportsClone``: copies of the file for parallel workers, on real files.

A copy equals the original (rows, rowids, AUTOINCREMENT counters), also of a file in WAL mode
whose newest commits are still in its ``-wal`` file; a store on the copy runs a whole cycle
while the original stays as it was; copies are removed by ``drop_clone``, by
``drop_leftover_clones`` and by ``venomqa recover``, except one a live run (another process)
uses, which is refused or left alone, naming it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from _support_sqlite import create_db, logical_content, write_from_other_process
from store_holder import killed_store, live_store
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.ports import SupportsClone
from venomqa.stores import SQLiteStore

SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id),
                     amount REAL, note BLOB);
CREATE TABLE notes (body TEXT);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 50;
CREATE TRIGGER stamp AFTER INSERT ON notes BEGIN UPDATE notes SET body = body || '!'
  WHERE rowid = new.rowid; END;
INSERT INTO customers(email) VALUES ('a@x.io'), ('b@x.io'), ('c@x.io');
DELETE FROM customers WHERE email = 'c@x.io';
INSERT INTO orders VALUES (1, 1, 10.5, x'00ff'), (7, 2, 99.0, NULL);
INSERT INTO notes VALUES ('first');
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return create_db(tmp_path / "shop.db", SHOP)


def _rows(path: Path | str, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(sql).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def _next_ids(path: Path | str) -> tuple[object, ...]:
    """The ids the next inserts get (AUTOINCREMENT and plain rowid), then undone."""
    conn = sqlite3.connect(path)
    try:
        a = conn.execute("INSERT INTO customers(email) VALUES ('new@x.io') RETURNING id")
        customer = a.fetchone()[0]
        order = conn.execute("INSERT INTO orders(amount) VALUES (1) RETURNING id").fetchone()[0]
        conn.rollback()
        return customer, order
    finally:
        conn.close()


def test_the_sqlite_store_offers_clone() -> None:
    assert isinstance(SQLiteStore("x.db"), SupportsClone)


def test_a_copy_equals_the_original_also_in_wal_mode_with_commits_in_the_wal(
    shop: Path,
) -> None:
    _rows(shop, "PRAGMA journal_mode = wal")
    api = sqlite3.connect(shop)  # an open connection keeps the newest commits in the -wal
    api.execute("PRAGMA wal_autocheckpoint = 0")
    api.execute("INSERT INTO orders VALUES (12, 1, 12.0, NULL)")
    api.execute("DELETE FROM orders WHERE id = 12")  # the plain-rowid table's next id: 8
    api.execute("INSERT INTO customers(email) VALUES ('d@x.io')")
    api.commit()
    assert Path(f"{shop}-wal").stat().st_size > 0
    try:
        options = SQLiteStore(str(shop)).clone("w2")
    finally:
        api.close()
    copy = Path(str(options["path"]))
    assert copy == shop.with_name("shop.venomqa-w2.db")
    assert options == {"path": str(copy)}
    assert logical_content(copy) == logical_content(shop)
    assert _rows(copy, "PRAGMA journal_mode") == [("wal",)]
    assert _rows(copy, "SELECT name, seq FROM sqlite_sequence") == [("customers", 4)]
    assert _next_ids(copy) == _next_ids(shop) == (5, 8)
    assert not [p.name for p in shop.parent.iterdir() if p.name.endswith(".lock")]


def test_a_store_on_the_copy_runs_a_whole_cycle_and_leaves_the_original_alone(
    shop: Path,
) -> None:
    original = logical_content(shop)
    options = SQLiteStore(str(shop)).clone("w2")
    copy = Path(str(options["path"]))
    store = SQLiteStore(**options)
    store.setup()
    try:
        start = store.checkpoint()
        write_from_other_process(
            copy,
            "INSERT INTO customers(email) VALUES ('w2@x.io')",
            "UPDATE orders SET amount = 0 WHERE id = 1",
            "DELETE FROM notes",
        )
        assert store.observe() == {"customers": 3, "orders": 2, "notes": 0}
        assert logical_content(shop) == original
        store.rollback(start)
    finally:
        store.teardown()
    assert logical_content(copy) == original
    assert logical_content(shop) == original


def test_drop_clone_removes_the_copy_and_nothing_but_a_copy(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    options = store.clone("w3")
    _killed_writer(Path(str(options["path"])), "DELETE FROM notes")
    store.drop_clone(options)
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.db"]
    store.drop_clone(options)  # gone already: nothing to do
    with pytest.raises(StoreError, match="is not a worker copy of"):
        store.drop_clone({"path": str(shop)})
    elsewhere = shop.parent / "other" / "shop.venomqa-w3.db"
    with pytest.raises(StoreError, match="is not a worker copy of"):
        store.drop_clone({"path": str(elsewhere)})
    assert shop.exists()


def _killed_writer(path: Path, *statements: str) -> None:
    """A worker's API killed right after committing ``statements`` in WAL mode: the commits
    stay in the ``-wal`` file beside ``path`` (nobody checkpointed them)."""
    script = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "conn.execute('PRAGMA journal_mode = wal')\n"
        "conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "for sql in sys.argv[2:]:\n"
        "    conn.execute(sql)\n"
        "conn.commit()\n"
        "os._exit(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), *statements], capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert Path(f"{path}-wal").stat().st_size > 0


def test_a_dead_runs_copy_of_the_same_name_is_replaced_with_its_wal(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    copy = Path(str(store.clone("w2")["path"]))
    _killed_writer(copy, "DELETE FROM customers", "INSERT INTO notes VALUES ('dead')")
    assert store.clone("w2") == {"path": str(copy)}
    assert logical_content(copy) == logical_content(shop)


def test_leftover_copies_are_removed_by_drop_leftover_clones(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    made = [Path(str(store.clone(label)["path"])) for label in ("w2", "w3")]
    unrelated = shop.with_name("shop.venomqa-w4.db.bak")
    unrelated.write_text("not a copy")
    removed = SQLiteStore(str(shop)).drop_leftover_clones()
    assert removed == [f"{p} (a copy of {shop})" for p in made]
    assert sorted(p.name for p in shop.parent.iterdir()) == [
        "shop.db",
        "shop.venomqa-w4.db.bak",
    ]
    assert SQLiteStore(str(shop)).drop_leftover_clones() == []


def test_venomqa_recover_removes_a_killed_runs_copies(shop: Path, tmp_path: Path) -> None:
    SQLiteStore(str(shop)).clone("w2")  # a killed run made it and never dropped it
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        textwrap.dedent(
            """
            target: http://127.0.0.1:9
            stores:
              db: {adapter: sqlite, path: shop.db}
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "venomqa", "recover", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    copy = shop.with_name("shop.venomqa-w2.db")
    assert f"repaired: removed the worker copy {copy} (a copy of {shop})" in done.stdout
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.db", "venomqa.yaml"]


def test_a_copy_a_live_run_uses_is_refused_and_left_alone(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    options = store.clone("w2")
    copy = str(options["path"])
    with live_store(SQLiteStore, dict(options)) as live:
        with pytest.raises(StoreError) as again:
            store.clone("w2")
        assert f"the worker copy {copy} is in use by another VenomQA run (pid {live.pid}" in str(
            again.value
        )
        with pytest.raises(StoreError, match=f"in use by another VenomQA run \\(pid {live.pid}"):
            store.drop_clone(options)
        assert store.drop_leftover_clones() == []
        assert Path(copy).exists()
        assert store.clone("w3")  # other copies are not held up
    assert store.drop_leftover_clones() == [
        f"{copy} (a copy of {shop})",
        f"{shop.with_name('shop.venomqa-w3.db')} (a copy of {shop})",
    ]


def test_an_original_a_live_run_uses_is_not_copied(shop: Path) -> None:
    with (
        live_store(SQLiteStore, {"path": str(shop)}) as live,
        pytest.raises(StoreError, match=f"in use by another VenomQA run \\(pid {live.pid}"),
    ):
        SQLiteStore(str(shop)).clone("w2")
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.db"]


def test_a_killed_runs_leftovers_in_the_original_are_repaired_before_copying(
    shop: Path,
) -> None:
    before = logical_content(shop)
    killed_store(
        SQLiteStore,
        {"path": str(shop)},
        "import sqlite3\n"
        "conn = sqlite3.connect(options['path'])\n"
        "conn.execute(\"INSERT INTO customers(email) VALUES ('killed@x.io')\")\n"
        "conn.execute('DELETE FROM orders')\n"
        "conn.commit()\n",
    )
    assert logical_content(shop) != before
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        options = SQLiteStore(str(shop)).clone("w2")
    assert [w for w in seen if issubclass(w.category, LeftoversRepaired)]
    assert logical_content(Path(str(options["path"]))) == before
    assert logical_content(shop) == before


@pytest.mark.parametrize("path", [":memory:", "", "file::memory:?cache=shared"])
def test_an_in_memory_database_cannot_be_copied(path: str) -> None:
    with pytest.raises(StoreError, match="in-memory database, which only its own connection"):
        SQLiteStore(path).clone("w2")


def test_a_missing_file_or_a_bad_label_is_refused(tmp_path: Path, shop: Path) -> None:
    with pytest.raises(StoreError, match="does not exist, so it cannot be copied"):
        SQLiteStore(str(tmp_path / "missing.db")).clone("w2")
    with pytest.raises(ValueError, match="1 to 8 letters or digits"):
        SQLiteStore(str(shop)).clone("../w2")


def test_a_refused_copy_or_removal_names_the_store(tmp_path: Path, shop: Path) -> None:
    refusals = [
        lambda: SQLiteStore(":memory:").clone("w2"),
        lambda: SQLiteStore(str(tmp_path / "missing.db")).clone("w2"),
        lambda: SQLiteStore(str(shop)).drop_clone({"path": str(shop)}),
    ]
    for refuse in refusals:
        with pytest.raises(StoreError) as info:
            refuse()
        assert info.value.store == "sqlite" and str(info.value).startswith("store 'sqlite': ")
