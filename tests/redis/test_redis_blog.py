"""Exploring an API whose stored state is never byte-identical twice, with no configuration, on
the Redis store.

The blog demo API (``venomqa.demo.blog``, a separate process) runs on ``_support_redis_blog``:
``user:<uuid>`` hashes with salted hashes and timestamps, a ``user-name:<name>`` index holding
user ids, ``session:<jti>`` hashes with a TTL, ``post:<uuid>`` and ``comment:<uuid>`` JSON
strings with random checksums and timestamps; logins hand out JWTs. The ids live in key names
and, as foreign keys, in other records' values. Every test compares what the explorer finds
with the independent abstract model in ``tests/shared/blog_model.py`` (the same number of
states, the seeded bugs with the model's shortest path lengths, on paths that are real in the
model) and the database with what it held before: every key, type, value and TTL flag, and the
server's ``notify-keyspace-events``. The SQLite version is ``tests/core/test_messy_api.py``.

The ids live only inside key names here (``post:<uuid>``), so a deleted post's id must be
recognised as gone from the shape of the ids found in key names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _support_redis import picture
from blog_model import ALL_STATES, SEEDED, assert_matches_model, model_bfs
from click.testing import CliRunner
from conftest import E2E_DB, redis_url
from venomqa.cli.main import cli
from venomqa.demo.blog import start_blog_server
from venomqa.demo.blog.checks import ACTIONS, INVARIANTS
from venomqa.explorer import explore
from venomqa.models import ExplorationResult
from venomqa.testing.server import ApiProcess
from venomqa.world import World
from venomqa_redis import RedisStore

URL = redis_url(E2E_DB)
HERE = Path(__file__).parent
CAROL = "11111111-aaaa-4bbb-8ccc-000000000001"

#: Everything the API makes up, as ``ignore:`` would declare it for the store ``cache``.
IGNORE = {
    "cache": [
        "user.@key",
        "user.password_hash",
        "user.created_at",
        "session.@key",
        "session.created_at",
        "session.expires_at",
        "post.@key",
        "post.checksum",
        "post.created_at",
        "post.updated_at",
        "comment.@key",
        "comment.created_at",
    ]
}
IGNORE_CONTEXT = ["*_token"]
#: Fields that hold another record's id: references, never volatile themselves.
REFERENCES = ("author_id", "post_id", "user_id", "alice_id", "bob_id", "comment_id")


def references_in(specs: Any) -> set[str]:
    """The learned specs that are references to another record's id (or the name index)."""
    return {spec for spec in specs if spec.endswith(REFERENCES) or spec.startswith("user-name")}


def no_reference_learned(specs: Any) -> None:
    """No reference to another record's id (nor the name index) was learned as volatile."""
    references = references_in(specs)
    assert not references, sorted(references)


@pytest.fixture
def blog(e2e_db: Any) -> Iterator[ApiProcess]:
    """The blog on database 12, with a user (and her session) who were there before."""
    e2e_db.hset(
        f"user:{CAROL}",
        mapping={
            "name": "carol",
            "password_hash": "pbkdf2:sha256:1000$00$00",
            "created_at": "2020-01-01T00:00:00+00:00",
        },
    )
    e2e_db.set("user-name:carol", CAROL)
    e2e_db.hset(
        "session:carols-jti-0000",
        mapping={
            "user_id": CAROL,
            "created_at": "2020-01-01T00:00:00+00:00",
            "expires_at": "2020-01-01T01:00:00+00:00",
        },
    )
    e2e_db.expire("session:carols-jti-0000", 3600)
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    storage = f"_support_redis_blog:open_storage:{URL}"
    with start_blog_server(storage, env={"PYTHONPATH": path}) as server:
        yield server


def state_of(client: Any) -> tuple[Any, ...]:
    """The database (every key, type, value, TTL flag) and the server's key-event setting."""
    return picture(client), client.config_get("notify-keyspace-events")


def run(server: ApiProcess, **options: Any) -> ExplorationResult:
    world = World(server.url, stores={"cache": RedisStore(url=URL)})
    try:
        return explore(world, ACTIONS, INVARIANTS, **options)
    finally:
        world.api.close()


