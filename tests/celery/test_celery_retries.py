"""Done when: a job that fails and is retried until its limit is one finding (not one per
attempt), with the path that enqueued it and the exception, once every retry has run (RQ's
``Retry``; Celery's ``autoretry_for``/``max_retries``, on RabbitMQ)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    AMQP_URL,
    QUEUE,
    RQ_URL,
    orders_api_command,
    purge_amqp,
    require_rabbitmq,
    start_celery_worker,
    start_rq_worker,
    stop_process,
    worker_env,
)
from services import require_module
from venomqa import World, action, explore
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import start_api_process
from venomqa_celery import CeleryStore, RQStore, worker_invariants

pytestmark = [pytest.mark.other_distributions, pytest.mark.slow]


@action(requires=lambda ctx: "order" not in ctx)
def create_order(api: Any, ctx: Any) -> Any:
    response = api.post("/orders")
    ctx["order"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "order" in ctx and "shipped" not in ctx)
def ship_retrying(api: Any, ctx: Any) -> Any:
    ctx["shipped"] = True
    return api.post(f"/orders/{ctx['order']}/ship-retrying")


@pytest.fixture(params=["rq", "celery"])
def setting(request: pytest.FixtureRequest, orders_db: Path) -> Iterator[tuple[Any, str, str]]:
    """(store, API URL, the failed job's description) with a worker running."""
    if request.param == "rq":
        worker = start_rq_worker(orders_db, request.getfixturevalue("rq_redis"))
        store: Any = RQStore(url=RQ_URL, queues=[QUEUE])
        api_args, described = ["--rq", RQ_URL], "job _support_jobs.ship(1)"
    else:
        require_module("celery")
        require_rabbitmq()
        purge_amqp()
        worker = start_celery_worker(orders_db, AMQP_URL)
        store = CeleryStore(broker=AMQP_URL, queues=[QUEUE])
        api_args, described = ["--celery", AMQP_URL], "task orders.ship_retrying(1,)"
    command = orders_api_command(orders_db)
    try:
        with start_api_process(
            command + api_args + ["--queue", QUEUE], env=worker_env(orders_db)
        ) as api:
            yield store, api.url, described
    finally:
        stop_process(worker)
        if request.param == "celery":
            purge_amqp()


def test_a_job_retried_past_its_limit_is_one_finding(
    setting: tuple[Any, str, str], orders_db: Path
) -> None:
    store, url, described = setting
    world = World(url, {"db": SQLiteStore(str(orders_db)), "jobs": store})
    result = explore(world, [create_order, ship_retrying], worker_invariants("jobs"), max_depth=2)
    found = {v.invariant: v for v in result.violations}
    assert list(found) == ["jobs_jobs_succeed"], [v.message for v in result.violations]
    failed = found["jobs_jobs_succeed"]
    assert failed.path == ["create_order", "ship_retrying"]
    assert failed.message.count(" failed: ") == 1, failed.message
    assert described in failed.message and "no carrier configured for order 1" in failed.message
