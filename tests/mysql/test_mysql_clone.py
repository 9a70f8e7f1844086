"""MySQLStore as ``SupportsClone``: databases copied table by table for parallel workers, on a
real MariaDB/MySQL server.

A copy equals the original (tables, columns, indexes, foreign keys, rows, AUTO_INCREMENT
counters above the largest id, the user's routines, triggers in their order and views: the
next insert gets the same id in both); a store over the copy's options runs a whole cycle while
the original stays as it was; copies are dropped by ``drop_clone``, ``drop_leftover_clones``
and ``venomqa recover``, except one a live run (a store set up in another process) uses, which
is refused or left alone, naming it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
from _support_mysql import (
    ADMIN,
    connect,
    database_content,
    database_of,
    dsn_for,
    execute,
    write_from_other_process,
)
from store_holder import killed_store, live_store
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.ports import SupportsClone
from venomqa_mysql import MySQLStore

SHOP = [
    "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) UNIQUE "
    "NOT NULL, created TIMESTAMP DEFAULT CURRENT_TIMESTAMP) CHARSET utf8mb4",
    "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT, amount "
    "DECIMAL(10,2), doubled DECIMAL(12,2) AS (amount * 2) STORED, note BLOB, KEY (amount), "
    "CONSTRAINT fk_customer FOREIGN KEY (customer) REFERENCES customers(id) ON UPDATE RESTRICT)",
    "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100))",
    "CREATE TABLE tags (name VARCHAR(20))",
    "CREATE PROCEDURE log_it(w VARCHAR(100)) INSERT INTO audit(what) VALUES (w)",
    "CREATE TRIGGER order_audit AFTER INSERT ON orders FOR EACH ROW "
    "CALL log_it(CONCAT('order ', NEW.id))",
    "CREATE TRIGGER order_audit_2 AFTER INSERT ON orders FOR EACH ROW FOLLOWS order_audit "
    "INSERT INTO audit(what) VALUES ('second')",
    "CREATE TRIGGER order_audit_0 AFTER INSERT ON orders FOR EACH ROW PRECEDES order_audit "
    "INSERT INTO audit(what) VALUES ('first')",
    "CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 50",
    "CREATE VIEW big_count AS SELECT COUNT(*) AS n FROM big_orders",
    "INSERT INTO customers(email) VALUES ('a@x.io'), ('b@x.io'), ('c@x.io')",
    "DELETE FROM customers WHERE email = 'c@x.io'",
    "INSERT INTO orders(customer, amount, note) VALUES (1, 10.5, x'00ff'), (2, 99, NULL), "
    "(2, 100, NULL)",
    "DELETE FROM orders WHERE id = 3",
    "INSERT INTO tags VALUES ('x'), ('x'), ('y')",
]


@pytest.fixture
def shop(my_dsn: str) -> Iterator[str]:
    """A database with the shop in it; its copies are dropped after the test."""
    for sql in SHOP:
        execute(my_dsn, sql)
    yield my_dsn
    admin = pymysql.connect(**ADMIN, autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s",
                (database_of(my_dsn).replace("_", "\\_") + "\\_\\_venomqa\\_%",),
            )
            for (name,) in cur.fetchall():
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        admin.close()


def _databases(prefix: str) -> list[str]:
    rows = execute(
        ADMIN_DSN,
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s ORDER BY 1",
        (prefix.replace("_", "\\_") + "%",),
    )
    return [str(r[0]) for r in rows]


ADMIN_DSN = "mysql://root@127.0.0.1:3306/information_schema"


def _content_of_copy(dsn: str) -> dict[str, Any]:
    """``database_content``, after checking that no ``_venomqa_*`` object is in it."""
    objects = execute(
        dsn,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        "UNION ALL SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA "
        "= DATABASE() UNION ALL SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE "
        "ROUTINE_SCHEMA = DATABASE()",
    )
    assert objects and not [name for (name,) in objects if name.startswith("_venomqa_")]
    return database_content(dsn)


def _views(dsn: str) -> list[str]:
    """Each view's definition, the database's name left out."""
    database = database_of(dsn)
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
                (database,),
            )
            names = sorted(r[0] for r in cur.fetchall())
            shown = []
            for name in names:
                cur.execute(f"SELECT * FROM `{name}`")
                rows = sorted(repr(r) for r in cur.fetchall())
                cur.execute(f"SHOW CREATE VIEW `{name}`")
                text = cur.fetchone()[1].replace(f"`{database}`.", "")
                shown.append(f"{text.split(' VIEW ', 1)[1]} -> {rows}")
            return shown
    finally:
        conn.close()


def _next_ids(dsn: str) -> tuple[Any, ...]:
    """The ids the next inserts get (this moves the counters: call it last)."""
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            out = []
            for sql in (
                "INSERT INTO customers(email) VALUES ('n@x.io')",
                "INSERT INTO orders(customer, amount) VALUES (1, 1)",
            ):
                cur.execute(sql)
                cur.execute("SELECT LAST_INSERT_ID()")
                out.append(int(cur.fetchone()[0]))
            cur.execute("SELECT what FROM audit ORDER BY id")
            out.append(tuple(r[0] for r in cur.fetchall()))
            return tuple(out)
    finally:
        conn.close()


def test_the_mysql_store_offers_clone() -> None:
    assert isinstance(MySQLStore("mysql://root@h/db"), SupportsClone)


def test_a_copy_equals_the_original_with_its_counters_keys_triggers_and_views(
    shop: str,
) -> None:
    original = database_of(shop)
    store = MySQLStore(shop, tables=["customers"], exclude=[])
    options = store.clone("w2")
    copy = f"{original}__venomqa_w2"
    assert options == {
        "dsn": shop.replace(original, copy),
        "mode": "triggers",
        "tables": ["customers"],
    }
    copy_dsn = str(options["dsn"])
    assert _content_of_copy(copy_dsn) == database_content(shop)
    assert _views(copy_dsn) == _views(shop)
    counters = execute(
        shop,
        "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE "
        "TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT IS NOT NULL ORDER BY 1",
    )
    assert counters == [("audit", 10), ("customers", 4), ("orders", 4)]
    ids = _next_ids(shop)
    assert ids[:2] == (4, 4)  # both above the largest id left (2)
    assert _next_ids(copy_dsn) == ids


def test_a_user_with_a_password_and_rights_on_the_copies_only_gets_a_working_copy(
    shop: str,
) -> None:
    original = database_of(shop)
    user = f"vq_{uuid.uuid4().hex[:8]}"
    copies = original.replace("_", "\\_") + "\\_\\_venomqa\\_%"
    try:
        for host in ("%", "localhost"):
            execute(shop, f"CREATE USER '{user}'@'{host}' IDENTIFIED BY 's3cret-pw'")
            for database in (original, copies):
                execute(shop, f"GRANT ALL ON `{database}`.* TO '{user}'@'{host}'")
        dsn = dsn_for(original, user, "s3cret-pw")
        with pytest.raises(StoreError) as hidden:
            MySQLStore(dsn).clone("w2")
        assert "cannot copy procedure log_it of database" in str(hidden.value)
        assert "may not read its definition" in str(hidden.value)
        assert "s3cret-pw" not in str(hidden.value)
        assert _databases(original) == [original]  # the half-made copy is gone
        execute(shop, "DROP TRIGGER order_audit")
        execute(shop, "DROP PROCEDURE log_it")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no PROCESS privilege: a warning at setup
            options = MySQLStore(dsn).clone("w2")
            assert options["dsn"] == dsn.replace(original, f"{original}__venomqa_w2")
            assert _content_of_copy(str(options["dsn"])) == database_content(shop)
            MySQLStore(dsn).drop_clone(options)
    finally:
        for host in ("%", "localhost"):
            execute(shop, f"DROP USER IF EXISTS '{user}'@'{host}'")
    assert _databases(original) == [original]


def test_a_store_on_the_copy_runs_a_whole_cycle_and_leaves_the_original_alone(
    shop: str,
) -> None:
    original = database_content(shop)
    options = MySQLStore(shop).clone("w2")
    copy = str(options["dsn"])
    store = MySQLStore(**options)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the user's triggers fire during rollbacks too
        store.setup()
    try:
        start = store.checkpoint()
        write_from_other_process(
            copy,
            "INSERT INTO customers(email) VALUES ('w2@x.io')",
            "UPDATE tags SET name = 'z' WHERE name = 'y'",
            "DELETE FROM tags WHERE name = 'x'",
        )
        assert store.observe()["customers"] == 3
        assert database_content(shop) == original
        store.rollback(start)
    finally:
        store.teardown()
    assert _content_of_copy(copy) == original
    assert database_content(shop) == original


def test_drop_clone_drops_the_copy_and_nothing_but_a_copy(shop: str) -> None:
    store = MySQLStore(shop)
    options = store.clone("w3")
    orphan = connect(str(options["dsn"]))  # an idle connection of a worker's API
    try:
        store.drop_clone(options)
    finally:
        orphan.close()
    original = database_of(shop)
    assert _databases(original) == [original]
    store.drop_clone(options)  # gone already: nothing to do
    with pytest.raises(StoreError, match="does not name a worker copy of database"):
        store.drop_clone({"dsn": shop})
    assert _databases(original) == [original]


def test_a_dead_runs_copy_of_the_same_name_is_replaced(shop: str) -> None:
    store = MySQLStore(shop)
    copy = str(store.clone("w2")["dsn"])
    execute(copy, "DELETE FROM tags")
    execute(copy, "CREATE TABLE extra (id INT)")
    assert store.clone("w2")["dsn"] == copy
    assert _content_of_copy(copy) == database_content(shop)


def test_leftover_copies_are_dropped_by_drop_leftover_clones(shop: str) -> None:
    store = MySQLStore(shop)
    for label in ("w2", "w3"):
        store.clone(label)
    original = database_of(shop)
    assert MySQLStore(shop).drop_leftover_clones() == [
        f"database {original}__venomqa_w2 (a copy of {original})",
        f"database {original}__venomqa_w3 (a copy of {original})",
    ]
    assert _databases(original) == [original]
    assert MySQLStore(shop).drop_leftover_clones() == []


def test_venomqa_recover_drops_a_killed_runs_copies(shop: str, tmp_path: Path) -> None:
    MySQLStore(shop).clone("w2")  # a killed run made it and never dropped it
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: http://127.0.0.1:9\nstores:\n  db: {{adapter: mysql, dsn: '{shop}'}}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "venomqa", "recover", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "mysql"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    original = database_of(shop)
    line = f"repaired: removed the worker copy database {original}__venomqa_w2 (a copy of"
    assert line in done.stdout
    assert _databases(original) == [original]


def test_a_copy_a_live_run_uses_is_refused_and_left_alone(shop: str) -> None:
    store = MySQLStore(shop)
    options = store.clone("w2")
    copy = database_of(str(options["dsn"]))
    with live_store(MySQLStore, dict(options)):
        with pytest.raises(StoreError) as again:
            store.clone("w2")
        message = str(again.value)
        assert f"the worker copy {copy} (database of a parallel worker) is in use by " in message
        assert "another VenomQA run (MySQL connection " in message
        with pytest.raises(StoreError, match="is in use by another VenomQA run"):
            store.drop_clone(options)
        assert store.drop_leftover_clones() == []
        assert _databases(copy) == [copy]
    assert store.drop_leftover_clones() == [f"database {copy} (a copy of {database_of(shop)})"]


def test_an_original_a_live_run_uses_is_not_copied(shop: str) -> None:
    with live_store(MySQLStore, {"dsn": shop}), pytest.raises(StoreError) as refused:
        MySQLStore(shop).clone("w2")
    assert "is in use by another VenomQA run (MySQL connection " in str(refused.value)
    assert _databases(database_of(shop) + "__") == []


def test_a_killed_runs_leftovers_in_the_original_are_repaired_before_copying(
    shop: str,
) -> None:
    before = database_content(shop)
    killed_store(
        MySQLStore,
        {"dsn": shop},
        "import pymysql\n"
        "from venomqa_mysql._connect import parse_dsn\n"
        "t = parse_dsn(options['dsn'])\n"
        "conn = pymysql.connect(host=t.host, port=t.port, user=t.user, database=t.database,"
        " autocommit=True)\n"
        "conn.cursor().execute(\"INSERT INTO customers(email) VALUES ('killed@x.io')\")\n"
        "conn.cursor().execute('DELETE FROM tags')\n",
    )
    assert database_content(shop) != before
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        options = MySQLStore(shop).clone("w2")
    assert [w for w in seen if issubclass(w.category, LeftoversRepaired)]
    assert _content_of_copy(str(options["dsn"])) == before
    assert _content_of_copy(shop) == before
