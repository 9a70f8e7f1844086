"""Done when: a `venomqa run` SIGKILLed mid-run (a real API process, a real worker) leaves the
worker's task events on (Celery) or its jobs in Redis (RQ); ``venomqa recover`` puts everything
back: task events off as before, no job record or registry entry of the run, the queues as
before (an RQ job that failed before the run still there), the database as before. With
``settle: false`` (no worker), a store process killed after it ran and enqueued jobs leaves its
queue changed; the next ``setup()`` puts the queue's messages back as they were at the killed
run's setup, and says so."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    AMQP_URL,
    HERE,
    QUEUE,
    RQ_DB,
    RQ_URL,
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
from venomqa.errors import LeftoversRepaired
from venomqa.testing.server import start_api_process

pytestmark = [pytest.mark.other_distributions, pytest.mark.slow]

CHECKS = '''
"""Actions for the orders API: endless enough to be killed mid-run."""

import time

from venomqa import action


@action(requires=lambda ctx: "order" not in ctx)
def create_order(api, ctx):
    response = api.post("/orders")
    ctx["order"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "order" in ctx)
def refund(api, ctx):
    return api.post(f"/orders/{ctx['order']}/refund")


@action
def look_around(api, ctx):
    time.sleep(0.2)
    return api.get("/orders")
'''


def _orders(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM orders ORDER BY id").fetchall()


def _redis_dump() -> dict[bytes, object]:
    """Every key of the RQ database but the worker's own, with its type and content."""
    client = redis_client(RQ_DB)
    dump: dict[bytes, object] = {}
    for key in sorted(client.keys("*")):
        if key.startswith((b"rq:worker", b"rq:clean_")):
            continue
        kind = client.type(key)
        content: object = {
            b"hash": lambda k: client.hgetall(k),
            b"list": lambda k: client.lrange(k, 0, -1),
            b"set": lambda k: sorted(client.smembers(k)),
            b"zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            b"string": lambda k: client.get(k),
            b"stream": lambda k: client.xlen(k),
        }.get(kind, lambda k: None)(key)
        dump[key] = (kind, content)
    client.close()
    return dump


def _amqp_depth() -> int:
    from _support_celery_app import make_app
    from kombu.exceptions import ChannelError

    with make_app(AMQP_URL).connection_for_write() as connection:
        try:
            return int(connection.default_channel.queue_declare(QUEUE, passive=True)[1])
        except ChannelError:
            return 0


