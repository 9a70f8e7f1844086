"""Done when (RQ): an API process enqueues RQ jobs that a real ``rq worker`` runs against the
SQLite file VenomQA rolls back; with the ``rq`` store settling the queue after every call, a
bug that only shows after a job ran is found with its shortest path, a failing job is reported
with the path that enqueued it and its exception, and Redis, the worker and the database are
left as found. With ``settle: false`` the queue is state and ``run_next_job`` finds a bug that
needs a job to run between two calls."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    QUEUE,
    RQ_URL,
    journals_left,
    orders_api_command,
    start_rq_worker,
    stop_process,
    worker_env,
)
from venomqa import Action, Invariant, World, action, explore, invariant
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import ApiProcess, start_api_process
from venomqa_celery import RQStore, worker_invariants

pytestmark = [pytest.mark.other_distributions, pytest.mark.slow]


@pytest.fixture
def orders_api(orders_db: Path, rq_redis: Any) -> Iterator[ApiProcess]:
    command = orders_api_command(orders_db, "--rq", RQ_URL, "--queue", QUEUE)
    with start_api_process(command, env=worker_env(orders_db)) as server:
        yield server


@pytest.fixture
def rq_worker(orders_db: Path, rq_redis: Any) -> Iterator[Any]:
    process = start_rq_worker(orders_db, rq_redis)
    try:
        yield process
    finally:
        stop_process(process)


@action(requires=lambda ctx: "order" not in ctx)
def create_order(api: Any, ctx: Any) -> Any:
    response = api.post("/orders")
    ctx["order"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "order" in ctx)
def refund(api: Any, ctx: Any) -> Any:
    return api.post(f"/orders/{ctx['order']}/refund")


@action(requires=lambda ctx: "order" in ctx)
def ship(api: Any, ctx: Any) -> Any:
    return api.post(f"/orders/{ctx['order']}/ship")


@action(requires=lambda ctx: "order" in ctx and not ctx.get("cancelled"))
def cancel(api: Any, ctx: Any) -> Any:
    ctx["cancelled"] = True
    return api.post(f"/orders/{ctx['order']}/cancel")


@invariant
def never_over_refunded(world: World) -> bool:
    rows = world.database("db").query("SELECT amount, refunded FROM orders")
    return all(row["refunded"] <= row["amount"] for row in rows)


@invariant
def cancelled_orders_are_not_charged(world: World) -> bool:
    rows = world.database("db").query(
        "SELECT id FROM orders WHERE status = 'cancelled' AND charged > refunded"
    )
    return not rows


def _orders(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM orders ORDER BY id").fetchall()


def _keys(client: Any) -> set[bytes]:
    """Redis keys other than a live worker's own bookkeeping (its registration, refreshed, and
    its maintenance markers ``rq:clean_*``, which expire on their own)."""
    return {k for k in client.keys("*") if not k.startswith((b"rq:worker", b"rq:clean_"))}


def _run(
    orders_api: ApiProcess,
    orders_db: Path,
    store: RQStore,
    actions: list[Action],
    invariants: list[Invariant],
    depth: int,
) -> Any:
    world = World(orders_api.url, {"db": SQLiteStore(str(orders_db)), "jobs": store})
    return explore(world, actions, invariants + worker_invariants("jobs"), max_depth=depth)


def test_settled_jobs_show_a_bug_with_its_shortest_path_and_a_failing_job(
    orders_api: ApiProcess, orders_db: Path, rq_redis: Any, rq_worker: Any, private_state_dir: Path
) -> None:
    before = (_keys(rq_redis), _orders(orders_db))
    store = RQStore(url=RQ_URL, queues=[QUEUE])
    result = _run(
        orders_api, orders_db, store, [create_order, refund, ship], [never_over_refunded], 3
    )
    found = {v.invariant: v for v in result.violations}
    assert set(found) == {"never_over_refunded", "jobs_jobs_succeed"}, result.violations
    assert found["never_over_refunded"].path == ["create_order", "refund", "refund"]
    failed = found["jobs_jobs_succeed"]
    assert failed.path == ["create_order", "ship"]
    assert "_support_jobs.ship(1)" in failed.message
    assert "RuntimeError: no carrier configured for order 1" in failed.message
    # the worker is still there and idle; Redis and the database are as they were
    assert rq_worker.poll() is None
    assert (_keys(rq_redis), _orders(orders_db)) == before
    assert journals_left(private_state_dir) == []


def test_without_settling_the_bug_that_needs_the_job_is_missed_by_a_plain_run(
    orders_api: ApiProcess, orders_db: Path, rq_redis: Any
) -> None:
    """The control of the ordering test: with no worker and no ``run_next_job``, the pay job
    never runs, so the cancellation bug cannot be reached."""
    store = RQStore(url=RQ_URL, queues=[QUEUE], settle=False)
    result = _run(
        orders_api, orders_db, store, [create_order, cancel], [cancelled_orders_are_not_charged], 4
    )
    assert result.violations == []
    assert result.states == 3  # nothing, an order (its pay job queued), the order cancelled


def test_queued_jobs_are_state_and_run_next_job_finds_an_ordering_bug(
    orders_api: ApiProcess, orders_db: Path, rq_redis: Any
) -> None:
    before = (_keys(rq_redis), _orders(orders_db))
    store = RQStore(url=RQ_URL, queues=[QUEUE], settle=False)
    actions = [create_order, cancel, *store.run_next_job_actions()]
    result = _run(orders_api, orders_db, store, actions, [cancelled_orders_are_not_charged], 4)
    found = {v.invariant: v for v in result.violations}
    assert list(found) == ["cancelled_orders_are_not_charged"], result.violations
    assert found["cancelled_orders_are_not_charged"].path == [
        "create_order",
        f"run_next_job_{QUEUE}",
        "cancel",
    ]
    # nothing; an order with its pay job queued; paid; cancelled with the job queued; the
    # job run on the cancelled order (a no-op, the queue now empty); paid then cancelled
    assert result.states == 6
    assert (_keys(rq_redis), _orders(orders_db)) == before
