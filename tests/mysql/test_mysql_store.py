"""The MySQL store against a real MariaDB/MySQL server, every write from another process:
AUTO_INCREMENT counters, foreign keys, crash recovery (also through `venomqa recover`), clear
errors (missing privileges, DDL, TRUNCATE, cascades, unknown tables, bad dsn) and teardown
leaving the database exactly as found."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _support_mysql import (
    HERE,
    database_content,
    database_of,
    dsn_for,
    execute,
    write_from_other_process,
)
from click.testing import CliRunner
from venomqa.cli.main import cli
from venomqa.errors import LeftoversRepaired, StoreError, StorePermissionError, VenomQAWarning
from venomqa_mysql import MySQLStore


def objects_left(dsn: str) -> list[tuple[str, ...]]:
    """VenomQA's objects in the database (none after a teardown)."""
    return execute(
        dsn,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
        "TABLE_NAME LIKE '\\_venomqa%%' UNION ALL SELECT TRIGGER_NAME FROM "
        "information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() UNION ALL SELECT "
        "ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
    )


def counter(dsn: str, table: str) -> int:
    rows = execute(
        dsn,
        "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = %s",
        (table,),
    )
    return int(rows[0][0])


def test_auto_increment_ids_repeat_after_rollback(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))")
    execute(my_dsn, "INSERT INTO items (name) VALUES ('a'), ('b')")
    execute(my_dsn, "DELETE FROM items WHERE name = 'b'")  # counter 3, max id 1
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        for _ in range(2):
            write_from_other_process(
                my_dsn,
                "INSERT INTO items (name) VALUES ('x'), ('y')",
                "UPDATE items SET name = 'changed' WHERE id = 1",
            )
            assert [r[0] for r in execute(my_dsn, "SELECT id FROM items ORDER BY id")] == [1, 3, 4]
            assert counter(my_dsn, "items") == 5
            store.rollback(token)
            store.fingerprint()  # the counter goes back in the background: wait for it
            assert counter(my_dsn, "items") == 3
            assert execute(my_dsn, "SELECT id, name FROM items") == [(1, "a")]
        # a failed insert uses up an id without writing a row: the counter still goes back
        with pytest.raises(AssertionError):
            write_from_other_process(my_dsn, "INSERT INTO items (id, name) VALUES (1, 'dup')")
        write_from_other_process(my_dsn, "INSERT INTO items (name) VALUES ('z')")
        store.rollback(token)
        write_from_other_process(my_dsn, "INSERT INTO items (name) VALUES ('again')")
        assert execute(my_dsn, "SELECT id FROM items WHERE name = 'again'") == [(3,)]
    finally:
        store.teardown()
    assert database_content(my_dsn) == before
    assert objects_left(my_dsn) == []


_ID_WRITER = """
import sys
sys.path.insert(0, {here!r})
from _support_mysql import connect
conn = connect({dsn!r})
with conn.cursor() as cur:
    for line in sys.stdin:
        cur.execute(line)
        last = cur.lastrowid
        cur.execute("SELECT LAST_INSERT_ID()")
        print(last, cur.fetchone()[0], flush=True)
"""


