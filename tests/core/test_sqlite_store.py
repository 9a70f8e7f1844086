"""SQLiteStore against real SQLite files, written by a real separate process.

"Leaves the file as the user had it" is checked on its logical content (``logical_content``):
the schema SQL in sqlite_master, every table's rows with rowids and exact value types,
sqlite_sequence, user_version and the journal mode. The raw bytes are not compared: creating and
dropping the store's triggers and tables bumps the header's change counter and schema cookie and
leaves freed pages on the freelist.
"""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support_sqlite import create_db, logical_content, write_from_other_process
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.stores import SQLiteStore, _sqlite_undo
from venomqa.stores import sqlite as sqlite_module
from venomqa.stores._sqlite_hash import ContentHashes

SHOP = """
PRAGMA foreign_keys = ON;
CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    amount REAL NOT NULL,
    refunded REAL NOT NULL DEFAULT 0
);
CREATE TABLE notes (body TEXT);
INSERT INTO customers(email) VALUES ('a@x.io'), ('b@x.io');
INSERT INTO orders(customer_id, amount) VALUES (1, 10.5), (1, 3.25), (2, 7.0);
INSERT INTO notes VALUES ('first'), ('second');
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return create_db(tmp_path / "shop.db", SHOP)


@pytest.fixture
def store(shop: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(str(shop))
    s.setup()
    yield s
    s.teardown()


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_rollback_undoes_inserts_updates_deletes_of_another_process(
    shop: Path, store: SQLiteStore
) -> None:
    before = logical_content(shop)
    token = store.checkpoint()
    write_from_other_process(
        shop,
        "INSERT INTO customers(email) VALUES ('c@x.io')",
        "INSERT INTO orders(customer_id, amount) VALUES (3, 99.0)",
        "UPDATE orders SET refunded = 10.5 WHERE id = 1",
        "DELETE FROM notes WHERE body = 'first'",
        "DELETE FROM customers WHERE id = 2",  # cascades to order 3 (foreign_keys on)
    )
    assert rows(shop, "SELECT count(*) FROM orders") == [(3,)]
    store.rollback(token)
    assert logical_content(shop)["tables"] == before["tables"]
    assert rows(shop, "PRAGMA foreign_key_check") == []


def test_autoincrement_ids_repeat_after_rollback(shop: Path, store: SQLiteStore) -> None:
    token = store.checkpoint()
    write_from_other_process(shop, "INSERT INTO customers(email) VALUES ('c@x.io')")
    first = rows(shop, "SELECT id FROM customers WHERE email = 'c@x.io'")
    store.rollback(token)
    assert rows(shop, "SELECT seq FROM sqlite_sequence WHERE name = 'customers'") == [(2,)]
    write_from_other_process(shop, "INSERT INTO customers(email) VALUES ('d@x.io')")
    assert rows(shop, "SELECT id FROM customers WHERE email = 'd@x.io'") == first == [(3,)]


def test_plain_rowids_repeat_after_rollback(shop: Path, store: SQLiteStore) -> None:
    token = store.checkpoint()
    write_from_other_process(
        shop,
        "INSERT INTO orders(customer_id, amount) VALUES (1, 1.0)",
        "INSERT INTO notes VALUES ('third')",
    )
    first = rows(shop, "SELECT max(o.id), max(n.rowid) FROM orders o, notes n")
    store.rollback(token)
    write_from_other_process(
        shop,
        "INSERT INTO orders(customer_id, amount) VALUES (2, 2.0)",
        "INSERT INTO notes VALUES ('other')",
    )
    assert rows(shop, "SELECT max(o.id), max(n.rowid) FROM orders o, notes n") == first == [(4, 3)]


def test_nested_checkpoints_and_token_validity(shop: Path, store: SQLiteStore) -> None:
    outer = store.checkpoint()
    write_from_other_process(shop, "INSERT INTO notes VALUES ('one')")
    inner = store.checkpoint()
    write_from_other_process(shop, "INSERT INTO notes VALUES ('two')")
    store.rollback(inner)
    assert rows(shop, "SELECT body FROM notes") == [("first",), ("second",), ("one",)]
    store.rollback(inner)  # a token stays valid after rollback
    store.rollback(outer)
    assert rows(shop, "SELECT body FROM notes") == [("first",), ("second",)]
    with pytest.raises(StoreError, match="invalidated checkpoint") as refused:
        store.rollback(inner)  # taken after `outer`, so invalid now
    assert refused.value.store == store.name
    write_from_other_process(shop, "INSERT INTO notes VALUES ('three')")
    store.rollback(outer)
    assert rows(shop, "SELECT count(*) FROM notes") == [(2,)]
    store.release(outer)
    with pytest.raises(StoreError):
        store.rollback(outer)


EXACT_VALUES = [
    0.1,
    9.252004134971399e105,  # quote() in SQLite 3.40 does not round-trip these
    -7.077170956878829e-302,
    5e-324,
    math.inf,
    -math.inf,
    2**63 - 1,
    -(2**63),
    b"\x00\xff\x00binary",
    b"",
    "it's \u00e9\u4e2d\U0001f600",
    "",
    None,
]


def test_every_value_type_round_trips_exactly(tmp_path: Path) -> None:
    db = create_db(tmp_path / "types.db", "CREATE TABLE v (i INTEGER PRIMARY KEY, x, r REAL, t);")
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO v(x, r, t) VALUES (?, ?, ?)",
        [(value, 1.0 / 3, "keep") for value in EXACT_VALUES],
    )
    conn.commit()
    conn.close()
    before = logical_content(db)
    store = SQLiteStore(str(db))
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(
            db,
            "UPDATE v SET x = 'changed', r = 2.5 WHERE i % 2 = 0",
            "DELETE FROM v WHERE i % 2 = 1",
        )
        store.rollback(token)
        assert logical_content(db) != before  # the store's machinery is still installed
        assert logical_content(db)["tables"]["v"] == before["tables"]["v"]
    finally:
        store.teardown()
    assert logical_content(db) == before


def test_without_rowid_table_with_key_change(tmp_path: Path) -> None:
    db = create_db(
        tmp_path / "wr.db",
        "CREATE TABLE stock (sku TEXT, site INTEGER, qty REAL, PRIMARY KEY (sku, site))"
        " WITHOUT ROWID;"
        "INSERT INTO stock VALUES ('a', 1, 5), ('b', 2, 0.5);",
    )
    before = logical_content(db)
    store = SQLiteStore(str(db))
    store.setup()
    try:
        fp = store.fingerprint()
        token = store.checkpoint()
        write_from_other_process(
            db,
            "UPDATE stock SET sku = 'z', qty = 9 WHERE sku = 'a'",
            "INSERT INTO stock VALUES ('c', 3, 1)",
            "DELETE FROM stock WHERE sku = 'b'",
            "INSERT OR REPLACE INTO stock VALUES ('c', 3, 2)",
        )
        assert store.fingerprint() != fp
        store.rollback(token)
        assert logical_content(db)["tables"]["stock"] == before["tables"]["stock"]
        assert store.fingerprint() == fp
    finally:
        store.teardown()
    assert logical_content(db) == before


def test_insert_or_replace_and_upsert_are_undone(shop: Path, store: SQLiteStore) -> None:
    before = logical_content(shop)["tables"]
    token = store.checkpoint()
    write_from_other_process(
        shop,
        "INSERT OR REPLACE INTO customers(id, email) VALUES (5, 'a@x.io')",  # replaces id 1
        "INSERT OR REPLACE INTO notes(rowid, body) VALUES (2, 'replaced')",
        "INSERT INTO customers(email) VALUES ('b@x.io') "
        "ON CONFLICT(email) DO UPDATE SET email = 'b2@x.io'",
        "INSERT OR IGNORE INTO customers(email) VALUES ('b2@x.io')",
        foreign_keys=False,
    )
    store.rollback(token)
    assert logical_content(shop)["tables"] == before


def test_user_triggers_do_not_fire_during_rollback(tmp_path: Path) -> None:
    db = create_db(
        tmp_path / "audit.db",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);"
        "CREATE TABLE audit (what TEXT);"
        "CREATE TRIGGER items_ins AFTER INSERT ON items BEGIN"
        "  INSERT INTO audit VALUES ('ins ' || NEW.name); END;"
        "CREATE TRIGGER items_del AFTER DELETE ON items BEGIN"
        "  INSERT INTO audit VALUES ('del ' || OLD.name); END;"
        "INSERT INTO items(name) VALUES ('seed');",
    )
    before = logical_content(db)
    store = SQLiteStore(str(db))
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(
            db, "INSERT INTO items(name) VALUES ('new')", "DELETE FROM items WHERE name = 'seed'"
        )
        assert rows(db, "SELECT what FROM audit") == [("ins seed",), ("ins new",), ("del seed",)]
        store.rollback(token)
        assert rows(db, "SELECT what FROM audit") == [("ins seed",)]
        write_from_other_process(db, "INSERT INTO items(name) VALUES ('again')")
        assert rows(db, "SELECT what FROM audit") == [("ins seed",), ("ins again",)]
    finally:
        store.teardown()
    assert logical_content(db) == before


def test_generated_columns_are_recomputed(tmp_path: Path) -> None:
    db = create_db(
        tmp_path / "gen.db",
        "CREATE TABLE p (id INTEGER PRIMARY KEY, net REAL,"
        " gross REAL GENERATED ALWAYS AS (net * 1.2) STORED,"
        " label TEXT GENERATED ALWAYS AS ('#' || id) VIRTUAL);"
        "INSERT INTO p(net) VALUES (10), (20);",
    )
    before = logical_content(db)
    store = SQLiteStore(str(db))
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(db, "UPDATE p SET net = 99", "DELETE FROM p WHERE id = 1")
        store.rollback(token)
        assert rows(db, "SELECT id, net, gross, label FROM p") == [
            (1, 10.0, 12.0, "#1"),
            (2, 20.0, 24.0, "#2"),
        ]
    finally:
        store.teardown()
    assert logical_content(db) == before


def test_fingerprint_depends_on_content_not_history(shop: Path, store: SQLiteStore) -> None:
    original = store.fingerprint()
    write_from_other_process(shop, "INSERT INTO notes VALUES ('x')")
    with_x = store.fingerprint()
    assert with_x != original
    write_from_other_process(shop, "DELETE FROM notes WHERE body = 'x'")
    assert store.fingerprint() == original
    token = store.checkpoint()
    write_from_other_process(shop, "UPDATE orders SET amount = amount + 1", "DELETE FROM notes")
    changed = store.fingerprint()
    assert changed not in (original, with_x)
    store.rollback(token)
    assert store.fingerprint() == original
    # Two histories reaching the same content: same fingerprint.
    write_from_other_process(shop, "UPDATE orders SET amount = 1 WHERE id = 2", "DELETE FROM notes")
    one_way = store.fingerprint()
    store.rollback(token)
    write_from_other_process(shop, "DELETE FROM notes")
    store.fingerprint()
    write_from_other_process(
        shop,
        "UPDATE orders SET amount = 5 WHERE id = 2",
        "UPDATE orders SET amount = 1 WHERE id = 2",
    )
    assert store.fingerprint() == one_way


def test_fingerprint_after_rollback_without_intermediate_fingerprint(
    shop: Path, store: SQLiteStore
) -> None:
    original = store.fingerprint()
    token = store.checkpoint()
    write_from_other_process(shop, "DELETE FROM orders", "INSERT INTO notes VALUES ('n')")
    store.rollback(token)
    assert store.fingerprint() == original


def test_observe_and_query(shop: Path, store: SQLiteStore) -> None:
    assert store.observe() == {"customers": 2, "notes": 2, "orders": 3}
    result = store.query("SELECT id, amount FROM orders WHERE customer_id = ? ORDER BY id", (1,))
    assert result == [{"id": 1, "amount": 10.5}, {"id": 2, "amount": 3.25}]
    with pytest.raises(StoreError, match="readonly"):
        store.query("DELETE FROM orders")
    with pytest.raises(StoreError, match="no such table"):
        store.query("SELECT * FROM nope")


def test_teardown_restores_the_file_after_unrolled_writes(shop: Path) -> None:
    before = logical_content(shop)
    store = SQLiteStore(str(shop))
    store.setup()
    store.checkpoint()
    write_from_other_process(
        shop,
        "INSERT INTO customers(email) VALUES ('z@x.io')",
        "UPDATE orders SET refunded = 1",
        "DELETE FROM notes",
    )
    store.teardown()
    store.teardown()  # idempotent
    assert logical_content(shop) == before
    write_from_other_process(shop, "INSERT INTO customers(email) VALUES ('n@x.io')")
    assert rows(shop, "SELECT id FROM customers WHERE email = 'n@x.io'") == [(3,)]


def test_wal_journal_mode_is_kept(tmp_path: Path) -> None:
    db = create_db(
        tmp_path / "wal.db",
        "PRAGMA journal_mode = WAL; CREATE TABLE t (v); INSERT INTO t VALUES (1);",
    )
    before = logical_content(db)
    assert before["journal_mode"] == "wal"
    store = SQLiteStore(str(db))
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(db, "INSERT INTO t VALUES (2)")
        store.rollback(token)
        assert rows(db, "SELECT v FROM t") == [(1,)]
    finally:
        store.teardown()
    assert logical_content(db) == before


CRASHING_RUN = """
import os, sqlite3, sys
from venomqa.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
store.setup()
store.checkpoint()
conn = sqlite3.connect(sys.argv[1])
conn.execute("INSERT INTO customers(email) VALUES ('crash@x.io')")
conn.execute("DELETE FROM notes")
conn.execute("UPDATE orders SET amount = 0")
conn.commit()
os._exit(1)  # killed: no teardown
"""


def test_setup_recovers_from_a_crashed_run(shop: Path) -> None:
    before = logical_content(shop)
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, str(shop)], capture_output=True, timeout=30
    )
    assert done.returncode == 1, done.stderr
    assert rows(shop, "SELECT count(*) FROM notes") == [(0,)]
    store = SQLiteStore(str(shop))
    with pytest.warns(LeftoversRepaired, match="stopped before its clean-up"):
        store.setup()
    try:
        assert logical_content(shop)["tables"]["notes"] == before["tables"]["notes"]
        assert rows(shop, "SELECT seq FROM sqlite_sequence") == [(2,)]
    finally:
        store.teardown()
    assert logical_content(shop) == before


def test_missing_file_is_a_clear_store_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(StoreError, match="does not exist") as info:
        SQLiteStore(str(missing)).setup()
    assert str(info.value) == (
        f"store 'sqlite': database file {missing} does not exist "
        "(create it, or fix the store's path)"
    )
    assert not missing.exists()


def test_use_before_setup_and_double_setup_are_errors(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    with pytest.raises(StoreError, match="not set up") as info:
        store.checkpoint()
    assert str(info.value) == f"store 'sqlite': {shop} is not set up; call setup() first"
    store.teardown()  # harmless before setup
    store.setup()
    try:
        with pytest.raises(StoreError, match="already set up") as again:
            store.setup()
        assert str(shop) in str(again.value) and again.value.store == "sqlite"
    finally:
        store.teardown()


@pytest.mark.platform_specific("SQLite builds without FTS5 cannot create the virtual table")
def test_virtual_table_is_refused_by_name(tmp_path: Path) -> None:
    db = tmp_path / "vt.db"
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE VIRTUAL TABLE docs USING fts5(body)")
    except sqlite3.OperationalError:
        pytest.skip("this SQLite build has no FTS5")
    finally:
        conn.close()
    before = logical_content(db)
    with pytest.raises(StoreError, match="'docs' is a virtual table"):
        SQLiteStore(str(db)).setup()
    assert logical_content(db) == before


def test_a_table_hiding_its_rowid_is_refused_by_name_naming_the_store(tmp_path: Path) -> None:
    db = tmp_path / "hidden.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE odd (rowid TEXT, _rowid_ TEXT, oid TEXT)")
    conn.close()
    before = logical_content(db)
    hidden = "'odd' has columns named rowid, _rowid_ and oid"
    with pytest.raises(StoreError, match=hidden) as caught:
        SQLiteStore(str(db)).setup()
    assert caught.value.store == SQLiteStore.name
    assert str(db) in str(caught.value)
    assert logical_content(db) == before


def test_a_database_without_tables_is_set_up_rolled_back_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()
    store = SQLiteStore(str(db))
    store.setup()
    token = store.checkpoint()
    before = store.fingerprint()
    store.rollback(token)
    assert store.fingerprint() == before
    store.teardown()
    assert rows(db, "SELECT name FROM sqlite_master") == []


def test_a_failing_observe_names_the_operation_the_file_and_the_store(
    shop: Path, store: SQLiteStore
) -> None:
    write_from_other_process(shop, "DROP TABLE notes")
    with pytest.raises(StoreError, match="no such table") as info:
        store.observe()
    assert str(info.value).startswith(f"store 'sqlite': observe on {shop} failed: ")
    write_from_other_process(shop, "CREATE TABLE notes (body TEXT)")  # teardown finds it again


#: Each operation and a function inside it that a failing database makes raise.
FAILING_INSIDE = {
    "checkpoint": (_sqlite_undo, "max_seq"),
    "rollback": (_sqlite_undo, "replay_down_to"),
    "fingerprint": (ContentHashes, "refresh"),
    "changed_records": (ContentHashes, "refresh"),
    "audit": (sqlite_module, "_digest"),
}


@pytest.mark.parametrize("operation", sorted(FAILING_INSIDE))
def test_a_failing_operation_names_itself_the_file_and_the_store(
    shop: Path, store: SQLiteStore, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    token = store.checkpoint()

    def failing(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(*FAILING_INSIDE[operation], failing)
    call = getattr(store, operation)
    with pytest.raises(StoreError, match="disk I/O error") as info:
        call(token) if operation == "rollback" else call()
    assert str(info.value).startswith(f"store 'sqlite': {operation} on {shop} failed: ")
    monkeypatch.undo()  # teardown reads the log as usual


def test_teardown_twice_after_reading_through_the_reader_is_harmless(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    store.setup()
    assert store.query("SELECT count(*) AS n FROM notes") == [{"n": 2}]
    store.teardown()
    store.teardown()


def test_a_failing_teardown_says_so_and_the_next_setup_finishes_it(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(str(shop))
    store.setup()
    write_from_other_process(shop, "DELETE FROM notes")

    def failing(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SQLiteStore, "_restore_original", staticmethod(failing))
    with pytest.raises(StoreError) as info:
        store.teardown()
    assert str(info.value) == (
        f"store 'sqlite': teardown of {shop} failed: disk I/O error; "
        "the next setup() will finish it"
    )
    monkeypatch.undo()
    again = SQLiteStore(str(shop))
    with pytest.warns(LeftoversRepaired):
        again.setup()
    again.teardown()
    assert rows(shop, "SELECT count(*) FROM notes") == [(2,)]  # the delete was undone


def test_a_counter_row_removed_by_hand_is_put_back_by_rollback(
    shop: Path, store: SQLiteStore
) -> None:
    token = store.checkpoint()
    write_from_other_process(shop, "DELETE FROM sqlite_sequence WHERE name = 'customers'")
    store.rollback(token)
    assert rows(shop, "SELECT seq FROM sqlite_sequence WHERE name = 'customers'") == [(2,)]


def test_a_file_whose_name_holds_uri_characters_is_the_file_used(tmp_path: Path) -> None:
    odd = create_db(tmp_path / "shop?v=1#copy.db", SHOP)
    store = SQLiteStore(str(odd))
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(odd, "DELETE FROM orders")
        assert store.observe()["orders"] == 0
        store.rollback(token)
        assert store.observe()["orders"] == 3
    finally:
        store.teardown()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop?v=1#copy.db"]


def test_a_file_that_cannot_be_opened_is_named(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite_module.sqlite3, "connect", failing)
    with pytest.raises(StoreError) as info:
        SQLiteStore(str(shop)).setup()
    assert str(info.value) == f"store 'sqlite': cannot open {shop}: unable to open database file"
