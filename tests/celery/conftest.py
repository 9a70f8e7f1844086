"""Fixtures of the venomqa-celery tests: real brokers on loopback, real worker processes.

RQ uses Redis database 15 (no other suite uses it; flushed before and after). Celery uses
RabbitMQ at 127.0.0.1:5672 (guest/guest) and Redis database 10 as a second broker. Where a
service or package is missing the tests skip with the reason, except under CI=true, where they
fail. Workers run from this folder so they import the ``_support_*`` job modules.

The queue (``QUEUE``) is named per test session, and every worker by its session and a counter:
a worker another run left behind on the shared broker can neither take this session's tasks
nor answer for one of its workers. Every worker and API process a fixture starts is stopped at
the end of its test, and killed at the end of the session if still alive; on Linux a worker also
dies with the test process (``PR_SET_PDEATHSIG``), so no worker outlives the suite. The stores'
crash journals go to a temporary folder (``$XDG_CACHE_HOME``), never the user's cache.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
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
#: This session's queue: ``orders_`` and a random suffix (also a valid Python identifier, for
#: the ``run_next_job_<queue>`` actions).
SESSION = uuid.uuid4().hex[:8]
QUEUE = f"orders_{SESSION}"
#: Every worker process started in this session (killed at its end if still alive).
STARTED: list[subprocess.Popen[bytes]] = []
#: The name of each Celery worker started, by process id.
CELERY_WORKERS: dict[int, str] = {}
_WORKER_NUMBERS = itertools.count(1)


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` that has the child SIGKILLed when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)

    return preexec


def start_worker(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A worker process from this folder, remembered in ``STARTED``."""
    process = subprocess.Popen(
        command,
        cwd=HERE,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent(),  # only prctl: safe between fork and exec
    )
    STARTED.append(process)
    return process


def worker_name(kind: str) -> str:
    """A worker name unique to this session: ``venomqa-test-<kind>-<session>-<n>``."""
    return f"venomqa-test-{kind}-{SESSION}-{next(_WORKER_NUMBERS)}"


@pytest.fixture(scope="session", autouse=True)
def no_orphan_workers() -> Iterator[None]:
    """At the end of the session: kill any worker still alive, delete the session's queue on
    RabbitMQ (Redis databases are flushed by their fixtures)."""
    try:
        yield
    finally:
        for process in STARTED:
            if process.poll() is None:
                process.kill()
                process.wait()
        with contextlib.suppress(Exception):
            delete_amqp_queue()


def journals_left(cache: Path) -> list[str]:
    """The crash journals (and their locks) the stores left under the cache folder ``cache``:
    none after a run that tore down cleanly."""
    return sorted(p.name for p in (cache / "venomqa").rglob("*") if p.is_file())


@pytest.fixture(autouse=True)
def private_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The stores' crash journals in a folder of this test (inherited by subprocesses)."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


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


def orders_api_command(orders_db: Path, *args: str) -> list[str]:
    """The command line of the orders API on ``orders_db``; the API dies with this process
    (``_support_die_with_parent``), so a killed pytest leaves no server behind."""
    guard = [sys.executable, str(HERE / "_support_die_with_parent.py")]
    api = [sys.executable, str(HERE / "_support_orders_api.py"), "--db", str(orders_db)]
    return [*guard, *api, *args]


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
    """An ``rq worker`` process on this session's queue of database 15, once it is
    registered."""
    rq = Path(sys.executable).with_name("rq")
    name = worker_name("rq")
    command = [str(rq), "worker", "-u", RQ_URL, "-w", "rq.worker.SimpleWorker", "-n", name]
    process = start_worker([*command, "-q", QUEUE], worker_env(orders_db, **extra))
    deadline = time.monotonic() + 20
    while not client.exists(f"rq:worker:{name}"):
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
        delete_amqp_queue()  # undeclared, as before an API's first publish; nothing left over
        try:
            yield AMQP_URL
        finally:
            delete_amqp_queue()
        return
    client = redis_client(CELERY_REDIS_DB)
    client.flushdb()
    try:
        yield CELERY_REDIS_URL
    finally:
        client.flushdb()
        client.close()


def purge_amqp() -> None:
    """Empty this session's queue on RabbitMQ (when it exists)."""
    from kombu import Connection
    from kombu.exceptions import ChannelError

    with Connection(AMQP_URL) as connection, contextlib.suppress(ChannelError):
        connection.default_channel.queue_purge(QUEUE)


def delete_amqp_queue() -> None:
    """Delete this session's queue on RabbitMQ (when it exists)."""
    from kombu import Connection
    from kombu.exceptions import ChannelError

    with Connection(AMQP_URL, connect_timeout=2) as connection, contextlib.suppress(ChannelError):
        connection.default_channel.queue_delete(QUEUE)


def start_celery_worker(
    orders_db: Path, broker: str, queue: str = QUEUE
) -> subprocess.Popen[bytes]:
    """A ``celery worker -P solo`` on ``queue`` (this session's), once it answers a ping."""
    celery = Path(sys.executable).with_name("celery")
    name = f"{worker_name('celery')}@localhost"
    process = start_worker(
        [
            str(celery),
            "-A",
            "_support_celery_app",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        worker_env(orders_db, CELERY_BROKER=broker),
    )
    CELERY_WORKERS[process.pid] = name
    from _support_celery_app import make_app

    app = make_app(broker)
    deadline = time.monotonic() + 30
    while not app.control.ping(timeout=0.5, destination=[name]):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            pytest.fail(f"celery worker did not answer within 30 s (exit {process.returncode})")
    return process


def task_events_were_off(broker: str, worker: subprocess.Popen[bytes]) -> bool:
    """Whether the Celery ``worker``'s task events were off (asked by turning them on, then
    off again)."""
    from _support_celery_app import make_app

    app = make_app(broker)
    name = [CELERY_WORKERS[worker.pid]]
    answers = app.control.enable_events(reply=True, timeout=5, destination=name, limit=1)
    said = [reply.get("ok") for answer in answers or [] for reply in answer.values()]
    app.control.disable_events(reply=True, timeout=5, destination=name, limit=1)
    assert said, f"the worker {name[0]} did not answer"
    return said == ["task events enabled"]
