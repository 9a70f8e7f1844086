"""Benchmark the SQLite store: rollback cost must follow the rows a branch changed, not file size.

For files of 1e3 and 1e6 rows, a branch updates 5 rows, inserts 3 and deletes 2 (10 rows) through
a second connection, then the store rolls it back. Prints the median of several rounds for
checkpoint, incremental fingerprint and rollback, the first (full) fingerprint, setup, and a
plain file copy as the baseline a copy-per-checkpoint design would pay. No asserts.

Run: hatch run python bench/sqlite_rollback.py
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from venomqa.stores import SQLiteStore

ROUNDS = 30


def build(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, price REAL, qty INT)"
    )
    conn.execute(  # one INSERT ... SELECT in one transaction: ~1 s for 1e6 rows
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO items(name, price, qty) SELECT 'item-' || i, i * 0.01, i % 97 FROM n",
        (rows - 1,),
    )
    conn.commit()
    conn.close()


def branch(writer: sqlite3.Connection, rows: int, rng: random.Random) -> None:
    ids = rng.sample(range(1, rows + 1), 7)
    for i in ids[:5]:
        writer.execute("UPDATE items SET qty = qty + 1, price = price * 2 WHERE id = ?", (i,))
    writer.executemany("INSERT INTO items(name, price, qty) VALUES ('new', 1.5, 1)", [()] * 3)
    writer.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in ids[5:]])
    writer.commit()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.3f} ms"


def measure(rows: int, folder: Path) -> dict[str, float]:
    path = folder / f"bench-{rows}.db"
    build_s = timed(lambda: build(path, rows))
    copy_s = statistics.median(
        timed(lambda: shutil.copyfile(path, folder / "copy.db")) for _ in range(3)
    )
    store = SQLiteStore(str(path))
    setup_s = timed(store.setup)
    first_fp_s = timed(store.fingerprint)
    writer = sqlite3.connect(path, timeout=10)
    rng = random.Random(rows)
    checkpoints, fingerprints, rollbacks, clean_fps = [], [], [], []
    try:
        root_fp = store.fingerprint()
        for _ in range(ROUNDS):
            start = time.perf_counter()
            token = store.checkpoint()
            checkpoints.append(time.perf_counter() - start)
            branch(writer, rows, rng)
            fingerprints.append(timed(store.fingerprint))
            rollbacks.append(timed(lambda t=token: store.rollback(t)))
            clean_fps.append(timed(store.fingerprint))
            store.release(token)
        assert store.fingerprint() == root_fp
    finally:
        writer.close()
        teardown_s = timed(store.teardown)
    return {
        "build": build_s,
        "copy": copy_s,
        "setup": setup_s,
        "first_fp": first_fp_s,
        "checkpoint": statistics.median(checkpoints),
        "fingerprint": statistics.median(fingerprints),
        "rollback": statistics.median(rollbacks),
        "fp_after_rollback": statistics.median(clean_fps),
        "teardown": teardown_s,
    }


def main() -> None:
    print(f"SQLiteStore: branch of 10 changed rows, median of {ROUNDS} rounds")
    print(f"sqlite {sqlite3.sqlite_version}")
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (1_000, 1_000_000):
            results[rows] = measure(rows, Path(tmp))
    labels = {
        "build": "build file (INSERT...SELECT)",
        "copy": "baseline: full file copy",
        "setup": "setup (install triggers)",
        "first_fp": "first fingerprint",
        "checkpoint": "checkpoint",
        "fingerprint": "fingerprint after branch",
        "rollback": "rollback of the branch",
        "fp_after_rollback": "fingerprint after rollback",
        "teardown": "teardown",
    }
    print(f"{'':30}{'1e3 rows':>13}{'1e6 rows':>13}{'ratio':>9}")
    small, large = results[1_000], results[1_000_000]
    for key, label in labels.items():
        ratio = large[key] / small[key] if small[key] else float("nan")
        print(f"{label:30}{ms(small[key]):>13}{ms(large[key]):>13}{ratio:8.2f}x")
    print(
        f"rollback vs full copy at 1e6 rows: {large['copy'] / large['rollback']:.0f}x faster "
        "than copying the file once"
    )


if __name__ == "__main__":
    main()
