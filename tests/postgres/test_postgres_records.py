"""``PostgresStore.changed_records()`` against a real server: exactly the rows that differ from
setup, as they were then and are now, in plain JSON-like values, whoever wrote them and however
often the store rolled back."""

from __future__ import annotations

import random
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from _support_postgres import database_content, execute, write_from_other_process
from venomqa.errors import LeftoversRepaired
from venomqa.ports.store import RecordChange, SupportsRecords
from venomqa_postgres import PostgresStore

ONE = "00000000-0000-4000-8000-000000000001"
TWO = "00000000-0000-4000-8000-000000000002"
THREE = "00000000-0000-4000-8000-000000000003"

SCHEMA = rf"""
CREATE DOMAIN price AS numeric(12, 2) CHECK (VALUE >= 0);
CREATE TABLE item (
    id uuid PRIMARY KEY,
    at timestamptz,
    amount numeric(10, 2),
    cost price,
    meta jsonb,
    blob bytea,
    tags text[],
    grid integer[],
    rates numeric[],
    note text,
    ratio double precision,
    flag boolean,
    big bigint,
    shout text GENERATED ALWAYS AS (upper(note)) STORED
);
CREATE TABLE shelf (room text, slot integer, label text, PRIMARY KEY (room, slot));
CREATE TABLE seat (n integer PRIMARY KEY DEFERRABLE INITIALLY IMMEDIATE, who text);
CREATE TABLE audit (event text, n integer);
INSERT INTO item (id, at, amount, cost, meta, blob, tags, grid, rates, note, ratio, flag, big)
VALUES ('{ONE}', '2024-05-01 10:00:00.5+00', 12.50, 3, '{{"k": [1, null, "x"], "n": 2.5}}',
        '\x00ff10', '{{a,"b c",NULL}}', '{{{{1,2}},{{3,4}}}}', '{{1.10,NULL}}', 'first', 0.1, true,
        9007199254740993),
       ('{TWO}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO shelf VALUES ('r1', 1, 'top'), ('r1', 2, NULL);
INSERT INTO seat VALUES (1, 'ann'), (2, 'bob'), (3, 'cid');
INSERT INTO audit VALUES ('seed', 1), ('seed', 1);
"""

Changes = dict[tuple[str, tuple[Any, ...]], list[tuple[Any, Any]]]


@pytest.fixture
def db(pg_dsn: str) -> str:
    execute(pg_dsn, SCHEMA)
    return pg_dsn


@pytest.fixture
def store(db: str) -> Iterator[PostgresStore]:
    store = PostgresStore(dsn=db)
    store.setup()
    yield store
    store.teardown()


def changes(store: PostgresStore) -> Changes:
    """The records that differ from setup, by (table, identity): [(before, after), ...]."""
    out: Changes = {}
    for change in store.changed_records():
        assert isinstance(change, RecordChange)
        if change.before != change.after:
            out.setdefault((change.collection, change.identity), []).append(
                (change.before, change.after)
            )
    return out


