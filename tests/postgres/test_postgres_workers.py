"""Parallel workers on PostgreSQL: ``venomqa run --workers 3`` gives what one worker gives.

The blog demo API runs from ``target.command`` on ``_support_postgres_blog`` (uuid keys,
timestamptz columns, salted hashes, JWTs, its own psycopg pool); workers 2 and 3 each get a copy
of the database (``CREATE DATABASE ... TEMPLATE``) and an API process of their own with the
copy's DSN in ``{stores.db.dsn}``. The runs must agree on the states, transitions, state edges
and findings; afterwards the database is exactly as before and no copy is left, also after a
Ctrl-C in the middle of the exploration.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from _support_postgres import database_content, execute
from venomqa.demo.blog import start_blog_server

HERE = Path(__file__).resolve().parent
DEPTH = 6


@pytest.fixture
def blog_dsn(pg_dsn: str) -> str:
    """A database with the blog's schema (made by starting the API once) and one user."""
    with start_blog_server(
        f"_support_postgres_blog:open_storage:{pg_dsn}", env={"PYTHONPATH": str(HERE)}
    ):
        pass
    execute(
        pg_dsn,
        "INSERT INTO users VALUES ('11111111-aaaa-4bbb-8ccc-000000000001', 'carol', "
        "'pbkdf2:sha256:1000$00$00', '2020-01-01T00:00:00+00:00')",
    )
    return pg_dsn


def write_project(folder: Path, dsn: str, *, storage: str, depth: int) -> None:
    (folder / "venomqa.yaml").write_text(
        textwrap.dedent(
            f"""
            target:
              url: http://127.0.0.1:{{port}}
              command: ["{{python}}", -m, venomqa.demo.blog, --storage,
                        "{storage}:{{stores.db.dsn}}", --port, "{{port}}"]
              env: {{PYTHONPATH: "{HERE}"}}
              ready: /
            actions: [venomqa.demo.blog.checks]
            stores:
              db: {{adapter: postgres, dsn: "{dsn}"}}
            explore: {{max_depth: {depth}}}
            """
        )
    )


def copies_of(dsn: str) -> list[str]:
    """Databases named as worker copies of ``dsn``'s database."""
    name = dsn.rsplit("/", 1)[-1]
    rows = execute(dsn, "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}__%",))
    return [row[0] for row in rows]


def venomqa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def exploration(path: Path) -> dict[str, Any]:
    found = json.loads(path.read_text())["exploration"]
    return {
        "states": found["states"],
        "transitions": found["transitions"],
        "stop_reason": found["stop_reason"],
        "edges": sorted((e["source"], e["action"], e["target"]) for e in found["state_edges"]),
        "violations": [(v["invariant"], v["path"]) for v in found["violations"]],
    }


def test_three_workers_on_postgres_find_what_one_finds(blog_dsn: str, tmp_path: Path) -> None:
    write_project(tmp_path, blog_dsn, storage="_support_postgres_blog:open_storage", depth=DEPTH)
    before = database_content(blog_dsn)
    one = venomqa("run", "--workers", "1", "-q", "--report", "json:one.json", cwd=tmp_path)
    three = venomqa("run", "--workers", "3", "-q", "--report", "json:three.json", cwd=tmp_path)
    assert one.returncode == 1, one.stdout + one.stderr  # the two seeded bugs
    assert three.returncode == 1, three.stdout + three.stderr
    alone, together = exploration(tmp_path / "one.json"), exploration(tmp_path / "three.json")
    assert together == alone
    assert {name for name, _ in together["violations"]} == {
        "comments_belong_to_posts",
        "only_authors_delete_posts",
    }
    assert database_content(blog_dsn) == before
    assert copies_of(blog_dsn) == []


def test_ctrl_c_on_postgres_workers_leaves_the_database_and_no_copy(
    blog_dsn: str, tmp_path: Path
) -> None:
    write_project(tmp_path, blog_dsn, storage="_support_slow_blog:open_slow_storage", depth=12)
    before = database_content(blog_dsn)
    process = subprocess.Popen(
        [sys.executable, "-m", "venomqa", "run", "--workers", "3", "--report", "json:r.json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(copies_of(blog_dsn)) < 2:
            time.sleep(0.1)
        time.sleep(3.0)  # the APIs are up and the workers well into the exploration
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out + err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exploration"]["stop_reason"] == "interrupted"
    assert report["exploration"]["transitions"] > 0
    assert database_content(blog_dsn) == before
    assert copies_of(blog_dsn) == []
