"""A queue that does not settle in time is a finding naming the queue and the job, and the run
still ends with everything as found; bad options and unreachable brokers are clear errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    AMQP_URL,
    QUEUE,
    RQ_DB,
    RQ_URL,
    orders_api_command,
    redis_client,
    require_rabbitmq,
    start_celery_worker,
    start_rq_worker,
    stop_process,
    worker_env,
)
from services import require_module
from venomqa import World, action, explore
from venomqa.errors import EXIT_INFRASTRUCTURE, StoreUnreachableError
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import start_api_process
from venomqa_celery import CeleryStore, RQStore, worker_invariants

pytestmark = [pytest.mark.other_distributions]


@action
def stall(api: Any, ctx: Any) -> Any:
    return api.post("/stall")


@pytest.fixture(params=["rq", "celery"])
def stalled(request: pytest.FixtureRequest, orders_db: Path) -> Iterator[tuple[Any, Any, str]]:
    """(store with a 2 s timeout, a running worker, the API's URL) for a 3 s job."""
    if request.param == "rq":
        client = request.getfixturevalue("rq_redis")
        worker = start_rq_worker(orders_db, client)
        store: Any = RQStore(url=RQ_URL, queues=[QUEUE], timeout=2)
        api_args = ["--rq", RQ_URL]
    else:
        require_module("celery")
        require_rabbitmq()
        worker = start_celery_worker(orders_db, AMQP_URL)
        store = CeleryStore(broker=AMQP_URL, queues=[QUEUE], timeout=2)
        api_args = ["--celery", AMQP_URL]
    command = orders_api_command(orders_db)
    try:
        with start_api_process(
            command + api_args + ["--queue", QUEUE], env=worker_env(orders_db)
        ) as api:
            yield store, worker, api.url
    finally:
        stop_process(worker)


@pytest.mark.slow
def test_a_job_that_outlives_the_timeout_is_a_finding_naming_queue_and_job(
    stalled: tuple[Any, Any, str], orders_db: Path
) -> None:
    store, worker, url = stalled
    world = World(url, {"db": SQLiteStore(str(orders_db)), "jobs": store})
    result = explore(world, [stall], worker_invariants("jobs"), max_depth=1, learn=False)
    found = {v.invariant: v for v in result.violations}
    assert list(found) == ["jobs_queues_settle"], result.violations
    message = found["jobs_queues_settle"].message
    assert found["jobs_queues_settle"].path == ["stall"]
    assert "did not settle within 2s" in message
    if isinstance(store, RQStore):
        assert "1 running (_support_jobs.stall(3.0))" in message, message
        # teardown waited for the job, then removed it: only the worker's own keys are left
        client = redis_client(RQ_DB)
        left = [k for k in client.keys("*") if not k.startswith((b"rq:worker", b"rq:clean_"))]
        client.close()
        assert left == []
    else:  # a solo worker in the middle of a task cannot say which: it is named
        assert "workers busy, no heartbeat within 1s (venomqa-test-" in message, message
    assert worker.poll() is None
    with sqlite3.connect(orders_db) as db:
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)


def test_bad_options_name_the_option() -> None:
    with pytest.raises(ValueError, match="queues must be a list of queue names, not a string"):
        RQStore(queues="orders")
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, not 0"):
        RQStore(timeout=0)
    with pytest.raises(ValueError, match="settle must be true or false, not 'no'"):
        CeleryStore(settle="no")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="app must be 'module:attribute'"):
        CeleryStore(app="tasks.app")
    with pytest.raises(ValueError, match="reply_timeout must be a positive number"):
        CeleryStore(reply_timeout=-1)


def test_unreachable_brokers_are_infrastructure_errors_naming_where() -> None:
    require_module("rq")
    store = RQStore(url="redis://127.0.0.1:1/15")
    with pytest.raises(StoreUnreachableError, match=r"cannot connect to Redis at redis://127"):
        store.setup()
    require_module("celery")
    celery = CeleryStore(broker="amqp://guest:secret@127.0.0.1:1//")
    with pytest.raises(StoreUnreachableError) as caught:
        celery.setup()
    assert "cannot connect to the Celery broker at amqp://guest:***@127.0.0.1:1//" in str(
        caught.value
    )
    assert "secret" not in str(caught.value)
    assert caught.value.exit_code == EXIT_INFRASTRUCTURE


def test_a_missing_optional_package_names_the_extra_to_install() -> None:
    from venomqa.errors import StoreError
    from venomqa_celery._imports import require

    with pytest.raises(StoreError, match=r"pip install 'venomqa-celery\[no_such_queue_lib\]'"):
        require("no_such_queue_lib")
