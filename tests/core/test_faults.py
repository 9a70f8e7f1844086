"""Faults mid-run, for real: the API process dies, an invariant's query fails. The run stops with
a message naming what failed, the stores are rolled back, and every report is written with what
was found until then (stop reason ``aborted``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _support_demo import sqlite_dump
from venomqa import Action, Invariant, World, explore
from venomqa.client import Client
from venomqa.demo import init_schema, start_demo_server
from venomqa.stores import SQLiteStore
from venomqa.testing.server import ApiProcess, start_api_process

DROPPING_API = Path(__file__).parents[1] / "shared" / "dropping_api.py"

FINDING_ACTIONS = """
from venomqa import action, invariant


@action
def create_order(api, ctx):
    return api.post("/orders", json={"amount": 100})


@invariant
def no_order_yet(world):
    return not world.stores["db"].query("SELECT id FROM orders")
"""


def test_the_api_dying_mid_run_aborts_with_the_findings_and_the_stores_back(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    before = sqlite_dump(db)
    (tmp_path / "dying_checks.py").write_text(FINDING_ACTIONS)
    server = start_demo_server(db)
    try:
        (tmp_path / "venomqa.yaml").write_text(
            textwrap.dedent(
                f"""
                target: {server.url}
                actions: [dying_checks]
                stores:
                  db: {{adapter: sqlite, path: {db.name}}}
                explore: {{max_depth: 5000, max_states: 100000}}
                reports: [{{format: json, path: report.json}}]
                """
            )
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "venomqa", "run", "-c", str(tmp_path / "venomqa.yaml")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "VENOMQA_LOAD_PLUGINS": ""},
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("violation: no_order_yet"):
                break
        server.process.kill()  # no goodbye: the connection just goes away
        out, stderr = process.communicate(timeout=60)
    finally:
        server.stop()

    assert process.returncode == 3, out + stderr
    assert server.url in stderr  # the message names what is gone
    assert "(stopped: aborted (" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["exploration"]["stop_reason"] == "aborted"
    assert report["exploration"]["complete"] is False
    assert report["complete"] is False and report["stopped"].startswith("aborted: ")
    assert server.url in report["exploration"]["stop_detail"]
    assert [v["invariant"] for v in report["violations"]] == ["no_order_yet"]
    after = sqlite_dump(db)
    assert after == before
    assert not [line for line in after if "_venomqa" in line]


def test_an_invariant_whose_query_fails_is_a_finding_naming_the_store_and_query(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    with start_demo_server(db) as server, Client(server.url) as client:
        world = World(client, {"db": SQLiteStore(db)})
        result = explore(
            world,
            [Action("create_order", lambda api, ctx: api.post("/orders", json={"amount": 5}))],
            [Invariant("adds_up", lambda w: not w.database("db").query("SELECT * FROM nope"))],
            max_depth=1,
        )

    [violation] = result.violations
    assert violation.invariant == "adds_up"
    assert violation.path == []  # it could not be checked from the very start
    assert "could not be checked" in violation.message
    assert "store 'db'" in violation.message
    assert "SELECT * FROM nope" in violation.message
    assert "no such table" in violation.message


@contextmanager
def dropping_api(db: Path, *options: str) -> Iterator[ApiProcess]:
    with start_api_process(
        [sys.executable, str(DROPPING_API), "--db", str(db), *options]
    ) as server:
        yield server


def post(path: str) -> Action:
    return Action(f"post_{path.strip('/')}", lambda api, ctx: api.post(path))


def test_a_call_the_server_drops_while_it_still_serves_is_a_finding_not_an_abort(
    tmp_path: Path,
) -> None:
    """A connection closed without an answer, by a server that still accepts connections, is a
    finding about that call (a crashed worker); the exploration goes on to the end."""
    db = tmp_path / "orders.db"
    with dropping_api(db) as server, Client(server.url) as client:
        result = explore(
            World(client, {"db": SQLiteStore(db)}), [post("/orders"), post("/reports")], max_depth=2
        )

    assert result.stop_reason == "max_depth"
    assert result.stop_detail is None
    [dropped] = [f for f in result.violations if f.kind == "action_error"]
    assert dropped.path == ["post_reports"]
    assert "RemoteProtocolError" in dropped.message
    assert result.states == 3  # no orders, one, two: post_reports changes nothing


def test_a_server_that_drops_some_calls_is_reported_naming_the_dropped_call(
    tmp_path: Path,
) -> None:
    """Every second POST /orders dies before storing the order. Running the same call twice
    then stores an order once and nothing once: a nondeterminism finding that says which run
    raised what."""
    db = tmp_path / "orders.db"
    with dropping_api(db, "--drop-every", "2") as server, Client(server.url) as client:
        result = explore(World(client, {"db": SQLiteStore(db)}), [post("/orders")], max_depth=3)

    flaky = [f for f in result.violations if f.kind == "nondeterminism"]
    assert flaky, result.violations
    assert any("raised RemoteProtocolError" in f.message for f in flaky), flaky
    assert not [line for line in sqlite_dump(db) if "INSERT" in line]  # no order left behind


def test_a_lost_answer_after_the_work_is_done_is_a_finding_on_that_call(tmp_path: Path) -> None:
    """The order is stored, the answer lost: the state is what it would have been, so the
    finding is the call's error, not nondeterminism."""
    db = tmp_path / "orders.db"
    options = ("--drop-every", "2", "--after-commit")
    with dropping_api(db, *options) as server, Client(server.url) as client:
        result = explore(World(client, {"db": SQLiteStore(db)}), [post("/orders")], max_depth=3)

    assert result.stop_reason == "max_depth"
    kinds = {f.kind for f in result.violations}
    assert kinds == {"action_error"}, result.violations
    [lost] = result.violations
    assert "RemoteProtocolError" in lost.message
