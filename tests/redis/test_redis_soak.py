"""Verified rollbacks on Redis, for real: ``soak_rollbacks`` makes a thousand random rollbacks
through the sessions API process (uuid keys, ISO timestamps, sessions with a TTL), each checked
against what the store held at its checkpoint, and the database ends exactly as it began; an
exploration with ``verify_rollback=True`` finds what an unverified one finds, with no drift."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_redis import full_dump
from conftest import E2E_DB, redis_url
from venomqa import World, action, explore, invariant
from venomqa.testing import soak_rollbacks
from venomqa.testing.server import ApiProcess, start_api_process
from venomqa_redis import RedisStore

URL = redis_url(E2E_DB)
SERVER = Path(__file__).with_name("_support_redis_sessions_api.py")
CAROL = "0c7a1b2e-4f3d-4a5b-9c8d-7e6f5a4b3c2d"
NAMES = ["ada", "bea", "cy"]


class CountingRedisStore(RedisStore):
    """The real Redis store, counting its rollbacks."""

    rollbacks = 0

    def rollback(self, token: Any) -> None:
        super().rollback(token)
        self.rollbacks += 1


# -- actions: several users, several sessions each ------------------------------------------------


@action(requires=lambda ctx: len(ctx.get("users", [])) < len(NAMES))
def register(api: Any, ctx: Any) -> Any:
    users = list(ctx.get("users", []))
    response = api.post("/users", json={"name": NAMES[len(users)]})
    ctx["users"] = [*users, response.json()["id"]]
    return response


@action(requires=lambda ctx: bool(ctx.get("users")))
def log_in(api: Any, ctx: Any) -> Any:
    users = ctx["users"]
    tokens = list(ctx.get("tokens", []))
    response = api.post("/sessions", json={"user": users[len(tokens) % len(users)]})
    ctx["tokens"] = [*tokens, response.json()["token"]]
    return response


@action(requires=lambda ctx: bool(ctx.get("tokens")))
def log_out(api: Any, ctx: Any) -> Any:
    *kept, token = ctx["tokens"]
    ctx["tokens"] = kept
    return api.delete("/sessions/current", headers={"Authorization": f"Bearer {token}"})


@action(requires=lambda ctx: bool(ctx.get("tokens")))
def rename(api: Any, ctx: Any) -> Any:
    ctx["renames"] = ctx.get("renames", 0) + 1
    name = f"renamed-{ctx['renames'] % 2}"
    auth = {"Authorization": f"Bearer {ctx['tokens'][-1]}"}
    return api.patch("/users/me", json={"name": name}, headers=auth)


@action
def carol_logs_out(api: Any, ctx: Any) -> Any:
    return api.delete("/sessions/current", headers={"Authorization": "Bearer carols-token"})


ACTIONS = [register, log_in, log_out, rename, carol_logs_out]


@invariant
def every_session_names_a_user(world: Any) -> bool:
    cache = world.stores["cache"]
    return all(cache.get(f"user:{session['user']}") for session in _sessions(cache))


def _sessions(cache: Any) -> list[Any]:
    return [json.loads(cache.get(key)) for key in cache.keys("session:*")]


@pytest.fixture
def api(e2e_db: Any) -> Iterator[ApiProcess]:
    e2e_db.hset(f"user:{CAROL}", mapping={"name": "carol", "created_at": "2020-01-01T00:00:00Z"})
    e2e_db.hset("users:by-name", "carol", CAROL)
    e2e_db.set("session:carols-token", f'{{"user": "{CAROL}"}}', ex=3600)
    e2e_db.rpush("audit", "created carol")
    with start_api_process([sys.executable, str(SERVER), "--url", URL]) as server:
        yield server


def test_a_thousand_verified_rollbacks_on_the_sessions_api(
    api: ApiProcess, e2e_db: Any, tmp_path: Path
) -> None:
    before = full_dump(e2e_db)
    store = CountingRedisStore(url=URL, state_dir=str(tmp_path))
    world = World(api.url, stores={"cache": store})
    try:
        soaked = soak_rollbacks(world, ACTIONS, rollbacks=1000, seed=11)
    finally:
        world.api.close()

    assert soaked.rollbacks == 1000
    assert store.rollbacks >= 1000  # every one verified (plus the session's final one)
    assert soaked.actions > 1000 and soaked.deepest >= 5
    assert soaked.actions - soaked.errors > 500  # mostly real writes, not refused calls
    assert full_dump(e2e_db) == before
    assert list(tmp_path.iterdir()) == []  # the journal is gone


def test_the_explorer_verifies_every_rollback_when_asked(
    api: ApiProcess, e2e_db: Any, tmp_path: Path
) -> None:
    before = full_dump(e2e_db)
    store = CountingRedisStore(url=URL, state_dir=str(tmp_path))
    world = World(api.url, stores={"cache": store})
    plain_world = World(api.url, stores={"cache": RedisStore(url=URL, state_dir=str(tmp_path))})
    try:
        verified = explore(
            world, ACTIONS, [every_session_names_a_user], max_depth=6, verify_rollback=True
        )
        plain = explore(plain_world, ACTIONS, [every_session_names_a_user], max_depth=6)
    finally:
        world.api.close()
        plain_world.api.close()

    assert store.rollbacks > 100
    assert verified.stop_reason == plain.stop_reason
    assert (verified.states, len(verified.violations)) == (plain.states, len(plain.violations))
    assert not [v for v in verified.violations if v.kind == "rollback_drift"]
    assert full_dump(e2e_db) == before


class BlindRedisStore(RedisStore):
    """The real store whose own bookkeeping sees no change (a fingerprint and records that never
    move) and whose rollbacks do nothing: only reading the keys afresh can tell."""

    def fingerprint(self) -> str:
        return "0" * 16

    def changed_records(self) -> list[Any]:
        return []

    def rollback(self, token: Any) -> None:
        """Forget to undo anything."""


def test_verify_rollback_reads_the_keys_afresh_not_only_the_shadow(
    e2e_db: Any, tmp_path: Path
) -> None:
    from venomqa.errors import RollbackDriftError

    e2e_db.set("counter", "1")
    store = BlindRedisStore(url=URL, state_dir=str(tmp_path / "state"))
    with World("http://127.0.0.1:9", stores={"cache": store}) as world:
        world.verify_rollback = True
        checkpoint = world.checkpoint()
        e2e_db.set("counter", "2")
        e2e_db.set("stray", "x")
        with pytest.raises(RollbackDriftError) as raised:
            world.rollback(checkpoint)
        e2e_db.set("counter", "1")
        e2e_db.delete("stray")
    message = str(raised.value)
    assert "read afresh, key counter, key stray differ(s) from the checkpoint" in message
