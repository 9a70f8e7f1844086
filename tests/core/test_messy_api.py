"""Exploring an API whose stored state is never byte-identical twice, with no configuration, on
the built-in SQLite store.

The blog demo API (``venomqa.demo.blog``, a separate process on a SQLite file) stores uuid4 keys,
timestamps, salted hashes, random checksums and hands out JWTs. Every test compares what the
explorer finds with the independent abstract model in ``tests/shared/blog_model.py``: the same
number of states, the seeded bugs with the model's shortest path lengths, paths that are real in
the model, and the file exactly as it was afterwards.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from blog_model import ALL_STATES, SEEDED, assert_matches_model, model_bfs, replay_in_model
from click.testing import CliRunner
from venomqa.cli.main import cli
from venomqa.demo.blog import start_blog_server
from venomqa.demo.blog.checks import ACTIONS, INVARIANTS
from venomqa.explorer import explore
from venomqa.models import ExplorationResult
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import ApiProcess
from venomqa.world import World

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


@pytest.fixture
def blog(tmp_path: Path) -> Iterator[tuple[ApiProcess, Path]]:
    db = tmp_path / "blog.db"
    with start_blog_server(f"sqlite:{db}") as server:
        with closing(sqlite3.connect(db)) as conn, conn:  # a user who was there before
            conn.execute(
                "INSERT INTO users VALUES ('11111111-aaaa-4bbb-8ccc-000000000001', 'carol', "
                "'pbkdf2:sha256:1000$00$00', '2020-01-01T00:00:00+00:00')"
            )
        yield server, db


def dump(db: Path) -> list[Any]:
    """Everything in the file that matters: schema, rows of every table, sqlite_sequence."""
    with closing(sqlite3.connect(db)) as conn:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        tables = [name for kind, name, _ in schema if kind == "table"]
        rows = {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}
    return [schema, rows]


def run(server: ApiProcess, db: Path, **options: Any) -> ExplorationResult:
    world = World(server.url, stores={"db": SQLiteStore(str(db))})
    try:
        return explore(world, ACTIONS, INVARIANTS, **options)
    finally:
        world.api.close()


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
    orphaned = next(v for v in result.violations if v.invariant == "comments_belong_to_posts")
    urls = [step.requests[-1].url for step in orphaned.steps]
    assert urls[-1].endswith(urls[-2].removesuffix("/comments").split("/posts")[-1])
    assert dump(db) == before


def test_dfs_with_no_configuration_counts_the_models_states(
    blog: tuple[ApiProcess, Path],
) -> None:
    server, db = blog
    before = dump(db)
    result = run(server, db, strategy="dfs", max_depth=ALL_STATES)

    assert_matches_model(result, ALL_STATES)
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


def write_project(folder: Path, server: ApiProcess, db: Path, modules: list[str]) -> Path:
    folder.mkdir()
    config = folder / "venomqa.yaml"
    config.write_text(
        f"target: {server.url}\n"
        f"actions: [{', '.join(modules)}]\n"
        f"stores:\n  db: {{adapter: sqlite, path: {db}}}\n"
        "explore: {max_depth: 6}\n"
        "reports: [{format: json, path: report.json}, {format: json, path: copy.json}]\n"
    )
    return config


def test_venomqa_run_reports_what_it_learned(blog: tuple[ApiProcess, Path], tmp_path: Path) -> None:
    server, db = blog
    config = write_project(tmp_path / "project", server, db, ["venomqa.demo.blog.checks"])
    before = dump(db)
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])

    assert result.exit_code == 1, result.output
    report = json.loads((config.parent / "report.json").read_text())
    assert report["states"] == len(model_bfs(6))
    assert {v["invariant"] for v in report["violations"]} == SEEDED
    learned = {v["spec"] for v in report["exploration"]["volatile"]}
    assert set(IGNORE["db"]) <= learned
    assert any("posts.id" in line for line in report["exploration"]["pin"])
    assert "Learned volatile values" in result.output
    assert dump(db) == before

    replayed = CliRunner().invoke(
        cli, ["replay", str(config.parent / "report.json"), "-c", str(config)]
    )
    assert "only_authors_delete_posts is still violated" in replayed.output, replayed.output
    assert dump(db) == before


def test_a_difference_no_field_explains_is_reported_and_the_run_goes_on(
    blog: tuple[ApiProcess, Path], tmp_path: Path
) -> None:
    """``POST /tickets`` makes one row, then two: no volatile field explains that. The run
    reports it as a nondeterminism finding, still finds the seeded bugs, exits 1 and writes
    every report it was asked for."""
    server, db = blog
    project = tmp_path / "project"
    config = write_project(project, server, db, ["venomqa.demo.blog.checks", "lottery"])
    (project / "lottery.py").write_text(
        "from venomqa import action\n\n"
        "@action(requires=lambda ctx: 'bought' not in ctx)\n"
        "def buy_tickets(api, ctx):\n"
        "    ctx['bought'] = True\n"
        "    return api.post('/tickets')\n"
    )
    before = dump(db)
    result = CliRunner().invoke(cli, ["run", "-c", str(config)])

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


def test_ctrl_c_mid_run_leaves_the_file_as_it_was_and_writes_the_findings(
    blog: tuple[ApiProcess, Path], tmp_path: Path
) -> None:
    """Ctrl-C once the first problem is announced: the file is exactly as before (the API had
    written uuid rows, sessions and timestamps), and both reports hold what was found."""
    import os
    import signal
    import subprocess
    import sys

    server, db = blog
    config = write_project(tmp_path / "project", server, db, ["venomqa.demo.blog.checks"])
    config.write_text(config.read_text().replace("max_depth: 6", "max_depth: 40"))
    before = dump(db)
    process = subprocess.Popen(
        [sys.executable, "-m", "venomqa", "run", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("violation: "):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    for name in ("report.json", "copy.json"):
        report = json.loads((config.parent / name).read_text())
        assert report["exploration"]["stop_reason"] == "interrupted"
        assert {v["invariant"] for v in report["violations"]} & SEEDED
    assert dump(db) == before
