"""Done when: `venomqa run`, as a real process, explores a shop API that runs as a separate
process on PostgreSQL through its own psycopg pool, finds exactly the states an independent model
predicts, reports the seeded violation with its shortest path, and leaves the database exactly
as it was (schema, every row, every sequence)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support_postgres import ShopServer, database_content
from shop_model import ACTIONS_MODULE, model_bfs, shortest_violation
from venomqa import World, explore
from venomqa_postgres import PostgresStore

MAX_DEPTH = 4


@pytest.fixture
def shop(pg_dsn: str) -> Iterator[tuple[ShopServer, str]]:
    with ShopServer(pg_dsn) as server:
        yield server, pg_dsn


def test_venomqa_run_explores_a_separate_server_process_on_postgres(
    shop: tuple[ShopServer, str], tmp_path: Path
) -> None:
    server, dsn = shop
    (tmp_path / "shop_checks.py").write_text(textwrap.dedent(ACTIONS_MODULE))
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: {server.url}\n"
        "actions: [shop_checks]\n"
        "stores:\n"
        f"  db: {{adapter: postgres, dsn: '{dsn}'}}\n"
        f"explore: {{strategy: bfs, max_depth: {MAX_DEPTH}}}\n"
    )
    out = tmp_path / "report.json"
    before = database_content(dsn)
    result = subprocess.run(
        [sys.executable, "-m", "venomqa", "run", "-c", str(config), "--report", f"json:{out}"],
        cwd=tmp_path,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "postgres"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["states"] == len(model_bfs(MAX_DEPTH))
    [shortest] = [
        v for v in report["violations"] if v["invariant"] == "refunds_never_exceed_payment"
    ]
    assert shortest["path"] == shortest_violation(MAX_DEPTH)
    assert [step["response"]["status"] for step in shortest["steps"]] == [201, 200, 200, 200]
    assert not [v for v in report["violations"] if v["kind"] != "invariant"]
    assert database_content(dsn) == before


def test_explore_from_python_matches_the_model(shop: tuple[ShopServer, str]) -> None:
    server, dsn = shop
    namespace: dict[str, object] = {}
    exec(textwrap.dedent(ACTIONS_MODULE), namespace)
    actions = [namespace[n] for n in ("create_order", "pay_order", "refund_order", "cancel_order")]
    before = database_content(dsn)
    world = World(server.url, stores={"db": PostgresStore(dsn=dsn)})
    result = explore(
        world, actions, [namespace["refunds_never_exceed_payment"]], max_depth=MAX_DEPTH
    )
    assert result.states == len(model_bfs(MAX_DEPTH))
    [violation] = [v for v in result.violations if v.invariant == "refunds_never_exceed_payment"]
    assert violation.path == shortest_violation(MAX_DEPTH)
    assert database_content(dsn) == before
