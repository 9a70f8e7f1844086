"""The explorer over a real API (in-process WSGI and loopback HTTP): finds a seeded sequence bug
with its shortest path, counts states exactly, honours limits, and always cleans up."""

from __future__ import annotations

import copy
from collections.abc import Iterator
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
    serve,
)
from venomqa import ExecutionContext, Severity, action, invariant
from venomqa.client import Client
from venomqa.explorer import explore
from venomqa.models.results import KIND_INVARIANT, StateEdge
from venomqa.world import World


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture(params=["in-process", "loopback"])
def shop_world(request: pytest.FixtureRequest, store: MemoryStore) -> Iterator[World]:
    app = ShopApp(store)
    if request.param == "in-process":
        client = Client(app=app)
        yield World(client, {"db": store})
        client.close()
    else:
        with serve(app) as url:
            client = Client(url)
            yield World(client, {"db": store})
            client.close()


def counter_world(store: MemoryStore, cap: int | None = None) -> World:
    return World(Client(app=ShopApp(store, counter_cap=cap)), {"db": store})


def assert_clean(store: MemoryStore) -> None:
    assert store.data == INITIAL_DATA
    assert store.open_tokens == []
    assert store.calls["setup"] == 1 and store.calls["teardown"] == 1


def test_bfs_finds_double_refund_with_shortest_path_and_exchanges(
    shop_world: World, store: MemoryStore
) -> None:
    result = explore(shop_world, SHOP_ACTIONS, [never_over_refunded], max_depth=4)

    assert [v.invariant for v in result.violations] == ["never_over_refunded"]
    violation = result.violations[0]
    assert violation.kind == KIND_INVARIANT
    assert violation.severity is Severity.CRITICAL
    assert violation.path == ["create_order", "pay", "refund", "refund"]
    assert [s.action for s in violation.steps] == violation.path
    last = violation.steps[-1].requests[-1]
    assert last.method == "POST" and last.url.endswith("/orders/1/refund")
    assert last.response_status == 200
    assert last.response_body["refunded"] == 200
    assert violation.steps[0].requests[-1].response_status == 201
    assert violation.state is not None
    assert result.stop_reason == "max_depth"
    assert result.max_depth_reached == 4
    assert_clean(store)


def test_counter_state_count_is_exact_and_duplicates_are_merged(store: MemoryStore) -> None:
    result = explore(counter_world(store, cap=3), [inc, dec], max_depth=20)

    # Values 0..3 are the only states; each is expanded once with both actions.
    assert result.states == 4
    assert result.transitions == 8
    assert result.actions == {"inc": 4, "dec": 4}
    assert result.stop_reason == "exhausted"
    assert result.max_depth_reached == 3
    assert len(result.state_edges) == 8
    assert len({e.source for e in result.state_edges}) == 4
    assert result.never_enabled == []
    assert result.strategy == "bfs"
    assert result.initial_state == result.state_edges[0].source
    assert result.observations == {"db": {"orders": 0, "counter": 0}}
    assert result.target == "http://testserver"
    assert_clean(store)


def test_depth_limit_counts_states_within_depth(store: MemoryStore) -> None:
    result = explore(counter_world(store), [inc, dec], max_depth=3)

    assert result.states == 4  # 0, 1, 2, 3
    assert result.transitions == 6  # states 0, 1, 2 expanded with two actions each
    assert result.stop_reason == "max_depth"
    assert result.max_depth_reached == 3


def test_state_edges_connect_distinct_states(store: MemoryStore) -> None:
    result = explore(counter_world(store, cap=1), [inc, dec], max_depth=5)

    zero = result.initial_state
    assert zero is not None
    one = next(e.target for e in result.state_edges if e.source == zero and e.action == "inc")
    assert set(map(lambda e: (e.source, e.action, e.target), result.state_edges)) == {
        (zero, "inc", one),
        (zero, "dec", zero),
        (one, "inc", one),
        (one, "dec", zero),
    }
    assert all(isinstance(e, StateEdge) for e in result.state_edges)


def test_context_is_part_of_the_state(store: MemoryStore) -> None:
    @action(requires=lambda ctx: "flag" not in ctx)
    def set_flag(api: Client, ctx: ExecutionContext) -> None:
        ctx["flag"] = True

    result = explore(counter_world(store, cap=1), [inc, set_flag], max_depth=5)

    assert result.states == 4  # counter 0/1 x flag unset/set
    assert store.data == INITIAL_DATA


