"""DFS and seeded random walks find the same bugs as BFS, and shrink their paths to the shortest."""

from __future__ import annotations

from typing import Any

import pytest
from _support_explorer import (
    INITIAL_DATA,
    SHOP_ACTIONS,
    MemoryStore,
    ShopApp,
    counter_of,
    dec,
    inc,
    never_over_refunded,
)
from venomqa import ExecutionContext, action, invariant
from venomqa.client import Client
from venomqa.explorer import explore
from venomqa.world import World

SHORTEST = ["create_order", "pay", "refund", "refund"]


def shop_world(store: MemoryStore) -> World:
    return World(Client(app=ShopApp(store)), {"db": store})


@pytest.mark.parametrize("strategy", ["dfs", "random"])
def test_finds_double_refund_and_shrinks_to_the_shortest_path(strategy: str) -> None:
    store = MemoryStore()
    result = explore(
        shop_world(store),
        SHOP_ACTIONS,
        [never_over_refunded],
        strategy=strategy,
        max_depth=6,
        stop_on_first=True,
        seed=7,
    )

    assert [v.path for v in result.violations] == [SHORTEST]
    violation = result.violations[0]
    assert [s.action for s in violation.steps] == SHORTEST
    assert violation.steps[-1].requests[-1].response_body["refunded"] == 200
    assert result.strategy == strategy
    assert store.data == INITIAL_DATA and store.open_tokens == []


def test_dfs_without_shrinking_reports_the_path_it_took() -> None:
    store = MemoryStore()
    result = explore(
        shop_world(store),
        SHOP_ACTIONS,
        [never_over_refunded],
        strategy="dfs",
        max_depth=6,
        stop_on_first=True,
        shrink=False,
    )

    path = result.violations[0].path
    assert len(path) > len(SHORTEST)  # depth first goes deep before it comes back
    assert path[-2:] == ["refund", "refund"]


def test_dfs_full_run_reports_each_bug_once_with_its_shortest_path() -> None:
    store = MemoryStore()
    result = explore(
        shop_world(store), SHOP_ACTIONS, [never_over_refunded], strategy="dfs", max_depth=5
    )

    assert [v.path for v in result.violations] == [SHORTEST]
    bfs = explore(shop_world(MemoryStore()), SHOP_ACTIONS, [never_over_refunded], max_depth=5)
    assert result.states == bfs.states
    assert store.data == INITIAL_DATA


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "random"])
def test_every_strategy_explores_the_same_counter_states(strategy: str) -> None:
    store = MemoryStore()
    world = World(Client(app=ShopApp(store, counter_cap=4)), {"db": store})
    result = explore(world, [inc, dec], strategy=strategy, max_depth=10)

    assert result.states == 5
    assert result.stop_reason == "exhausted"
    assert len(result.state_edges) == 10
    assert result.transitions >= 10


def test_depth_limited_dfs_revisits_states_found_deep_first() -> None:
    # DFS meets counter value 1 first at depth 3 (inc, inc, dec); it must still expand it from
    # depth 1, or states reachable within the limit would be missed.
    store, other = MemoryStore(), MemoryStore()
    world = World(Client(app=ShopApp(store)), {"db": store})
    dfs = explore(world, [inc, dec], strategy="dfs", max_depth=4)
    bfs = explore(World(Client(app=ShopApp(other)), {"db": other}), [inc, dec])

    assert dfs.states == 5
    assert dfs.stop_reason == "max_depth"
    assert bfs.states == 9  # default max_depth 8


def test_random_walk_is_reproducible_with_a_seed() -> None:
    def run(seed: int) -> tuple[int, int, list[str]]:
        store = MemoryStore()
        world = World(Client(app=ShopApp(store)), {"db": store})
        result = explore(world, [inc, dec], strategy="random", max_depth=6, seed=seed)
        return result.states, result.transitions, [e.action for e in result.state_edges]

    assert run(3) == run(3)
    assert run(3)[0] == 7


def test_random_walk_shrinks_action_errors_keeping_the_failing_action() -> None:
    @action
    def fragile(api: Client, ctx: ExecutionContext) -> Any:
        if api.get("/counter").json()["value"] >= 2:
            raise RuntimeError("too big")
        return None

    store = MemoryStore()
    world = World(Client(app=ShopApp(store, counter_cap=3)), {"db": store})
    result = explore(world, [inc, dec, fragile], strategy="random", max_depth=8, seed=1)

    assert [(v.invariant, v.path) for v in result.violations] == [
        ("action_error", ["inc", "inc", "fragile"])
    ]
    assert result.violations[0].steps[-1].error == "RuntimeError: too big"


def test_dfs_continues_correctly_after_shrinking() -> None:
    @invariant
    def below_two(world: World) -> bool:
        return counter_of(world) < 2

    @invariant
    def below_three_when_positive(world: World) -> bool:
        return counter_of(world) < 3

    store = MemoryStore()
    world = World(Client(app=ShopApp(store, counter_cap=4)), {"db": store})
    result = explore(
        world, [inc, dec], [below_two, below_three_when_positive], strategy="dfs", max_depth=10
    )

    assert result.states == 5
    assert {(v.invariant, tuple(v.path)) for v in result.violations} == {
        ("below_two", ("inc", "inc")),
        ("below_three_when_positive", ("inc", "inc", "inc")),
    }


@pytest.mark.parametrize("seed", range(6))
def test_random_walk_continues_from_the_right_state_after_shrinking(seed: int) -> None:
    """Shrinking replays shorter paths from the root. When every shorter candidate fails its
    precondition right away, the world is left at the root; the walk must not then go on as if
    it were still where the finding was (the earlier engine did, and reported that ``use_key``
    raised KeyError: 'key' on a path where the key was certainly set)."""

    @action(requires=lambda ctx: "key" not in ctx)
    def set_key(api: Client, ctx: ExecutionContext) -> Any:
        ctx["key"] = "secret"
        return api.post("/counter/inc")

    @action(requires=lambda ctx: "key" in ctx and "boomed" not in ctx)
    def boom(api: Client, ctx: ExecutionContext) -> Any:
        ctx["boomed"] = True
        raise RuntimeError("boom")

    @action(requires=lambda ctx: "key" in ctx)
    def use_key(api: Client, ctx: ExecutionContext) -> Any:
        ctx["used"] = ctx["key"]
        return api.get("/counter")

    store = MemoryStore()
    world = World(Client(app=ShopApp(store)), {"db": store})
    result = explore(world, [set_key, boom, use_key], strategy="random", max_depth=4, seed=seed)

    assert [(v.invariant, v.path, v.message) for v in result.violations] == [
        ("action_error", ["set_key", "boom"], "action 'boom' raised RuntimeError: boom")
    ]
    assert result.stop_reason == "exhausted"
    assert store.data == INITIAL_DATA
