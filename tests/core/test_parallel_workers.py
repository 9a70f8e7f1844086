"""Parallel workers give exactly what one worker gives, on the SQLite store.

The blog demo API (``venomqa.demo.blog``: uuid keys, timestamps, salted hashes, JWTs, two seeded
bugs) runs as one process per worker, each over its own copy of the SQLite file. Exploring with
one world and with three must give the same states (the same keys), the same transitions, the
same findings with the same shortest paths, all equal to the independent model in
``tests/shared/blog_model.py``; afterwards the file is exactly as before and no copy is left,
also when the run is interrupted. ``venomqa run --workers N`` starts the worker APIs from
``target.command`` with each copy's path in ``{stores.db.path}``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pytest
from blog_model import assert_matches_model
from flags_project import make_project
from venomqa.demo.blog import start_blog_server
from venomqa.demo.blog.checks import ACTIONS, INVARIANTS
from venomqa.errors import UsageError
from venomqa.explorer import explore
from venomqa.models import ExplorationResult
from venomqa.stores.sqlite import SQLiteStore
from venomqa.world import World

DEPTH = 6
REPORT = ("--report", "json:r.json")


def make_blog_db(db: Path) -> None:
    """The blog's schema (made by starting the API once) and one user who was there before."""
    with start_blog_server(f"sqlite:{db}"):
        pass
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "INSERT INTO users VALUES ('11111111-aaaa-4bbb-8ccc-000000000001', 'carol', "
            "'pbkdf2:sha256:1000$00$00', '2020-01-01T00:00:00+00:00')"
        )


def dump(db: Path) -> list[Any]:
    with closing(sqlite3.connect(db)) as conn:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        tables = [name for kind, name, _ in schema if kind == "table"]
        rows = {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}
    return [schema, rows]


def copies_beside(db: Path) -> list[str]:
    """Files VenomQA made next to the database (copies, locks)."""
    return sorted(
        p.name
        for p in db.parent.iterdir()
        if p.name != db.name and p.name.startswith(f"{db.stem}.") and "venomqa" in p.name
    )


def summary(result: ExplorationResult) -> dict[str, Any]:
    """What must not depend on the number of workers."""
    return {
        "states": result.states,
        "transitions": result.transitions,
        "stop_reason": result.stop_reason,
        "max_depth_reached": result.max_depth_reached,
        "edges": sorted((e.source, e.action, e.target) for e in result.state_edges),
        "violations": [(v.invariant, v.path, v.occurrences, v.message) for v in result.violations],
        "initial_state": result.initial_state,
    }


@pytest.fixture
def blog_db(tmp_path: Path) -> Path:
    db = tmp_path / "blog.db"
    make_blog_db(db)
    return db


def explore_with(db: Path, workers: int) -> ExplorationResult:
    """Explore the blog with ``workers`` worlds: the file's store, and copies of it."""
    store = SQLiteStore(str(db))
    with ExitStack() as stack:
        paths = [str(db)]
        for number in range(2, workers + 1):
            options = store.clone(f"w{number}")
            stack.callback(store.drop_clone, options)
            paths.append(str(options["path"]))
        worlds = []
        for path in paths:
            server = stack.enter_context(start_blog_server(f"sqlite:{path}"))
            world = World(server.url, stores={"db": SQLiteStore(path)})
            stack.callback(world.api.close)
            worlds.append(world)
        return explore(worlds[0], ACTIONS, INVARIANTS, max_depth=DEPTH, more_worlds=worlds[1:])


def test_three_workers_find_what_one_finds(blog_db: Path) -> None:
    before = dump(blog_db)
    alone = explore_with(blog_db, 1)
    assert dump(blog_db) == before
    together = explore_with(blog_db, 3)
    assert dump(blog_db) == before
    assert copies_beside(blog_db) == []
    assert_matches_model(alone, DEPTH)
    assert_matches_model(together, DEPTH)
    assert summary(together) == summary(alone)
    # the same requests make up each finding's path (the steps of one run from the root)
    for mine, theirs in zip(together.violations, alone.violations, strict=True):
        assert [s.action for s in mine.steps] == [s.action for s in theirs.steps]


def test_workers_need_as_many_worlds(blog_db: Path) -> None:
    world = World("http://127.0.0.1:9", stores={"db": SQLiteStore(str(blog_db))})
    with pytest.raises(UsageError, match="workers=3 needs 2 more worlds"):
        explore(world, ACTIONS, INVARIANTS, workers=3)


# -- venomqa run --workers ---------------------------------------------------------------------


