"""Done when (ordering mode, from venomqa.yaml): ``venomqa run`` with an ``rq`` store in
``settle: false`` and the ``run_next_job_actions`` of the user's module finds the bug that
needs the pay job to run between ordering and cancelling, with that shortest path, exits 1, and
leaves Redis and the database as found."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import QUEUE, RQ_URL, orders_api_command, worker_env
from venomqa.testing.server import start_api_process

pytestmark = [pytest.mark.other_distributions, pytest.mark.slow]

CHECKS = '''\
"""The orders API, explored with its pay jobs run between the calls."""

from venomqa import action, invariant
from venomqa_celery import run_next_job_actions


@action(requires=lambda ctx: "order" not in ctx)
def create_order(api, ctx):
    response = api.post("/orders")
    ctx["order"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "order" in ctx and not ctx.get("cancelled"))
def cancel(api, ctx):
    ctx["cancelled"] = True
    return api.post(f"/orders/{ctx['order']}/cancel")


(run_next_job,) = run_next_job_actions(["{queue}"])


@invariant
def cancelled_orders_are_not_charged(world):
    rows = world.database("db").query(
        "SELECT id FROM orders WHERE status = 'cancelled' AND charged > refunded"
    )
    return not rows
'''


def _keys(client: Any) -> dict[bytes, bytes]:
    return {key: client.type(key) for key in client.keys("*")}


def test_venomqa_run_finds_the_ordering_bug_from_yaml(
    rq_redis: Any, orders_db: Path, tmp_path: Path
) -> None:
    command = orders_api_command(orders_db)
    command += ["--rq", RQ_URL, "--queue", QUEUE]
    with start_api_process(command, env=worker_env(orders_db)) as api:
        (tmp_path / "orders_checks.py").write_text(CHECKS.replace("{queue}", QUEUE))
        (tmp_path / "venomqa.yaml").write_text(
            textwrap.dedent(f"""\
                target: {api.url}
                actions: [orders_checks]
                stores:
                  db: {{adapter: sqlite, path: "{orders_db}"}}
                  jobs: {{adapter: rq, url: "{RQ_URL}", queues: [{QUEUE}], settle: false}}
                explore: {{strategy: bfs, max_depth: 4}}
                """)
        )
        before = _keys(rq_redis)
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "venomqa",
                "run",
                "-c",
                "venomqa.yaml",
                "--report",
                "json:r.json",
            ],
            cwd=tmp_path,
            env=worker_env(orders_db),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 1, (run.stdout, run.stderr)
    report = json.loads((tmp_path / "r.json").read_text())
    paths = {v["invariant"]: v["path"] for v in report["violations"]}
    assert paths == {
        "cancelled_orders_are_not_charged": ["create_order", f"run_next_job_{QUEUE}", "cancel"]
    }
    assert report["states"] == 6
    assert _keys(rq_redis) == before
    with sqlite3.connect(orders_db) as db:
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)