def _venomqa(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _journals(cache: Path, kind: str) -> list[Path]:
    return sorted((cache / "venomqa" / kind).glob("*.json"))


@pytest.mark.parametrize("kind", ["rq", "celery"])
def test_sigkilled_run_is_repaired_by_venomqa_recover(
    kind: str, orders_db: Path, tmp_path: Path, private_state_dir: Path
) -> None:
    if kind == "rq":
        require_module("rq")
        client = redis_client(RQ_DB)
        client.flushdb()
        worker = start_rq_worker(orders_db, client)
        store = f'{{adapter: rq, url: "{RQ_URL}", queues: [{QUEUE}]}}'
        api_args = ["--rq", RQ_URL]
        import _support_jobs as jobs
        from rq import Queue

        failed_before = Queue(QUEUE, connection=client).enqueue(jobs.ship, 99)
        deadline = time.monotonic() + 20  # a job that failed before the run: it must stay
        while failed_before.get_status(refresh=True) != "failed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        dump = _redis_dump
    else:
        require_module("celery")
        require_rabbitmq()
        worker = start_celery_worker(orders_db, AMQP_URL)
        store = f'{{adapter: celery, broker: "{AMQP_URL}", queues: [{QUEUE}]}}'
        api_args = ["--celery", AMQP_URL]
        dump = _amqp_depth  # type: ignore[assignment]
    command = orders_api_command(orders_db)
    env = worker_env(orders_db)
    try:
        with start_api_process(command + api_args + ["--queue", QUEUE], env=env) as api:
            (tmp_path / "kill_checks.py").write_text(CHECKS)
            (tmp_path / "venomqa.yaml").write_text(
                textwrap.dedent(f"""\
                    target: {api.url}
                    actions: [kill_checks]
                    stores:
                      db: {{adapter: sqlite, path: "{orders_db}"}}
                      jobs: {store}
                    explore: {{strategy: bfs, max_depth: 30}}
                    """)
            )
            before = (dump(), _orders(orders_db))
            run = subprocess.Popen(
                [sys.executable, "-m", "venomqa", "run", "-c", "venomqa.yaml"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while (dump(), _orders(orders_db)) == before or not _orders(orders_db):
                assert run.poll() is None and time.monotonic() < deadline, run.returncode
                time.sleep(0.01)  # until the run has changed Redis (RQ) or the database
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=10)

            (journal,) = _journals(private_state_dir, kind)
            content = json.loads(journal.read_text())
            if kind == "celery":  # the killed run had turned the worker's task events on
                assert len(content["enabled"]) == 1, content
            time.sleep(0.5)  # the worker finishes what the killed run left in the queue

            recovered = _venomqa("recover", "-c", "venomqa.yaml", cwd=tmp_path, env=env)
            assert recovered.returncode == 0, (recovered.stdout, recovered.stderr)
            assert "store 'jobs'" in recovered.stdout, recovered.stdout
            jobs_line = next(
                line for line in recovered.stdout.splitlines() if "store 'jobs'" in line
            )
            assert "repaired" in jobs_line and "was stopped before its clean-up" in jobs_line
            if kind == "celery":
                assert "turned task events off again on venomqa-test-celery-" in jobs_line
            else:
                assert "deleted the" in jobs_line

            assert (dump(), _orders(orders_db)) == before
            assert _journals(private_state_dir, kind) == []
            if kind == "celery":
                assert task_events_were_off(AMQP_URL, worker)
            assert worker.poll() is None
            again = _venomqa("recover", "-c", "venomqa.yaml", cwd=tmp_path, env=env)
            assert again.returncode == 0
            assert "store 'jobs' (" in again.stdout and "nothing left over" in again.stdout
    finally:
        stop_process(worker)
        if kind == "rq":
            redis_client(RQ_DB).flushdb()


# -- settle: false, no worker: the killed run's queue is put back ---------------------------

KILLED_RQ = """
import os, signal, sys
import redis
from rq import Queue
import _support_jobs as jobs
from venomqa_celery import RQStore

store = RQStore(url=sys.argv[1], queues=[sys.argv[2], sys.argv[3]], settle=False)
store.setup()
store.run_next_job(sys.argv[2])   # runs the job that was there before the run
client = redis.Redis.from_url(sys.argv[1])
Queue(sys.argv[2], connection=client).enqueue(jobs.refund, 7)
Queue(sys.argv[3], connection=client).enqueue(jobs.refund, 8)  # registers that queue
os.kill(os.getpid(), signal.SIGKILL)
"""

KILLED_CELERY = """
import os, signal, sys
from _support_celery_app import make_app
from venomqa_celery import CeleryStore

store = CeleryStore(
    broker=sys.argv[1], queues=[sys.argv[2]], settle=False, app="_support_celery_app:app"
)
store.setup()
store.checkpoint()                # read the queue (taken, published again, acked)
store.run_next_job(sys.argv[2])   # runs (takes) the task that was there before the run
make_app(sys.argv[1]).send_task("orders.refund", args=(7,), queue=sys.argv[2])
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed(script: str, orders_db: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=HERE,
        env=worker_env(orders_db),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def _repaired_by_next_setup(store: Any) -> str:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        store.setup()
    messages = [str(w.message) for w in seen if issubclass(w.category, LeftoversRepaired)]
    assert len(messages) == 1, [str(w.message) for w in seen]
    return messages[0]


def test_rq_settle_false_killed_run_gets_its_queue_back(rq_redis: Any, orders_db: Path) -> None:
    import _support_jobs as jobs
    from rq import Queue
    from venomqa_celery import RQStore

    there = Queue(QUEUE, connection=rq_redis).enqueue(jobs.pay, 1)
    second = f"{QUEUE}_second"  # not known to RQ before the run
    before = _redis_dump()
    _killed(KILLED_RQ, orders_db, RQ_URL, QUEUE, second)
    assert _redis_dump() != before
    assert f"rq:queue:{second}".encode() in rq_redis.smembers("rq:queues")
    store = RQStore(url=RQ_URL, queues=[QUEUE, second], settle=False)
    message = _repaired_by_next_setup(store)
    assert "put its queues back as they were (1 job(s) waiting)" in message, message
    assert "deleted the 2 job(s)" in message, message
    assert store.peek(QUEUE) == ["_support_jobs.pay(1)"]
    store.teardown()
    assert _redis_dump() == before
    assert Queue(QUEUE, connection=rq_redis).job_ids == [there.id]


def test_celery_settle_false_killed_run_gets_its_queue_back(
    celery_broker: str, orders_db: Path
) -> None:
    sys.path.insert(0, str(HERE))
    from _support_celery_app import make_app
    from venomqa_celery import CeleryStore

    sent = make_app(celery_broker).send_task("orders.pay", args=(1,), queue=QUEUE)
    time.sleep(0.1)  # routed
    _killed(KILLED_CELERY, orders_db, celery_broker, QUEUE)
    time.sleep(0.5)  # the broker hands back what the killed connection had not acked
    store = CeleryStore(broker=celery_broker, queues=[QUEUE], settle=False)
    message = _repaired_by_next_setup(store)
    assert "put its queues back as they were (1 message(s))" in message, message
    try:
        pending = store._read_queues()[QUEUE]
        assert [m.headers["id"] for m in pending] == [sent.id]
        assert [m.describe() for m in pending] == ["orders.pay(1,)"]
    finally:
        store.teardown()