def write_project(folder: Path, db: Path, *, command: bool = True) -> Path:
    target = (
        textwrap.dedent(
            f"""
            target:
              url: http://127.0.0.1:{{port}}
              command: [{sys.executable}, -m, venomqa.demo.blog, --storage,
                        "sqlite:{{stores.db.path}}", --port, "{{port}}"]
              ready: /
            """
        )
        if command
        else "target: http://127.0.0.1:9\n"
    )
    config = folder / "venomqa.yaml"
    config.write_text(
        target
        + textwrap.dedent(
            f"""
            actions: [venomqa.demo.blog.checks]
            stores:
              db: {{adapter: sqlite, path: {db.name}}}
            explore: {{max_depth: {DEPTH}}}
            """
        )
    )
    return config


def venomqa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
    )


def report_summary(path: Path) -> dict[str, Any]:
    exploration = json.loads(path.read_text())["exploration"]
    return {
        "states": exploration["states"],
        "transitions": exploration["transitions"],
        "stop_reason": exploration["stop_reason"],
        "edges": sorted(
            map(
                tuple, ([e["source"], e["action"], e["target"]] for e in exploration["state_edges"])
            )
        ),
        "violations": [(v["invariant"], v["path"]) for v in exploration["violations"]],
    }


@pytest.mark.parametrize("backend", ["local", "processes"])
def test_venomqa_run_with_workers_gives_what_one_worker_gives(blog_db: Path, backend: str) -> None:
    folder = blog_db.parent
    write_project(folder, blog_db)
    before = dump(blog_db)
    one = venomqa("run", "--workers", "1", "--report", "json:one.json", "-q", cwd=folder)
    three = venomqa(
        "run",
        "--workers",
        "3",
        "--backend",
        backend,
        "--report",
        "json:three.json",
        "-q",
        cwd=folder,
    )
    assert one.returncode == 1, one.stdout + one.stderr  # the seeded bugs
    assert three.returncode == 1, three.stdout + three.stderr
    assert report_summary(folder / "three.json") == report_summary(folder / "one.json")
    found = report_summary(folder / "three.json")
    assert {name for name, _ in found["violations"]} == {
        "comments_belong_to_posts",
        "only_authors_delete_posts",
    }
    assert dump(blog_db) == before
    assert copies_beside(blog_db) == []


def api_processes(folder: Path) -> list[str]:
    """Command lines of running processes that name ``folder`` (the APIs of a run)."""
    found = subprocess.run(["pgrep", "-af", str(folder)], capture_output=True, text=True).stdout
    return [
        line for line in found.splitlines() if "pgrep" not in line and "venomqa run" not in line
    ]


@pytest.mark.parametrize("backend", ["local", "processes"])
def test_ctrl_c_stops_every_worker_and_leaves_nothing(tmp_path: Path, backend: str) -> None:
    make_project(tmp_path, flags=10, latency=0.02)  # 1,024 states: minutes of work
    db = tmp_path / "flags.db"
    before = dump(db)
    process = subprocess.Popen(
        [sys.executable, "-m", "venomqa", "run", "--workers", "3", "--backend", backend, *REPORT],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the three APIs run: the exploration is on
            if len([p for p in api_processes(tmp_path) if "flags_api.py" in p]) >= 3:
                break
            time.sleep(0.1)
        time.sleep(2.0)  # well into the exploration
        assert copies_beside(db), "the workers' copies exist while the run goes on"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out + err
    assert "interrupted by SIGINT" in out + err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["complete"] is False
    assert report["exploration"]["stop_reason"] == "interrupted"
    assert report["exploration"]["transitions"] > 0
    assert dump(db) == before
    assert copies_beside(db) == []
    assert [p for p in api_processes(tmp_path) if "flags_api.py" in p] == []
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "spawn_main" not in processes  # no worker process of the processes backend is left


def test_an_unknown_backend_is_refused_naming_the_known_ones(blog_db: Path) -> None:
    folder = blog_db.parent
    write_project(folder, blog_db)
    refused = venomqa("run", "--workers", "2", "--backend", "cloud", cwd=folder)
    assert refused.returncode == 2
    assert "--backend cloud: unknown backend; use one of local, processes" in refused.stderr


def test_workers_without_a_command_or_a_copyable_store_are_refused(blog_db: Path) -> None:
    folder = blog_db.parent
    write_project(folder, blog_db, command=False)
    refused = venomqa("run", "--workers", "2", cwd=folder)
    assert refused.returncode == 2
    assert "--workers 2 needs `target:` with a `command`" in refused.stderr
    assert str(folder / "venomqa.yaml") in refused.stderr
