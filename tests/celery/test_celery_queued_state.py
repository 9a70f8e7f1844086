"""Done when (Celery, ``settle: false``, RabbitMQ and Redis brokers): pending task messages are
state, a rollback puts the queue back as it was (same messages, same order), and
``run_next_job`` interleaves tasks with the API's calls, so the bug that needs the pay task to
run between ordering and cancelling is found with that shortest path; the queue and the
database are left as found."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import HERE, QUEUE, orders_api_command, worker_env
from venomqa import World, action, explore, invariant
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import ApiProcess, start_api_process
from venomqa_celery import CeleryStore, worker_invariants

pytestmark = [pytest.mark.other_distributions, pytest.mark.slow]


@pytest.fixture
def orders_api(orders_db: Path, celery_broker: str) -> Iterator[ApiProcess]:
    command = orders_api_command(orders_db)
    command += ["--celery", celery_broker, "--queue", QUEUE]
    with start_api_process(command, env=worker_env(orders_db)) as server:
        yield server


@action(requires=lambda ctx: "order" not in ctx)
def create_order(api: Any, ctx: Any) -> Any:
    response = api.post("/orders")
    ctx["order"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "order" in ctx and not ctx.get("cancelled"))
def cancel(api: Any, ctx: Any) -> Any:
    ctx["cancelled"] = True
    return api.post(f"/orders/{ctx['order']}/cancel")


@action(requires=lambda ctx: "order" in ctx and not ctx.get("shipped"))
def ship(api: Any, ctx: Any) -> Any:
    ctx["shipped"] = True
    return api.post(f"/orders/{ctx['order']}/ship")


@invariant
def cancelled_orders_are_not_charged(world: World) -> bool:
    rows = world.database("db").query(
        "SELECT id FROM orders WHERE status = 'cancelled' AND charged > refunded"
    )
    return not rows


def _depth(broker: str) -> int:
    from kombu import Connection
    from kombu.exceptions import ChannelError

    with Connection(broker) as connection:
        try:
            return int(connection.default_channel.queue_declare(QUEUE, passive=True)[1])
        except ChannelError:
            return 0


def _messages(store: CeleryStore) -> list[str]:
    return [str(m) for m in store.observe()["pending"][QUEUE]]  # type: ignore[index,union-attr]


def test_run_next_job_finds_the_ordering_bug_and_a_failing_task(
    orders_api: ApiProcess, orders_db: Path, celery_broker: str
) -> None:
    sys.path.insert(0, str(HERE))
    store = CeleryStore(
        broker=celery_broker, queues=[QUEUE], settle=False, app="_support_celery_app:app"
    )
    world = World(orders_api.url, {"db": SQLiteStore(str(orders_db)), "jobs": store})
    actions = [create_order, cancel, ship, *store.run_next_job_actions()]
    invariants = [cancelled_orders_are_not_charged, *worker_invariants("jobs")]
    result = explore(world, actions, invariants, max_depth=4)
    paths = {v.invariant: v.path for v in result.violations}
    run_next = f"run_next_job_{QUEUE}"
    assert paths == {
        "cancelled_orders_are_not_charged": ["create_order", run_next, "cancel"],
        "jobs_jobs_succeed": ["create_order", "ship", run_next, run_next],
    }, result.violations
    failed = next(v for v in result.violations if v.invariant == "jobs_jobs_succeed")
    assert "orders.ship(1,) failed: RuntimeError('no carrier configured for order 1')" in (
        failed.message
    )
    with sqlite3.connect(orders_db) as db:
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)
    store.setup()  # the queue is empty again, as before the run
    try:
        assert _messages(store) == []
    finally:
        store.teardown()


def test_rollback_puts_the_same_messages_back_in_order(
    orders_api: ApiProcess, orders_db: Path, celery_broker: str
) -> None:
    import httpx

    store = CeleryStore(broker=celery_broker, queues=[QUEUE], settle=False)
    store.setup()
    start = store.checkpoint()
    try:
        httpx.post(f"{orders_api.url}/orders")
        httpx.post(f"{orders_api.url}/orders/1/refund")
        token = store.checkpoint()
        at_checkpoint = (_messages(store), store.fingerprint())
        assert at_checkpoint[0] == ["orders.pay(1,)", "orders.refund(1,)"]
        assert store.fingerprint() == at_checkpoint[1]  # reading leaves the queue as it was
        httpx.post(f"{orders_api.url}/orders/1/ship")
        assert _messages(store)[-1] == "orders.ship(1,)"
        store.rollback(token)
        assert (_messages(store), store.fingerprint()) == at_checkpoint
        store.rollback(token)  # the token stays valid
        assert _messages(store) == at_checkpoint[0]
        recorded = store._pending_at[token]  # the same task ids, not copies with new ones
        assert [m.headers["id"] for m in recorded[QUEUE]] == [
            m.headers["id"] for m in store._read_queues()[QUEUE]
        ]
    finally:
        store.rollback(start)
        store.teardown()
    assert _depth(celery_broker) == 0


def test_a_queue_nothing_declared_yet_is_an_empty_one(celery_broker: str) -> None:
    """Before the API's first publish (and before any worker started) RabbitMQ has no such
    queue: the store reads it as empty, and a rollback to that empty state works once the
    queue exists."""
    from kombu import Connection

    assert _depth(celery_broker) == 0
    store = CeleryStore(broker=celery_broker, queues=[QUEUE], settle=False)
    store.setup()
    try:
        empty = store.checkpoint()
        nothing = store.fingerprint()
        assert _messages(store) == []
        assert store.run_next_job(QUEUE) is None
        store.rollback(empty)  # to "no queue": nothing to put back
        with Connection(celery_broker) as connection:
            connection.SimpleQueue(QUEUE).put({"hello": 1})  # declares the queue, publishes
        store.settle()
        assert store.fingerprint() != nothing
        assert len(store.observe()["pending"][QUEUE]) == 1  # type: ignore[index,arg-type]
        store.rollback(empty)
        assert store.fingerprint() == nothing
        assert _depth(celery_broker) == 0
    finally:
        store.teardown()
