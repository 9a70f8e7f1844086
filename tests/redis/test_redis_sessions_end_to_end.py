"""Done when: ``venomqa.explore`` over an API process that stores ``session:<uuid4 token>`` keys
and ``user:<uuid4>`` hashes with ISO timestamps (``_support_redis_sessions_api.py``) finds
exactly the states of an independent model, with no configuration (it learns what is volatile
from the Redis store's changed records) and with the volatile fields declared instead, reports
no nondeterminism, and leaves the database as it was."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from _support_redis import picture
from conftest import E2E_DB, redis_url
from venomqa import World, action, explore, invariant
from venomqa.models import ExplorationResult
from venomqa.testing.server import ApiProcess, start_api_process
from venomqa_redis import RedisStore

URL = redis_url(E2E_DB)
SERVER = Path(__file__).with_name("_support_redis_sessions_api.py")
CAROL = "0c7a1b2e-4f3d-4a5b-9c8d-7e6f5a4b3c2d"

#: Everything the API makes up, as ``ignore:`` would declare it for the store ``cache``.
IGNORE = [
    "user.@key",
    "user.created_at",
    "session.@key",
    "session.issued_at",
]


# -- actions, as a user would write them ---------------------------------------------------------


@action(requires=lambda ctx: "user" not in ctx)
def register_ada(api: Any, ctx: Any) -> Any:
    response = api.post("/users", json={"name": "ada"})
    ctx["user"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "user" in ctx and "token" not in ctx)
def log_in(api: Any, ctx: Any) -> Any:
    response = api.post("/sessions", json={"user": ctx["user"]})
    ctx["token"] = response.json()["token"]
    return response


@action(requires=lambda ctx: "token" in ctx)
def log_out(api: Any, ctx: Any) -> Any:
    response = api.delete("/sessions/current", headers=_auth(ctx))
    del ctx["token"]
    return response


@action(requires=lambda ctx: "token" in ctx)
def rename_to_bea(api: Any, ctx: Any) -> Any:
    return api.patch("/users/me", json={"name": "bea"}, headers=_auth(ctx))


@action(requires=lambda ctx: "token" in ctx)
def rename_to_ada(api: Any, ctx: Any) -> Any:
    return api.patch("/users/me", json={"name": "ada"}, headers=_auth(ctx))


def _auth(ctx: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx['token']}"}


@invariant
def one_session_per_login(world: Any) -> bool:
    sessions = world.stores["cache"].keys("session:*")
    return len(sessions) == 1 + ("token" in world.ctx)  # carol's, plus ours while logged in


ACTIONS = [register_ada, log_in, log_out, rename_to_bea, rename_to_ada]


# -- the independent model -----------------------------------------------------------------------


class Account(NamedTuple):
    registered: bool
    logged_in: bool
    name: str


def _step(state: Account, name: str) -> Account | None:
    """The model's next state, or None when the action is not enabled."""
    if name == "register_ada":
        return Account(True, False, "ada") if not state.registered else None
    if name == "log_in":
        return state._replace(logged_in=True) if state.registered and not state.logged_in else None
    if not state.logged_in:
        return None
    if name == "log_out":
        return state._replace(logged_in=False)
    return state._replace(name="bea" if name == "rename_to_bea" else "ada")


def model_states(max_depth: int) -> int:
    root = Account(False, False, "")
    depth = {root: 0}
    frontier = deque([root])
    while frontier:
        state = frontier.popleft()
        if depth[state] == max_depth:
            continue
        for fn in ACTIONS:
            target = _step(state, fn.name)
            if target is not None and target not in depth:
                depth[target] = depth[state] + 1
                frontier.append(target)
    return len(depth)


MAX_DEPTH = 6


def test_model_is_sane() -> None:
    assert model_states(MAX_DEPTH) == 5
    assert model_states(3) == 4  # a logged-out bea needs four steps


# -- the runs ------------------------------------------------------------------------------------


@pytest.fixture
def api(e2e_db: Any) -> Iterator[ApiProcess]:
    e2e_db.hset(f"user:{CAROL}", mapping={"name": "carol", "created_at": "2020-01-01T00:00:00Z"})
    e2e_db.hset("users:by-name", "carol", CAROL)
    e2e_db.set("session:carols-session-token", f'{{"user": "{CAROL}"}}', ex=3600)
    command = [sys.executable, str(SERVER), "--url", URL]
    with start_api_process(command, what="redis sessions API") as server:
        yield server


def run(server: ApiProcess, max_depth: int, **options: Any) -> ExplorationResult:
    world = World(server.url, stores={"cache": RedisStore(url=URL)})
    try:
        return explore(world, ACTIONS, [one_session_per_login], max_depth=max_depth, **options)
    finally:
        world.api.close()


def test_explore_learns_what_is_volatile_and_counts_the_models_states(
    api: ApiProcess, e2e_db: Any
) -> None:
    before = picture(e2e_db)
    result = run(api, MAX_DEPTH)

    assert result.states == model_states(MAX_DEPTH), [v.spec for v in result.volatile]
    assert result.violations == [], [v.message for v in result.violations]
    learned = {v.spec for v in result.learned if v.where == "stores.cache.ignore"}
    assert set(IGNORE) <= learned, sorted(learned)
    assert not any(spec.startswith("users.") for spec in learned), sorted(learned)
    assert picture(e2e_db) == before


def test_declared_volatile_fields_give_the_same_states_without_learning(
    api: ApiProcess, e2e_db: Any
) -> None:
    before = picture(e2e_db)
    result = run(api, MAX_DEPTH, ignore={"cache": IGNORE}, learn=False)

    assert result.states == model_states(MAX_DEPTH)
    assert result.violations == [], [v.message for v in result.violations]
    assert result.learned == []
    assert picture(e2e_db) == before


def test_without_declarations_or_learning_every_token_is_a_new_state(
    api: ApiProcess, e2e_db: Any
) -> None:
    """The control: with nothing left out, a second session (log in, rename, log out, log in
    again: a new token, a new issued_at) is a new state."""
    result = run(api, MAX_DEPTH, learn=False)

    assert result.volatile == []
    assert result.states > model_states(MAX_DEPTH)
