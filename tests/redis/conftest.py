"""Fixtures of the Redis store tests: a real Redis at 127.0.0.1:6379, databases 10-15 only.

Where Redis is not running the tests skip, except under CI=true, where they fail. The server's
configuration (notify-keyspace-events) is global, so test sessions running at the same time on
one machine take turns through a file lock around every fixture that owns a database.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from services import require_module, require_service

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: Databases these tests own and flush: 13 contract suite, 14 store tests, 12 end to end.
CONTRACT_DB, STORE_DB, E2E_DB = 13, 14, 12


def redis_url(db: int) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def _client(db: int) -> Any:
    redis = require_module("redis")
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        require_service(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    return client


def _owned_db(db: int) -> Iterator[Any]:
    lock_path = os.path.join(tempfile.gettempdir(), "venomqa-redis-tests.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield from _flushed(db)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _flushed(db: int) -> Iterator[Any]:
    client = _client(db)
    config = client.config_get("notify-keyspace-events")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.config_set("notify-keyspace-events", config["notify-keyspace-events"])
        client.close()


@pytest.fixture
def contract_db() -> Iterator[Any]:
    """An empty database 13 (flushed before and after), as a redis-py client."""
    yield from _owned_db(CONTRACT_DB)


@pytest.fixture
def store_db() -> Iterator[Any]:
    """An empty database 14 (flushed before and after), as a redis-py client."""
    yield from _owned_db(STORE_DB)


@pytest.fixture
def e2e_db() -> Iterator[Any]:
    """An empty database 12 (flushed before and after), as a redis-py client."""
    yield from _owned_db(E2E_DB)


@pytest.fixture
def redis_reachable() -> None:
    """Nothing, once Redis answers (skips, or fails under CI=true, when it does not)."""
    _client(E2E_DB).close()