def test_preconditions_and_never_enabled(store: MemoryStore) -> None:
    @action(requires=lambda ctx: False)
    def never(api: Client, ctx: ExecutionContext) -> Any:
        raise AssertionError("must not run")

    result = explore(counter_world(store, cap=2), [inc, never], max_depth=5)

    assert result.never_enabled == ["never"]
    assert result.actions == {"inc": 3, "never": 0}
    assert result.states == 3
    assert result.violations == []


def test_refund_is_never_fired_before_an_order_exists(store: MemoryStore) -> None:
    world = World(Client(app=ShopApp(store)), {"db": store})
    result = explore(world, SHOP_ACTIONS, [never_over_refunded], max_depth=1)

    assert result.actions == {"create_order": 1, "pay": 0, "refund": 0}
    assert result.never_enabled == []  # enabled in the (unexpanded) state after create_order
    assert result.states == 2

    only_root = explore(world, SHOP_ACTIONS, max_depth=0)
    assert sorted(only_root.never_enabled) == ["pay", "refund"]


def test_precondition_that_raises_is_a_finding(store: MemoryStore) -> None:
    @action(requires=lambda ctx: ctx["missing"])
    def needs_missing(api: Client, ctx: ExecutionContext) -> None:
        return None

    result = explore(counter_world(store, cap=1), [inc, needs_missing], max_depth=3)

    assert [v.invariant for v in result.violations] == ["action_error"]
    assert "precondition of action 'needs_missing' raised KeyError" in result.violations[0].message
    assert result.violations[0].path == []
    assert result.never_enabled == ["needs_missing"]
    assert result.states == 2


def test_action_that_raises_is_a_finding_and_exploration_goes_on(store: MemoryStore) -> None:
    @action
    def fragile(api: Client, ctx: ExecutionContext) -> Any:
        response = api.get("/counter")
        if response.json()["value"] == 1:
            raise RuntimeError("cannot handle one")
        return response

    result = explore(counter_world(store, cap=3), [inc, fragile], max_depth=10)

    assert result.states == 4
    assert result.transitions == 8
    assert len(result.violations) == 1
    finding = result.violations[0]
    assert (finding.invariant, finding.kind) == ("action_error", "action_error")
    assert finding.severity is Severity.HIGH
    assert finding.path == ["inc", "fragile"]
    assert finding.steps[-1].error == "RuntimeError: cannot handle one"
    assert finding.steps[-1].requests[-1].url.endswith("/counter")
    assert "RuntimeError: cannot handle one" in finding.message
    assert_clean(store)


def test_server_error_is_a_finding_reported_once(store: MemoryStore) -> None:
    @action
    def boom(api: Client, ctx: ExecutionContext) -> Any:
        return api.post("/boom")

    result = explore(counter_world(store, cap=2), [inc, boom], max_depth=10)

    assert result.states == 3
    assert [(v.invariant, v.kind, v.path) for v in result.violations] == [
        ("server_error", "server_error", ["boom"])
    ]
    assert "HTTP 500" in result.violations[0].message
    assert result.violations[0].steps[0].requests[0].response_status == 500

    quiet = explore(counter_world(MemoryStore(), cap=2), [inc, boom], check_server_errors=False)
    assert quiet.violations == []


def test_invariant_that_raises_or_asserts_is_violated(store: MemoryStore) -> None:
    @invariant(severity=Severity.LOW)
    def raises_at_two(world: World) -> bool:
        if counter_of(world) == 2:
            raise ValueError("cannot read two")
        return True

    @invariant(severity=Severity.MEDIUM)
    def asserts_below_three(world: World) -> None:
        assert counter_of(world) < 3, f"counter reached {counter_of(world)}"

    result = explore(counter_world(store, cap=3), [inc, dec], [raises_at_two, asserts_below_three])

    by_name = {v.invariant: v for v in result.violations}
    assert set(by_name) == {"raises_at_two", "asserts_below_three"}
    assert "ValueError: cannot read two" in by_name["raises_at_two"].message
    assert by_name["asserts_below_three"].message.startswith("counter reached 3")
    # Sorted by severity (MEDIUM before LOW), then path length.
    assert [v.invariant for v in result.violations] == ["asserts_below_three", "raises_at_two"]
    assert result.invariants == ["raises_at_two", "asserts_below_three"]


def test_state_reached_through_a_violation_is_still_expanded(store: MemoryStore) -> None:
    @invariant
    def counter_is_not_one(world: World) -> bool:
        return counter_of(world) != 1

    result = explore(counter_world(store), [inc, dec], [counter_is_not_one], max_depth=4)

    assert result.states == 5  # 2, 3 and 4 are only reachable through the violating 1
    assert [(v.invariant, v.path) for v in result.violations] == [("counter_is_not_one", ["inc"])]


