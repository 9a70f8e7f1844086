"""The PostgreSQL store against a real server: every kind of table and write the issue names,
made by another process, is undone exactly, sequences included; setup/teardown leave no trace."""

from __future__ import annotations

import subprocess
import sys
import warnings

import psycopg
import pytest
from _support_postgres import database_content, execute, write_from_other_process
from venomqa.errors import LeftoversRepaired, StoreError, StorePermissionError
from venomqa_postgres import PostgresStore

SCHEMA = r"""
CREATE TABLE author (
    id serial PRIMARY KEY,
    name text NOT NULL,
    favourite_book integer
);
CREATE TABLE book (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id integer NOT NULL REFERENCES author(id) ON DELETE CASCADE ON UPDATE CASCADE,
    title text,
    meta jsonb,
    tags text[],
    cover bytea,
    price numeric(10, 2),
    ratio double precision,
    title_upper text GENERATED ALWAYS AS (upper(title)) STORED
);
ALTER TABLE author ADD CONSTRAINT fav FOREIGN KEY (favourite_book) REFERENCES book(id)
    DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE shelf (room text, slot integer, label text, PRIMARY KEY (room, slot));
CREATE TABLE audit (event text, at_id integer);
CREATE TABLE counter (n integer NOT NULL);
CREATE FUNCTION audit_book() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit VALUES (TG_OP, coalesce(NEW.id, OLD.id));
  UPDATE counter SET n = n + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER book_audit AFTER INSERT OR UPDATE OR DELETE ON book
    FOR EACH ROW EXECUTE FUNCTION audit_book();
CREATE SEQUENCE free_standing;
INSERT INTO counter VALUES (0);
INSERT INTO author (name) VALUES ('Ann'), ('Bob');
INSERT INTO book (author_id, title, meta, tags, cover, price, ratio) VALUES
    (1, 'First', '{"k": [1, null, "x"]}', '{a,"b c",NULL}', '\x00ff10', 12.50, 0.1),
    (2, NULL, NULL, NULL, NULL, NULL, 1e-300);
UPDATE author SET favourite_book = 1 WHERE id = 1;
INSERT INTO shelf VALUES ('r1', 1, 'top'), ('r1', 2, NULL);
INSERT INTO audit VALUES ('seed', NULL), ('seed', NULL);
SELECT nextval('free_standing');
"""

BRANCH = [
    "INSERT INTO author (name) VALUES ('Cid')",
    "INSERT INTO book (author_id, title, meta, tags, cover) "
    "VALUES (3, 'New', '[1, 2]', '{}', '\\x')",
    "UPDATE book SET meta = jsonb_set(meta, '{k}', '\"changed\"'), cover = '\\xdead', "
    "ratio = 'NaN' WHERE id = 1",
    "DELETE FROM author WHERE id = 2",  # cascades to book 2
    "UPDATE shelf SET slot = 3 WHERE room = 'r1' AND slot = 1",  # changes a primary key
    "UPDATE author SET id = 20 WHERE id = 3",
    "DELETE FROM audit WHERE ctid = (SELECT min(ctid) FROM audit)",  # duplicates, no key
    "INSERT INTO audit VALUES (NULL, NULL)",
    "SELECT nextval('free_standing')",
]


@pytest.fixture
def db(pg_dsn: str) -> str:
    execute(pg_dsn, SCHEMA)
    return pg_dsn


def test_rollback_undoes_every_kind_of_write_exactly(db: str) -> None:
    before = database_content(db)
    store = PostgresStore(dsn=db)
    store.setup()
    try:
        start = store.fingerprint()
        token = store.checkpoint()
        write_from_other_process(db, *BRANCH)
        assert store.fingerprint() != start
        store.rollback(token)
        assert store.fingerprint() == start
        assert _rows_and_sequences(db) == _rows_and_sequences_of(before)
        # ids repeat after the rollback: SERIAL and IDENTITY sequences were restored
        write_from_other_process(db, "INSERT INTO author (name) VALUES ('Again')")
        assert execute(db, "SELECT id FROM author WHERE name = 'Again'") == [(3,)]
        store.rollback(token)
    finally:
        store.teardown()
    assert database_content(db) == before