def plain(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return True
    if isinstance(value, list):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return False


ITEM_ONE = {
    "id": ONE,
    "amount": "12.50",
    "cost": "3.00",
    "meta": {"k": [1, None, "x"], "n": 2.5},
    "blob": "\\x00ff10",
    "tags": ["a", "b c", None],
    "grid": [[1, 2], [3, 4]],
    "rates": ["1.10", None],
    "note": "first",
    "ratio": 0.1,
    "flag": True,
    "big": 9007199254740993,
    "shout": "FIRST",
}


def test_store_offers_the_capability() -> None:
    assert isinstance(PostgresStore(dsn="postgresql://x/y"), SupportsRecords)


def test_insert_update_delete_by_another_process_in_plain_values(
    store: PostgresStore, db: str
) -> None:
    assert changes(store) == {}
    write_from_other_process(
        db,
        "UPDATE item SET amount = 13.75, meta = meta || '{\"n\": 3}', tags = tags || 'd'::text, "
        f"at = at + interval '1 hour', blob = '\\xdead' WHERE id = '{ONE}'",
        f"INSERT INTO item (id, at, amount, cost, meta, blob, tags, grid, rates, note) VALUES "
        f"('{THREE}', '2024-05-02 08:30:00+02', 0.1, 1e3, '[1, {{\"a\": null}}]', '\\x', '{{}}', "
        "'{}', '{1e-3}', 'new')",
        f"DELETE FROM item WHERE id = '{TWO}'",
    )
    found = changes(store)
    assert set(found) == {("item", (ONE,)), ("item", (TWO,)), ("item", (THREE,))}
    (before, after), *_ = found[("item", (ONE,))]
    assert {k: before[k] for k in ITEM_ONE} == ITEM_ONE
    assert datetime.fromisoformat(before["at"]) == datetime(2024, 5, 1, 10, 0, 0, 500000, UTC)
    assert datetime.fromisoformat(after["at"]) == datetime(2024, 5, 1, 11, 0, 0, 500000, UTC)
    assert after["amount"] == "13.75" and after["meta"] == {"k": [1, None, "x"], "n": 3}
    assert after["tags"] == ["a", "b c", None, "d"] and after["blob"] == "\\xdead"
    assert (
        list(after)
        == list(before)
        == [
            "id",
            "at",
            "amount",
            "cost",
            "meta",
            "blob",
            "tags",
            "grid",
            "rates",
            "note",
            "ratio",
            "flag",
            "big",
            "shout",
        ]
    )
    [(gone_before, gone_after)] = found[("item", (TWO,))]
    assert gone_after is None and gone_before["id"] == TWO
    assert all(v is None for k, v in gone_before.items() if k != "id")
    [(new_before, new_after)] = found[("item", (THREE,))]
    assert new_before is None
    assert new_after["amount"] == "0.10" and new_after["cost"] == "1000.00"
    assert new_after["meta"] == [1, {"a": None}] and new_after["blob"] == "\\x"
    assert new_after["tags"] == [] and new_after["grid"] == [] and new_after["rates"] == ["0.001"]
    assert datetime.fromisoformat(new_after["at"]) == datetime(2024, 5, 2, 6, 30, tzinfo=UTC)
    assert new_after["ratio"] is None and new_after["shout"] == "NEW"
    for change in store.changed_records():
        assert change.key_fields == ("id",)
        for image in (change.before, change.after):
            assert all(plain(v) for v in (image or {}).values()), image


def test_writing_back_the_setup_values_unlists_the_record(store: PostgresStore, db: str) -> None:
    execute(db, f"UPDATE item SET note = 'changed', amount = 12.5 WHERE id = '{ONE}'")
    assert set(changes(store)) == {("item", (ONE,))}
    execute(db, f"UPDATE item SET note = 'first' WHERE id = '{ONE}'")
    assert changes(store) == {}  # 12.5 and 12.50 are the same numeric(10, 2)
    execute(db, "INSERT INTO shelf VALUES ('r9', 9, 'tmp')")
    execute(db, "DELETE FROM shelf WHERE room = 'r9'")
    assert changes(store) == {}
    # writers in other time zones print the same instant differently: still the setup value
    with psycopg.connect(db, autocommit=True) as tokyo:
        tokyo.execute("SET TimeZone = 'Asia/Tokyo'")
        tokyo.execute(f"UPDATE item SET at = at + interval '1 day' WHERE id = '{ONE}'")
    assert set(changes(store)) == {("item", (ONE,))}
    with psycopg.connect(db, autocommit=True) as new_york:
        new_york.execute("SET TimeZone = 'America/New_York'")
        new_york.execute(f"UPDATE item SET at = at - interval '1 day' WHERE id = '{ONE}'")
    assert changes(store) == {}


def test_rollback_to_nested_tokens_restores_the_records_at_each(
    store: PostgresStore, db: str
) -> None:
    root = store.checkpoint()
    execute(db, "UPDATE shelf SET label = 'a' WHERE slot = 1")
    outer = store.checkpoint()
    at_outer = changes(store)
    execute(db, "INSERT INTO shelf VALUES ('r2', 1, 'b')", None)
    execute(db, "DELETE FROM shelf WHERE slot = 2")
    inner = store.checkpoint()
    at_inner = changes(store)
    execute(db, "UPDATE shelf SET label = 'c'")
    execute(db, "UPDATE shelf SET label = 'top' WHERE slot = 1")
    assert len(changes(store)) == 2  # r1/1 is back to its setup label
    store.rollback(inner)
    assert changes(store) == at_inner
    assert len(at_inner) == 3
    store.rollback(outer)
    assert changes(store) == at_outer
    assert at_outer == {
        ("shelf", ("r1", 1)): [
            ({"room": "r1", "slot": 1, "label": "top"}, {"room": "r1", "slot": 1, "label": "a"})
        ]
    }
    execute(db, "DELETE FROM shelf")  # a new branch from the outer token
    assert set(changes(store)) == {("shelf", ("r1", 1)), ("shelf", ("r1", 2))}
    store.rollback(outer)
    assert changes(store) == at_outer
    store.rollback(root)
    assert changes(store) == {}


def test_composite_and_changing_primary_keys(store: PostgresStore, db: str) -> None:
    token = store.checkpoint()
    execute(db, "UPDATE shelf SET slot = 3 WHERE room = 'r1' AND slot = 1")
    assert changes(store) == {
        ("shelf", ("r1", 1)): [({"room": "r1", "slot": 1, "label": "top"}, None)],
        ("shelf", ("r1", 3)): [(None, {"room": "r1", "slot": 3, "label": "top"})],
    }
    assert {c.key_fields for c in store.changed_records()} == {("room", "slot")}
    # every row moves up one key in one statement (the deferrable key allows it): the log
    # shows rows at keys that others still hold, and the net result is still exact
    execute(db, "UPDATE seat SET n = n + 1")
    seats = {k: v for k, v in changes(store).items() if k[0] == "seat"}
    assert seats == {
        ("seat", (1,)): [({"n": 1, "who": "ann"}, None)],
        ("seat", (2,)): [({"n": 2, "who": "bob"}, {"n": 2, "who": "ann"})],
        ("seat", (3,)): [({"n": 3, "who": "cid"}, {"n": 3, "who": "bob"})],
        ("seat", (4,)): [(None, {"n": 4, "who": "cid"})],
    }
    execute(db, "UPDATE seat SET n = n - 1")
    execute(db, "UPDATE shelf SET slot = 1 WHERE slot = 3")
    assert changes(store) == {}
    execute(db, "UPDATE seat SET n = 5 - n")  # 1<->4, 2<->3: a swap
    assert len(changes(store)) == 4
    store.rollback(token)
    assert changes(store) == {}


def test_table_without_primary_key_names_rows_by_their_values(
    store: PostgresStore, db: str
) -> None:
    token = store.checkpoint()
    execute(db, "DELETE FROM audit WHERE ctid = (SELECT min(ctid) FROM audit)")
    assert changes(store) == {("audit", ("seed", 1)): [({"event": "seed", "n": 1}, None)]}
    execute(db, "INSERT INTO audit VALUES ('x', 2), ('x', 2), (NULL, NULL)")
    execute(db, "UPDATE audit SET n = 5 WHERE event = 'seed'")
    found = changes(store)
    assert found == {
        ("audit", ("seed", 1)): [({"event": "seed", "n": 1}, None)] * 2,
        ("audit", ("seed", 5)): [(None, {"event": "seed", "n": 5})],
        ("audit", ("x", 2)): [(None, {"event": "x", "n": 2})] * 2,
        ("audit", (None, None)): [(None, {"event": None, "n": None})],
    }
    assert {c.key_fields for c in store.changed_records()} == {()}
    execute(db, "UPDATE audit SET n = 1 WHERE event = 'seed'")
    execute(db, "INSERT INTO audit VALUES ('seed', 1)")
    execute(db, "DELETE FROM audit WHERE event IS NULL OR event = 'x'")
    assert changes(store) == {}
    execute(db, "INSERT INTO audit VALUES ('y', 3)")
    store.rollback(token)
    assert changes(store) == {}


def test_truncate_lists_every_row_as_deleted(store: PostgresStore, db: str) -> None:
    token = store.checkpoint()
    execute(db, "TRUNCATE shelf, audit")
    assert changes(store) == {
        ("shelf", ("r1", 1)): [({"room": "r1", "slot": 1, "label": "top"}, None)],
        ("shelf", ("r1", 2)): [({"room": "r1", "slot": 2, "label": None}, None)],
        ("audit", ("seed", 1)): [({"event": "seed", "n": 1}, None)] * 2,
    }
    execute(db, "INSERT INTO shelf VALUES ('r1', 1, 'top'), ('r1', 2, 'moved')")
    assert set(changes(store)) == {("shelf", ("r1", 2)), ("audit", ("seed", 1))}
    store.rollback(token)
    assert changes(store) == {}
    assert execute(db, "SELECT count(*) FROM audit") == [(2,)]


def test_the_list_is_cached_until_something_changes(store: PostgresStore, db: str) -> None:
    token = store.checkpoint()
    execute(db, "UPDATE shelf SET label = 'a' WHERE slot = 1")
    first = store.changed_records()
    assert store.changed_records() is first
    store.fingerprint()
    store.checkpoint()
    assert store.changed_records() is first  # nothing new: the same snapshot
    store.rollback(token)
    assert store.changed_records() == ()
    assert len(first) == 1 and first[0].after == {"room": "r1", "slot": 1, "label": "a"}
    # a new branch writing as many log entries as the undone one (the same log ids, were the
    # log's sequence to repeat them) must not be served the stale list
    execute(db, "UPDATE shelf SET label = 'b' WHERE slot = 1")
    [change] = store.changed_records()
    assert change.after == {"room": "r1", "slot": 1, "label": "b"}
    store.rollback(token)
    assert store.changed_records() == ()


def test_the_list_is_not_stale_when_log_ids_repeat_after_a_rollback(
    store: PostgresStore, db: str
) -> None:
    token = store.checkpoint()
    next_id = execute(db, "SELECT nextval('_venomqa.log_id_seq')")[0][0]
    execute(db, "UPDATE shelf SET label = 'a' WHERE slot = 1")
    assert changes(store)[("shelf", ("r1", 1))][0][1]["label"] == "a"
    store.rollback(token)
    execute(db, "SELECT setval('_venomqa.log_id_seq', %s)", (next_id,))  # ids repeat
    execute(db, "UPDATE shelf SET label = 'b' WHERE slot = 1")
    assert execute(db, "SELECT max(id) FROM _venomqa.log") == [(next_id + 1,)]
    assert changes(store)[("shelf", ("r1", 1))][0][1]["label"] == "b"
    store.rollback(token)
    assert changes(store) == {}


def test_teardown_setup_and_crash_recovery_start_from_an_empty_list(db: str) -> None:
    before = database_content(db)
    store = PostgresStore(dsn=db)
    store.setup()
    execute(db, "UPDATE shelf SET label = 'a' WHERE slot = 1")
    assert len(changes(store)) == 1
    store.teardown()
    assert database_content(db) == before
    store.setup()  # the same instance again
    assert changes(store) == {}
    execute(db, "INSERT INTO shelf VALUES ('r5', 5, 'x')")
    assert set(changes(store)) == {("shelf", ("r5", 5))}
    assert store._conn is not None
    store._conn.close()  # the process died: no teardown

    again = PostgresStore(dsn=db)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeftoversRepaired)
        again.setup()
    try:
        assert changes(again) == {}
        execute(db, "DELETE FROM seat WHERE n = 1")
        assert set(changes(again)) == {("seat", (1,))}
    finally:
        again.teardown()
    assert database_content(db) == before


