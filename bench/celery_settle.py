"""Benchmark venomqa-celery's settle: the latency it adds to every action.

For RQ (Redis) and Celery (RabbitMQ, and Redis as broker), with a real worker process
(``rq worker`` with SimpleWorker; ``celery worker -P solo``) and the orders API of
tests/celery in its own process over SQLite, ROUNDS times: checkpoint, one action, the world's
settle alone (timed), view, rollback. Two actions:

- ``idle``: a call that enqueues nothing (a refund of a missing order, 404): the fixed cost of
  proving that nothing is pending;
- ``job``: creating an order, which enqueues a job that writes the order: settle then waits
  for the worker to take and run it (broker hop, job, worker bookkeeping, polling).

Prints median and p95 per action for the settle, and the action's own HTTP call for scale;
for Celery also what ``celery inspect`` (active + reserved, one worker) would cost per settle,
which the store does not use. No asserts.

Run: hatch run python bench/celery_settle.py   (Redis database ``$VENOMQA_BENCH_REDIS_DB``, 9
by default, is flushed: the test suite owns 10-15; RabbitMQ at 127.0.0.1:5672, guest/guest)
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from venomqa import World
from venomqa.evaluation import run_action
from venomqa.stores.sqlite import SQLiteStore
from venomqa.testing.server import start_api_process
from venomqa_celery import CeleryStore, RQStore

SUPPORT = Path(__file__).resolve().parent.parent / "tests" / "celery"
sys.path.insert(0, str(SUPPORT))

DB = int(os.environ.get("VENOMQA_BENCH_REDIS_DB", "9"))
REDIS_URL = f"redis://127.0.0.1:6379/{DB}"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
QUEUE = "bench"
ROUNDS = 100
BROKERS = (("celery (rabbitmq)", AMQP_URL), ("celery (redis)", REDIS_URL))


def _env(orders_db: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(SUPPORT), ORDERS_DB=str(orders_db))
    env.update(extra)
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def rq_worker(orders_db: Path) -> Iterator[None]:
    rq = Path(sys.executable).with_name("rq")
    command = [str(rq), "worker", "-u", REDIS_URL, "-w", "rq.worker.SimpleWorker", "-q", QUEUE]
    process = subprocess.Popen(command, cwd=SUPPORT, env=_env(orders_db))
    client = redis.Redis.from_url(REDIS_URL)
    try:
        while not client.keys("rq:worker:*"):
            time.sleep(0.05)
        yield
    finally:
        _stop(process)
        client.close()


@contextmanager
def celery_worker(orders_db: Path, broker: str) -> Iterator[None]:
    from _support_celery_app import make_app

    celery = Path(sys.executable).with_name("celery")
    command = [str(celery), "-A", "_support_celery_app", "worker", "-P", "solo", "-Q", QUEUE]
    command += ["--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
    process = subprocess.Popen(command, cwd=SUPPORT, env=_env(orders_db, CELERY_BROKER=broker))
    try:
        app = make_app(broker)
        while not app.control.ping(timeout=0.5):
            pass
        yield
    finally:
        _stop(process)


def _post(path: str) -> Callable[[Any, Any], Any]:
    def call(api: Any, ctx: Any) -> Any:
        return api.post(path)

    return call


def measure(label: str, api_args: list[str], store: Any, orders_db: Path) -> None:
    command = [sys.executable, str(SUPPORT / "_support_orders_api.py"), "--db", str(orders_db)]
    with start_api_process(command + api_args + ["--queue", QUEUE], env=_env(orders_db)) as api:
        world = World(api.url, {"db": SQLiteStore(str(orders_db)), "jobs": store})
        with world.session():
            for action, path in (("idle", "/orders/999/refund"), ("job", "/orders")):
                calls: list[float] = []
                settles: list[float] = []
                for _ in range(ROUNDS):
                    start = world.checkpoint()
                    t0 = time.perf_counter()
                    run_action(world, action, _post(path))
                    t1 = time.perf_counter()
                    world.settle()
                    t2 = time.perf_counter()
                    world.view()
                    world.rollback(start)
                    world.release(start)
                    calls.append(t1 - t0)
                    settles.append(t2 - t1)
                print(
                    f"{label:<22} {action:<5} settle median {_ms(statistics.median(settles))}"
                    f"  p95 {_ms(_p95(settles))}   (the HTTP call: median "
                    f"{_ms(statistics.median(calls))})"
                )


def inspect_cost(label: str, broker: str) -> None:
    """For comparison: ``celery inspect`` active + reserved, which settle does not use."""
    from _support_celery_app import make_app

    app = make_app(broker)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        inspect = app.control.inspect(timeout=1.0, limit=1)
        inspect.active()
        inspect.reserved()
        times.append(time.perf_counter() - t0)
    print(f"{label:<22} inspect active+reserved (not used) median {_ms(statistics.median(times))}")


def _p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def _orders_db(folder: str) -> Path:
    from _support_jobs import SCHEMA

    path = Path(folder) / "orders.db"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
    return path


def main() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        with tempfile.TemporaryDirectory() as folder:
            orders_db = _orders_db(folder)
            with rq_worker(orders_db):
                store = RQStore(url=REDIS_URL, queues=[QUEUE])
                measure("rq (redis)", ["--rq", REDIS_URL], store, orders_db)
            for label, broker in BROKERS:
                with celery_worker(orders_db, broker):
                    store = CeleryStore(broker=broker, queues=[QUEUE])
                    measure(label, ["--celery", broker], store, orders_db)
                    inspect_cost(label, broker)
    finally:
        client.flushdb()
        client.close()


if __name__ == "__main__":
    main()
