"""SQLiteStore: repairing a run that never tore down, reading beside a writer, and its errors.

A run "killed before teardown" is an abandoned store whose triggers and undo log stay in the
file, followed by a fresh ``SQLiteStore`` on the same file: in-process, so the repair runs in
this interpreter. Found by mutation testing (docs/benchmarks.md).
"""

from __future__ import annotations

import inspect
import re
import sqlite3
import warnings
from pathlib import Path

import pytest
from _support_sqlite import create_db, logical_content
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.stores import SQLiteStore
from venomqa.stores._sqlite_schema import LOG_TABLE, META_TABLE

SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE NOT NULL);
CREATE TABLE notes (body TEXT);
INSERT INTO customers(email) VALUES ('a@x.io'), ('b@x.io');
INSERT INTO notes VALUES ('first'), ('second');
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return create_db(tmp_path / "shop.db", SHOP)


def _execute(path: Path, *statements: str) -> None:
    """The API's own connection: run statements and commit."""
    conn = sqlite3.connect(path, timeout=10)
    try:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def store_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _abandoned_run(path: Path) -> SQLiteStore:
    """A store set up on ``path`` and never torn down, after three logged row changes."""
    store = SQLiteStore(str(path))
    store.setup()
    _execute(
        path,
        "INSERT INTO customers(email) VALUES ('c@x.io')",
        "UPDATE notes SET body = 'changed' WHERE body = 'first'",
        "DELETE FROM notes WHERE body = 'second'",
    )
    return store