def test_savepoint_mode_lists_the_shared_connections_writes_without_scanning(db: str) -> None:
    execute(db, "INSERT INTO audit SELECT 'bulk', i FROM generate_series(1, 20000) i")
    before = database_content(db)
    store = PostgresStore(dsn=db, mode="savepoint")
    store.setup()
    try:
        conn = store.connection
        root = store.checkpoint()
        conn.execute("UPDATE shelf SET label = 'a' WHERE slot = 1")
        conn.execute(f"UPDATE item SET amount = 1 WHERE id = '{ONE}'")
        outer = store.checkpoint()
        at_outer = changes(store)
        assert set(at_outer) == {("shelf", ("r1", 1)), ("item", (ONE,))}
        conn.execute("DELETE FROM audit WHERE n = 7")
        conn.execute("INSERT INTO shelf VALUES ('r2', 2, 'b')")
        scans = _scans(conn)
        found = changes(store)
        store.changed_records()
        assert _scans(conn) == scans, "changed_records() read the user's tables"
        assert found[("audit", ("bulk", 7))] == [({"event": "bulk", "n": 7}, None)]
        assert len(found) == 4
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            conn.execute("INSERT INTO shelf VALUES ('r3', 3, 'c')")
            conn.execute("INSERT INTO shelf VALUES ('r3', 3, 'c')")  # the app's failed block
        assert changes(store) == found
        store.rollback(outer)
        assert changes(store) == at_outer
        conn.execute("UPDATE shelf SET label = 'top' WHERE slot = 1")
        assert set(changes(store)) == {("item", (ONE,))}
        store.rollback(root)
        assert changes(store) == {}
    finally:
        store.teardown()
    assert database_content(db) == before