def test_the_storage_keeps_what_a_redis_api_keeps(blog: ApiProcess, e2e_db: Any) -> None:
    """The records really are messy: ids in key names, hashes, JSON strings, a TTL."""
    with httpx.Client(base_url=blog.url, timeout=10) as api:
        alice = api.post("/users", json={"name": "alice", "password": "pw"}).json()["id"]
        assert api.post("/users", json={"name": "alice", "password": "x"}).status_code == 409
        token = api.post("/login", json={"name": "alice", "password": "pw"}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        post = api.post("/posts", json={"title": "t", "body": "b"}, headers=auth).json()["id"]
        api.post(f"/posts/{post}/comments", json={"text": "c"}, headers=auth)
        assert api.patch(f"/posts/{post}", json={"title": "u"}, headers=auth).status_code == 200
        assert [p["title"] for p in api.get("/posts").json()] == ["u"]

    assert e2e_db.get("user-name:alice") == alice.encode()
    user = e2e_db.hgetall(f"user:{alice}")
    assert set(user) == {b"name", b"password_hash", b"created_at"}
    (session,) = [k for k in e2e_db.scan_iter(match="session:*") if b"carols" not in k]
    assert e2e_db.hget(session, "user_id") == alice.encode()
    assert 0 < e2e_db.ttl(session) <= 3600
    stored = json.loads(e2e_db.get(f"post:{post}"))
    assert set(stored) == {"author_id", "title", "body", "checksum", "created_at", "updated_at"}
    assert (stored["author_id"], stored["title"]) == (alice, "u")
    (comment,) = e2e_db.scan_iter(match="comment:*")
    assert json.loads(e2e_db.get(comment))["post_id"] == post


@pytest.mark.parametrize("depth", [6, 9])
def test_bfs_with_no_configuration_counts_the_models_states(
    blog: ApiProcess, e2e_db: Any, depth: int
) -> None:
    before = state_of(e2e_db)
    result = run(blog, max_depth=depth)

    assert_matches_model(result, depth)
    assert result.stop_reason == ("max_depth" if depth == 6 else "exhausted")
    learned = {(v.where, v.spec) for v in result.learned}
    for spec in IGNORE["cache"]:
        assert ("stores.cache.ignore", spec) in learned, (spec, sorted(learned))
    assert ("context.ignore", "alice_token") in learned
    assert not references_in(v.spec for v in result.learned if v.where != "context.ignore")
    assert any(line.startswith("stores.cache.ignore: [") for line in result.to_dict()["pin"])
    orphaned = next(v for v in result.violations if v.invariant == "comments_belong_to_posts")
    urls = [step.requests[-1].url for step in orphaned.steps]
    assert urls[-1].endswith(urls[-2].removesuffix("/comments").split("/posts")[-1])
    assert state_of(e2e_db) == before
    no_reference_learned(v.spec for v in result.learned)


def test_dfs_with_no_configuration_counts_the_models_states(blog: ApiProcess, e2e_db: Any) -> None:
    before = state_of(e2e_db)
    result = run(blog, strategy="dfs", max_depth=ALL_STATES)

    assert_matches_model(result, ALL_STATES)
    assert result.stop_reason == "exhausted"
    assert state_of(e2e_db) == before


def test_declared_volatile_fields_give_the_same_states_without_learning(
    blog: ApiProcess, e2e_db: Any
) -> None:
    before = state_of(e2e_db)
    result = run(blog, max_depth=6, ignore=IGNORE, ignore_context=IGNORE_CONTEXT, learn=False)

    assert result.states == len(model_bfs(6))
    assert result.learned == []
    assert result.restarts == 0
    assert {v.spec for v in result.volatile} == {*IGNORE["cache"], *IGNORE_CONTEXT}
    assert state_of(e2e_db) == before
    assert_matches_model(result, 6)


def test_venomqa_run_reports_what_it_learned(blog: ApiProcess, e2e_db: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    config = project / "venomqa.yaml"
    config.write_text(
        f"target: {blog.url}\n"
        "actions: [venomqa.demo.blog.checks]\n"
        f"stores:\n  cache: {{adapter: redis, url: '{URL}'}}\n"
        "explore: {max_depth: 6}\n"
        "reports: [{format: json, path: report.json}]\n"
    )
    before = state_of(e2e_db)
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])

    assert result.exit_code == 1, result.output
    report = json.loads((project / "report.json").read_text())
    assert report["states"] == len(model_bfs(6))
    assert {v["invariant"] for v in report["violations"]} == SEEDED
    volatile = report["exploration"]["volatile"]
    learned = {v["spec"] for v in volatile}
    assert set(IGNORE["cache"]) <= learned, sorted(learned)
    assert {"alice_token"} <= {v["spec"] for v in volatile if v["where"] == "context.ignore"}
    assert not references_in(v["spec"] for v in volatile if v["where"] != "context.ignore")
    pins = report["exploration"]["pin"]
    assert any(line.startswith("stores.cache.ignore: [") and "post.@key" in line for line in pins)
    assert "Learned volatile values" in result.output
    assert state_of(e2e_db) == before

    replayed = CliRunner().invoke(cli, ["replay", str(project / "report.json"), "-c", str(config)])
    assert "only_authors_delete_posts is still violated" in replayed.output, replayed.output
    assert state_of(e2e_db) == before
    no_reference_learned(learned)
