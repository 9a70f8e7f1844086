"""SQLiteStore.changed_records() on tables the contract suite does not cover: a WITHOUT ROWID
table with a composite key, and a rowid table without an INTEGER PRIMARY KEY; kept right across
checkpoints and rollbacks, and for more rows at once than one batched lookup holds. Found by
mutation testing (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _support_sqlite import create_db, write_from_other_process
from venomqa.ports.store import RecordChange
from venomqa.stores import SQLiteStore
from venomqa.stores._sqlite_hash import _CHUNK

SCHEMA = """
CREATE TABLE stock (sku TEXT, site INTEGER, qty REAL, PRIMARY KEY (sku, site)) WITHOUT ROWID;
INSERT INTO stock VALUES ('a', 1, 5), ('b', 2, 0.5);
CREATE TABLE notes (body TEXT);
INSERT INTO notes VALUES ('first');
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(str(create_db(tmp_path / "stock.db", SCHEMA)))
    s.setup()
    yield s
    s.teardown()


def _by_identity(store: SQLiteStore) -> dict[tuple[str, tuple[object, ...]], RecordChange]:
    return {(c.collection, tuple(c.identity)): c for c in store.changed_records()}


def test_changes_of_a_without_rowid_table_and_a_plain_rowid_table(store: SQLiteStore) -> None:
    assert store.changed_records() == []
    write_from_other_process(
        Path(store.path),
        "UPDATE stock SET qty = 9 WHERE sku = 'a'",
        "INSERT INTO stock VALUES ('c', 3, 1)",
        "DELETE FROM stock WHERE sku = 'b'",
        "UPDATE notes SET body = 'changed'",
    )
    changes = _by_identity(store)
    assert _by_identity(store) == changes  # asked again with nothing written in between
    assert changes == {
        ("stock", ("a", 1)): RecordChange(
            "stock",
            ("a", 1),
            {"sku": "a", "site": 1, "qty": 5.0},
            {"sku": "a", "site": 1, "qty": 9.0},
            ("sku", "site"),
        ),
        ("stock", ("c", 3)): RecordChange(
            "stock", ("c", 3), None, {"sku": "c", "site": 3, "qty": 1.0}, ("sku", "site")
        ),
        ("stock", ("b", 2)): RecordChange(
            "stock", ("b", 2), {"sku": "b", "site": 2, "qty": 0.5}, None, ("sku", "site")
        ),
        ("notes", (1,)): RecordChange("notes", (1,), {"body": "first"}, {"body": "changed"}, ()),
    }


def test_a_key_change_and_a_rollback_are_reflected(store: SQLiteStore) -> None:
    token = store.checkpoint()
    write_from_other_process(
        Path(store.path),
        "UPDATE stock SET site = 7 WHERE sku = 'a'",  # the row's key changes
        "INSERT INTO notes VALUES ('second')",
    )
    changes = _by_identity(store)
    assert set(changes) == {("stock", ("a", 1)), ("stock", ("a", 7)), ("notes", (2,))}
    assert changes[("stock", ("a", 1))].after is None
    assert changes[("stock", ("a", 7))].before is None
    assert changes[("stock", ("a", 7))].after == {"sku": "a", "site": 7, "qty": 5.0}
    assert changes[("notes", (2,))].after == {"body": "second"}
    store.rollback(token)
    assert store.changed_records() == []
    write_from_other_process(
        Path(store.path),
        "INSERT INTO stock VALUES ('d', 4, 2)",
        "DELETE FROM stock WHERE sku = 'd'",  # inserted then deleted: no difference
    )
    assert store.changed_records() == []


def test_thousands_of_rows_changed_at_once_are_all_listed(store: SQLiteStore) -> None:
    many = 2 * _CHUNK + 7  # more rows than two of the store's batched lookups hold
    write_from_other_process(
        Path(store.path),
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
        f"{many}) INSERT INTO notes (rowid, body) SELECT i + 1, 'row ' || i FROM n",
    )
    changes = store.changed_records()
    assert len(changes) == many
    assert all(c.before is None and c.after is not None for c in changes)