def test_values_do_not_depend_on_the_sessions_settings(db: str) -> None:
    """In savepoint mode the app shares VenomQA's session and may change its settings; the
    images read before and after must still compare equal (timestamps always in UTC)."""
    store = PostgresStore(dsn=db, mode="savepoint")
    store.setup()
    try:
        conn = store.connection
        conn.execute(f"UPDATE item SET note = 'x' WHERE id = '{ONE}'")
        [first] = store.changed_records()
        for setting in (
            "TimeZone = 'Asia/Tokyo'",
            "bytea_output = 'escape'",
            "extra_float_digits = 0",
            "IntervalStyle = 'iso_8601'",
        ):
            conn.execute(f"SET {setting}")
        conn.execute(f"UPDATE item SET flag = false WHERE id = '{ONE}'")
        [second] = store.changed_records()
        assert first.before is not None and first.after is not None and second.after is not None
        assert second.before == first.before
        assert second.after == {**first.after, "flag": False}
        assert first.after["at"] == "2024-05-01T10:00:00.5+00:00"
        assert first.after["blob"] == "\\x00ff10" and first.after["ratio"] == 0.1
        conn.execute(f"UPDATE item SET note = 'first', flag = true WHERE id = '{ONE}'")
        assert changes(store) == {}
        assert conn.execute("SHOW TimeZone").fetchone() == ("Asia/Tokyo",)  # the app's, kept
    finally:
        store.teardown()