def test_the_next_insert_after_a_rollback_gets_the_same_id_at_once(my_dsn: str) -> None:
    """The counters go back after rollback() returns (the ALTER TABLE runs on after it, under
    LOCK TABLES): an API connection that inserts the moment the rollback returns waits for it
    and gets the same id as the first time, from the driver and from LAST_INSERT_ID(), in both
    tables the branch inserted into; whether the rollback foresaw the inserts (read from the
    logs before it), some of them, or none."""
    execute(my_dsn, "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))")
    execute(my_dsn, "CREATE TABLE notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
    execute(my_dsn, "INSERT INTO items (name) VALUES ('a'), ('b')")
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    writer = subprocess.Popen(
        [sys.executable, "-c", _ID_WRITER.format(here=str(HERE), dsn=my_dsn)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdin is not None and writer.stdout is not None

    def insert(sql: str) -> tuple[int, int]:
        assert writer.stdin is not None and writer.stdout is not None
        writer.stdin.write(sql + "\n")
        writer.stdin.flush()
        last, function = writer.stdout.readline().split()
        return int(last), int(function)

    try:
        token = store.checkpoint()
        for round_ in range(12):
            assert insert("INSERT INTO items (name) VALUES ('x')") == (3, 3)
            assert insert("INSERT INTO items (name) VALUES ('y'), ('z')") == (4, 4)
            if round_ % 3 == 2:  # the rollback foresees one counter (in its own round trip)
                store.fingerprint()  # and finds the other after it
            assert insert("INSERT INTO notes (v) VALUES (1)") == (1, 1)
            if round_ % 3 == 1:  # it foresees both
                store.fingerprint()
            store.rollback(token)
        assert insert("INSERT INTO items (name) VALUES ('x')") == (3, 3)
        store.rollback(token)
        store.fingerprint()  # waits for the counters: the catalog shows them too
        assert counter(my_dsn, "items") == 3
        assert counter(my_dsn, "notes") == 1
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)
        writer.stdout.close()
        store.teardown()
    assert writer.returncode == 0
    assert database_content(my_dsn) == before


def test_foreign_keys_are_replayed_in_any_order(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE authors (id INT PRIMARY KEY, name TEXT)")
    execute(
        my_dsn,
        "CREATE TABLE books (id INT PRIMARY KEY, author_id INT NOT NULL, "
        "FOREIGN KEY (author_id) REFERENCES authors(id))",
    )
    execute(my_dsn, "INSERT INTO authors VALUES (1, 'ann'), (2, 'bob')")
    execute(my_dsn, "INSERT INTO books VALUES (10, 1), (11, 2)")
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        fingerprint = store.fingerprint()
        write_from_other_process(
            my_dsn,
            "DELETE FROM books WHERE author_id = 2",
            "DELETE FROM authors WHERE id = 2",
            "INSERT INTO authors VALUES (3, 'cy')",
            "INSERT INTO books VALUES (12, 3)",
        )
        assert store.fingerprint() != fingerprint
        store.rollback(token)
        assert store.fingerprint() == fingerprint
        assert database_content(my_dsn)["rows books"] == before["rows books"]
        assert database_content(my_dsn)["rows authors"] == before["rows authors"]
    finally:
        store.teardown()
    assert database_content(my_dsn) == before


def test_primary_key_updates_are_undone(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
    execute(my_dsn, "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(
            my_dsn,
            "UPDATE t SET id = 10 WHERE id = 1",
            "UPDATE t SET id = 1 WHERE id = 2",
            "UPDATE t SET id = 2, v = 'moved' WHERE id = 10",
            "DELETE FROM t WHERE id = 3",
            "INSERT INTO t VALUES (3, 'new three'), (4, 'four')",
        )
        store.rollback(token)
        assert database_content(my_dsn) == {
            **before,
            **{k: v for k, v in database_content(my_dsn).items() if k != "rows t"},
        }
        assert sorted(execute(my_dsn, "SELECT id, v FROM t")) == [
            (1, "one"),
            (2, "two"),
            (3, "three"),
        ]
    finally:
        store.teardown()
    assert database_content(my_dsn) == before


# -- crash recovery ------------------------------------------------------------------------

_KILLED_RUN = """
import sys, time
sys.path.insert(0, {here!r})
from venomqa_mysql import MySQLStore
from _support_mysql import write_from_other_process
store = MySQLStore(dsn={dsn!r})
store.setup()
store.checkpoint()
write_from_other_process({dsn!r}, "INSERT INTO items (name) VALUES ('during')",
                         "UPDATE items SET name = 'changed' WHERE id = 1",
                         "DELETE FROM items WHERE id = 2")
print("READY", flush=True)
time.sleep(120)
"""


def killed_run(dsn: str) -> None:
    """A process that set the store up and had writes logged, SIGKILLed: no teardown."""
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN.format(here=str(HERE), dsn=dsn)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "READY", process.stderr.read() if process.stderr else line
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def items_table(dsn: str) -> dict[str, object]:
    execute(dsn, "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))")
    execute(dsn, "INSERT INTO items (name) VALUES ('a'), ('b')")
    return database_content(dsn)


def test_a_second_run_on_the_same_database_is_refused_not_repaired(my_dsn: str) -> None:
    """The first store's objects are a live run's, not leftovers: the second store names its
    connection and touches nothing; once the first is gone, the database is free again."""
    items_table(my_dsn)
    first, second = MySQLStore(dsn=my_dsn), MySQLStore(dsn=my_dsn)
    first.setup()
    try:
        execute(my_dsn, "INSERT INTO items (name) VALUES ('c')")
        with pytest.raises(StoreError) as refused:
            second.setup()
        message = str(refused.value)
        assert "is in use by another VenomQA run (MySQL connection " in message
        assert "would undo each other's changes" in message
        assert objects_left(my_dsn), "the live run's objects are untouched"
        assert first.changed_records(), "and it still sees its changes"
    finally:
        first.teardown()
    second.setup()  # the lock went with the first store's connection
    second.teardown()


def test_next_setup_repairs_a_killed_run(my_dsn: str) -> None:
    before = items_table(my_dsn)
    killed_run(my_dsn)
    assert objects_left(my_dsn), "the killed run should have left its objects"
    assert database_content(my_dsn) != before
    store = MySQLStore(dsn=my_dsn)
    with pytest.warns(LeftoversRepaired, match=r"undid its 3 logged change\(s\), reset 1 AUTO"):
        store.setup()
    try:
        assert execute(my_dsn, "SELECT id, name FROM items ORDER BY id") == [(1, "a"), (2, "b")]
        assert counter(my_dsn, "items") == 3
    finally:
        store.teardown()
    assert database_content(my_dsn) == before
    assert objects_left(my_dsn) == []


def test_venomqa_recover_repairs_a_killed_run(my_dsn: str, tmp_path: Path) -> None:
    before = items_table(my_dsn)
    killed_run(my_dsn)
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: http://127.0.0.1:9\nstores:\n  db: {{adapter: mysql, dsn: '{my_dsn}'}}\n"
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["recover", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "undid its 3 logged change(s)" in result.output, result.output
    assert database_content(my_dsn) == before
    again = runner.invoke(cli, ["recover", "-c", str(config)])
    assert again.exit_code == 0, again.output
    assert "undid" not in again.output, again.output


# -- clear errors --------------------------------------------------------------------------


@contextmanager
def user_with(my_dsn: str, grants: str) -> Iterator[tuple[str, str]]:
    """A new user holding ``grants`` on the test database (and no global privilege)."""
    user = f"vq_{uuid.uuid4().hex[:8]}"
    database = database_of(my_dsn)
    try:
        for host in ("%", "localhost"):
            execute(my_dsn, f"CREATE USER '{user}'@'{host}' IDENTIFIED BY 'secret-pw'")
            execute(my_dsn, f"GRANT {grants} ON `{database}`.* TO '{user}'@'{host}'")
        yield user, dsn_for(database, user, "secret-pw")
    finally:
        for host in ("%", "localhost"):
            execute(my_dsn, f"DROP USER IF EXISTS '{user}'@'{host}'")


@pytest.fixture
def limited_user(my_dsn: str) -> Iterator[tuple[str, str]]:
    """A user with every privilege VenomQA needs on the test database but TRIGGER."""
    grants = "SELECT, INSERT, DELETE, CREATE, DROP, ALTER, CREATE ROUTINE, ALTER ROUTINE, "
    with user_with(my_dsn, grants + "EXECUTE, LOCK TABLES") as user:
        yield user


def test_missing_privilege_names_it_and_the_grant(
    my_dsn: str, limited_user: tuple[str, str]
) -> None:
    user, dsn = limited_user
    execute(my_dsn, "CREATE TABLE kv (k INT PRIMARY KEY)")
    with pytest.raises(StorePermissionError) as caught, pytest.warns(match="PROCESS"):
        MySQLStore(dsn=dsn).setup()
    message = str(caught.value)
    assert "lacks the TRIGGER privilege" in message, message
    assert f"GRANT TRIGGER ON `{database_of(my_dsn)}`.* TO '{user}'@" in message, message
    assert "secret-pw" not in message
    assert objects_left(my_dsn) == []
    assert caught.value.exit_code == 3


def test_ddl_during_the_run_is_refused(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
    execute(my_dsn, "INSERT INTO t VALUES (1, 'one')")
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    token = store.checkpoint()
    time.sleep(1.1)  # CREATE_TIME has a resolution of one second
    write_from_other_process(my_dsn, "ALTER TABLE t ADD COLUMN extra INT")
    with pytest.raises(StoreError, match=r"table 't' was altered \(DDL\) during the run"):
        store.rollback(token)
    with pytest.raises(StoreError, match="procedure anyway"):
        store.teardown()
    assert objects_left(my_dsn) == []


def test_truncate_is_detected_and_refused(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE t (k VARCHAR(10) PRIMARY KEY, v TEXT)")
    execute(my_dsn, "INSERT INTO t VALUES ('a', 'one'), ('b', 'two')")
    execute(my_dsn, "CREATE TABLE other (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)")
    execute(my_dsn, "INSERT INTO other (v) VALUES ('kept')")
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(
            my_dsn,
            "UPDATE t SET v = 'changed' WHERE k = 'a'",
            "INSERT INTO other (v) VALUES ('added')",
            "UPDATE other SET v = 'changed' WHERE id = 1",
            "TRUNCATE TABLE t",
        )
        with pytest.raises(StoreError, match="table 't' was truncated") as caught:
            store.checkpoint()
        assert "TRUNCATE fires no triggers" in str(caught.value)
        with pytest.raises(StoreError, match="table 't' was truncated"):
            store.rollback(token)
    finally:
        with pytest.raises(StoreError, match="as far as it could and removed"):
            store.teardown()
    assert objects_left(my_dsn) == []
    after = database_content(my_dsn)  # the other table is back, counter too; 't' cannot be
    assert after["rows other"] == before["rows other"]
    assert after["counters"] == before["counters"]
    assert after["rows t"] == ["('a', 'one')"]  # the one row the log knew


def test_truncate_is_noticed_without_the_process_privilege(my_dsn: str) -> None:
    """Without PROCESS (no InnoDB table ids), TRUNCATE still shows as a counter gone down."""
    execute(my_dsn, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)")
    execute(my_dsn, "INSERT INTO t (v) VALUES ('one'), ('two')")
    grants = "SELECT, INSERT, DELETE, CREATE, DROP, ALTER, TRIGGER, CREATE ROUTINE, "
    with user_with(my_dsn, grants + "ALTER ROUTINE, EXECUTE, LOCK TABLES") as (_, dsn):
        store = MySQLStore(dsn=dsn)
        with pytest.warns(VenomQAWarning, match="GRANT PROCESS"):
            store.setup()
        try:
            token = store.checkpoint()
            write_from_other_process(my_dsn, "INSERT INTO t (v) VALUES ('three')")
            inner = store.checkpoint()
            write_from_other_process(my_dsn, "TRUNCATE TABLE t")
            with pytest.raises(StoreError, match="table 't' was truncated"):
                store.rollback(inner)
            with pytest.raises(StoreError, match="table 't' was truncated"):
                store.checkpoint()
            with pytest.raises(StoreError, match="table 't' was truncated"):
                store.rollback(token)
        finally:
            with pytest.raises(StoreError, match="procedure anyway"):
                store.teardown()
    assert objects_left(my_dsn) == []


def test_delete_cascades_are_logged_and_undone(my_dsn: str) -> None:
    """InnoDB's cascades fire no triggers: the parent's BEFORE DELETE trigger logs what they
    delete (two levels deep) and what they set NULL."""
    execute(my_dsn, "CREATE TABLE p (id INT PRIMARY KEY, name TEXT)")
    execute(
        my_dsn,
        "CREATE TABLE c (id INT PRIMARY KEY, p_id INT, note TEXT, CONSTRAINT c_p FOREIGN KEY "
        "(p_id) REFERENCES p(id) ON DELETE CASCADE)",
    )
    execute(
        my_dsn,
        "CREATE TABLE gc (a INT, b INT, c_id INT, PRIMARY KEY (a, b), CONSTRAINT gc_c FOREIGN "
        "KEY (c_id) REFERENCES c(id) ON DELETE CASCADE)",
    )
    execute(
        my_dsn,
        "CREATE TABLE s (id INT PRIMARY KEY, p_id INT NULL, CONSTRAINT s_p FOREIGN KEY (p_id) "
        "REFERENCES p(id) ON DELETE SET NULL)",
    )
    execute(my_dsn, "INSERT INTO p VALUES (1, 'one'), (2, 'two')")
    execute(my_dsn, "INSERT INTO c VALUES (10, 1, 'x'), (11, 1, 'y'), (20, 2, 'z')")
    execute(my_dsn, "INSERT INTO gc VALUES (1, 1, 10), (1, 2, 11), (2, 1, 20)")
    execute(my_dsn, "INSERT INTO s VALUES (100, 1), (200, 2)")
    before = database_content(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        original = store.fingerprint()
        write_from_other_process(my_dsn, "DELETE FROM p WHERE id = 1")
        assert execute(my_dsn, "SELECT COUNT(*) FROM gc") == [(1,)]
        changes = {(c.collection, c.identity): c for c in store.changed_records()}
        assert set(changes) == {
            ("p", (1,)),
            ("c", (10,)),
            ("c", (11,)),
            ("gc", (1, 1)),
            ("gc", (1, 2)),
            ("s", (100,)),
        }, sorted(changes)
        assert changes[("s", (100,))].after == {"id": 100, "p_id": None}
        assert changes[("gc", (1, 1))].after is None
        store.rollback(token)
        assert store.fingerprint() == original
        assert [c for c in store.changed_records() if c.before != c.after] == []
        # the same content reached by another way has the same fingerprint
        write_from_other_process(my_dsn, "DELETE FROM p WHERE id = 2")
        write_from_other_process(
            my_dsn,
            "INSERT INTO p VALUES (2, 'two')",
            "INSERT INTO c VALUES (20, 2, 'z')",
            "INSERT INTO gc VALUES (2, 1, 20)",
            "UPDATE s SET p_id = 2 WHERE id = 200",
        )
        assert store.fingerprint() == original
        store.rollback(token)
    finally:
        store.teardown()
    assert database_content(my_dsn) == before


def test_cascades_that_cannot_be_logged_are_refused(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE p (id INT PRIMARY KEY)")
    execute(
        my_dsn,
        "CREATE TABLE c (id INT PRIMARY KEY, p_id INT, CONSTRAINT c_to_p FOREIGN KEY (p_id) "
        "REFERENCES p(id) ON UPDATE CASCADE)",
    )
    execute(
        my_dsn,
        "CREATE TABLE d (id INT PRIMARY KEY, p_id INT, CONSTRAINT d_to_p FOREIGN KEY (p_id) "
        "REFERENCES p(id) ON DELETE CASCADE)",
    )
    before = database_content(my_dsn)
    with pytest.raises(StoreError, match=r"'c_to_p' of table 'c'.*not for ON UPDATE CASCADE"):
        MySQLStore(dsn=my_dsn).setup()
    with pytest.raises(StoreError, match=r"'d_to_p'.*'p' is not tracked.*track both"):
        MySQLStore(dsn=my_dsn, exclude=["p", "c"]).setup()
    assert database_content(my_dsn) == before
    store = MySQLStore(dsn=my_dsn, exclude=["c"])  # the update cascade's target left out: fine
    store.setup()
    store.teardown()
    assert database_content(my_dsn) == before


def test_unknown_table_and_bad_dsn(my_dsn: str) -> None:
    execute(my_dsn, "CREATE TABLE present (id INT PRIMARY KEY)")
    with pytest.raises(StoreError, match=r"table 'absent'.*its tables are: present"):
        MySQLStore(dsn=my_dsn, tables=["absent"]).setup()
    with pytest.raises(ValueError, match="must name a database"):
        MySQLStore(dsn="mysql://root@127.0.0.1:3306/")
    with pytest.raises(ValueError, match="scheme 'postgresql'"):
        MySQLStore(dsn="postgresql://root@127.0.0.1/x")
    with pytest.raises(StoreError, match=r"connecting on database 'nope'.*\*\*\*") as caught:
        MySQLStore(dsn="mysql://root:hidden@127.0.0.1:3306/nope").setup()
    assert "hidden" not in str(caught.value)


def test_the_plugin_registers_the_adapter() -> None:
    env = {**os.environ, "VENOMQA_LOAD_PLUGINS": "mysql"}
    done = subprocess.run(
        [sys.executable, "-m", "venomqa", "plugins", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"mysql"' in done.stdout and "venomqa-mysql" in done.stdout, done.stdout


_SLOW_WRITER = """
import sys, time
sys.path.insert(0, {here!r})
from _support_mysql import connect
conn = connect({dsn!r})
conn.begin()
conn.cursor().execute("INSERT INTO {table} (name) VALUES ('in flight')")
print("WRITTEN", flush=True)
time.sleep(1.5)
conn.commit()
"""


@pytest.mark.parametrize("table", ["items", "names"])
def test_a_write_in_flight_is_waited_for_and_undone(my_dsn: str, table: str) -> None:
    """A request still running when the rollback starts (its transaction open) is waited for
    and undone with the rest, counter included."""
    execute(my_dsn, "CREATE TABLE names (name VARCHAR(20) PRIMARY KEY)")
    before = items_table(my_dsn)
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        writer = subprocess.Popen(
            [sys.executable, "-c", _SLOW_WRITER.format(here=str(HERE), dsn=my_dsn, table=table)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "WRITTEN"
            start = time.monotonic()
            store.rollback(token)
            waited = time.monotonic() - start
        finally:
            writer.wait(timeout=30)
            if writer.stdout is not None:
                writer.stdout.close()
        assert writer.returncode == 0
        assert waited > 0.5, f"the rollback did not wait for the open transaction ({waited:.2f} s)"
        assert execute(my_dsn, "SELECT id, name FROM items ORDER BY id") == [(1, "a"), (2, "b")]
        assert execute(my_dsn, "SELECT name FROM names") == []
        store.fingerprint()  # the counter goes back in the background: wait for it
        assert counter(my_dsn, "items") == 3
    finally:
        store.teardown()
    assert database_content(my_dsn) == before


def test_reading_the_log_waits_for_a_write_in_flight(my_dsn: str) -> None:
    """A write committed after a later one (which has the higher log id) is not skipped by the
    fingerprint and the changed records: reading the log waits for open writers first."""
    execute(my_dsn, "CREATE TABLE names (name VARCHAR(20) PRIMARY KEY)")
    store = MySQLStore(dsn=my_dsn)
    store.setup()
    try:
        token = store.checkpoint()
        original = store.fingerprint()
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SLOW_WRITER.format(here=str(HERE), dsn=my_dsn, table="names"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "WRITTEN"
            execute(my_dsn, "INSERT INTO names VALUES ('committed')")  # a higher log id
            listed = {c.identity for c in store.changed_records()}
        finally:
            writer.wait(timeout=30)
            if writer.stdout is not None:
                writer.stdout.close()
        assert listed == {("in flight",), ("committed",)}, listed
        assert {c.identity for c in store.changed_records()} == listed
        store.rollback(token)
        assert store.fingerprint() == original
        assert execute(my_dsn, "SELECT name FROM names") == []
    finally:
        store.teardown()
