"""A worker of another queue on the same broker (another project's, or one an earlier test run
left behind) is none of the celery store's business: it is not counted among the store's
workers, its task events are not turned on, and a long task it runs does not hold up a settle."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import (
    CELERY_WORKERS,
    QUEUE,
    start_celery_worker,
    stop_process,
    task_events_were_off,
)
from venomqa_celery import CeleryStore

pytestmark = [pytest.mark.other_distributions, pytest.mark.slow]


def test_a_worker_of_another_queue_is_left_alone(orders_db: Path, celery_broker: str) -> None:
    from _support_celery_app import make_app

    other_queue = f"{QUEUE}_other"
    ours = start_celery_worker(orders_db, celery_broker)
    other = start_celery_worker(orders_db, celery_broker, queue=other_queue)
    store = CeleryStore(broker=celery_broker, queues=[QUEUE])
    try:
        store.setup()  # both workers answer the store's ping
        try:
            assert store.observe()["workers"] == [CELERY_WORKERS[ours.pid]]
            # the other worker is busy for 3 s in its own loop (-P solo): it answers no
            # heartbeat then, and must not be waited for
            make_app(celery_broker).send_task("orders.stall", args=(3.0,), queue=other_queue)
            time.sleep(0.5)
            started = time.monotonic()
            store.settle()
            assert time.monotonic() - started < 1.0
            assert store.problems() == []
        finally:
            store.teardown()
        time.sleep(3)  # the other worker is done with its task
        assert task_events_were_off(celery_broker, other)
        assert task_events_were_off(celery_broker, ours)
    finally:
        stop_process(other)
        stop_process(ours)
        if celery_broker.startswith("amqp"):
            from kombu import Connection

            with Connection(celery_broker) as connection:
                connection.default_channel.queue_delete(other_queue)
