"""explore_graph: edges fire only from their node, node checkers are verified after each edge."""

from __future__ import annotations

from typing import Any

from _support_explorer import INITIAL_DATA, MemoryStore, ShopApp
from venomqa import ExecutionContext, Severity, StateGraph
from venomqa.client import Client
from venomqa.explorer import explore_graph
from venomqa.models.results import KIND_NODE_CHECK
from venomqa.world import World


def orders(world: World) -> list[dict[str, Any]]:
    return list(world.stores["db"].data["orders"].values())


def create(api: Client, ctx: ExecutionContext) -> Any:
    response = api.post("/orders")
    ctx["order_id"] = response.json()["id"]
    return response


def pay(api: Client, ctx: ExecutionContext) -> Any:
    return api.post(f"/orders/{ctx['order_id']}/pay")


def refund(api: Client, ctx: ExecutionContext) -> Any:
    return api.post(f"/orders/{ctx['order_id']}/refund")


def shop_graph() -> StateGraph:
    graph = StateGraph(name="orders")
    graph.add_node("empty", checker=lambda w: not orders(w))
    graph.add_node("created", checker=lambda w: [o["paid"] for o in orders(w)] == [False])
    graph.add_node("paid", checker=lambda w: [o["paid"] for o in orders(w)] == [True])
    graph.add_node(
        "refunded", checker=lambda w: all(o["refunded"] == o["amount"] for o in orders(w))
    )
    graph.add_edge("empty", "created", create, name="create")
    graph.add_edge("created", "paid", pay, name="pay")
    graph.add_edge("paid", "refunded", refund, name="refund")
    graph.add_edge("refunded", "refunded", refund, name="refund_again")
    return graph


def test_node_checker_failing_after_an_edge_is_a_violation() -> None:
    store = MemoryStore()
    world = World(Client(app=ShopApp(store)), {"db": store})
    result = explore_graph(world, shop_graph(), max_depth=6)

    assert len(result.violations) == 1
    violation = result.violations[0]
    assert violation.kind == KIND_NODE_CHECK
    assert violation.path == ["create", "pay", "refund", "refund_again"]
    assert "refund_again" in violation.message and "'refunded'" in violation.message
    assert violation.steps[-1].requests[-1].response_body["refunded"] == 200
    assert result.actions["create"] == 1 and result.actions["pay"] == 1
    assert result.never_enabled == []
    assert store.data == INITIAL_DATA and store.open_tokens == []


def test_graph_invariants_are_checked_in_every_state() -> None:
    graph = shop_graph()
    graph.add_invariant(
        "refund_within_amount",
        lambda w: all(o["refunded"] <= o["amount"] for o in orders(w)),
        severity=Severity.CRITICAL,
    )
    store = MemoryStore()
    world = World(Client(app=ShopApp(store)), {"db": store})
    result = explore_graph(world, graph, max_depth=6, strategy="dfs")

    assert [(v.invariant, v.severity, v.path) for v in result.violations] == [
        ("refund_within_amount", Severity.CRITICAL, ["create", "pay", "refund", "refund_again"]),
        ("node_check", Severity.HIGH, ["create", "pay", "refund", "refund_again"]),
    ]
    assert result.invariants == ["refund_within_amount"]


def test_the_graph_node_is_part_of_the_state() -> None:
    # Browsing between two pages changes no store, yet each page is its own state.
    graph = StateGraph(name="pages")
    graph.add_node("home")
    graph.add_node("about")
    graph.add_edge("home", "about", lambda api, ctx: api.get("/counter"), name="open_about")
    graph.add_edge("about", "home", lambda api, ctx: api.get("/counter"), name="go_home")
    graph.add_edge("about", "about", lambda api, ctx: api.get("/counter"), name="reload")
    store = MemoryStore()
    world = World(Client(app=ShopApp(store)), {"db": store})
    result = explore_graph(world, graph)

    assert result.states == 2
    assert result.transitions == 3
    assert result.stop_reason == "exhausted"
    assert result.initial_state is not None and result.initial_state.startswith("home|")


def test_initial_node_checker_is_verified() -> None:
    graph = StateGraph(name="wrong start")
    graph.add_node("has_orders", checker=lambda w: bool(orders(w)))
    store = MemoryStore()
    world = World(Client(app=ShopApp(store)), {"db": store})
    result = explore_graph(world, graph)

    assert [(v.kind, v.path) for v in result.violations] == [(KIND_NODE_CHECK, [])]
    assert "initial state" in result.violations[0].message
