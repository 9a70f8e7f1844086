"""Done when (Celery, on RabbitMQ and on Redis): an API process sends Celery tasks that a real
``celery worker`` runs against the SQLite file VenomQA rolls back; with the ``celery`` store
settling the queue after every call, a bug that only shows after a task ran is found with its
shortest path, a failing task is reported with the path that sent it and its exception, and the
broker's queue, the worker (its task events) and the database are left as found."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    QUEUE,
    journals_left,
    orders_api_command,
    start_celery_worker,
    stop_process,
    task_events_were_off,
    worker_env,
)
from venomqa import World, action, explore, invariant
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import ApiProcess, start_api_process
from venomqa_celery import CeleryStore, worker_invariants

pytestmark = [pytest.mark.other_distributions, pytest.mark.slow]


@pytest.fixture
def celery_worker(orders_db: Path, celery_broker: str) -> Iterator[Any]:
    process = start_celery_worker(orders_db, celery_broker)
    try:
        yield process
    finally:
        stop_process(process)


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


@action(requires=lambda ctx: "order" in ctx)
def refund(api: Any, ctx: Any) -> Any:
    return api.post(f"/orders/{ctx['order']}/refund")


@action(requires=lambda ctx: "order" in ctx)
def ship(api: Any, ctx: Any) -> Any:
    return api.post(f"/orders/{ctx['order']}/ship")


@invariant
def never_over_refunded(world: World) -> bool:
    rows = world.database("db").query("SELECT amount, refunded FROM orders")
    return all(row["refunded"] <= row["amount"] for row in rows)


def _orders(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM orders ORDER BY id").fetchall()


def _waiting(app: Any) -> int:
    """Messages waiting in the orders queue (a Redis broker has no empty queues: 0)."""
    from kombu.exceptions import ChannelError

    with app.connection_for_write() as connection:
        try:
            return int(connection.default_channel.queue_declare(QUEUE, passive=True).message_count)
        except ChannelError:
            return 0


def test_settled_tasks_show_a_bug_with_its_shortest_path_and_a_failing_task(
    orders_api: ApiProcess,
    orders_db: Path,
    celery_broker: str,
    celery_worker: Any,
    private_state_dir: Path,
) -> None:
    from _support_celery_app import make_app

    before = _orders(orders_db)
    store = CeleryStore(broker=celery_broker, queues=[QUEUE])
    world = World(orders_api.url, {"db": SQLiteStore(str(orders_db)), "jobs": store})
    invariants = [never_over_refunded, *worker_invariants("jobs")]
    result = explore(world, [create_order, refund, ship], invariants, max_depth=3)

    found = {v.invariant: v for v in result.violations}
    assert set(found) == {"never_over_refunded", "jobs_jobs_succeed"}, result.violations
    assert found["never_over_refunded"].path == ["create_order", "refund", "refund"]
    failed = found["jobs_jobs_succeed"]
    assert failed.path == ["create_order", "ship"]
    assert "orders.ship(1,)" in failed.message
    assert "RuntimeError('no carrier configured for order 1')" in failed.message

    assert celery_worker.poll() is None
    assert _orders(orders_db) == before
    assert journals_left(private_state_dir) == []
    app = make_app(celery_broker)
    assert _waiting(app) == 0
    # the store turned the worker's task events on for the run and off again
    assert task_events_were_off(celery_broker, celery_worker)
