"""Done when: ``venomqa run`` (the CLI, stores from venomqa.yaml through the entry point),
exploring an API whose jobs a real worker runs, is stopped by SIGINT in the middle: it exits
130 and the queue, the worker and the database are left as found (RQ on Redis, Celery on
RabbitMQ). A SIGINT while the run settles a long task stops the wait at once: the run exits 130
within a few seconds instead of waiting the task out, says the task is still running, and once
it is done ``venomqa recover`` leaves everything as found."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    AMQP_URL,
    QUEUE,
    RQ_URL,
    journals_left,
    orders_api_command,
    redis_client,
    require_rabbitmq,
    start_celery_worker,
    start_rq_worker,
    stop_process,
    task_events_were_off,
    worker_env,
)
from services import require_module
from venomqa.testing.server import start_api_process

pytestmark = [pytest.mark.other_distributions, pytest.mark.slow]

CHECKS = '''
"""Actions and invariants for the orders API, as a user writes them."""

import time

from venomqa import action, invariant
from venomqa_celery import worker_invariants


@action(requires=lambda ctx: "order" not in ctx)
def create_order(api, ctx):
    response = api.post("/orders")
    ctx["order"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "order" in ctx)
def refund(api, ctx):
    return api.post(f"/orders/{ctx['order']}/refund")


@action(requires=lambda ctx: "order" in ctx)
def ship(api, ctx):
    return api.post(f"/orders/{ctx['order']}/ship")


@action
def look_around(api, ctx):
    """Changes nothing; slow, so that the run is still going when the test stops it."""
    time.sleep(0.25)
    return api.get("/orders")


@invariant
def never_over_refunded(world):
    rows = world.database("db").query("SELECT amount, refunded FROM orders")
    return all(row["refunded"] <= row["amount"] for row in rows)


jobs_succeed, queues_settle = worker_invariants("jobs")
'''


def _orders(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM orders ORDER BY id").fetchall()


@pytest.fixture(params=["rq", "celery"])
def kind(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "rq":
        require_module("rq")
        client = redis_client(15)
        client.flushdb()
        try:
            yield "rq"
        finally:
            client.flushdb()
            client.close()
    else:
        require_module("celery")
        require_rabbitmq()
        yield "celery"


def _queue_state(kind: str) -> object:
    if kind == "rq":
        client = redis_client(15)
        keys = {k for k in client.keys("*") if not k.startswith((b"rq:worker", b"rq:clean_"))}
        client.close()
        return keys
    from _support_celery_app import make_app
    from kombu.exceptions import ChannelError

    with make_app(AMQP_URL).connection_for_write() as connection:
        try:
            return connection.default_channel.queue_declare(QUEUE, passive=True).message_count
        except ChannelError:
            return 0


def test_sigint_mid_run_leaves_queue_worker_and_database_as_found(
    kind: str, orders_db: Path, tmp_path: Path, private_state_dir: Path
) -> None:
    if kind == "rq":
        worker = start_rq_worker(orders_db, redis_client(15))
        store = f'{{adapter: rq, url: "{RQ_URL}", queues: [{QUEUE}]}}'
        api_args = ["--rq", RQ_URL]
    else:
        worker = start_celery_worker(orders_db, AMQP_URL)
        store = f'{{adapter: celery, broker: "{AMQP_URL}", queues: [{QUEUE}]}}'
        api_args = ["--celery", AMQP_URL]
    command = orders_api_command(orders_db)
    try:
        with start_api_process(
            command + api_args + ["--queue", QUEUE], env=worker_env(orders_db)
        ) as api:
            (tmp_path / "orders_checks.py").write_text(textwrap.dedent(CHECKS))
            (tmp_path / "venomqa.yaml").write_text(
                textwrap.dedent(f"""\
                    target: {api.url}
                    actions: [orders_checks]
                    stores:
                      db: {{adapter: sqlite, path: "{orders_db}"}}
                      jobs: {store}
                    explore: {{strategy: bfs, max_depth: 12}}
                    """)
            )
            before = (_queue_state(kind), _orders(orders_db))
            run = subprocess.Popen(
                [sys.executable, "-m", "venomqa", "run", "-c", str(tmp_path / "venomqa.yaml")],
                cwd=tmp_path,
                env=worker_env(orders_db),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 30
            while not _orders(orders_db) and time.monotonic() < deadline:
                time.sleep(0.05)  # until the run writes through the API
            time.sleep(0.5)  # and settles, checkpoints and rolls back a few times
            assert run.poll() is None, run.communicate()
            run.send_signal(signal.SIGINT)
            out, err = run.communicate(timeout=60)
            assert run.returncode == 130, (out, err)
            assert worker.poll() is None
            assert (_queue_state(kind), _orders(orders_db)) == before
            assert journals_left(private_state_dir) == []
            if kind == "celery":  # its task events are off again, as they were
                assert task_events_were_off(AMQP_URL, worker)
    finally:
        stop_process(worker)


LONG_TASK_S = 15

STALL_CHECKS = f'''
"""One action whose job takes {LONG_TASK_S} s."""

from venomqa import action


@action
def stall_long(api, ctx):
    return api.post("/stall/{LONG_TASK_S}")
'''


def _venomqa(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "venomqa", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigint_while_settling_a_long_task_stops_the_wait_at_once(
    kind: str, orders_db: Path, tmp_path: Path, private_state_dir: Path
) -> None:
    if kind == "rq":
        worker = start_rq_worker(orders_db, redis_client(15))
        store = f'{{adapter: rq, url: "{RQ_URL}", queues: [{QUEUE}], timeout: 60}}'
        api_args = ["--rq", RQ_URL]
    else:
        worker = start_celery_worker(orders_db, AMQP_URL)
        store = f'{{adapter: celery, broker: "{AMQP_URL}", queues: [{QUEUE}], timeout: 60}}'
        api_args = ["--celery", AMQP_URL]
    command = orders_api_command(orders_db)
    marker = Path(f"{orders_db}.stalling")
    env = worker_env(orders_db)
    try:
        with start_api_process(command + api_args + ["--queue", QUEUE], env=env) as api:
            (tmp_path / "stall_checks.py").write_text(STALL_CHECKS)
            (tmp_path / "venomqa.yaml").write_text(
                textwrap.dedent(f"""\
                    target: {api.url}
                    actions: [stall_checks]
                    stores:
                      db: {{adapter: sqlite, path: "{orders_db}"}}
                      jobs: {store}
                    explore: {{strategy: bfs, max_depth: 1}}
                    """)
            )
            before = (_queue_state(kind), _orders(orders_db))
            run = _venomqa("run", "-c", "venomqa.yaml", cwd=tmp_path, env=env)
            deadline = time.monotonic() + 30
            while not marker.exists():  # the worker runs the task: the run waits for it
                assert run.poll() is None and time.monotonic() < deadline, run.communicate()
                time.sleep(0.02)
            time.sleep(0.5)
            assert run.poll() is None, run.communicate()
            sent = time.monotonic()
            run.send_signal(signal.SIGINT)
            out, err = run.communicate(timeout=60)
            took = time.monotonic() - sent
            assert run.returncode == 130, (out, err)
            assert took < 5, f"exit {took:.1f} s after SIGINT; {err}"
            assert marker.exists(), "the task ended before the run: the test proves nothing"
            assert "still running" in err and "venomqa recover" in err, err
            assert _orders(orders_db) == before[1]
            assert worker.poll() is None
            assert len(journals_left(private_state_dir)) == 1  # for `venomqa recover`

            deadline = time.monotonic() + LONG_TASK_S + 10
            while marker.exists() and time.monotonic() < deadline:
                time.sleep(0.1)  # the task ends; the records it leaves are the run's
            time.sleep(0.5)
            recover = _venomqa("recover", "-c", "venomqa.yaml", cwd=tmp_path, env=env)
            out, err = recover.communicate(timeout=120)
            assert recover.returncode == 0, (out, err)
            assert "store 'jobs'" in out and "repaired" in out, out
            assert (_queue_state(kind), _orders(orders_db)) == before
            assert journals_left(private_state_dir) == []
            if kind == "celery":
                assert task_events_were_off(AMQP_URL, worker)
            assert worker.poll() is None
    finally:
        stop_process(worker)
