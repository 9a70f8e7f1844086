"""Exploring an API whose stored state is never byte-identical twice, with no configuration, on
the PostgreSQL store: the PostgreSQL version of ``tests/core/test_messy_api.py``.

The blog demo API (``venomqa.demo.blog``, a separate process) runs on ``_support_postgres_blog``:
uuid primary and foreign keys, ``timestamptz`` columns, salted hashes, random checksums, JWTs,
written through the API's own autocommit pool. The store sees them through ``changed_records()``
(uuids and timestamps as text). Every test compares what the explorer finds with the independent
abstract model in ``tests/shared/blog_model.py``: the same number of states, the seeded bugs with
the model's shortest path lengths, paths that are real in the model, and the database exactly as
it was afterwards (catalog, rows and sequences; no ``_venomqa`` schema left).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_postgres import database_content, execute
from blog_model import (
    ALL_STATES,
    SEEDED,
    assert_matches_model,
    model_bfs,
    replay_in_model,
    shortest_violations,
)
from click.testing import CliRunner
from venomqa.cli.main import cli
from venomqa.demo.blog import start_blog_server
from venomqa.demo.blog.checks import ACTIONS, INVARIANTS
from venomqa.explorer import explore
from venomqa.models import ExplorationResult
from venomqa.testing.server import ApiProcess
from venomqa.world import World
from venomqa_postgres import PostgresStore

HERE = Path(__file__).resolve().parent

#: Everything the API makes up, as ``ignore:`` would declare it.
IGNORE = {
    "db": [
        "users.id",
        "users.password_hash",
        "users.created_at",
        "sessions.jti",
        "sessions.created_at",
        "sessions.expires_at",
        "posts.id",
        "posts.checksum",
        "posts.created_at",
        "posts.updated_at",
        "comments.id",
        "comments.created_at",
    ]
}
IGNORE_CONTEXT = ["*_token"]
#: Columns that hold another row's id: they follow the ids, and must not be learned as volatile.
REFERENCES = ["posts.author_id", "comments.post_id", "comments.author_id", "sessions.user_id"]


@pytest.fixture
def blog(pg_dsn: str) -> Iterator[tuple[ApiProcess, str]]:
    """The blog served by its own process on a fresh database, with one user already there."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    with start_blog_server(
        f"_support_postgres_blog:open_storage:{pg_dsn}", env={"PYTHONPATH": path}
    ) as server:
        execute(  # a user who was there before
            pg_dsn,
            "INSERT INTO users VALUES ('11111111-aaaa-4bbb-8ccc-000000000001', 'carol', "
            "'pbkdf2:sha256:1000$00$00', '2020-01-01T00:00:00+00:00')",
        )
        yield server, pg_dsn


def dump(dsn: str) -> dict[str, Any]:
    """The database's catalog, rows and sequences; and VenomQA's schema must be gone."""
    content = database_content(dsn)
    assert not execute(dsn, "SELECT 1 FROM pg_namespace WHERE nspname = '_venomqa'")
    return content


def run(server: ApiProcess, dsn: str, **options: Any) -> ExplorationResult:
    world = World(server.url, stores={"db": PostgresStore(dsn=dsn)})
    try:
        return explore(world, ACTIONS, INVARIANTS, **options)
    finally:
        world.api.close()


def test_the_schema_is_a_real_apis() -> None:
    """Guards the fixture itself: uuid and timestamptz columns, no key from comments to posts."""
    from _support_postgres_blog import SCHEMA

    assert "post_id uuid NOT NULL,\n" in SCHEMA
    assert SCHEMA.count("REFERENCES users(id)") == 3
    assert SCHEMA.count("timestamptz") == 7


@pytest.mark.parametrize("depth", [6, 9])
def test_bfs_with_no_configuration_counts_the_models_states(
    blog: tuple[ApiProcess, str], depth: int
) -> None:
    server, dsn = blog
    before = dump(dsn)
    assert any("carol" in row for row in before["rows public.users"]), before
    result = run(server, dsn, max_depth=depth)

    assert_matches_model(result, depth)
    assert result.stop_reason == ("max_depth" if depth == 6 else "exhausted")
    learned = {(v.where, v.spec) for v in result.learned}
    for spec in IGNORE["db"]:
        assert ("stores.db.ignore", spec) in learned, (spec, sorted(learned))
    assert ("context.ignore", "alice_token") in learned
    assert ("context.ignore", "bob_token") in learned
    for spec in REFERENCES:
        assert not any(v.spec == spec for v in result.learned), (spec, sorted(learned))
    assert not any(v.spec.endswith(("author_id", "post_id", "user_id")) for v in result.learned)
    assert any(line.startswith("stores.db.ignore: [") for line in result.to_dict()["pin"])
    orphaned = next(v for v in result.violations if v.invariant == "comments_belong_to_posts")
    urls = [step.requests[-1].url for step in orphaned.steps]
    assert urls[-1].endswith(urls[-2].removesuffix("/comments").split("/posts")[-1])
    assert dump(dsn) == before


def test_dfs_with_no_configuration_counts_the_models_states(
    blog: tuple[ApiProcess, str],
) -> None:
    server, dsn = blog
    before = dump(dsn)
    result = run(server, dsn, strategy="dfs", max_depth=ALL_STATES)

    assert_matches_model(result, ALL_STATES)
    assert result.stop_reason == "exhausted"
    assert dump(dsn) == before


def test_declared_volatile_fields_give_the_same_states_without_learning(
    blog: tuple[ApiProcess, str],
) -> None:
    server, dsn = blog
    before = dump(dsn)
    result = run(
        server, dsn, max_depth=6, ignore=IGNORE, ignore_context=IGNORE_CONTEXT, learn=False
    )

    assert_matches_model(result, 6)
    assert result.learned == []
    assert result.restarts == 0
    assert {v.spec for v in result.volatile} == {*IGNORE["db"], *IGNORE_CONTEXT}
    assert dump(dsn) == before


def test_venomqa_run_reports_what_it_learned(blog: tuple[ApiProcess, str], tmp_path: Path) -> None:
    server, dsn = blog
    project = tmp_path / "project"
    project.mkdir()
    config = project / "venomqa.yaml"
    config.write_text(
        f"target: {server.url}\n"
        "actions: [venomqa.demo.blog.checks]\n"
        f"stores:\n  db: {{adapter: postgres, dsn: '{dsn}'}}\n"
        "explore: {max_depth: 6}\n"
        "reports: [{format: json, path: report.json}]\n"
    )
    before = dump(dsn)
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])

    assert result.exit_code == 1, result.output
    report = json.loads((project / "report.json").read_text())
    assert report["states"] == len(model_bfs(6))
    found = {v["invariant"]: v for v in report["violations"]}
    assert set(found) == SEEDED, [v.get("message") for v in report["violations"]]
    for name, length in shortest_violations(6).items():
        assert len(found[name]["path"]) == length, (name, found[name]["path"])
        replay_in_model(found[name]["path"])
    learned = {v["spec"] for v in report["exploration"]["volatile"]}
    assert set(IGNORE["db"]) <= learned, sorted(learned)
    assert not set(REFERENCES) & learned, sorted(learned)
    assert any(
        line.startswith("stores.db.ignore: [") and "posts.id" in line
        for line in report["exploration"]["pin"]
    ), report["exploration"]["pin"]
    assert "Learned volatile values" in result.output
    assert dump(dsn) == before

    replayed = CliRunner().invoke(cli, ["replay", str(project / "report.json"), "-c", str(config)])
    assert "only_authors_delete_posts is still violated" in replayed.output, replayed.output
    assert dump(dsn) == before