def test_truncate_with_cascade_and_restart_identity_is_undone(db: str) -> None:
    before = database_content(db)
    store = PostgresStore(dsn=db)
    store.setup()
    try:
        token = store.checkpoint()
        write_from_other_process(db, "TRUNCATE author, book, shelf RESTART IDENTITY CASCADE")
        assert store.observe()["book"] == 0
        store.rollback(token)
        assert _rows_and_sequences(db) == _rows_and_sequences_of(before)
    finally:
        store.teardown()
    assert database_content(db) == before


def test_nested_checkpoints_and_token_reuse(db: str) -> None:
    store = PostgresStore(dsn=db)
    store.setup()
    try:
        outer = store.checkpoint()
        at_outer = _rows_and_sequences(db)
        fp_outer = store.fingerprint()
        write_from_other_process(db, BRANCH[0], BRANCH[1])
        inner = store.checkpoint()
        at_inner = _rows_and_sequences(db)
        fp_inner = store.fingerprint()
        write_from_other_process(db, *BRANCH[2:])
        store.rollback(inner)
        assert _rows_and_sequences(db) == at_inner and store.fingerprint() == fp_inner
        write_from_other_process(db, BRANCH[3])
        store.rollback(inner)
        assert _rows_and_sequences(db) == at_inner
        store.rollback(outer)
        assert _rows_and_sequences(db) == at_outer and store.fingerprint() == fp_outer
        with pytest.raises(StoreError, match="invalidated"):
            store.rollback(inner)
    finally:
        store.teardown()


def test_fingerprint_is_equal_for_equal_contents_whatever_the_history(db: str) -> None:
    store = PostgresStore(dsn=db)
    store.setup()
    try:
        original = store.fingerprint()
        write_from_other_process(db, "UPDATE shelf SET label = 'x' WHERE slot = 2")
        changed = store.fingerprint()
        write_from_other_process(db, "UPDATE shelf SET label = NULL WHERE slot = 2")
        assert store.fingerprint() == original
        write_from_other_process(
            db, "DELETE FROM shelf WHERE slot = 2", "INSERT INTO shelf VALUES ('r1', 2, 'x')"
        )
        assert store.fingerprint() == changed
        assert store.query("SELECT label FROM shelf WHERE slot = %s", (2,)) == [{"label": "x"}]
    finally:
        store.teardown()


def test_tables_and_exclude_options(db: str) -> None:
    store = PostgresStore(dsn=db, tables=["shelf", "audit"], exclude=["audit"])
    store.setup()
    try:
        assert sorted(store.observe()) == ["shelf"]
        token = store.checkpoint()
        write_from_other_process(db, "INSERT INTO shelf VALUES ('r9', 9, 'n')")
        write_from_other_process(db, "INSERT INTO audit VALUES ('kept', 1)")
        store.rollback(token)
        assert execute(db, "SELECT count(*) FROM shelf") == [(2,)]
        assert execute(db, "SELECT count(*) FROM audit WHERE event = 'kept'") == [(1,)]
    finally:
        store.teardown()
    with pytest.raises(StoreError, match=r"public\.nope does not exist"):
        PostgresStore(dsn=db, tables=["nope"]).setup()


def test_setup_recovers_a_crashed_run(db: str) -> None:
    before = database_content(db)
    crashed = PostgresStore(dsn=db)
    crashed.setup()
    crashed.checkpoint()
    write_from_other_process(db, *BRANCH)
    assert crashed._conn is not None
    crashed._conn.close()  # the process died: no teardown
    [(logged,)] = execute(db, "SELECT count(*) FROM _venomqa.log")
    tables = len(crashed._tracked)

    store = PostgresStore(dsn=db)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.setup()
    [note] = [w for w in caught if issubclass(w.category, LeftoversRepaired)]
    assert "stopped before its clean-up" in str(note.message), str(note.message)
    # author and book got rows and free_standing a nextval: three sequences moved
    assert f"undid its {logged} logged change(s), reset 3 sequence(s)" in str(note.message)
    assert f"the triggers on {tables} table(s)" in str(note.message)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert _rows_and_sequences(db) == _rows_and_sequences_of(before)
    store.teardown()
    assert database_content(db) == before


