"""What MySQL allows and the store must respect, each written by another process and rolled back
exactly: JSON, BLOB, DECIMAL, FLOAT, ENUM/SET, BIT, DATETIME/TIMESTAMP and generated columns,
wide VARCHARs, composite keys (moved too), tables without a primary key holding duplicate rows,
and user triggers on the same tables (several per event)."""

from __future__ import annotations

import pytest
from _support_mysql import database_content, execute, write_from_other_process
from venomqa.errors import VenomQAWarning
from venomqa.ports.store import RecordChange
from venomqa_mysql import MySQLStore

TYPES = (
    "CREATE TABLE typed (id INT PRIMARY KEY, doc JSON, blob_col BLOB, price DECIMAL(12,4), "
    "ratio DOUBLE, small FLOAT, kind ENUM('a','b','c'), tags SET('x','y','z'), flags BIT(5), "
    "at DATETIME(6), stamp TIMESTAMP(6) NULL DEFAULT NULL, note VARCHAR(5000), "
    "total DECIMAL(14,4) AS (price * 2) STORED, label VARCHAR(20) AS (CONCAT(kind, '-', id)) "
    "VIRTUAL) DEFAULT CHARSET=utf8mb4"
)


def rows(dsn: str) -> dict[str, object]:
    """Every row of the user's tables (VenomQA's own left out), for comparisons during a run."""
    return {
        k: v
        for k, v in database_content(dsn).items()
        if k.startswith("rows ") and "_venomqa" not in k
    }


def differing(store: MySQLStore) -> list[RecordChange]:
    return [c for c in store.changed_records() if c.before != c.after]


def test_every_column_type_is_put_back_exactly(my_dsn: str) -> None:
    execute(my_dsn, TYPES)
    execute(
        my_dsn,
        "INSERT INTO typed (id, doc, blob_col, price, ratio, small, kind, tags, flags, at, "
        "stamp, note) VALUES (1, '{\"a\": [1, 2.5, null]}', 0x00ff27005c, 12345678.1234, "
        "0.1, 1.5, 'b', 'x,z', b'10101', '2021-03-04 05:06:07.123456', "
        "'2021-03-04 05:06:07.654321', REPEAT('é', 4000)), (2, NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL, NULL, NULL, NULL, NULL)",
    )
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        original = store.fingerprint()
        write_from_other_process(
            my_dsn,
            "UPDATE typed SET doc = JSON_SET(doc, '$.b', 'new'), blob_col = 0x01, "
            "price = -0.0001, ratio = 1e300, small = -2.25, kind = 'c', tags = '', "
            "flags = b'00001', at = '1999-12-31 23:59:59.999999', stamp = NOW(6), "
            "note = 'short' WHERE id = 1",
            "DELETE FROM typed WHERE id = 2",
            "INSERT INTO typed (id, doc, price, kind) VALUES (3, '[]', 3.5, 'a')",
        )
        changes = {c.identity: c for c in differing(store)}
        assert set(changes) == {(1,), (2,), (3,)}
        updated = changes[(1,)]
        assert updated.before is not None and updated.after is not None
        assert updated.before["price"] == "12345678.1234"
        assert updated.after["price"] == "-0.0001"
        assert updated.before["blob_col"] == b"\x00\xff'\x00\\"
        assert updated.before["at"] == "2021-03-04T05:06:07.123456"
        assert updated.key_fields == ("id",)
        assert "total" not in updated.before  # generated columns follow from the others
        assert store.fingerprint() != original
        store.rollback(token)
        assert store.fingerprint() == original
        assert differing(store) == []
        assert rows(my_dsn) == {k: v for k, v in before.items() if k.startswith("rows ")}
    finally:
        store.teardown()
    assert database_content(my_dsn) == before


