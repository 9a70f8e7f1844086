"""Benchmark issue 17: store costs flat in the size of the data the API does not touch.

Measured in one run, each figure a median of ROUNDS (the machine is shared: prefer the ratios):

1. Redis ``setup()`` over 1e5 untouched string keys (target <= 1 s).
2. A whole exploration (``venomqa.explore``, BFS depth 5) of a small counter API that keeps its
   state in Redis, over an empty database and over one with 1e5 untouched keys; the ratio
   (target <= 1.5x). The API is a WSGI app in this process writing through its own Redis
   connection (not ``venomqa run`` against a server process: see docs/benchmarks.md).
3. PostgreSQL: median ``checkpoint()`` on a fresh store, and again after 10,000 rolled-back
   branches (2 log entries each) with the table's autovacuum off; the ratio (target <= 1.5x).

Run: hatch run python bench/flat_costs.py [ROLLBACKS]   (flushes Redis database
``$VENOMQA_BENCH_REDIS_DB``, 9 by default; creates and drops a scratch PostgreSQL database)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
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


def pg_checkpoint_growth(rollbacks: int) -> tuple[float, float, float]:
    """Median checkpoint (s) fresh and after ``rollbacks`` rolled-back branches, and how long
    the branches took."""
    name = f"vq_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id bigserial PRIMARY KEY, qty integer NOT NULL)")
            conn.execute("INSERT INTO items (qty) SELECT i FROM generate_series(1, 1000) i")
            conn.execute("ALTER TABLE items SET (autovacuum_enabled = false)")
        store = PostgresStore(dsn=dsn)
        store.setup()
        try:
            with psycopg.connect(dsn, autocommit=True) as api:
                root = store.checkpoint()

                def checkpoint_cost() -> float:
                    times = []
                    for _ in range(300):
                        times.append(seconds(lambda: store.release(store.checkpoint())))
                    return statistics.median(times)

                fresh = checkpoint_cost()
                started = time.perf_counter()
                for n in range(rollbacks):
                    api.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (n % 1000 + 1,))
                    api.execute("INSERT INTO items (qty) VALUES (1)")
                    store.fingerprint()  # the explorer reads the log after every action
                    store.rollback(root)
                branches = time.perf_counter() - started
                return fresh, checkpoint_cost(), branches
        finally:
            store.teardown()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def main() -> None:
    rollbacks = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    r = redis.Redis.from_url(REDIS_URL)
    try:
        setup = redis_setup(r)
        print(f"redis setup, 1e5 untouched string keys (median of {ROUNDS}): {setup:.3f} s")
        print(f"  target <= 1 s: {'met' if setup <= 1.0 else 'MISSED'}")
        empty, states = redis_run(r, 0)
        full, _ = redis_run(r, 100_000)
        print(f"redis whole exploration ({states} states, BFS depth 5, median of {ROUNDS})")
        print(f"  empty db {empty:.2f} s, 1e5 untouched keys {full:.2f} s: {full / empty:.2f}x")
        print(f"  target <= 1.5x: {'met' if full / empty <= 1.5 else 'MISSED'}")
    finally:
        r.flushdb()
        r.close()
    fresh, after, took = pg_checkpoint_growth(rollbacks)
    print(f"postgres checkpoint, median of 300: fresh {fresh * 1000:.3f} ms")
    print(
        f"  after {rollbacks:,} rolled-back branches ({took:.0f} s): {after * 1000:.3f} ms, "
        f"{after / fresh:.2f}x; target <= 1.5x: {'met' if after / fresh <= 1.5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
