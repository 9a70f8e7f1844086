"""Done when: `venomqa run`, as a real process, explores an API that runs as a separate process
on a SQLite file, finds exactly the states an independent model of that API predicts, reports the
seeded violation with its shortest path, and leaves the SQLite file exactly as it was."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from _support_demo import processes_mentioning, sqlite_dump
from shop_model import ACTIONS_MODULE, ShopState, model_bfs, over_refunded, shortest_violation
from venomqa.demo import DemoServer, init_schema, start_demo_server

MAX_DEPTH = 4


def test_model_is_sane() -> None:
    states = model_bfs(MAX_DEPTH)
    assert model_bfs(0) == {ShopState((), ()): []}
    assert len(model_bfs(1)) == 2 and len(states) > len(model_bfs(3))
    violating = sorted((p for s, p in states.items() if over_refunded(s)), key=len)
    assert violating[0] == ["create_order", "pay_order", "refund_order", "refund_order"]


# --- The real thing ----------------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[DemoServer, Path]]:
    db = tmp_path / "shop.db"
    init_schema(str(db))
    with start_demo_server(db) as server:
        yield server, db
    assert processes_mentioning(str(db)) == []


def test_venomqa_run_explores_a_separate_server_process_on_sqlite(
    shop: tuple[DemoServer, Path], tmp_path: Path
) -> None:
    server, db = shop
    (tmp_path / "shop_checks.py").write_text(textwrap.dedent(ACTIONS_MODULE))
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: {server.url}\n"
        "actions: [shop_checks]\n"
        "stores:\n"
        f"  db: {{adapter: sqlite, path: {db.name}}}\n"
        f"explore: {{strategy: bfs, max_depth: {MAX_DEPTH}}}\n"
    )
    out = tmp_path / "out" / "report.json"
    dump_before = sqlite_dump(db)

    report_option = ["--report", f"json:{out}"]
    env = {**os.environ, "VENOMQA_LOAD_PLUGINS": ""}  # only the built-in plugin
    result = subprocess.run(
        [sys.executable, "-m", "venomqa.cli.main", "run", "-c", str(config), *report_option],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text())
    model = model_bfs(MAX_DEPTH)
    assert report["states"] == len(model)
    [shortest] = [
        v for v in report["violations"] if v["invariant"] == "refunds_never_exceed_payment"
    ]
    expected = shortest_violation(MAX_DEPTH)
    assert shortest["path"] == expected
    assert [step["action"] for step in shortest["steps"]] == expected
    assert [step["response"]["status"] for step in shortest["steps"]] == [201, 200, 200, 200]
    assert not [v for v in report["violations"] if v["kind"] != "invariant"]  # no 5xx, no raise

    # The API's file holds exactly what it held: schema, rows and sqlite_sequence. (Its bytes
    # differ: the store's triggers and log came and went, which bumps SQLite's change counter
    # and schema cookie and leaves free pages behind.)
    assert sqlite_dump(db) == dump_before
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("shop.db")) == ["shop.db"]
