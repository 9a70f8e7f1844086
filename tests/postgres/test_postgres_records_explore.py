"""Done when: ``venomqa.explore`` over an API process on PostgreSQL whose rows get uuid4 primary
keys and ``created_at DEFAULT now()`` timestamps (``_support_postgres_notes_api.py``) finds
exactly the states of an independent model, learning what is volatile from the store's changed
records (or told it), reports no nondeterminism, and leaves the database as it was."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_postgres import database_content
from venomqa import World, action, explore
from venomqa.models import ExplorationResult
from venomqa.testing.server import ApiProcess, start_api_process
from venomqa_postgres import PostgresStore

SERVER = Path(__file__).with_name("_support_postgres_notes_api.py")
MAX_DEPTH = 4
#: Everything the API makes up, as ``ignore:`` would declare it for the store ``db``.
IGNORE = [
    "notes.id",
    "notes.created_at",
    "notes.finished_at",
    "comments.id",
    "comments.created_at",
]


@action(requires=lambda ctx: len(ctx.get("notes", [])) < 2)
def create_note(api: Any, ctx: Any) -> Any:
    notes = ctx.get("notes", [])
    response = api.post("/notes", json={"title": f"note {len(notes) + 1}"})
    ctx["notes"] = [*notes, response.json()["id"]]
    return response


@action(requires=lambda ctx: bool(ctx.get("notes")))
def finish_note(api: Any, ctx: Any) -> Any:
    return api.post(f"/notes/{ctx['notes'][-1]}/done")


@action(requires=lambda ctx: bool(ctx.get("notes")))
def comment_note(api: Any, ctx: Any) -> Any:
    return api.post(f"/notes/{ctx['notes'][-1]}/comments", json={"body": "hi"})


@action(requires=lambda ctx: bool(ctx.get("notes")))
def delete_note(api: Any, ctx: Any) -> Any:
    *rest, latest = ctx["notes"]
    response = api.delete(f"/notes/{latest}")
    if rest:
        ctx["notes"] = rest
    else:
        del ctx["notes"]  # the context as it was before the first note
    return response


ACTIONS = [create_note, finish_note, comment_note, delete_note]

# -- the independent model: each note (in creation order) as (done, comments) ------------------

Notes = tuple[tuple[bool, int], ...]


def _step(state: Notes, name: str) -> Notes | None:
    if name == "create_note":
        return (*state, (False, 0)) if len(state) < 2 else None
    if not state:
        return None
    *rest, (done, comments) = state
    if name == "finish_note":
        return (*rest, (True, comments))
    if name == "comment_note":
        return (*rest, (done, comments + 1))
    return tuple(rest)


def model_states(max_depth: int) -> int:
    depth: dict[Notes, int] = {(): 0}
    frontier = deque([()])
    while frontier:
        state: Notes = frontier.popleft()
        if depth[state] == max_depth:
            continue
        for fn in ACTIONS:
            target = _step(state, fn.name)
            if target is not None and target not in depth:
                depth[target] = depth[state] + 1
                frontier.append(target)
    return len(depth)


def test_model_is_sane() -> None:
    assert model_states(1) == 2
    assert model_states(2) == 5  # (), (p0), (d0), (p1), (p0, p0)


@pytest.fixture
def api(pg_dsn: str) -> Iterator[tuple[ApiProcess, str]]:
    with start_api_process(
        [sys.executable, str(SERVER), "--dsn", pg_dsn], what="postgres notes API"
    ) as server:
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