def test_quoted_names_other_schemas_and_tables_without_columns(pg_dsn: str) -> None:
    execute(
        pg_dsn,
        'CREATE SCHEMA "Shop"; '
        'CREATE TABLE "Shop"."Odd ""Name""" ("Amount $" numeric, "Key" text PRIMARY KEY); '
        'CREATE TABLE "Shop".bare ()',
    )
    store = PostgresStore(dsn=pg_dsn, schema="Shop")
    store.setup()
    try:
        execute(pg_dsn, 'INSERT INTO "Shop"."Odd ""Name""" VALUES (1.50, \'k\')')
        execute(pg_dsn, 'INSERT INTO "Shop".bare DEFAULT VALUES')
        assert changes(store) == {
            ('Odd "Name"', ("k",)): [(None, {"Amount $": "1.50", "Key": "k"})],
            ("bare", ()): [(None, {})],
        }
    finally:
        store.teardown()


def _scans(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Sequential and index scans of the user's tables in the current transaction."""
    return conn.execute(
        "SELECT relname, seq_scan, idx_scan FROM pg_stat_xact_user_tables "
        "WHERE schemaname = 'public' ORDER BY relname"
    ).fetchall()


# -- random histories against an oracle ------------------------------------------------------------

RANDOM_SCHEMA = """
CREATE TABLE ra (id integer PRIMARY KEY, v text, j jsonb, at timestamptz DEFAULT now());
CREATE TABLE rb (k1 text, k2 integer, v integer, PRIMARY KEY (k1, k2));
CREATE TABLE rc (x integer, y text);
INSERT INTO ra (id, v, j)
    SELECT i, 'v' || i, jsonb_build_object('i', i) FROM generate_series(1, 8) i;
INSERT INTO rb SELECT 'k' || (i % 3), i, i * 10 FROM generate_series(1, 8) i;
INSERT INTO rc SELECT i % 3, 'y' FROM generate_series(1, 6) i;
"""
KEYS = {"ra": ("id",), "rb": ("k1", "k2"), "rc": ()}


def _random_write(rnd: random.Random) -> str:
    n, m = rnd.randint(1, 14), rnd.randint(1, 14)
    return rnd.choice(
        [
            f"INSERT INTO ra (id, v, j) VALUES ({n}, 'n{m}', '[{m}]') ON CONFLICT DO NOTHING",
            f"UPDATE ra SET v = 'u{m}', at = now() WHERE id = {n}",
            f"UPDATE ra SET v = 'v{n}' WHERE id = {n}",
            f"UPDATE ra SET id = id + {m} WHERE id = {n} AND NOT EXISTS "
            f"(SELECT 1 FROM ra WHERE id = {n + m})",
            f"DELETE FROM ra WHERE id = {n}",
            f"INSERT INTO rb VALUES ('k{m % 3}', {n}, {m}) ON CONFLICT (k1, k2) DO UPDATE "
            "SET v = excluded.v",
            f"UPDATE rb SET k1 = 'z' || k1 WHERE k2 = {n} AND k1 NOT LIKE 'z%'",
            f"DELETE FROM rb WHERE k2 = {n}",
            f"INSERT INTO rc VALUES ({m % 4}, 'y')",
            f"UPDATE rc SET y = 'w' WHERE x = {m % 4}",
            f"DELETE FROM rc WHERE ctid = (SELECT min(ctid) FROM rc WHERE x = {m % 4})",
            "TRUNCATE rc" if n == 1 else "UPDATE rc SET y = 'y'",
        ]
    )


def _content(conn: psycopg.Connection[Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [row[0] for row in conn.execute(f"SELECT to_json(t) FROM {table} t").fetchall()]
        for table in KEYS
    }


def _expected(setup: dict[str, list[Any]], now: dict[str, list[Any]]) -> Counter[Any]:
    """The oracle: what differs between two full copies of the tables."""
    out: Counter[Any] = Counter()
    for table, keys in KEYS.items():
        if keys:
            old = {tuple(r[k] for k in keys): r for r in setup[table]}
            new = {tuple(r[k] for k in keys): r for r in now[table]}
            for key in old.keys() | new.keys():
                if old.get(key) != new.get(key):
                    out[(table, key, _frozen(old.get(key)), _frozen(new.get(key)))] += 1
        else:
            raw = {_frozen(r): r for r in [*setup[table], *now[table]]}
            gone = Counter(_frozen(r) for r in setup[table])
            came = Counter(_frozen(r) for r in now[table])
            for image, count in (gone - came).items():
                out[(table, tuple(raw[image].values()), image, None)] += count
            for image, count in (came - gone).items():
                out[(table, tuple(raw[image].values()), None, image)] += count
    return out


def _listed(store: PostgresStore) -> Counter[Any]:
    return Counter(
        (c.collection, c.identity, _frozen(c.before), _frozen(c.after))
        for c in store.changed_records()
        if c.before != c.after
    )


def _frozen(image: Any) -> Any:
    return None if image is None else tuple((k, repr(v)) for k, v in image.items())


@pytest.mark.parametrize("mode", ["triggers", "savepoint"])
def test_random_histories_match_a_full_comparison(pg_dsn: str, mode: str) -> None:
    execute(pg_dsn, RANDOM_SCHEMA)
    store = PostgresStore(dsn=pg_dsn, mode=mode)
    store.setup()
    other = None if mode == "savepoint" else psycopg.connect(pg_dsn, autocommit=True)
    try:
        conn = store.connection if other is None else other
        setup = _content(conn)
        rnd = random.Random(7)
        tokens = [store.checkpoint()]
        for step in range(120):
            roll = rnd.random()
            if roll < 0.15:
                tokens.append(store.checkpoint())
            elif roll < 0.3:
                index = rnd.randrange(len(tokens))
                store.rollback(tokens[index])
                del tokens[index + 1 :]
            else:
                with conn.transaction():
                    for _ in range(rnd.randint(1, 3)):
                        conn.execute(_random_write(rnd))
            if rnd.random() < 0.8:  # sometimes let two steps' entries pile up
                assert _listed(store) == _expected(setup, _content(conn)), f"step {step}"
        store.rollback(tokens[0])
        assert _listed(store) == Counter()
    finally:
        store.teardown()
        if other is not None:
            other.close()
