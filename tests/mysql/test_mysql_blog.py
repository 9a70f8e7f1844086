"""End to end on MySQL: the blog demo API as its own process with its own connection pool
(``_support_mysql_blog``: CHAR(36) uuid keys, DATETIME(6) columns, salted hashes, random
checksums, JWTs), explored by ``explore`` and by ``venomqa run``. What VenomQA finds is compared
with the independent abstract model in ``tests/shared/blog_model.py``: the same number of
states, the seeded bugs with the model's shortest path lengths on paths real in the model, and
the database exactly as it was afterwards (catalog, rows, counters; no ``_venomqa_*`` object
left)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _support_mysql import content_without_venomqa
from blog_model import SEEDED, assert_matches_model, model_bfs, replay_in_model, shortest_violations
from click.testing import CliRunner
from venomqa.cli.main import cli
from venomqa.demo.blog.checks import ACTIONS, INVARIANTS
from venomqa.explorer import explore
from venomqa.testing.server import ApiProcess
from venomqa.world import World
from venomqa_mysql import MySQLStore


@pytest.mark.parametrize("depth", [6, 9])
def test_bfs_counts_the_models_states_and_leaves_the_database_as_found(
    blog: tuple[ApiProcess, str], depth: int
) -> None:
    server, dsn = blog
    before = content_without_venomqa(dsn)
    assert any("carol" in row for row in before["rows users"]), before
    world = World(server.url, stores={"db": MySQLStore(dsn=dsn)})
    world.verify_rollback = True  # every rollback checked against the tables' own content
    try:
        result = explore(world, ACTIONS, INVARIANTS, max_depth=depth)
    finally:
        world.api.close()
    assert_matches_model(result, depth)
    assert result.stop_reason == ("max_depth" if depth == 6 else "exhausted")
    assert content_without_venomqa(dsn) == before


#: Everything the API makes up, as ``ignore:`` declares it for this store.
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


def test_declared_volatile_columns_give_the_models_states_without_learning(
    blog: tuple[ApiProcess, str],
) -> None:
    server, dsn = blog
    before = content_without_venomqa(dsn)
    world = World(server.url, stores={"db": MySQLStore(dsn=dsn)})
    try:
        result = explore(
            world,
            ACTIONS,
            INVARIANTS,
            max_depth=6,
            ignore=IGNORE,
            ignore_context=["*_token"],
            learn=False,
        )
    finally:
        world.api.close()
    assert_matches_model(result, 6)
    assert result.learned == []
    assert {v.spec for v in result.volatile} == {*IGNORE["db"], "*_token"}
    assert content_without_venomqa(dsn) == before


def test_venomqa_run_finds_the_seeded_bugs_by_their_shortest_paths(
    blog: tuple[ApiProcess, str], tmp_path: Path
) -> None:
    server, dsn = blog
    project = tmp_path / "project"
    project.mkdir()
    config = project / "venomqa.yaml"
    config.write_text(
        f"target: {server.url}\n"
        "actions: [venomqa.demo.blog.checks]\n"
        f"stores:\n  db: {{adapter: mysql, dsn: '{dsn}'}}\n"
        "explore: {max_depth: 6}\n"
        "reports: [{format: json, path: report.json}]\n"
    )
    before = content_without_venomqa(dsn)
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])

    assert result.exit_code == 1, result.output
    report = json.loads((project / "report.json").read_text())
    assert report["states"] == len(model_bfs(6))
    found = {v["invariant"]: v for v in report["violations"]}
    assert set(found) == SEEDED, [v.get("message") for v in report["violations"]]
    for name, length in shortest_violations(6).items():
        assert len(found[name]["path"]) == length, (name, found[name]["path"])
        replay_in_model(found[name]["path"])
    assert content_without_venomqa(dsn) == before