def _repair(path: Path) -> tuple[SQLiteStore, warnings.WarningMessage]:
    """A new store's setup on ``path``, which must warn once that it repaired leftovers."""
    store = SQLiteStore(str(path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.setup()
    repaired = [w for w in caught if issubclass(w.category, LeftoversRepaired)]
    assert len(repaired) == 1, [str(w.message) for w in caught]
    return store, repaired[0]


def test_the_repair_warning_counts_the_undone_changes_from_the_line_calling_setup(
    shop: Path,
) -> None:
    before = logical_content(shop)
    _abandoned_run(shop)
    store, warning = _repair(shop)
    try:
        assert f"{shop}: an earlier VenomQA run was stopped" in str(warning.message)
        assert "undid its 3 logged change(s)" in str(warning.message)
        assert logical_content(shop)["tables"]["notes"] == before["tables"]["notes"]
    finally:
        store.teardown()
    assert logical_content(shop) == before


def test_the_repair_warning_points_at_the_line_that_called_setup(shop: Path) -> None:
    # Not run by bench/mutation.sh: mutmut's trampolines add stack frames to every call.
    _abandoned_run(shop)
    store = SQLiteStore(str(shop))
    here = inspect.currentframe()
    assert here is not None
    with pytest.warns(LeftoversRepaired) as caught:
        setup_line = here.f_lineno + 1
        store.setup()
    store.teardown()
    assert [(w.filename, w.lineno) for w in caught] == [(__file__, setup_line)]


def test_leftover_triggers_whose_undo_log_was_dropped_by_hand_are_removed(shop: Path) -> None:
    before = logical_content(shop)
    _abandoned_run(shop)
    _execute(shop, f"DROP TABLE {LOG_TABLE}")  # a half-done manual clean-up
    with pytest.raises(sqlite3.OperationalError, match=LOG_TABLE):
        _execute(shop, "INSERT INTO notes VALUES ('blocked')")  # the triggers still fire
    store, warning = _repair(shop)
    try:
        assert "undid its 0 logged change(s)" in str(warning.message)
        # Without their log the abandoned run's changes stay (3 customers, 1 note left); writes
        # work again and are logged, so teardown undoes this one.
        _execute(shop, "INSERT INTO notes VALUES ('third')")
        assert store.observe() == {"customers": 3, "notes": 2}
    finally:
        store.teardown()
    assert store_rows(shop, "SELECT body FROM notes") == [("changed",)]
    after = logical_content(shop)
    assert not [row for row in after["schema"] if "_venomqa_" in repr(row)]
    assert after["schema"] == before["schema"]


@pytest.mark.platform_specific("SQLite builds without FTS5 cannot create the virtual table")
def test_a_virtual_table_added_since_the_abandoned_run_is_refused_by_name(shop: Path) -> None:
    _abandoned_run(shop)
    try:
        _execute(shop, "CREATE VIRTUAL TABLE docs USING fts5(body)")
    except sqlite3.OperationalError as exc:
        if "fts5" not in str(exc):
            raise
        pytest.skip("this SQLite build has no FTS5")
    with pytest.raises(StoreError, match="'docs' is a virtual table") as caught:
        SQLiteStore(str(shop)).setup()
    assert caught.value.store == "sqlite"
    assert str(caught.value).startswith(f"store 'sqlite': {shop}: ")


def test_reads_do_not_wait_for_a_writer_in_the_middle_of_a_transaction(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    store.setup()
    writer = sqlite3.connect(shop, isolation_level=None)
    try:
        audit, fingerprint = store.audit(), store.fingerprint()
        writer.execute("BEGIN IMMEDIATE")  # the API holds the write lock, not yet committed
        writer.execute("INSERT INTO notes VALUES ('uncommitted')")
        # The store reads the committed content at once instead of queuing behind the writer
        # (a write lock would wait out the 10 s busy timeout, then fail).
        assert store.audit() == audit
        assert store.fingerprint() == fingerprint
        assert store.observe() == {"customers": 2, "notes": 2}
        token = store.checkpoint()
        writer.execute("COMMIT")
        assert store.observe() == {"customers": 2, "notes": 3}
        store.rollback(token)
        assert store.audit() == audit
    finally:
        writer.close()
        store.teardown()


def test_an_audit_that_fails_names_the_operation_and_the_file(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    store.setup()
    try:
        _execute(shop, "DROP TABLE notes")  # a schema change during the run (unsupported)
        with pytest.raises(StoreError, match="no such table") as caught:
            store.audit()
        assert f"audit on {shop} failed" in str(caught.value)
        assert caught.value.store == "sqlite"
    finally:
        store.teardown()


def test_a_rollback_through_a_damaged_undo_log_names_what_it_cannot_undo(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    store.setup()
    try:
        token = store.checkpoint()
        _execute(shop, "DELETE FROM notes WHERE body = 'first'")
        _execute(shop, f"UPDATE {LOG_TABLE} SET op = 'X'")  # not an insert, update or delete
        failed = f"rollback on {re.escape(str(shop))} failed"
        with pytest.raises(StoreError, match=failed) as caught:
            store.rollback(token)
        assert "unknown operation 'X' in the undo log of table 'notes'" in str(caught.value)
        _execute(shop, f"UPDATE {LOG_TABLE} SET op = 'D'")
    finally:
        store.teardown()


def test_leftover_changes_of_a_table_dropped_since_are_refused_by_name(shop: Path) -> None:
    _abandoned_run(shop)
    _execute(shop, "DROP TABLE notes")  # its logged update and delete can no longer be undone
    with pytest.raises(StoreError) as raised:
        SQLiteStore(str(shop)).setup()
    assert str(raised.value) == (
        f"store 'sqlite': setup of {shop} failed: the undo log holds changes of table(s) "
        "['notes'] that no longer exist (was the schema changed during the run?)"
    )


def test_leftovers_whose_counter_record_was_dropped_by_hand_are_still_undone(shop: Path) -> None:
    before = logical_content(shop)
    _abandoned_run(shop)
    _execute(shop, f"DROP TABLE {META_TABLE}")  # the counters at setup are gone with it
    store, warning = _repair(shop)
    store.teardown()
    assert "undid its 3 logged change(s)" in str(warning.message)
    after = logical_content(shop)
    assert after["schema"] == before["schema"]
    counters = "sqlite_sequence"
    assert {k: v for k, v in after["tables"].items() if k != counters} == {
        k: v for k, v in before["tables"].items() if k != counters
    }
    # the id counter cannot be put back without the record: it stays past the undone insert
    assert store_rows(shop, "SELECT seq FROM sqlite_sequence") == [(3,)]
