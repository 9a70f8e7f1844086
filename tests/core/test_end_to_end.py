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
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

import pytest
from _support_demo import processes_mentioning, sqlite_dump
from venomqa.demo import DemoServer, init_schema, start_demo_server

MAX_DEPTH = 4
AMOUNT = 100

# The actions under test: one order at a time (at most two in all), each call on the newest.
ACTIONS_MODULE = f'''
"""Actions and an invariant for the demo shop, written the way a user would."""

from venomqa import Severity, action, invariant


@action(requires=lambda ctx: len(ctx.get("orders", [])) < 2)
def create_order(api, ctx):
    response = api.post("/orders", json={{"amount": {AMOUNT}}})
    ctx["orders"] = [*ctx.get("orders", []), response.json()["id"]]
    return response


@action(requires=lambda ctx: bool(ctx.get("orders")))
def pay_order(api, ctx):
    return api.post(f"/orders/{{ctx['orders'][-1]}}/pay")


@action(requires=lambda ctx: bool(ctx.get("orders")))
def refund_order(api, ctx):
    return api.post(f"/orders/{{ctx['orders'][-1]}}/refund")


@action(requires=lambda ctx: bool(ctx.get("orders")))
def cancel_order(api, ctx):
    return api.delete(f"/orders/{{ctx['orders'][-1]}}")


@invariant(severity=Severity.CRITICAL)
def refunds_never_exceed_payment(world):
    rows = world.stores["db"].query("SELECT amount, refunded FROM orders")
    return all(r["refunded"] <= r["amount"] for r in rows)
'''


# --- An independent model of the shop, as its documentation describes it ---------------------


class Order(NamedTuple):
    status: str  # pending | paid | refunded
    refunded: int
    cancelled: bool


class ShopState(NamedTuple):
    orders: tuple[Order, ...]  # ids are 1..n: the ctx's list is determined by their number
    refunds: tuple[int, ...]  # order id of each refund row, in insertion order


def _step(state: ShopState, action: str) -> ShopState:
    orders = list(state.orders)
    if action == "create_order":
        return ShopState((*orders, Order("pending", 0, False)), state.refunds)
    latest, index = orders[-1], len(orders) - 1
    if action == "pay_order" and latest.status == "pending":  # the bug: cancelled not checked
        orders[index] = latest._replace(status="paid")
    elif action == "refund_order" and not latest.cancelled and latest.status != "pending":
        # the bug: each refund is checked against the total, not against what is left
        orders[index] = latest._replace(status="refunded", refunded=latest.refunded + AMOUNT)
        return ShopState(tuple(orders), (*state.refunds, index + 1))
    elif action == "cancel_order" and not latest.cancelled and latest.status == "pending":
        orders[index] = latest._replace(cancelled=True)
    return ShopState(tuple(orders), state.refunds)


def _enabled(state: ShopState) -> list[str]:
    names = ["create_order"] if len(state.orders) < 2 else []
    return names + (["pay_order", "refund_order", "cancel_order"] if state.orders else [])


def model_bfs(max_depth: int) -> dict[ShopState, list[str]]:
    """Every state within ``max_depth`` calls, with a shortest path to it."""
    root = ShopState((), ())
    paths: dict[ShopState, list[str]] = {root: []}
    frontier = deque([root])
    while frontier:
        state = frontier.popleft()
        if len(paths[state]) == max_depth:
            continue
        for action in _enabled(state):
            target = _step(state, action)
            if target not in paths:
                paths[target] = [*paths[state], action]
                frontier.append(target)
    return paths


def _over_refunded(state: ShopState) -> bool:
    return any(order.refunded > AMOUNT for order in state.orders)


def test_model_is_sane() -> None:
    states = model_bfs(MAX_DEPTH)
    assert model_bfs(0) == {ShopState((), ()): []}
    assert len(model_bfs(1)) == 2 and len(states) > len(model_bfs(3))
    violating = sorted((p for s, p in states.items() if _over_refunded(s)), key=len)
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
    violations = [
        v for v in report["violations"] if v["invariant"] == "refunds_never_exceed_payment"
    ]
    assert violations, report["violations"]
    shortest = min(violations, key=lambda v: len(v["path"]))
    expected = min((p for s, p in model.items() if _over_refunded(s)), key=len)
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
