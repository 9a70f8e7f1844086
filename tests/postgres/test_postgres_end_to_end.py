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
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from _support_postgres import ShopServer, database_content
from venomqa import World, explore
from venomqa_postgres import PostgresStore

MAX_DEPTH = 4
AMOUNT = 100

ACTIONS_MODULE = f'''
"""Actions and an invariant for the Postgres shop, written the way a user would."""

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


# --- An independent model of the shop ----------------------------------------------------------


class Order(NamedTuple):
    status: str
    refunded: int
    cancelled: bool


class ShopState(NamedTuple):
    orders: tuple[Order, ...]
    refunds: tuple[int, ...]  # order id of each refund row, in insertion order


def _step(state: ShopState, name: str) -> ShopState:
    orders = list(state.orders)
    if name == "create_order":
        return ShopState((*orders, Order("pending", 0, False)), state.refunds)
    latest, index = orders[-1], len(orders) - 1
    if name == "pay_order" and latest.status == "pending":
        orders[index] = latest._replace(status="paid")
    elif name == "refund_order" and not latest.cancelled and latest.status != "pending":
        orders[index] = latest._replace(status="refunded", refunded=latest.refunded + AMOUNT)
        return ShopState(tuple(orders), (*state.refunds, index + 1))
    elif name == "cancel_order" and not latest.cancelled and latest.status == "pending":
        orders[index] = latest._replace(cancelled=True)
    return ShopState(tuple(orders), state.refunds)


def model_bfs(max_depth: int) -> dict[ShopState, list[str]]:
    root = ShopState((), ())
    paths: dict[ShopState, list[str]] = {root: []}
    frontier = deque([root])
    while frontier:
        state = frontier.popleft()
        if len(paths[state]) == max_depth:
            continue
        names = ["create_order"] if len(state.orders) < 2 else []
        names += ["pay_order", "refund_order", "cancel_order"] if state.orders else []
        for name in names:
            target = _step(state, name)
            if target not in paths:
                paths[target] = [*paths[state], name]
                frontier.append(target)
    return paths


def _shortest_violation() -> list[str]:
    model = model_bfs(MAX_DEPTH)
    return min((p for s, p in model.items() if any(o.refunded > AMOUNT for o in s.orders)), key=len)


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
    violations = [
        v for v in report["violations"] if v["invariant"] == "refunds_never_exceed_payment"
    ]
    shortest = min(violations, key=lambda v: len(v["path"]))
    assert shortest["path"] == _shortest_violation()
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
    paths = [v.path for v in result.violations if v.invariant == "refunds_never_exceed_payment"]
    assert min(paths, key=len) == _shortest_violation()
    assert database_content(dsn) == before
