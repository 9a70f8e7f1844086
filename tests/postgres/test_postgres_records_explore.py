"""Done when: ``venomqa.explore`` over an API process on PostgreSQL whose rows get uuid4 primary
keys and ``created_at DEFAULT now()`` timestamps (``_support_postgres_notes_api.py``) finds
exactly the states of an independent model, learning what is volatile from the store's changed
records (or told it), reports no nondeterminism, and leaves the database as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _support_postgres import database_content
from _support_postgres_notes import ACTIONS, model_states, notes_api
from venomqa import World, explore
from venomqa.models import ExplorationResult
from venomqa.testing.server import ApiProcess
from venomqa_postgres import PostgresStore

MAX_DEPTH = 4
#: Everything the API makes up, as ``ignore:`` would declare it for the store ``db``.
IGNORE = [
    "notes.id",
    "notes.created_at",
    "notes.finished_at",
    "comments.id",
    "comments.created_at",
]


def test_model_is_sane() -> None:
    assert model_states(1) == 2
    assert model_states(2) == 5  # (), (p0), (d0), (p1), (p0, p0)


@pytest.fixture
def api(pg_dsn: str) -> Iterator[tuple[ApiProcess, str]]:
    with notes_api(pg_dsn) as server:
        yield server, pg_dsn


def run(server: ApiProcess, dsn: str, **options: Any) -> ExplorationResult:
    world = World(server.url, stores={"db": PostgresStore(dsn=dsn)})
    try:
        return explore(world, ACTIONS, max_depth=MAX_DEPTH, **options)
    finally:
        world.api.close()


def test_explore_learns_uuid_keys_and_timestamps_and_counts_the_models_states(
    api: tuple[ApiProcess, str],
) -> None:
    server, dsn = api
    before = database_content(dsn)
    result = run(server, dsn)

    assert result.states == model_states(MAX_DEPTH), [v.spec for v in result.volatile]
    assert result.violations == [], [v.message for v in result.violations]
    volatile = {v.spec for v in result.volatile if v.where.startswith("stores.db")}
    assert {"notes.id", "comments.id"} <= volatile, sorted(volatile)
    assert not {"notes.title", "notes.done", "comments.body"} & volatile, sorted(volatile)
    assert database_content(dsn) == before


def test_declared_volatile_fields_give_the_same_states_without_learning(
    api: tuple[ApiProcess, str],
) -> None:
    server, dsn = api
    result = run(server, dsn, ignore={"db": IGNORE}, learn=False)

    assert result.states == model_states(MAX_DEPTH)
    assert result.violations == [], [v.message for v in result.violations]
