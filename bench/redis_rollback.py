"""Benchmark the Redis store: rollback cost must follow the keys a branch changed, not db size.

For databases of 1e3 and 1e5 keys (90 % strings, 10 % hashes) in Redis database 10, a branch
changes 10 keys through a second connection (7 overwrites, 1 hash field, 1 new key, 1 delete),
then the store rolls it back. Per round, as the explorer does: checkpoint, branch, fingerprint
(which reads the changed keys), rollback. Prints medians (and p95 for rollback) and the one-off
setup. Baseline, measured in the same run: the full SCAN+DUMP checkpoint and the SCAN + DEL extras
+ RESTORE-everything rollback a snapshot design would pay per branch. No asserts.

Run: hatch run python bench/redis_rollback.py   (flushes Redis database 10 only)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import redis
from venomqa_redis import RedisStore

DB = 10
URL = f"redis://127.0.0.1:6379/{DB}"
ROUNDS = 200
BASELINE_ROUNDS = {1_000: 20, 100_000: 3}


def populate(r: Any, size: int) -> None:
    r.flushdb()
    pipe = r.pipeline(transaction=False)
    for i in range(size):
        if i % 10 == 9:
            pipe.hset(f"cart:{i}", mapping={"apple": i % 7, "pear": 2, "status": "open"})
        else:
            pipe.set(f"key:{i}", f"value-{i}-" + "x" * 40)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


def branch(r: Any, round_no: int) -> None:
    pipe = r.pipeline(transaction=False)
    for j in range(7):
        pipe.set(f"key:{j * 10 + 1}", f"changed-{round_no}")
    pipe.hset("cart:9", "apple", round_no)
    pipe.set(f"new:{round_no}", "created")
    pipe.delete("key:2")
    pipe.execute()


def ms(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def baseline(r: Any, rounds: int) -> tuple[float, float]:
    """Median checkpoint and rollback of a SCAN+DUMP snapshot / RESTORE-everything design."""
    snapshot: dict[bytes, tuple[bytes, int]] = {}

    def take() -> None:
        snapshot.clear()
        keys = list(r.scan_iter(count=1000))
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            pipe = r.pipeline(transaction=False)
            for key in chunk:
                pipe.dump(key)
                pipe.pttl(key)
            replies = pipe.execute()
            for i, key in enumerate(chunk):
                snapshot[key] = (replies[2 * i], replies[2 * i + 1])

    def restore() -> None:
        extra = [k for k in r.scan_iter(count=1000) if k not in snapshot]
        items = list(snapshot.items())
        pipe = r.pipeline(transaction=False)
        if extra:
            pipe.delete(*extra)
        for n, (key, (dump, pttl)) in enumerate(items, 1):
            pipe.restore(key, max(pttl, 0), dump, replace=True)
            if n % 1000 == 0:
                pipe.execute()
        pipe.execute()

    takes, restores = [], []
    for round_no in range(rounds):
        takes.append(ms(take))
        branch(r, round_no)
        restores.append(ms(restore))
    return statistics.median(takes), statistics.median(restores)


def measure(r: Any, size: int) -> dict[str, float]:
    populate(r, size)
    store = RedisStore(url=URL)
    figures = {"setup": ms(store.setup)}
    try:
        root = store.checkpoint()
        quiet, checkpoints, fingerprints, rollbacks = [], [], [], []
        for round_no in range(ROUNDS):
            quiet.append(ms(store.checkpoint))
            token = store.checkpoint()
            branch(r, round_no)
            fingerprints.append(ms(store.fingerprint))
            checkpoints.append(ms(lambda: store.release(store.checkpoint())))
            rollbacks.append(ms(lambda token=token: store.rollback(token)))
            store.release(token)
            store.rollback(root)
        rollbacks.sort()
        figures.update(
            checkpoint=statistics.median(quiet),
            checkpoint_after=statistics.median(checkpoints),
            fingerprint=statistics.median(fingerprints),
            rollback=statistics.median(rollbacks),
            rollback_p95=rollbacks[int(len(rollbacks) * 0.95)],
        )
    finally:
        store.teardown()
    figures["base_checkpoint"], figures["base_rollback"] = baseline(r, BASELINE_ROUNDS[size])
    return figures


def main() -> None:
    r = redis.Redis.from_url(URL)
    try:
        results = {size: measure(r, size) for size in (1_000, 100_000)}
    finally:
        r.flushdb()
        r.close()
    small, large = results[1_000], results[100_000]
    rows = [
        ("setup (one-off: SCAN + read every key)", "setup"),
        ("checkpoint, nothing changed", "checkpoint"),
        ("fingerprint after the branch (reads the 10 keys)", "fingerprint"),
        ("checkpoint after the branch", "checkpoint_after"),
        ("rollback of the 10 changed keys (median)", "rollback"),
        ("rollback of the 10 changed keys (p95)", "rollback_p95"),
        ("baseline checkpoint: SCAN + DUMP every key", "base_checkpoint"),
        ("baseline rollback: SCAN + DEL + RESTORE every key", "base_rollback"),
    ]
    print(f"{'':52s} {'1e3 keys':>10s} {'1e5 keys':>10s} {'1e5/1e3':>8s}")
    for label, key in rows:
        a, b = small[key], large[key]
        print(f"{label:52s} {a:8.3f}ms {b:8.3f}ms {b / a:7.2f}x")
    for size, f in results.items():
        print(
            f"{size:>7,d} keys: baseline rollback / store rollback = "
            f"{f['base_rollback'] / f['rollback']:,.0f}x"
        )
    ok = max(small["rollback"], large["rollback"]) <= 1.0
    ratio = large["rollback"] / small["rollback"]
    print(
        f"target rollback <= 1 ms at both sizes: {'met' if ok else 'MISSED'}; "
        f"within 1.5x of each other ({ratio:.2f}x): {'met' if ratio <= 1.5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
