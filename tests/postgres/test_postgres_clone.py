"""PostgresStore as ``SupportsClone``: databases copied for parallel workers, on a real server.

A copy (``CREATE DATABASE ... TEMPLATE``) equals the original (every schema, row, sequence
value and database setting: the next insert gets the same id in both); a store over the copy's
options runs a whole cycle while the original stays as it was; copies are dropped by
``drop_clone``, ``drop_leftover_clones`` and ``venomqa recover``, except one a live run (a store
set up in another process) uses, which is refused or left alone, naming it. A session on the
original is named in the error, with what to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from _support_postgres import ADMIN_DSN, database_content, execute, write_from_other_process
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from store_holder import killed_store, live_store
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.ports import SupportsClone
from venomqa_postgres import PostgresStore

SHOP = """
CREATE SCHEMA app;
CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL);
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     customer integer REFERENCES customers(id), amount numeric(10, 2),
                     placed timestamptz DEFAULT now(), tags text[], doc jsonb);
CREATE TABLE app.events (id serial PRIMARY KEY, kind text);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 50;
CREATE FUNCTION app.stamp() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.kind := NEW.kind || '!'; RETURN NEW; END $$;
CREATE TRIGGER stamp BEFORE INSERT ON app.events FOR EACH ROW EXECUTE FUNCTION app.stamp();
INSERT INTO customers(email) VALUES ('a@x.io'), ('b@x.io'), ('c@x.io');
DELETE FROM customers WHERE email = 'c@x.io';
INSERT INTO orders(customer, amount, tags, doc) VALUES (1, 10.5, '{a,b}', '{"k": 1}'),
  (2, 99.0, NULL, NULL);
