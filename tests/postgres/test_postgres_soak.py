"""Done when: a thousand random, nested, verified rollbacks (``venomqa.testing.soak_rollbacks``)
through the notes API served by its own process (uuid keys made by the API and by the
database, ``DEFAULT now()`` timestamps, SERIAL label ids) each restore exactly what the store
held at their checkpoint (by the store's records and by its audit, a full read of the tables and
sequences), and the whole database (rows, sequences, schemas, triggers, functions)
is as it was afterwards; an exploration with ``verify_rollback=True`` finds the model's states
with every rollback checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _support_postgres import database_content, execute
from _support_postgres_notes import ACTIONS, ALL_ACTIONS, model_states, notes_api
from venomqa import World, explore
from venomqa.errors import RollbackDriftError
from venomqa.testing import soak_rollbacks
from venomqa.testing.server import ApiProcess
from venomqa_postgres import PostgresStore


@pytest.fixture
def notes(pg_dsn: str) -> Iterator[tuple[ApiProcess, str]]:
    with notes_api(pg_dsn) as server:
        yield server, pg_dsn


def test_a_thousand_verified_rollbacks_through_the_notes_api(
    notes: tuple[ApiProcess, str],
) -> None:
    server, dsn = notes
    before = database_content(dsn)
    world = World(server.url, stores={"db": PostgresStore(dsn=dsn)})
    try:
        result = soak_rollbacks(world, ALL_ACTIONS, rollbacks=1000, seed=11)
    finally:
        world.api.close()

    assert result.rollbacks == 1000
    assert result.errors == 0
    assert result.actions >= 500 and result.deepest >= 4, result
    assert database_content(dsn) == before


def test_an_exploration_with_every_rollback_verified(notes: tuple[ApiProcess, str]) -> None:
    server, dsn = notes
    before = database_content(dsn)
    world = World(server.url, stores={"db": PostgresStore(dsn=dsn)})
    try:
        result = explore(world, ACTIONS, max_depth=4, verify_rollback=True)
    finally:
        world.api.close()

    assert result.states == model_states(4)
    assert result.violations == [], [v.message for v in result.violations]
    assert database_content(dsn) == before


def test_verify_rollback_reads_the_tables_afresh_not_only_the_undo_log(pg_dsn: str) -> None:
    """A change that bypasses the triggers (as a broken undo would leave one) is invisible to
    the store's log-based fingerprint and records; the audit reads the tables and sequences
    themselves, so the rollback check catches it and names the table."""
    store = PostgresStore(dsn=pg_dsn)
    execute(pg_dsn, "CREATE TABLE tallies (id serial PRIMARY KEY, n int NOT NULL)")
    execute(pg_dsn, "INSERT INTO tallies (n) VALUES (1)")
    with World("http://127.0.0.1:9", stores={"db": store}) as world:
        world.verify_rollback = True
        checkpoint = world.checkpoint()
        fingerprint = store.fingerprint()
        execute(pg_dsn, "SET session_replication_role = replica; UPDATE tallies SET n = 2")
        assert store.fingerprint() == fingerprint and store.changed_records() == ()
        with pytest.raises(RollbackDriftError) as raised:
            world.rollback(checkpoint)
        execute(pg_dsn, "SET session_replication_role = replica; UPDATE tallies SET n = 1")
        world.rollback(checkpoint)  # put back by hand: now it verifies
    assert "read afresh, table public.tallies differ(s)" in str(raised.value)
