"""Benchmark the Redis store: rollback cost must follow the keys a branch changed, not db size.

For databases of 1e3 and 1e5 keys (90 % strings, 10 % hashes) in one Redis database, a branch
changes 10 keys through a second connection (7 overwrites, 1 hash field, 1 new key, 1 delete),
then the store rolls it back. Per round, as the explorer does: checkpoint, branch, fingerprint
(which reads the changed keys), rollback. Prints medians (and p95 for rollback) and the one-off
setup. Baseline, measured in the same run: the full SCAN+DUMP checkpoint and the SCAN + DEL extras
+ RESTORE-everything rollback a snapshot design would pay per branch. No asserts.

Then the crash-recovery journal's cost, for 1e4 and 1e5 keys: setup (which writes it), the
journal write alone and the file's size; and a run SIGKILLed after a 10-key branch: the next
setup, which repairs first, and the repair alone (that setup minus a plain one).

Then setup alone (issue 17): 1e5 string keys and 1e5 small hashes, median of 5 setups each
(the server-side SCAN script reads ~1,000 keys per call; strings are digested only once they
change). Target: <= 1 s per 1e5 string keys.

Run: hatch run python bench/redis_rollback.py [journal|setup]   (flushes only Redis database
``$VENOMQA_BENCH_REDIS_DB``, 9 by default: the test suite owns 10-15; ``journal`` or ``setup``:
only that part)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import redis
from venomqa.errors import LeftoversRepaired
from venomqa_redis import RedisStore

#: The database the bench flushes: VENOMQA_BENCH_REDIS_DB, else 9 (the test suite owns 10-15).
DB = int(os.environ.get("VENOMQA_BENCH_REDIS_DB", "9"))
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


#: A run that sets up, lets a 10-key branch happen, syncs, and dies by SIGKILL (no teardown).
KILLED_RUN = """
import os, signal, sys
import redis
from venomqa_redis import RedisStore
url, state_dir = sys.argv[1:3]
store = RedisStore(url=url, state_dir=state_dir)
store.setup()
r = redis.Redis.from_url(url)
pipe = r.pipeline(transaction=False)
for j in range(7):
    pipe.set(f"key:{j * 10 + 1}", "changed")
pipe.hset("cart:9", "apple", 99)
pipe.set("new:1", "created")
pipe.delete("key:2")
pipe.execute()
store.fingerprint()
os.kill(os.getpid(), signal.SIGKILL)
"""


def journal_cost(r: Any, size: int) -> dict[str, float]:
    """Setup with its journal, the journal write alone, its size; repair after a SIGKILL."""
    populate(r, size)
    with tempfile.TemporaryDirectory() as state_dir:
        store = RedisStore(url=URL, state_dir=state_dir)
        figures = {"setup": ms(store.setup)}
        try:
            figures["journal_mb"] = store.journal_file.stat().st_size / 1e6
            writes = [ms(lambda: store._write_journal(with_baseline=True)) for _ in range(5)]
            figures["journal_write"] = statistics.median(writes)
        finally:
            store.teardown()
        subprocess.run([sys.executable, "-c", KILLED_RUN, URL, state_dir], check=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LeftoversRepaired)
            figures["setup_repairing"] = ms(store.setup)
        store.teardown()
    figures["repair"] = figures["setup_repairing"] - figures["setup"]
    return figures


def print_journal_costs(r: Any) -> None:
    results = {size: journal_cost(r, size) for size in (10_000, 100_000)}
    rows = [
        ("setup, journal included", "setup", "ms"),
        ("  of which the journal write (median of 5)", "journal_write", "ms"),
        ("journal file size", "journal_mb", "MB"),
        ("setup after a SIGKILLed run (repairs first)", "setup_repairing", "ms"),
        ("  of which the repair (10 keys changed)", "repair", "ms"),
    ]
    print(f"\n{'crash-recovery journal':52s} {'1e4 keys':>10s} {'1e5 keys':>10s}")
    for label, key, unit in rows:
        a, b = results[10_000][key], results[100_000][key]
        print(f"{label:52s} {a:8.2f}{unit} {b:8.2f}{unit}")
    for size, f in results.items():
        share = 100 * f["journal_write"] / f["setup"]
        print(f"{size:>7,d} keys: the journal adds {share:.1f} % to setup")


SETUP_ROUNDS = 5


def setup_cost(r: Any, size: int, kind: str) -> float:
    """Median ms of ``setup()`` (journal included) over ``size`` untouched keys of ``kind``."""
    r.flushdb()
    pipe = r.pipeline(transaction=False)
    for i in range(size):
        if kind == "string":
            pipe.set(f"key:{i}", f"value-{i}-" + "x" * 40)
        else:
            pipe.hset(f"cart:{i}", mapping={"apple": i % 7, "pear": 2, "status": "open"})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    times = []
    with tempfile.TemporaryDirectory() as state_dir:
        for _ in range(SETUP_ROUNDS):
            store = RedisStore(url=URL, state_dir=state_dir)
            times.append(ms(store.setup))
            store.teardown()
    return statistics.median(times)


def print_setup_costs(r: Any) -> float:
    """Print setup over 1e5 strings and 1e5 hashes; returns the strings' figure (ms)."""
    strings = setup_cost(r, 100_000, "string")
    hashes = setup_cost(r, 100_000, "hash")
    print(f"\nsetup, median of {SETUP_ROUNDS} (journal included)")
    print(f"{'1e5 string keys':52s} {strings:8.0f}ms  ({strings / 100:.1f} µs per key)")
    print(f"{'1e5 hashes of 3 fields':52s} {hashes:8.0f}ms  ({hashes / 100:.1f} µs per key)")
    print(f"target setup <= 1 s per 1e5 string keys: {'met' if strings <= 1000 else 'MISSED'}")
    return strings


def print_rollback_costs(results: dict[int, dict[str, float]]) -> None:
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


def main() -> None:
    r = redis.Redis.from_url(URL)
    try:
        if sys.argv[1:] == ["journal"]:
            print_journal_costs(r)
            return
        if sys.argv[1:] == ["setup"]:
            print_setup_costs(r)
            return
        results = {size: measure(r, size) for size in (1_000, 100_000)}
        print_rollback_costs(results)
        print_journal_costs(r)
        print_setup_costs(r)
    finally:
        r.flushdb()
        r.close()


if __name__ == "__main__":
    main()