DELETE FROM orders WHERE amount > 90;
INSERT INTO app.events(kind) VALUES ('opened');
"""


@pytest.fixture
def shop(pg_dsn: str) -> Iterator[str]:
    """A database with the shop in it; its copies are dropped after the test."""
    execute(pg_dsn, SHOP)
    yield pg_dsn
    database = conninfo_to_dict(pg_dsn)["dbname"]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        copies = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{database}__venomqa_%",)
        ).fetchall()
        for (name,) in copies:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _databases(prefix: str) -> list[str]:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (prefix + "%",)
        ).fetchall()
    return [str(r[0]) for r in rows]


def _name(dsn: str) -> str:
    return str(conninfo_to_dict(dsn)["dbname"])


def _next_ids(dsn: str) -> tuple[int, ...]:
    """The ids the next inserts get (serial, identity, another schema's serial), undone."""
    with psycopg.connect(dsn) as conn:
        ids = (
            conn.execute("INSERT INTO customers(email) VALUES ('n@x.io') RETURNING id"),
            conn.execute("INSERT INTO orders(amount) VALUES (1) RETURNING id"),
            conn.execute("INSERT INTO app.events(kind) VALUES ('n') RETURNING id"),
        )
        found = tuple(int(c.fetchone()[0]) for c in ids)  # type: ignore[index]
        conn.rollback()
    return found


def test_the_postgres_store_offers_clone() -> None:
    assert isinstance(PostgresStore("postgresql://h/db"), SupportsClone)


def test_a_copy_equals_the_original_with_its_ids_and_settings(shop: str) -> None:
    original = _name(shop)
    execute(shop, f'ALTER DATABASE "{original}" SET search_path = app, "$user", public')
    execute(shop, f"ALTER DATABASE \"{original}\" SET statement_timeout = '5min'")
    secret = shop.replace("postgres@", "postgres:s3cret@")  # trust auth: the password is kept
    options = PostgresStore(secret, schema="app").clone("w2")
    copy = _name(str(options["dsn"]))
    assert copy == f"{original}__venomqa_w2"
    assert options == {
        "dsn": secret.replace(original, copy),
        "schema": "app",
        "mode": "triggers",
    }
    assert database_content(str(options["dsn"])) == database_content(shop)
    assert _next_ids(str(options["dsn"])) == _next_ids(shop) == (4, 3, 2)
    with psycopg.connect(str(options["dsn"])) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ('app, "$user", public',)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("5min",)


def test_a_key_value_dsn_stays_key_value_and_other_options_are_kept(shop: str) -> None:
    params = {**conninfo_to_dict(shop), "sslmode": "disable"}
    key_value = " ".join(f"{k}={v}" for k, v in params.items())
    store = PostgresStore(key_value, tables=["customers"], exclude=["orders"])
    options = store.clone("w3")
    assert conninfo_to_dict(str(options["dsn"])) == {
        **params,
        "dbname": f"{params['dbname']}__venomqa_w3",
    }
    assert "://" not in str(options["dsn"])
    assert options["tables"] == ["customers"] and options["exclude"] == ["orders"]
    store.drop_clone(options)


def test_a_store_on_the_copy_runs_a_whole_cycle_and_leaves_the_original_alone(
    shop: str,
) -> None:
    original = database_content(shop)
    options = PostgresStore(shop).clone("w2")
    copy = str(options["dsn"])
    store = PostgresStore(**options)  # type: ignore[arg-type]
    store.setup()
    try:
        start = store.checkpoint()
        write_from_other_process(
            copy,
            "INSERT INTO customers(email) VALUES ('w2@x.io')",
            "UPDATE orders SET amount = 0",
            "DELETE FROM orders WHERE amount = 0",
        )
        assert store.observe()["customers"] == 3
        assert database_content(shop) == original
        store.rollback(start)
    finally:
        store.teardown()
    assert database_content(copy) == original
    assert database_content(shop) == original
    assert _next_ids(copy) == _next_ids(shop)


def test_drop_clone_drops_the_copy_and_nothing_but_a_copy(shop: str) -> None:
    store = PostgresStore(shop)
    options = store.clone("w3")
    with psycopg.connect(str(options["dsn"])):  # an orphaned worker API still connected
        store.drop_clone(options)
    assert _databases(_name(shop) + "__") == []
    store.drop_clone(options)  # gone already: nothing to do
    with pytest.raises(StoreError, match="does not name a worker copy of database"):
        store.drop_clone({"dsn": shop})
    assert _databases(_name(shop)) == [_name(shop)]


def test_a_dead_runs_copy_of_the_same_name_is_replaced(shop: str) -> None:
    store = PostgresStore(shop)
    copy = str(store.clone("w2")["dsn"])
    execute(copy, "DELETE FROM orders; INSERT INTO customers(email) VALUES ('dead@x.io')")
    assert store.clone("w2")["dsn"] == copy
    assert database_content(copy) == database_content(shop)


def test_leftover_copies_are_dropped_by_drop_leftover_clones(shop: str) -> None:
    store = PostgresStore(shop)
    for label in ("w2", "w3"):
        store.clone(label)
    original = _name(shop)
    assert PostgresStore(shop).drop_leftover_clones() == [
        f"database {original}__venomqa_w2 (a copy of {original})",
        f"database {original}__venomqa_w3 (a copy of {original})",
    ]
    assert _databases(original) == [original]
    assert PostgresStore(shop).drop_leftover_clones() == []


def test_venomqa_recover_drops_a_killed_runs_copies(shop: str, tmp_path: Path) -> None:
    PostgresStore(shop).clone("w2")  # a killed run made it and never dropped it
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: http://127.0.0.1:9\nstores:\n  db: {{adapter: postgres, dsn: '{shop}'}}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "venomqa", "recover", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "postgres"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    original = _name(shop)
    line = f"repaired: removed the worker copy database {original}__venomqa_w2 (a copy of"
    assert line in done.stdout
    assert _databases(original) == [original]


def test_a_copy_a_live_run_uses_is_refused_and_left_alone(shop: str) -> None:
    store = PostgresStore(shop)
    options = store.clone("w2")
    copy = _name(str(options["dsn"]))
    with live_store(PostgresStore, dict(options)):
        with pytest.raises(StoreError) as again:
            store.clone("w2")
        message = str(again.value)
        assert f"the worker copy {copy} (database of a parallel worker) is in use by " in message
        assert "another VenomQA run (PostgreSQL backend " in message
        with pytest.raises(StoreError, match="is in use by another VenomQA run"):
            store.drop_clone(options)
        assert store.drop_leftover_clones() == []
        assert _databases(copy) == [copy]
    assert store.drop_leftover_clones() == [f"database {copy} (a copy of {_name(shop)})"]


def test_a_session_on_the_original_is_named_with_what_to_do(shop: str) -> None:
    api = psycopg.connect(make_conninfo(shop, application_name="shop-api"))
    try:
        [pid] = api.execute("SELECT pg_backend_pid()").fetchone()  # type: ignore[misc]
        with pytest.raises(StoreError) as refused:
            PostgresStore(shop).clone("w2")
    finally:
        api.close()
    message = str(refused.value)
    assert f"backend {pid} (application 'shop-api', from 127.0.0.1, user postgres" in message
    assert "only while no other session is connected to it, and 1 is/are" in message
    assert "Stop what holds them" in message and "pg_terminate_backend" in message
    assert _databases(_name(shop) + "__") == []


def test_a_killed_runs_leftovers_in_the_original_are_repaired_before_copying(
    shop: str,
) -> None:
    before = database_content(shop)
    killed_store(
        PostgresStore,
        {"dsn": shop},
        "import psycopg\n"
        "with psycopg.connect(options['dsn'], autocommit=True) as conn:\n"
        "    conn.execute(\"INSERT INTO customers(email) VALUES ('killed@x.io')\")\n"
        "    conn.execute('DELETE FROM orders')\n",
    )
    assert database_content(shop) != before
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        options = PostgresStore(shop).clone("w2")
    assert [w for w in seen if issubclass(w.category, LeftoversRepaired)]
    assert database_content(str(options["dsn"])) == before
    assert database_content(shop) == before
