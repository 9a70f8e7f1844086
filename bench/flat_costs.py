"""Benchmark issue 17: store costs flat in the size of the data the API does not touch.

Measured in one run, each figure a median of ROUNDS (the machine is shared: prefer the ratios):

1. Redis ``setup()`` over 1e5 untouched string keys (target <= 1 s).
2. A whole exploration (``venomqa.explore``, BFS depth 5) of a small counter API that keeps its
   state in Redis, over an empty database and over one with 1e5 untouched keys; the ratio
   (target <= 1.5x). The API is a WSGI app in this process writing through its own Redis
   connection (``bench/flat_runs.py`` measures whole `venomqa run`s against server processes).
3. PostgreSQL: median ``checkpoint()`` of a store after 10,000 rolled-back branches (2 log
   entries each; the table's autovacuum off) against a fresh store's on a second database of
   the same shape, the two measured in alternating batches (interleaved: a checkpoint is ~0.1 ms,
   and the load of the moment moves it by more than any growth); the ratio (target <= 1.5x).

Run: hatch run python bench/flat_costs.py [ROLLBACKS] [redis|postgres]   (flushes Redis database
``$VENOMQA_BENCH_REDIS_DB``, 9 by default; creates and drops two scratch PostgreSQL databases)
"""

from __future__ import annotations

import fcntl
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any

import psycopg
import redis
from venomqa import World, action, explore
from venomqa_postgres import PostgresStore
from venomqa_redis import RedisStore

DB = int(os.environ.get("VENOMQA_BENCH_REDIS_DB", "9"))
REDIS_URL = f"redis://127.0.0.1:6379/{DB}"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROUNDS = 3


def seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def fill_redis(r: Any, keys: int) -> None:
    r.flushdb()
    pipe = r.pipeline(transaction=False)
    for i in range(keys):
        pipe.set(f"untouched:{i}", f"value-{i}-" + "x" * 40)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


def redis_setup(r: Any) -> float:
    fill_redis(r, 100_000)
    times = []
    with tempfile.TemporaryDirectory() as state_dir:
        for _ in range(ROUNDS):
            store = RedisStore(url=REDIS_URL, state_dir=state_dir)
            times.append(seconds(store.setup))
            store.teardown()
    return statistics.median(times)


