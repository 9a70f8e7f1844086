"""The fallback rollback, for a role that may not SET session_replication_role: a non-superuser
owning the tables runs the store, another unprivileged role writes (the trigger functions run
as the writer), and deferrable foreign keys let the log replay in any order."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from _support_postgres import database_content, execute, write_from_other_process
from venomqa.errors import LeftoversRepaired, VenomQAWarning
from venomqa_postgres import PostgresStore

SCHEMA = """
CREATE TABLE parent (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE child (
    id serial PRIMARY KEY,
    parent_id integer NOT NULL REFERENCES parent(id)
        ON DELETE CASCADE ON UPDATE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
    note text
);
INSERT INTO parent (name) VALUES ('p1'), ('p2');
INSERT INTO child (parent_id, note) VALUES (1, 'c1'), (1, 'c2'), (2, 'c3');
"""

BRANCH = [
    "DELETE FROM parent WHERE id = 1",  # cascades to c1, c2
    "INSERT INTO parent (name) VALUES ('p3')",
    "INSERT INTO child (parent_id, note) VALUES (3, 'c4')",
    "UPDATE child SET parent_id = 3 WHERE note = 'c3'",
    "UPDATE parent SET id = 20 WHERE id = 2",  # cascades to no child now
    "UPDATE parent SET id = 30 WHERE id = 3",  # cascades to c3, c4
]


@pytest.fixture
def roles(pg_dsn: str) -> Iterator[tuple[str, str, str]]:
    """(admin dsn, owner dsn, writer dsn): the tables belong to a non-superuser owner."""
    suffix = pg_dsn.rsplit("_", 1)[1]
    owner, writer = f"vq_owner_{suffix}", f"vq_writer_{suffix}"
    database = pg_dsn.rsplit("/", 1)[1]
    execute(pg_dsn, SCHEMA)
    execute(pg_dsn, f"CREATE ROLE {owner} LOGIN")
    execute(pg_dsn, f"CREATE ROLE {writer} LOGIN")
    try:
        execute(pg_dsn, f"GRANT CREATE ON DATABASE {database} TO {owner}")
        execute(pg_dsn, f"ALTER TABLE parent OWNER TO {owner}")
        execute(pg_dsn, f"ALTER TABLE child OWNER TO {owner}")
        execute(pg_dsn, f"GRANT SELECT, INSERT, UPDATE, DELETE ON parent, child TO {writer}")
        execute(pg_dsn, f"GRANT USAGE ON parent_id_seq, child_id_seq TO {writer}")
        yield (
            pg_dsn,
            pg_dsn.replace("postgres@", f"{owner}@"),
            pg_dsn.replace("postgres@", f"{writer}@"),
        )
    finally:
        for role in (owner, writer):
            execute(pg_dsn, f"REASSIGN OWNED BY {role} TO postgres")
            execute(pg_dsn, f"DROP OWNED BY {role}")
            execute(pg_dsn, f"DROP ROLE {role}")


def test_fallback_rollback_as_a_non_superuser_owner(roles: tuple[str, str, str]) -> None:
    admin, owner, writer = roles
    before = database_content(admin)
    store = PostgresStore(dsn=owner)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.setup()
    assert any(
        "may not SET session_replication_role" in str(w.message)
        and issubclass(w.category, VenomQAWarning)
        and not issubclass(w.category, LeftoversRepaired)
        for w in caught
    )
    try:
        start = store.fingerprint()
        token = store.checkpoint()
        write_from_other_process(writer, *BRANCH)
        assert execute(admin, "SELECT count(*) FROM child WHERE parent_id = 30") == [(2,)]
        assert store.fingerprint() != start
        store.rollback(token)
        assert _rows_and_sequences(admin) == _rows_and_sequences(before)
        assert store.fingerprint() == start
        # the rolled-back state is consistent and ids repeat
        write_from_other_process(writer, "INSERT INTO parent (name) VALUES ('again')")
        assert execute(admin, "SELECT id FROM parent WHERE name = 'again'") == [(3,)]
        write_from_other_process(owner, "DELETE FROM parent WHERE id = 1")
        store.rollback(token)
        assert _rows_and_sequences(admin) == _rows_and_sequences(before)
    finally:
        store.teardown()
    assert database_content(admin) == before


def _rows_and_sequences(content: str | dict[str, object]) -> dict[str, object]:
    data = database_content(content) if isinstance(content, str) else content
    return {
        k: v for k, v in data.items() if k.startswith(("rows ", "seq ")) and "_venomqa" not in k
    }