def test_teardown_after_ctrl_c_in_a_separate_process_leaves_no_trace(db: str) -> None:
    before = database_content(db)
    script = (
        "import sys, psycopg\n"
        "from venomqa_postgres import PostgresStore\n"
        "store = PostgresStore(dsn=sys.argv[1])\n"
        "store.setup()\n"
        "try:\n"
        "    store.checkpoint()\n"
        "    with psycopg.connect(sys.argv[1], autocommit=True) as c:\n"
        "        c.execute(\"INSERT INTO author (name) VALUES ('during')\")\n"
        "    raise KeyboardInterrupt\n"
        "finally:\n"
        "    store.teardown()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, db], capture_output=True, text=True)
    assert "KeyboardInterrupt" in done.stderr
    assert database_content(db) == before


def test_a_role_without_a_privilege_is_told_which_and_where(db: str) -> None:
    role = "vq_limited_" + db.rsplit("_", 1)[1]
    execute(db, f"CREATE ROLE {role} LOGIN")
    try:
        execute(db, f"GRANT CREATE ON DATABASE {db.rsplit('/', 1)[1]} TO {role}")
        execute(db, f"GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        limited = db.replace("postgres@", f"{role}@")
        with pytest.raises(StorePermissionError, match=r"TRIGGER privilege on table public\.audit"):
            PostgresStore(dsn=limited).setup()
        assert "_venomqa" not in str(database_content(db)["schemas"])
    finally:
        execute(db, f"DROP OWNED BY {role}")
        execute(db, f"DROP ROLE {role}")


def test_options_are_checked() -> None:
    assert PostgresStore(dsn="postgresql://x/y", mode="savepoint").mode == "savepoint"
    with pytest.raises(ValueError, match="mode"):
        PostgresStore(dsn="postgresql://x/y", mode="copy")
    with pytest.raises(ValueError, match="dsn"):
        PostgresStore(dsn="")


def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    store = PostgresStore(dsn="postgresql://u:secret@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError) as info:
        store.setup()
    assert "secret" not in str(info.value) and "cannot connect to 127.0.0.1:1" in str(info.value)


def test_plugin_module_does_not_import_psycopg() -> None:
    code = (
        "import sys, venomqa_postgres.plugin as p\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported'\n"
        "print([c.name for c in p.venomqa_register_adapters()])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "['postgres']" in done.stdout


def _rows_and_sequences(dsn: str) -> dict[str, object]:
    return _rows_and_sequences_of(database_content(dsn))


def _rows_and_sequences_of(content: dict[str, object]) -> dict[str, object]:
    return {
        k: v
        for k, v in content.items()
        if (k.startswith("rows ") or k.startswith("seq ")) and "_venomqa" not in k
    }


def test_psycopg_error_type_is_wrapped(db: str) -> None:
    store = PostgresStore(dsn=db)
    store.setup()
    try:
        with pytest.raises(StoreError, match="query") as info:
            store.query("SELECT * FROM missing_table")
        assert isinstance(info.value.__cause__, psycopg.Error)
        assert store.query("SELECT 1 AS one") == [{"one": 1}]
    finally:
        store.teardown()


def test_a_second_run_on_the_same_schema_is_refused_not_repaired(db: str) -> None:
    """The first store's log and triggers are a live run's, not leftovers: the second store
    names the backend holding the schema's lock and touches nothing; afterwards it is free."""
    first, second = PostgresStore(dsn=db), PostgresStore(dsn=db)
    first.setup()
    try:
        write_from_other_process(db, *BRANCH)
        with pytest.raises(StoreError) as refused:
            second.setup()
        message = str(refused.value)
        backend = first.connection.info.backend_pid
        assert f"is in use by another VenomQA run (PostgreSQL backend {backend} " in message
        assert "(venomqa), connected since" in message
        assert first.changed_records(), "the live run still sees its changes"
    finally:
        first.teardown()
    second.setup()
    second.teardown()
