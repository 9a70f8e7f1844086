"""Exploring an API whose stored state is never byte-identical twice, with no configuration.

The blog API (a separate process on a SQLite file, ``_support_messy_api.py``) stores uuid4 keys,
timestamps, salted hashes, random checksums and hands out JWTs. Every test compares what the
explorer finds with an independent abstract model of the API (``_support_messy.py``): the same
number of states, the seeded bugs with the model's shortest path lengths, paths that are real in
the model, and the file exactly as it was afterwards.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from _support_messy import (
    ACTIONS,
    IGNORE,
    IGNORE_CONTEXT,
    INVARIANTS,
    dump,
    messy_api,
    model_bfs,
    replay_in_model,
    shortest_violations,
)
from click.testing import CliRunner
from venomqa.cli.main import cli
from venomqa.explorer import explore
from venomqa.models import ExplorationResult
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import ApiProcess
from venomqa.world import World

SEEDED = {"comments_belong_to_posts", "only_authors_delete_posts"}


@pytest.fixture
def blog(tmp_path: Path) -> Iterator[tuple[ApiProcess, Path]]:
    db = tmp_path / "blog.db"
    with messy_api(db) as server:
        with closing(sqlite3.connect(db)) as conn, conn:  # a user who was there before
            conn.execute(
                "INSERT INTO users VALUES ('11111111-aaaa-4bbb-8ccc-000000000001', 'carol', "
                "'pbkdf2:sha256:1000$00$00', '2020-01-01T00:00:00+00:00')"
            )
        yield server, db


def run(server: ApiProcess, db: Path, **options: Any) -> ExplorationResult:
    world = World(server.url, stores={"db": SQLiteStore(str(db))})
    try:
        return explore(world, ACTIONS, INVARIANTS, **options)
    finally:
        world.api.close()


def assert_matches_model(result: ExplorationResult, depth: int) -> None:
    assert result.states == len(model_bfs(depth))
    found = {v.invariant: v for v in result.violations}
    assert set(found) == SEEDED, [v.message for v in result.violations]
    for name, length in shortest_violations(depth).items():
        violation = found[name]
        assert len(violation.path) == length, (name, violation.path)
        replay_in_model(violation.path)  # a real path of the API, not an artefact
        assert violation.occurrences >= 1


@pytest.mark.parametrize("depth", [6, 9])
def test_bfs_with_no_configuration_counts_the_models_states(
    blog: tuple[ApiProcess, Path], depth: int
) -> None:
    server, db = blog
    before = dump(db)
    result = run(server, db, max_depth=depth)

    assert_matches_model(result, depth)
    assert result.stop_reason == ("max_depth" if depth == 6 else "exhausted")
    learned = {(v.where, v.spec) for v in result.learned}
    for spec in IGNORE["db"]:
        assert ("stores.db.ignore", spec) in learned, (spec, sorted(learned))
    assert ("context.ignore", "alice_token") in learned
    assert not any(v.spec.endswith(("author_id", "post_id", "user_id")) for v in result.learned)
    assert any(line.startswith("stores.db.ignore: [") for line in result.to_dict()["pin"])
    assert dump(db) == before


def test_dfs_with_no_configuration_counts_the_models_states(
    blog: tuple[ApiProcess, Path],
) -> None:
    server, db = blog
    before = dump(db)
    result = run(server, db, strategy="dfs", max_depth=len(model_bfs(50)))

    assert_matches_model(result, 50)
    assert result.stop_reason == "exhausted"
    assert dump(db) == before


def test_random_walk_ends_on_its_own(blog: tuple[ApiProcess, Path]) -> None:
    """No time budget: the walk stops once every state within the depth has tried each of its
    moves (states are abstract, so there are finitely many)."""
    server, db = blog
    before = dump(db)
    result = run(server, db, strategy="random", max_depth=5, seed=3)

    assert result.stop_reason == "max_depth"  # states at depth 5 still have moves to try
    assert result.states == len(model_bfs(5))
    for violation in result.violations:
        replay_in_model(violation.path)
    assert dump(db) == before


def test_declared_volatile_fields_give_the_same_states_without_learning(
    blog: tuple[ApiProcess, Path],
) -> None:
    server, db = blog
    result = run(server, db, max_depth=6, ignore=IGNORE, ignore_context=IGNORE_CONTEXT, learn=False)

    assert_matches_model(result, 6)
    assert result.learned == []
    assert result.restarts == 0
    assert {v.spec for v in result.volatile} == {*IGNORE["db"], *IGNORE_CONTEXT}


def test_venomqa_run_reports_what_it_learned(blog: tuple[ApiProcess, Path], tmp_path: Path) -> None:
    server, db = blog
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(Path(__file__).with_name("_support_messy.py"), project / "blog_checks.py")
    (project / "venomqa.yaml").write_text(
        f"target: {server.url}\n"
        "actions: [blog_checks]\n"
        f"stores:\n  db: {{adapter: sqlite, path: {db}}}\n"
        "explore: {max_depth: 6}\n"
        "reports: [{format: json, path: report.json}]\n"
    )
    before = dump(db)
    result = CliRunner().invoke(cli, ["run", "-c", str(project / "venomqa.yaml")])

    assert result.exit_code == 1, result.output
    report = json.loads((project / "report.json").read_text())
    assert report["states"] == len(model_bfs(6))
    assert {v["invariant"] for v in report["violations"]} == SEEDED
    learned = {v["spec"] for v in report["exploration"]["volatile"]}
    assert set(IGNORE["db"]) <= learned
    assert any("posts.id" in line for line in report["exploration"]["pin"])
    assert dump(db) == before


def test_a_difference_no_field_explains_is_reported_and_the_run_goes_on(
    blog: tuple[ApiProcess, Path], tmp_path: Path
) -> None:
    """``POST /tickets`` makes one row, then two: no volatile field explains that. The run
    reports it as a nondeterminism finding, still finds the seeded bugs, exits 1 and writes
    every report it was asked for."""
    server, db = blog
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(Path(__file__).with_name("_support_messy.py"), project / "blog_checks.py")
    (project / "lottery.py").write_text(
        "from venomqa import action\n\n"
        "@action(requires=lambda ctx: 'bought' not in ctx)\n"
        "def buy_tickets(api, ctx):\n"
        "    ctx['bought'] = True\n"
        "    return api.post('/tickets')\n"
    )
    (project / "venomqa.yaml").write_text(
        f"target: {server.url}\n"
        "actions: [blog_checks, lottery]\n"
        f"stores:\n  db: {{adapter: sqlite, path: {db}}}\n"
        "explore: {max_depth: 6}\n"
        "reports: [{format: json, path: report.json}, {format: json, path: copy.json}]\n"
    )
    before = dump(db)
    result = CliRunner().invoke(cli, ["run", "-c", str(project / "venomqa.yaml")])

    assert result.exit_code == 1, result.output
    for name in ("report.json", "copy.json"):
        report = json.loads((project / name).read_text())
        kinds = {v["invariant"]: v for v in report["violations"]}
        assert set(kinds) > SEEDED
        finding = kinds["nondeterminism"]
        assert finding["kind"] == "nondeterminism"
        assert finding["path"] == ["buy_tickets"]
        assert re.search(
            r"tickets: [12] changed record\(s\) in one run and [12] in the other",
            finding["message"],
        )
        assert finding["occurrences"] > 1  # replays of paths through buy_tickets too
    assert dump(db) == before