def test_composite_keys_moved_and_rewritten(my_dsn: str) -> None:
    execute(
        my_dsn,
        "CREATE TABLE memberships (org VARCHAR(10), member INT, role VARCHAR(10), "
        "PRIMARY KEY (org, member))",
    )
    execute(my_dsn, "INSERT INTO memberships VALUES ('a', 1, 'owner'), ('a', 2, 'dev')")
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(
            my_dsn,
            "UPDATE memberships SET org = 'b' WHERE member = 1",
            "INSERT INTO memberships VALUES ('a', 1, 'new')",
            "UPDATE memberships SET member = 3 WHERE org = 'a' AND member = 2",
            "UPDATE memberships SET member = 2, role = 'back' WHERE org = 'a' AND member = 3",
        )
        identities = sorted(c.identity for c in differing(store))
        assert identities == [("a", 1), ("a", 2), ("b", 1)], identities
        store.rollback(token)
        assert rows(my_dsn) == {k: v for k, v in before.items() if k.startswith("rows ")}
    finally:
        store.teardown()
    assert database_content(my_dsn) == before


def test_tables_without_a_primary_key_keep_their_duplicates(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE events (name VARCHAR(10), n INT, payload BLOB)")
    execute(my_dsn, "INSERT INTO events VALUES ('a', 1, NULL), ('a', 1, NULL), ('b', 2, 0x00)")
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        original = store.fingerprint()
        write_from_other_process(
            my_dsn,
            "DELETE FROM events WHERE name = 'a' LIMIT 1",
            "UPDATE events SET n = 5 WHERE name = 'b'",
            "INSERT INTO events VALUES ('a', 1, NULL), ('a', 1, NULL), ('c', 3, NULL)",
            "DELETE FROM events WHERE name = 'c'",
        )
        assert execute(my_dsn, "SELECT COUNT(*) FROM events WHERE name = 'a'") == [(3,)]
        changes = differing(store)
        assert sorted((c.before is None, c.after is None) for c in changes) == [
            (False, True),  # b as it was
            (True, False),  # one more a
            (True, False),  # b as it is
        ], changes
        inner = store.checkpoint()
        write_from_other_process(my_dsn, "DELETE FROM events")
        store.rollback(inner)
        assert execute(my_dsn, "SELECT COUNT(*) FROM events") == [(4,)]
        store.rollback(token)
        assert store.fingerprint() == original
        assert rows(my_dsn) == {k: v for k, v in before.items() if k.startswith("rows ")}
    finally:
        store.teardown()
    assert database_content(my_dsn) == before


def test_user_triggers_on_the_same_tables(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, slug VARCHAR(50))")
    execute(my_dsn, "CREATE TABLE stats (name VARCHAR(10) PRIMARY KEY, n INT)")
    execute(my_dsn, "INSERT INTO stats VALUES ('posts', 0)")
    # two of the user's own triggers on one event beside VenomQA's, and one on another
    execute(
        my_dsn,
        "CREATE TRIGGER posts_slug BEFORE INSERT ON posts FOR EACH ROW "
        "SET NEW.slug = LOWER(NEW.slug)",
    )
    execute(
        my_dsn,
        "CREATE TRIGGER posts_slug_trim BEFORE INSERT ON posts FOR EACH ROW "
        "SET NEW.slug = TRIM(NEW.slug)",
    )
    execute(
        my_dsn,
        "CREATE TRIGGER posts_count AFTER INSERT ON posts FOR EACH ROW "
        "UPDATE stats SET n = n + 1 WHERE name = 'posts'",
    )
    execute(my_dsn, "INSERT INTO posts (slug) VALUES (' Hello ')")
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn, exclude=["stats"])
    with pytest.warns(VenomQAWarning, match=r"posts_count.*posts_slug.*fire during rollbacks"):
        store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(my_dsn, "INSERT INTO posts (slug) VALUES (' World ')")
        assert execute(my_dsn, "SELECT slug FROM posts ORDER BY id") == [("hello",), ("world",)]
        assert [c.after for c in differing(store)] == [{"id": 2, "slug": "world"}]
        store.rollback(token)
        assert database_content(my_dsn)["rows posts"] == before["rows posts"]
        assert execute(my_dsn, "SELECT MAX(id) FROM posts") == [(1,)]
    finally:
        store.teardown()
    content = database_content(my_dsn)
    assert content["triggers"] == before["triggers"]  # the user's triggers untouched
    assert content["rows posts"] == before["rows posts"]
    assert execute(my_dsn, "SELECT n FROM stats") == [(2,)]  # not tracked: its own business
