"""The Ray backend on the blog demo over PostgreSQL: two Ray actors, each with its own blog API
(``_support_postgres_blog``: uuid keys, timestamptz, its own psycopg pool) over its own copy of
the database (``CREATE DATABASE ... TEMPLATE``), give what one worker gives: the same states,
transitions, state edges and findings. Afterwards the database is exactly as before and no
``__venomqa_`` copy is left, also after a Ctrl-C in the middle of the exploration.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_ray_cluster import RayCluster
from services import require_module, require_service

psycopg = require_module("psycopg")

from _support_postgres import (  # noqa: E402
    ADMIN_DSN,
    HERE,
    database_content,
    execute,
    fresh_database,
)
from venomqa.demo.blog import start_blog_server  # noqa: E402

STORAGE = "_support_postgres_blog:open_storage"
#: The same, 50 ms slower per call.
SLOW = "_support_ray_slow_storage:open_storage"


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        require_service(f"PostgreSQL is not reachable at {ADMIN_DSN}: {exc}")
    with fresh_database("vq_ray") as dsn:
        yield dsn


@pytest.fixture
def blog_dsn(pg_dsn: str) -> str:
    """A database with the blog's schema (made by starting the API once) and one user."""
    with start_blog_server(f"{STORAGE}:{pg_dsn}", env={"PYTHONPATH": str(HERE)}):
        pass
    execute(
        pg_dsn,
        "INSERT INTO users VALUES ('11111111-aaaa-4bbb-8ccc-000000000001', 'carol', "
        "'pbkdf2:sha256:1000$00$00', '2020-01-01T00:00:00+00:00')",
    )
    return pg_dsn


def write_project(folder: Path, dsn: str, *, depth: int, storage: str = STORAGE) -> None:
    """The blog started from ``target.command`` on ``{stores.db.dsn}`` (each worker's copy)."""
    (folder / "venomqa.yaml").write_text(
        textwrap.dedent(
            f"""
            target:
              url: http://127.0.0.1:{{port}}
              command: ["{{python}}", -m, venomqa.demo.blog, --storage,
                        "{storage}:{{stores.db.dsn}}", --port, "{{port}}"]
              env: {{PYTHONPATH: "{HERE}{os.pathsep}{Path(__file__).parent}"}}
              ready: /
            actions: [venomqa.demo.blog.checks]
            stores:
              db: {{adapter: postgres, dsn: "{dsn}"}}
            explore: {{max_depth: {depth}}}
            """
        )
    )


def copies_of(dsn: str) -> list[str]:
    """Databases named as worker copies of ``dsn``'s database (``<name>__venomqa_<label>``)."""
    name = dsn.rsplit("/", 1)[-1]
    rows = execute(
        dsn, "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}__venomqa_%",)
    )
    return [row[0] for row in rows]


def apis_of(dsn: str) -> list[str]:
    """Blog API processes on ``dsn``'s database or its copies."""
    name = dsn.rsplit("/", 1)[-1]
    found = subprocess.run(["pgrep", "-af", name], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "venomqa.demo.blog" in line]


def exploration(path: Path) -> dict[str, Any]:
    found = json.loads(path.read_text())["exploration"]
    return {
        "states": found["states"],
        "transitions": found["transitions"],
        "stop_reason": found["stop_reason"],
        "edges": sorted((e["source"], e["action"], e["target"]) for e in found["state_edges"]),
        "violations": [(v["invariant"], v["path"]) for v in found["violations"]],
    }


def venomqa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "postgres,ray", "RAY_ADDRESS": ""},
    )


@pytest.mark.slow
@pytest.mark.other_distributions
def test_ray_actors_on_postgres_find_what_one_worker_finds(
    ray_cluster: RayCluster, blog_dsn: str, tmp_path: Path
) -> None:
    write_project(tmp_path, blog_dsn, depth=6)
    before = database_content(blog_dsn)
    one = venomqa("run", "--workers", "1", "-q", "--report", "json:one.json", cwd=tmp_path)
    ray = venomqa(
        *("run", "--workers", "3", "--backend", "ray", "--address", ray_cluster.address),
        *("-q", "--report", "json:ray.json"),
        cwd=tmp_path,
    )
    assert one.returncode == 1, one.stdout + one.stderr  # the two seeded bugs
    assert ray.returncode == 1, ray.stdout + ray.stderr
    alone, together = exploration(tmp_path / "one.json"), exploration(tmp_path / "ray.json")
    assert together == alone
    assert {name for name, _ in together["violations"]} == {
        "comments_belong_to_posts",
        "only_authors_delete_posts",
    }
    assert database_content(blog_dsn) == before
    assert copies_of(blog_dsn) == []
    assert apis_of(blog_dsn) == []


@pytest.mark.slow
@pytest.mark.other_distributions
def test_ctrl_c_on_ray_actors_leaves_the_database_and_no_copy(
    ray_cluster: RayCluster, blog_dsn: str, tmp_path: Path
) -> None:
    write_project(tmp_path, blog_dsn, depth=12, storage=SLOW)  # minutes of work
    before = database_content(blog_dsn)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "venomqa", "run", "--workers", "3", "--backend", "ray"),
            *("--address", ray_cluster.address, "--report", "json:r.json"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "postgres,ray", "RAY_ADDRESS": ""},
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if len(apis_of(blog_dsn)) >= 3:  # the run's own and the two actors'
                break
            time.sleep(0.1)
        time.sleep(3.0)  # well into the exploration
        assert copies_of(blog_dsn), "the workers' copies exist while the run goes on"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out + err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exploration"]["stop_reason"] == "interrupted"
    assert report["exploration"]["transitions"] > 0
    assert database_content(blog_dsn) == before
    assert copies_of(blog_dsn) == []
    assert apis_of(blog_dsn) == []
