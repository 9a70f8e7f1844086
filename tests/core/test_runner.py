"""The journey runner against a real HTTP API whose state is a real SQLite file (SQLiteStore)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import venomqa.client as client_module
import venomqa.stores.sqlite as sqlite_store
from _support_runner import ItemsServer, create_database, rows_in, running_server
from venomqa import Branch, Checkpoint, ExecutionContext, Journey, Step
from venomqa import Path as JPath
from venomqa.errors import ActionDefinitionError
from venomqa.models import Invariant, Severity, Violation
from venomqa.runner import JourneyRunner, run_journey
from venomqa.world import World


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "items.db"
    create_database(path)
    return path


@pytest.fixture
def server(db_path: Path) -> Iterator[ItemsServer]:
    with running_server(db_path) as running:
        yield running


@pytest.fixture
def world(server: ItemsServer, db_path: Path) -> Iterator[World]:
    client = client_module.Client(server.url, timeout=5.0)
    built = World(client, stores={"db": sqlite_store.SQLiteStore(str(db_path))})
    try:
        yield built
    finally:
        client.close()


# -- actions ---------------------------------------------------------------------------------


def create(api: Any, ctx: ExecutionContext, name: str) -> Any:
    response = api.post("/items", json={"name": name})
    ctx.setdefault("created", [])
    ctx["created"] = [*ctx["created"], response.json()["id"]]
    return response


def count(api: Any, ctx: ExecutionContext) -> Any:
    response = api.get("/items")
    ctx["count"] = len(response.json())
    return response


def get(path: str) -> Any:
    def call(api: Any, ctx: ExecutionContext) -> Any:
        return api.get(path)

    return call


def crash(api: Any, ctx: ExecutionContext) -> Any:
    raise RuntimeError("the action crashed")


def step(name: str, action: Any, **options: Any) -> Step:
    return Step(name=name, action=action, **options)


def add(name: str, item: str) -> Step:
    return Step(name=name, action=create, args={"name": item})


def counted(name: str) -> Step:
    return Step(name=name, action=count)


def at_most(limit: int) -> Invariant:
    def check(world: World) -> bool:
        rows = world.stores["db"].query("SELECT COUNT(*) AS n FROM items")
        return bool(rows[0]["n"] <= limit)

    return Invariant(name=f"at_most_{limit}", check=check, severity=Severity.CRITICAL)


# -- branches and rollback -------------------------------------------------------------------


def test_each_path_starts_from_the_checkpoint_state(world: World, db_path: Path) -> None:
    journey = Journey(
        name="shop",
        steps=[
            add("first", "apple"),
            Checkpoint("one_item"),
            Branch(
                "one_item",
                [
                    JPath("two_more", [add("a1", "pear"), add("a2", "plum"), counted("a_count")]),
                    JPath("one_more", [add("b1", "fig"), counted("b_count")]),
                ],
            ),
            counted("after_branch"),
        ],
    )
    result = run_journey(world, journey)

    assert result.passed, result.to_dict()
    assert [p.name for p in result.paths] == ["two_more", "one_more"]
    a_count = world.ctx.step_result("a_count")
    b_count = world.ctx.step_result("b_count")
    # run_journey restored the context at the end, so read what each path saw from the results
    assert a_count is None and b_count is None
    counts = {
        s.name: s.requests[-1].response_body
        for p in result.paths
        for s in p.steps
        if "count" in s.name
    }
    assert len(counts["a_count"]) == 3
    assert len(counts["b_count"]) == 2, "path B must not see path A's rows"
    # The id counter was rolled back too: path B's item got the id path A's first item had.
    a_first = result.paths[0].steps[0].requests[-1].response_body["id"]
    b_first = result.paths[1].steps[0].requests[-1].response_body["id"]
    assert a_first == b_first == 2
    # After the branch the state is what the last path left (apple + fig).
    after = result.steps[-1].requests[-1].response_body
    assert [row["name"] for row in after] == ["apple", "fig"]
    # manage_world rolled everything back and tore the store down.
    assert rows_in(db_path) == []
    with sqlite3.connect(db_path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert names <= {"items", "sqlite_sequence"}


def test_context_is_restored_between_paths(world: World) -> None:
    seen: dict[str, Any] = {}

    def remember(label: str) -> Any:
        def action(api: Any, ctx: ExecutionContext) -> str:
            seen[label] = (dict(ctx), ctx.step_result("a1"))
            ctx[label] = True
            return label

        return action

    journey = Journey(
        name="ctx",
        steps=[
            step("start", remember("start")),
            Checkpoint("cp"),
            Branch(
                "cp",
                [
                    JPath("a", [step("a1", remember("a1"))]),
                    JPath("b", [step("b1", remember("b1"))]),
                ],
            ),
        ],
    )
    with world:
        result = JourneyRunner(world).run(journey)
        assert result.passed
        assert seen["b1"] == ({"start": True}, None), "path b must not see path a's context"
        assert world.ctx.step_result("b1") == "b1"
        assert "a1" not in world.ctx and world.ctx["b1"] is True


def test_nested_branches_roll_back_to_their_own_checkpoint(world: World) -> None:
    journey = Journey(
        name="nested",
        steps=[
            Checkpoint("empty"),
            Branch(
                "empty",
                [
                    JPath(
                        "outer",
                        [
                            add("o1", "x"),
                            Checkpoint("one"),
                            Branch(
                                "one",
                                [
                                    JPath("deep_a", [add("d1", "y"), add("d2", "z"), counted("c")]),
                                    JPath("deep_b", [counted("c")]),
                                ],
                            ),
                        ],
                    ),
                    JPath("other", [counted("c")]),
                ],
            ),
        ],
    )
    result = run_journey(world, journey)
    assert result.passed, result.to_dict()
    by_name = {p.name: p for p in result.paths}
    assert list(by_name) == ["outer", "outer/deep_a", "outer/deep_b", "other"]

    def seen(path: str) -> int:
        return len(by_name[path].steps[-1].requests[-1].response_body)

    assert (seen("outer/deep_a"), seen("outer/deep_b"), seen("other")) == (3, 1, 0)


def test_unknown_checkpoint_is_rejected_before_anything_runs(
    world: World, server: ItemsServer
) -> None:
    journey = Journey(
        name="typo",
        steps=[add("first", "apple"), Checkpoint("real"), Branch("reel", [JPath("p", [])])],
    )
    with pytest.raises(ActionDefinitionError) as caught:
        run_journey(world, journey)
    assert "'typo'" in str(caught.value) and "'reel'" in str(caught.value)
    assert server.requests_seen == 0


def test_a_path_cannot_branch_to_a_checkpoint_before_its_own(world: World) -> None:
    journey = Journey(
        name="deep",
        steps=[
            Checkpoint("start"),
            add("a", "x"),
            Checkpoint("later"),
            Branch("later", [JPath("p", [Branch("start", [JPath("q", [])])])]),
        ],
    )
    with pytest.raises(ActionDefinitionError, match="'start'"):
        run_journey(world, journey)


# -- failures, skipping, retries, timeouts ---------------------------------------------------


def test_failing_main_line_step_skips_the_rest(world: World) -> None:
    journey = Journey(
        name="stops",
        steps=[
            add("first", "apple"),
            step("boom", crash),
            counted("never"),
            Checkpoint("cp"),
            Branch("cp", [JPath("p", [counted("never_either")])]),
        ],
    )
    result = run_journey(world, journey)
    assert not result.passed
    first, boom, never = result.steps
    assert first.passed and first.attempts == 1
    assert not boom.passed and boom.error == "RuntimeError: the action crashed"
    assert never.attempts == 0 and never.error == "skipped: step 'boom' failed"
    assert result.paths[0].steps[0].error == "skipped: step 'boom' failed"


def test_a_failing_path_does_not_stop_its_siblings(world: World) -> None:
    journey = Journey(
        name="siblings",
        steps=[
            Checkpoint("cp"),
            Branch(
                "cp",
                [
                    JPath("bad", [step("missing", get("/missing")), counted("skipped")]),
                    JPath("good", [add("g", "kiwi"), counted("good_count")]),
                ],
            ),
        ],
    )
    result = run_journey(world, journey)
    bad, good = result.paths
    assert not bad.passed and bad.steps[0].error == "HTTP 404"
    assert bad.steps[1].attempts == 0
    assert good.passed and len(good.steps[1].requests[-1].response_body) == 1


def test_retries_rerun_server_errors(world: World, server: ItemsServer) -> None:
    server.flaky_failures = 2
    result = run_journey(world, Journey("retry", [step("flaky", get("/flaky"), retries=2)]))
    only = result.steps[0]
    assert only.passed and only.attempts == 3
    assert [r.response_status for r in only.requests] == [503, 503, 200]

    server.flaky_calls = 0
    result = run_journey(world, Journey("retry", [step("flaky", get("/flaky"), retries=1)]))
    only = result.steps[0]
    assert not only.passed and only.attempts == 2 and only.error == "HTTP 503"


def test_client_errors_are_not_retried(world: World) -> None:
    result = run_journey(world, Journey("r", [step("missing", get("/missing"), retries=3)]))
    assert result.steps[0].attempts == 1 and result.steps[0].error == "HTTP 404"


def test_timeout_fails_the_step_without_waiting_for_it(world: World) -> None:
    def slow(api: Any, ctx: ExecutionContext) -> str:
        time.sleep(0.6)
        return "late"

    started = time.perf_counter()
    result = run_journey(
        world, Journey("slow", [step("slow", slow, timeout=0.1), counted("after")])
    )
    assert time.perf_counter() - started < 0.5
    slow_result, after = result.steps
    assert not slow_result.passed
    assert slow_result.error is not None and "timed out after 0.1s" in slow_result.error
    assert after.attempts == 0


def test_step_within_its_timeout_passes(world: World) -> None:
    result = run_journey(world, Journey("fast", [step("items", count, timeout=5)]))
    assert result.passed and result.steps[0].requests[-1].response_status == 200


def test_expect_failure(world: World) -> None:
    journey = Journey(
        name="negative",
        steps=[
            step("missing", get("/missing"), expect_failure=True),
            step("raises", crash, expect_failure=True),
        ],
    )
    result = run_journey(world, journey)
    assert result.passed, result.to_dict()
    assert all(s.expect_failure for s in result.steps)

    result = run_journey(world, Journey("n", [step("ok", count, expect_failure=True)]))
    error = result.steps[0].error
    assert not result.passed and error is not None and "HTTP 200" in error


def test_step_results_and_requests_are_recorded(world: World) -> None:
    with world:
        result = JourneyRunner(world).run(Journey("rec", [add("make", "apple")]))
        response = world.ctx.step_result("make")
        assert response.status_code == 201
    record = result.steps[0].requests[0]
    assert record.method == "POST" and record.url.endswith("/items")
    assert record.response_status == 201
    assert result.steps[0].duration_ms > 0


# -- invariants ------------------------------------------------------------------------------


def test_invariants_are_checked_after_every_step_with_the_path(world: World) -> None:
    found: list[Violation] = []

    class Observer:
        def on_violation(self, violation: Violation) -> None:
            found.append(violation)

    journey = Journey(
        name="limits",
        steps=[
            add("first", "apple"),
            Checkpoint("cp"),
            Branch(
                "cp",
                [
                    JPath("grow", [add("g1", "pear"), add("g2", "plum"), add("g3", "fig")]),
                    JPath("small", [add("s1", "kiwi")]),
                ],
            ),
        ],
    )
    result = run_journey(world, journey, invariants=[at_most(2)], observers=[Observer()])
    assert len(result.violations) == 1, "reported once, at the first step where it fails"
    violation = result.violations[0]
    assert violation.invariant == "at_most_2" and violation.severity is Severity.CRITICAL
    assert violation.path == ["first", "g1", "g2"]
    assert [s.action for s in violation.steps] == ["first", "g1", "g2"]
    assert violation.steps[-1].requests[-1].response_status == 201
    assert found == [violation]
    assert not result.passed


def test_manage_world_rolls_back_and_tears_down_on_interrupt(world: World, db_path: Path) -> None:
    def interrupt(api: Any, ctx: ExecutionContext) -> None:
        raise KeyboardInterrupt

    journey = Journey("ctrl_c", [add("first", "apple"), step("stop", interrupt)])
    with pytest.raises(KeyboardInterrupt):
        run_journey(world, journey)
    assert rows_in(db_path) == []
    with sqlite3.connect(db_path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert names <= {"items", "sqlite_sequence"}


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_an_unreachable_api_ends_the_journey_like_it_ends_an_exploration(
    world: World, db_path: Path, timeout: float | None
) -> None:
    """A dead API is an infrastructure error (exit 3) for journeys as for the explorer, not a
    failed step; the stores are still rolled back and torn down."""
    import socket

    from venomqa.errors import TargetUnreachableError
    from venomqa.explorer import explore

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = client_module.Client(f"http://127.0.0.1:{probe.getsockname()[1]}", timeout=2.0)

    def call_dead_api(api: Any, ctx: ExecutionContext) -> Any:
        return dead.get("/")

    journey = Journey("dead", [add("first", "apple"), step("dead", call_dead_api, timeout=timeout)])
    with pytest.raises(TargetUnreachableError):
        run_journey(world, journey)
    assert rows_in(db_path) == []

    from venomqa import action

    with pytest.raises(TargetUnreachableError):
        explore(world, [action(name="dead")(call_dead_api)])
    assert rows_in(db_path) == []
    dead.close()