def test_a_violation_that_persists_is_reported_where_it_starts(store: MemoryStore) -> None:
    @invariant
    def counter_below_two(world: World) -> bool:
        return counter_of(world) < 2

    result = explore(counter_world(store), [inc, dec], [counter_below_two], max_depth=5)

    # Violated in 2, 3, 4 and 5 but reached from an already violating state after 2: one bug.
    assert [v.path for v in result.violations] == [["inc", "inc"]]


def test_violations_are_deduplicated_per_invariant_and_state(store: MemoryStore) -> None:
    @invariant
    def counter_is_not_one(world: World) -> bool:
        return counter_of(world) != 1

    @action
    def inc_again(api: Client, ctx: ExecutionContext) -> Any:
        return api.post("/counter/inc")

    result = explore(counter_world(store, cap=2), [inc, inc_again, dec], [counter_is_not_one])

    assert [v.path for v in result.violations] == [["inc"]]


def test_initial_state_is_checked(store: MemoryStore) -> None:
    @invariant
    def counter_is_positive(world: World) -> bool:
        return counter_of(world) > 0

    result = explore(counter_world(store, cap=1), [inc, dec], [counter_is_positive])

    assert [(v.invariant, v.path, v.steps) for v in result.violations] == [
        ("counter_is_positive", [], [])
    ]


@pytest.mark.parametrize(
    ("options", "reason", "check"),
    [
        ({"max_states": 3}, "max_states", lambda r: r.states == 3),
        ({"max_transitions": 5}, "max_transitions", lambda r: r.transitions == 5),
        ({"max_depth": 0}, "max_depth", lambda r: r.states == 1 and r.transitions == 0),
    ],
)
def test_limits_stop_the_search(
    store: MemoryStore, options: dict[str, Any], reason: str, check: Any
) -> None:
    result = explore(counter_world(store), [inc, dec], **{"max_depth": 50, **options})

    assert result.stop_reason == reason
    assert check(result)
    assert_clean(store)


def test_time_budget_stops_the_search(store: MemoryStore) -> None:
    import time

    @action
    def slow_inc(api: Client, ctx: ExecutionContext) -> Any:
        time.sleep(0.005)
        return api.post("/counter/inc")

    result = explore(counter_world(store), [slow_inc], max_depth=10_000, time_budget_s=0.1)

    assert result.stop_reason == "time_budget"
    assert 0.1 <= result.duration_s < 2
    assert 5 <= result.transitions < 100
    assert_clean(store)


def test_stop_on_first(store: MemoryStore) -> None:
    world = World(Client(app=ShopApp(store)), {"db": store})
    result = explore(world, SHOP_ACTIONS, [never_over_refunded], max_depth=6, stop_on_first=True)

    assert result.stop_reason == "stop_on_first"
    assert [v.path for v in result.violations] == [["create_order", "pay", "refund", "refund"]]
    assert_clean(store)


def test_observers_hear_progress_and_violations(store: MemoryStore) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.progress: list[Any] = []
            self.violations: list[Any] = []

        def on_progress(self, progress: Any) -> None:
            self.progress.append(progress)

        def on_violation(self, violation: Any) -> None:
            self.violations.append(violation)

    recorder = Recorder()
    world = World(Client(app=ShopApp(store)), {"db": store})
    result = explore(
        world, SHOP_ACTIONS, [never_over_refunded], max_depth=4, observers=[recorder, object()]
    )

    assert recorder.violations == result.violations
    final = recorder.progress[-1]
    assert (final.states, final.transitions, final.violations) == (
        result.states,
        result.transitions,
        1,
    )


def test_world_not_managed_is_rolled_back_but_not_set_up(store: MemoryStore) -> None:
    world = counter_world(store, cap=2)
    world.ctx["seed"] = "kept"
    result = explore(world, [inc, dec], manage_world=False)

    assert result.states == 3
    assert store.data == INITIAL_DATA
    assert store.open_tokens == []
    assert store.calls["setup"] == 0 and store.calls["teardown"] == 0
    assert world.ctx.to_dict() == {"seed": "kept"}


def test_unknown_strategy_is_a_usage_error(store: MemoryStore) -> None:
    from venomqa.errors import UsageError

    with pytest.raises(UsageError, match="unknown exploration strategy 'astar'"):
        explore(counter_world(store), [inc], strategy="astar")
    assert store.calls["setup"] == 0


def test_data_is_untouched_copy() -> None:
    # The support store deep-copies its initial data: explorations never leak into INITIAL_DATA.
    assert copy.deepcopy(INITIAL_DATA) == {"next_id": 1, "orders": {}, "counter": 0}
