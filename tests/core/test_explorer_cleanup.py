"""Whatever ends an exploration (Ctrl-C, an unreachable API, a failing store, a replay that does
not reproduce) the world is rolled back to where it started and torn down."""

from __future__ import annotations

import itertools
import socket
from typing import Any

import pytest
from _support_explorer import (
    INITIAL_DATA,
    MemoryStore,
    ShopApp,
    dec,
    inc,
)
from venomqa import ExecutionContext, action
from venomqa.client import Client
from venomqa.errors import StoreError, TargetUnreachableError
from venomqa.explorer import explore
from venomqa.world import World


def counter_world(store: MemoryStore) -> World:
    return World(Client(app=ShopApp(store)), {"db": store})


def assert_rolled_back_and_torn_down(store: MemoryStore, world: World) -> None:
    assert store.data == INITIAL_DATA
    assert store.open_tokens == []
    assert store.calls["teardown"] == 1
    assert world.ctx.to_dict() == {}


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "random"])
def test_keyboard_interrupt_rolls_back_tears_down_and_reraises(strategy: str) -> None:
    @action(requires=lambda ctx: ctx.get("seen", 0) >= 2)
    def interrupt(api: Client, ctx: ExecutionContext) -> Any:
        api.post("/counter/inc")
        raise KeyboardInterrupt

    @action
    def note(api: Client, ctx: ExecutionContext) -> Any:
        ctx["seen"] = ctx.get("seen", 0) + 1
        return api.post("/counter/inc")

    store = MemoryStore()
    world = counter_world(store)
    with pytest.raises(KeyboardInterrupt):
        explore(world, [note, interrupt], strategy=strategy, max_depth=5)

    assert store.calls["rollback"] > 0
    assert_rolled_back_and_torn_down(store, world)


def test_unreachable_api_aborts_after_cleanup() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    elsewhere = Client(f"http://127.0.0.1:{closed_port}")

    @action(requires=lambda ctx: "went" not in ctx)
    def call_elsewhere(api: Client, ctx: ExecutionContext) -> Any:
        ctx["went"] = True
        api.post("/counter/inc")
        return elsewhere.get("/")

    store = MemoryStore()
    world = counter_world(store)
    with pytest.raises(TargetUnreachableError, match=str(closed_port)):
        explore(world, [call_elsewhere])

    assert_rolled_back_and_torn_down(store, world)
    elsewhere.close()


def test_store_failure_aborts_after_cleanup() -> None:
    class BrokenFingerprintStore(MemoryStore):
        def fingerprint(self) -> str:
            if self.data["counter"] >= 2:
                raise OSError("disk gone")
            return super().fingerprint()

    store = BrokenFingerprintStore()
    world = counter_world(store)
    with pytest.raises(StoreError, match="store 'db': fingerprint failed: OSError: disk gone"):
        explore(world, [inc, dec])

    assert_rolled_back_and_torn_down(store, world)


def test_a_context_value_that_differs_on_every_run_is_learned_not_an_error() -> None:
    tickets = itertools.count()

    @action(requires=lambda ctx: "ticket" not in ctx)
    def take_ticket(api: Client, ctx: ExecutionContext) -> None:
        ctx["ticket"] = next(tickets)  # not rolled back: a replay gets another ticket

    store = MemoryStore()
    world = World(Client(app=ShopApp(store, counter_cap=2)), {"db": store})
    result = explore(world, [inc, dec, take_ticket])

    assert result.states == 2 * 3  # counter 0..2, ticket taken or not: nothing else
    assert not result.violations
    assert [(v.where, v.spec) for v in result.learned] == [("context.ignore", "ticket")]
    assert "differed between two runs of 'take_ticket'" in result.learned[0].reason
    assert_rolled_back_and_torn_down(store, world)


def test_a_difference_no_field_explains_is_a_finding_and_the_run_goes_on() -> None:
    """The memory store cannot list its records, so a counter that grows by a different amount
    on every run cannot be explained field by field: a nondeterminism finding names the action,
    and the exploration still visits the rest."""
    amounts = itertools.count(1)

    @action(requires=lambda ctx: "jumped" not in ctx)
    def jump(api: Client, ctx: ExecutionContext) -> None:
        ctx["jumped"] = True
        for _ in range(next(amounts)):
            api.post("/counter/inc")

    store = MemoryStore()
    world = counter_world(store)
    result = explore(world, [inc, dec, jump], max_depth=3)

    [finding] = [v for v in result.violations if v.kind == "nondeterminism"]
    assert finding.path == ["jump"]
    assert finding.occurrences >= 2  # calibration, then each replay of a path through jump
    assert "action 'jump' reached different states on two runs" in finding.message
    assert "store 'db': its fingerprint differs" in finding.message
    assert result.actions["inc"] > 0 and result.actions["dec"] > 0
    assert result.stop_reason in ("exhausted", "max_depth")
    assert_rolled_back_and_torn_down(store, world)


def test_teardown_failure_after_a_clean_run_is_reported() -> None:
    class BadTeardownStore(MemoryStore):
        def teardown(self) -> None:
            super().teardown()
            raise RuntimeError("cannot drop triggers")

    store = BadTeardownStore()
    with pytest.raises(StoreError, match="cannot drop triggers"):
        explore(counter_world(store), [inc], max_depth=2)
    assert store.data == INITIAL_DATA


def test_every_checkpoint_taken_is_released() -> None:
    store = MemoryStore()
    world = World(Client(app=ShopApp(store, counter_cap=5)), {"db": store})
    result = explore(world, [inc, dec], max_depth=10)

    assert result.states == 6
    assert store.open_tokens == []
    assert store.calls["release"] == store.calls["checkpoint"]
