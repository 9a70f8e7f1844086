"""The rollback self-check (``verify_rollback``) on the built-in SQLite store, with real APIs.

Exact rollbacks pass it over thousands of verified rollbacks (the blog API: uuid keys,
timestamps, salted hashes); a rollback that does not restore its checkpoint is caught, named
(store, table, record) and reported as a ``rollback_drift`` finding that stops the run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from _support_demo import sqlite_dump
from click.testing import CliRunner, Result
from venomqa import World, explore
from venomqa.cli.main import cli
from venomqa.demo import init_schema, start_demo_server
from venomqa.demo.blog import start_blog_server
from venomqa.demo.blog.checks import ACTIONS, INVARIANTS
from venomqa.demo.checks import ACTIONS as SHOP_ACTIONS
from venomqa.errors import RollbackDriftError
from venomqa.ports.store import RecordChange
from venomqa.stores import SQLiteStore
from venomqa.testing import soak_rollbacks
from venomqa.testing.server import ApiProcess


class CountingSQLiteStore(SQLiteStore):
    """The real SQLite store, counting its rollbacks."""

    rollbacks = 0

    def rollback(self, token: object) -> None:
        super().rollback(token)
        self.rollbacks += 1


class ForgetfulSQLiteStore(SQLiteStore):
    """A broken adapter: the first rollback that has something to undo does nothing (what the
    self-check exists to catch); every other rollback works."""

    forgot = False

    def checkpoint(self) -> object:
        token = super().checkpoint()
        self.content_at = {**getattr(self, "content_at", {}), id(token): self.fingerprint()}
        return token

    def rollback(self, token: object) -> None:
        if not self.forgot and self.fingerprint() != self.content_at[id(token)]:
            self.forgot = True
            return
        super().rollback(token)


@pytest.fixture
def blog(tmp_path: Path) -> Iterator[tuple[ApiProcess, Path]]:
    db = tmp_path / "blog.db"
    with start_blog_server(f"sqlite:{db}") as server:
        yield server, db


def test_a_thousand_verified_rollbacks_on_the_blog_api(blog: tuple[ApiProcess, Path]) -> None:
    server, db = blog
    before = sqlite_dump(db)
    store = CountingSQLiteStore(str(db))
    world = World(server.url, stores={"db": store})
    try:
        soaked = soak_rollbacks(world, ACTIONS, rollbacks=1000, seed=7)
    finally:
        world.api.close()

    assert soaked.rollbacks == 1000
    assert store.rollbacks >= 1000  # every one verified (plus the session's final one)
    assert soaked.actions > 1000 and soaked.deepest >= 5
    assert soaked.actions - soaked.errors > 500  # mostly real writes, not refused calls
    assert sqlite_dump(db) == before
    assert world.verify_rollback is False  # the soak switches it off again


def test_the_explorer_verifies_every_rollback_when_asked(blog: tuple[ApiProcess, Path]) -> None:
    server, db = blog
    store = CountingSQLiteStore(str(db))
    world = World(server.url, stores={"db": store})
    try:
        verified = explore(world, ACTIONS, INVARIANTS, max_depth=8, verify_rollback=True)
        plain = explore(World(server.url, stores={"db": SQLiteStore(str(db))}), ACTIONS, INVARIANTS)
    finally:
        world.api.close()

    assert store.rollbacks > 100
    assert verified.stop_reason == plain.stop_reason
    assert (verified.states, len(verified.violations)) == (plain.states, len(plain.violations))
    assert not [v for v in verified.violations if v.kind == "rollback_drift"]


def test_a_rollback_that_restores_nothing_is_a_finding_naming_the_store_and_record(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    with start_demo_server(db) as server:
        world = World(server.url, stores={"db": ForgetfulSQLiteStore(str(db))})
        with pytest.raises(RollbackDriftError) as raised:
            explore(world, SHOP_ACTIONS, max_depth=4, verify_rollback=True)
        world.api.close()

    message = str(raised.value)
    assert "a rollback did not restore the checkpoint" in message
    assert "store 'db'" in message and "orders (" in message
    partial = raised.value.partial
    assert partial is not None
    assert partial.stop_reason == "aborted"
    [drift] = [v for v in partial.violations if v.kind == "rollback_drift"]
    assert drift.severity.value == "critical"
    assert "orders (" in drift.message
    with closing(sqlite3.connect(db)) as conn:  # the final rollback still brought it back
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)


def test_a_worker_worlds_rollbacks_are_verified_too(tmp_path: Path) -> None:
    """With parallel workers (here a second world in-process) each world checks its own
    rollbacks: the broken adapter is only in the second one."""
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    init_schema(first)
    init_schema(second)
    with start_demo_server(first) as one, start_demo_server(second) as two:
        world = World(one.url, stores={"db": SQLiteStore(str(first))})
        extra = World(two.url, stores={"db": ForgetfulSQLiteStore(str(second))})
        with pytest.raises(RollbackDriftError) as raised:
            explore(world, SHOP_ACTIONS, max_depth=4, verify_rollback=True, more_worlds=[extra])
        world.api.close()
        extra.api.close()
    assert "a rollback did not restore the checkpoint" in str(raised.value)
    assert "orders (" in str(raised.value)


def test_verify_rollback_from_the_command_line_and_the_file(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    (tmp_path / "verified_checks.py").write_text(
        "from venomqa import action\n\n"
        "@action\n"
        "def create_order(api, ctx):\n"
        "    return api.post('/orders', json={'amount': 3})\n"
    )
    config = tmp_path / "venomqa.yaml"

    def run(explore_section: str, *options: str) -> Result:
        config.write_text(
            f"target: {server.url}\nactions: [verified_checks]\n"
            f"stores:\n  db: {{adapter: sqlite, path: {db.name}}}\nexplore: {explore_section}\n"
        )
        return CliRunner().invoke(cli, ["run", "-c", str(config), *options])

    with start_demo_server(db) as server:
        flag = run("{max_depth: 3}", "--verify-rollback", "--report", f"json:{tmp_path}/a.json")
        in_file = run("{max_depth: 3, verify_rollback: true}")
        malformed = run("{verify_rollback: yes please}")

    assert flag.exit_code == 0, flag.output
    assert in_file.exit_code == 0, in_file.output
    assert json.loads((tmp_path / "a.json").read_text())["exploration"]["states"] == 4
    assert malformed.exit_code == 2
    assert "explore.verify_rollback" in malformed.stderr


class BlindSQLiteStore(SQLiteStore):
    """The real store whose own bookkeeping sees no change at all (a fingerprint and records
    that never move): only reading the data afresh can tell a rollback went wrong."""

    def fingerprint(self) -> str:
        return "0" * 16

    def changed_records(self) -> list[RecordChange]:
        return []


def test_a_wrong_undo_the_bookkeeping_does_not_see_is_caught_reading_the_data_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken undo of updates leaves the data wrong while the store's bookkeeping says it is
    restored; the audit (the tables read afresh) catches it and names the table."""
    from venomqa.stores import _sqlite_undo

    undo_one = _sqlite_undo._undo_one

    def skip_updates(conn: object, table: object, entry: tuple[object, ...]) -> None:
        if entry[2] != "U":
            undo_one(conn, table, entry)  # type: ignore[arg-type]

    db = tmp_path / "shop.db"
    init_schema(db)
    monkeypatch.setattr(_sqlite_undo, "_undo_one", skip_updates)
    with start_demo_server(db) as server:
        world = World(server.url, stores={"db": BlindSQLiteStore(str(db))})
        with pytest.raises(RollbackDriftError) as raised:
            explore(world, SHOP_ACTIONS, max_depth=3, verify_rollback=True)
        world.api.close()

    message = str(raised.value)
    assert "read afresh, table orders differ(s) from the checkpoint" in message
    assert "bookkeeping is wrong" in message


def test_the_audit_reads_rows_and_id_counters(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    store = SQLiteStore(str(db))
    store.setup()
    try:
        before = store.audit()
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("INSERT INTO orders (amount) VALUES (5)")
        inserted = store.audit()
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("DELETE FROM orders")
        deleted = store.audit()
    finally:
        store.teardown()

    assert inserted["table orders"] != before["table orders"]
    assert deleted["table orders"] == before["table orders"]
    assert deleted["id counters (sqlite_sequence)"] != before["id counters (sqlite_sequence)"]
