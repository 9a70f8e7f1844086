"""Fixtures of the venomqa-celery tests: real brokers on loopback, real worker processes.

RQ uses Redis database 15 (no other suite uses it; flushed before and after). Celery uses
RabbitMQ at 127.0.0.1:5672 (guest/guest) and Redis database 10 as a second broker. Where a
service or package is missing the tests skip with the reason, except under CI=true, where they
fail. Workers run from this folder so they import the ``_support_*`` job modules.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from services import require_module, require_service

HERE = Path(__file__).parent
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: Redis databases of these tests: 15 for RQ, 10 for Celery's Redis broker.
RQ_DB, CELERY_REDIS_DB = 15, 10
RQ_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{RQ_DB}"
CELERY_REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{CELERY_REDIS_DB}"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
QUEUE = "orders"


def redis_client(db: int) -> Any:
    """A redis-py client of ``db`` (skips, or fails under CI, when Redis does not answer)."""
    redis = require_module("redis")
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        require_service(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    return client


@pytest.fixture
def rq_redis() -> Iterator[Any]:
    """Redis database 15, empty (flushed before and after), for RQ."""
    require_module("rq")
    client = redis_client(RQ_DB)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def orders_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty orders database (``_support_jobs.SCHEMA``); ``$ORDERS_DB`` names it."""
    sys.path.insert(0, str(HERE))
    from _support_jobs import SCHEMA

    path = tmp_path / "orders.db"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
    monkeypatch.setenv("ORDERS_DB", str(path))
    return path


def worker_env(orders_db: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker or API process: imports from this folder, ``$ORDERS_DB``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["ORDERS_DB"] = str(orders_db)
    env.update(extra)
    return env


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM (a warm shutdown for both workers), SIGKILL after ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_rq_worker(orders_db: Path, client: Any, **extra: str) -> subprocess.Popen[bytes]:
    """An ``rq worker`` process on the ``orders`` queue of database 15, once it is registered."""
    rq = Path(sys.executable).with_name("rq")
    process = subprocess.Popen(
        [str(rq), "worker", "-u", RQ_URL, "-w", "rq.worker.SimpleWorker", "-q", QUEUE],
        cwd=HERE,
        env=worker_env(orders_db, **extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not client.keys("rq:worker:*"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            pytest.fail(f"rq worker did not register within 20 s (exit {process.returncode})")
        time.sleep(0.05)
    return process


def require_rabbitmq() -> None:
    """Nothing, once RabbitMQ accepts connections at 127.0.0.1:5672 (else skip, or fail on CI)."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        require_service(f"RabbitMQ is not reachable at 127.0.0.1:5672: {exc}")


@pytest.fixture(params=["amqp", "redis"])
def celery_broker(request: pytest.FixtureRequest) -> Iterator[str]:
    """A Celery broker URL: RabbitMQ, or Redis database 10 (flushed before and after)."""
    require_module("celery")
    if request.param == "amqp":
        require_rabbitmq()
        purge_amqp()  # a failed test must not leave messages for the next one
        try:
            yield AMQP_URL
        finally:
            purge_amqp()
        return
    client = redis_client(CELERY_REDIS_DB)
    client.flushdb()
    try:
        yield CELERY_REDIS_URL
    finally:
        client.flushdb()
        client.close()


def purge_amqp() -> None:
    """Empty the tests' ``orders`` queue on RabbitMQ (when it exists)."""
    from kombu import Connection
    from kombu.exceptions import ChannelError

    with Connection(AMQP_URL) as connection, contextlib.suppress(ChannelError):
        connection.default_channel.queue_purge(QUEUE)


def start_celery_worker(orders_db: Path, broker: str) -> subprocess.Popen[bytes]:
    """A ``celery worker -P solo`` on the ``orders`` queue, once it answers a ping."""
    celery = Path(sys.executable).with_name("celery")
    process = subprocess.Popen(
        [
            str(celery),
            "-A",
            "_support_celery_app",
            "worker",
            "-P",
            "solo",
            "-Q",
            QUEUE,
            "-n",
            f"venomqa-test-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=HERE,
        env=worker_env(orders_db, CELERY_BROKER=broker),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from _support_celery_app import make_app

    app = make_app(broker)
    deadline = time.monotonic() + 30
    while not app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            pytest.fail(f"celery worker did not answer within 30 s (exit {process.returncode})")
    return process
