"""Done when: a thousand random, nested, verified rollbacks (``venomqa.testing.soak_rollbacks``)
through the notes API served by its own process (uuid keys made by the API and by the
database, ``DEFAULT now()`` timestamps, SERIAL label ids) each restore exactly what the store
held at their checkpoint (by the store's records and by a full read of the tables and
sequences), and the whole database (rows, sequences, schemas, triggers, functions)
is as it was afterwards; an exploration with ``verify_rollback=True`` finds the model's states
with every rollback checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _support_postgres import database_content
from _support_postgres_notes import ACTIONS, ALL_ACTIONS, ContentWitness, model_states, notes_api
from venomqa import World, explore
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
    witness = ContentWitness(dsn, ("notes", "comments", "labels"))  # the tables themselves
    world = World(server.url, stores={"db": PostgresStore(dsn=dsn), "witness": witness})
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