def counter_api(r: Any) -> Callable[..., Iterable[bytes]]:
    """POST /add/<item>, POST /reset, GET /total: a cart hash and a log list in Redis."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if method == "POST" and path.startswith("/add/"):
            count = r.hincrby("app:cart", path[5:], 1)
            r.rpush("app:log", f"{path} {count}")
        elif method == "POST" and path == "/reset":
            r.delete("app:cart", "app:log")
        total = sum(int(v) for v in r.hvals("app:cart"))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"total": total}).encode()]

    return app


@action
def add_apple(api: Any, ctx: Any) -> Any:
    return api.post("/add/apple")


@action
def add_pear(api: Any, ctx: Any) -> Any:
    return api.post("/add/pear")


@action
def reset(api: Any, ctx: Any) -> Any:
    return api.post("/reset")


@action
def total(api: Any, ctx: Any) -> Any:
    return api.get("/total")


def redis_run(r: Any, keys: int) -> tuple[float, int]:
    fill_redis(r, keys)
    times, states = [], 0
    with tempfile.TemporaryDirectory() as state_dir:
        for _ in range(ROUNDS):
            world = World(
                counter_api(r), stores={"cache": RedisStore(url=REDIS_URL, state_dir=state_dir)}
            )
            started = time.perf_counter()
            result = explore(world, [add_apple, add_pear, reset, total], max_depth=5)
            times.append(time.perf_counter() - started)
            states = result.states
    return statistics.median(times), states


def pg_database(admin: Any, stack: ExitStack) -> str:
    """A scratch database with ``items`` (1,000 rows, autovacuum off), dropped at exit."""
    name = f"vq_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f"CREATE DATABASE {name}")
    stack.callback(admin.execute, f"DROP DATABASE {name} WITH (FORCE)")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id bigserial PRIMARY KEY, qty integer NOT NULL)")
        conn.execute("INSERT INTO items (qty) SELECT i FROM generate_series(1, 1000) i")
        conn.execute("ALTER TABLE items SET (autovacuum_enabled = false)")
    return dsn


def interleaved_checkpoints(
    fresh: PostgresStore, aged: PostgresStore, rounds: int = 20, batch: int = 50
) -> tuple[float, float]:
    """Median ``checkpoint()`` (s) of each store, taken in alternating batches so the load of
    the moment falls on both alike."""
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(rounds):
        for side, store in enumerate((fresh, aged)):
            for _ in range(batch):
                times[side].append(seconds(lambda s=store: s.release(s.checkpoint())))
    return statistics.median(times[0]), statistics.median(times[1])


def log_size(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_relation_size('_venomqa.log'), pg_relation_size('_venomqa.log_pkey')"
        ).fetchone()
    assert row is not None
    return f"log {row[0] // 1024} KiB, its index {row[1] // 1024} KiB"


def pg_checkpoint_growth(rollbacks: int) -> None:
    """``checkpoint()`` of a store after ``rollbacks`` rolled-back branches (2 log entries
    each, the fingerprint read after each as the explorer does) against a fresh store's, on two
    scratch databases of the same shape, measured interleaved before and after."""
    with psycopg.connect(ADMIN, autocommit=True) as admin, ExitStack() as stack:
        dsns = [pg_database(admin, stack) for _ in range(2)]
        fresh, aged = (PostgresStore(dsn=dsn) for dsn in dsns)
        for store in (fresh, aged):
            store.setup()
            stack.callback(store.teardown)
        fresh.checkpoint()
        root = aged.checkpoint()
        a, b = interleaved_checkpoints(fresh, aged)
        print(f"postgres checkpoint, interleaved medians of 1,000 each (load {load()}):")
        print(f"  before: fresh {a * 1000:.3f} ms, to-be-aged {b * 1000:.3f} ms: {b / a:.2f}x")
        started = time.perf_counter()
        with psycopg.connect(dsns[1], autocommit=True) as api:
            for n in range(rollbacks):
                api.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (n % 1000 + 1,))
                api.execute("INSERT INTO items (qty) VALUES (1)")
                aged.fingerprint()  # the explorer reads the log after every action
                aged.rollback(root)
        took = time.perf_counter() - started
        a, b = interleaved_checkpoints(fresh, aged)
        verdict = "met" if b / a <= 1.5 else "MISSED"
        print(
            f"  after {rollbacks:,} rolled-back branches ({took:.0f} s; {log_size(dsns[1])}): "
            f"fresh {a * 1000:.3f} ms, aged {b * 1000:.3f} ms: {b / a:.2f}x; "
            f"target <= 1.5x: {verdict}  (load {load()})"
        )


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    rollbacks = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    parts = sys.argv[2:] or ["redis", "postgres"]
    if "redis" in parts:
        redis_costs()
    if "postgres" in parts:
        pg_checkpoint_growth(rollbacks)


def redis_costs() -> None:
    r = redis.Redis.from_url(REDIS_URL)
    # notify-keyspace-events is server-wide: take turns with the Redis test suite.
    with open(os.path.join(tempfile.gettempdir(), "venomqa-redis-tests.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            setup = redis_setup(r)
            print(f"redis setup, 1e5 untouched string keys (median of {ROUNDS}): {setup:.3f} s")
            print(f"  target <= 1 s: {'met' if setup <= 1.0 else 'MISSED'}  (load {load()})")
            empty, states = redis_run(r, 0)
            full, _ = redis_run(r, 100_000)
            ratio = full / empty
            print(f"redis whole exploration ({states} states, BFS depth 5, median of {ROUNDS})")
            print(f"  empty db {empty:.2f} s, 1e5 untouched keys {full:.2f} s: {ratio:.2f}x")
            print(f"  target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'}  (load {load()})")
        finally:
            r.flushdb()
            r.close()


if __name__ == "__main__":
    main()
