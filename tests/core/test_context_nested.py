"""Context values changed in place (a list appended to, a dict's counter bumped) come back as they
were at each checkpoint: the explorer rolls the context back with the stores, so a nested value
never carries one branch's changes into another."""

from __future__ import annotations

from pathlib import Path

from venomqa import Action, ExecutionContext, Invariant, World, explore
from venomqa.client import Client
from venomqa.demo import init_schema, start_demo_server
from venomqa.stores import SQLiteStore


def test_snapshot_and_restore_undo_in_place_changes_of_nested_values() -> None:
    ctx = ExecutionContext()
    ctx["cart"] = {"items": [1], "totals": {"count": 1}}
    snapshot = ctx.snapshot()
    ctx["cart"]["items"].append(2)
    ctx["cart"]["totals"]["count"] += 1
    ctx.restore(snapshot)
    assert ctx["cart"] == {"items": [1], "totals": {"count": 1}}
    ctx["cart"]["items"].append(3)  # a restored value is a copy, not the snapshot itself
    ctx.restore(snapshot)
    assert ctx["cart"] == {"items": [1], "totals": {"count": 1}}


def _order(api: Client, ctx: ExecutionContext) -> object:
    response = api.post("/orders", json={"amount": 10})
    mine = ctx.setdefault("mine", {"ids": [], "count": 0})
    mine["ids"].append(response.json()["id"])  # in place, as real actions often do
    mine["count"] += 1
    return response


def _cancel_newest(api: Client, ctx: ExecutionContext) -> object:
    mine = ctx["mine"]
    response = api.delete(f"/orders/{mine['ids'][-1]}")
    mine["ids"].pop()
    mine["count"] -= 1
    return response


def _ctx_mirrors_the_database(world: World) -> bool:
    mine = world.ctx.get("mine", {"ids": [], "count": 0})
    live = world.database("db").query("SELECT id FROM orders WHERE cancelled = 0")
    return sorted(mine["ids"]) == sorted(row["id"] for row in live) and mine["count"] == len(live)


def test_exploring_actions_that_change_nested_context_in_place(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    init_schema(db)
    actions = [
        Action("order", _order, requires=lambda ctx: len(ctx.get("mine", {}).get("ids", [])) < 3),
        Action(
            "cancel_newest",
            _cancel_newest,
            requires=lambda ctx: bool(ctx.get("mine", {}).get("ids")),
        ),
    ]
    with start_demo_server(db) as server, Client(server.url) as client:
        result = explore(
            World(client, {"db": SQLiteStore(db)}),
            actions,
            [Invariant("ctx_mirrors_the_database", _ctx_mirrors_the_database)],
            max_depth=6,
        )

    assert result.violations == []
    assert result.states > 4  # branches were explored (and rolled back) many times
