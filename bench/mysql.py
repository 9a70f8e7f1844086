"""Benchmark the MySQL/MariaDB store: rollback cost must follow the rows a branch changed.

For tables of 1e4 and 1e6 rows, a branch changes 10 rows (5 updates, 3 inserts, 2 deletes) or
100 rows (50/30/20) through a separate connection, committing each statement like an API would;
then the store rolls it back (inserts move the AUTO_INCREMENT counter, so every rollback also
sets it back). The counter-lowering case is shown explicitly, its variants interleaved round
by round: a 10-row branch of updates only (no counter moves); the 10-row branch with 3 inserts
with the counter set back after the rollback returns (the default: LOCK TABLES granted, the
ALTER TABLE still running on the server) and before it returns (``_defer_counters = False``);
the time until the API's next single-row INSERT is done, sent at once or after 2 ms of other
work, in both ways, counting inserts that did not get the repeated id; and one ``ALTER TABLE
... AUTO_INCREMENT`` alone, before the store is set up. Prints medians of several rounds for
checkpoint, fingerprint and rollback; the extra time the triggers add to a single-row INSERT
and UPDATE (mean per statement of 1000 inside a transaction that is rolled back; rounds
alternate without and with the store set up, and the median of the per-round differences is
reported); the baseline a copy-per-checkpoint design pays (one full table copy, CREATE TABLE
... SELECT) with the ratio; and the same rollback (of 10 updated rows) sent through PyMySQL and
through mysqlclient (the C driver), when it is installed.
Needs MariaDB or MySQL at 127.0.0.1:3306 (root, no password). No asserts. About a minute.

Run: hatch run python bench/mysql.py
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import pymysql
from venomqa_mysql import MySQLStore

ADMIN: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
ROUNDS = 30
SIZES = (10_000, 1_000_000)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def median(fn: Callable[[], float], rounds: int = ROUNDS) -> float:
    return statistics.median(fn() for _ in range(rounds))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def connect(database: str) -> Any:
    return pymysql.connect(**ADMIN, database=database, autocommit=True)


def build(api: Any, rows: int) -> None:
    """``items`` with ``rows`` rows, made by cross joins of a ten-row table (MySQL and MariaDB)."""
    with api.cursor() as cur:
        cur.execute(
            "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT "
            "NULL, qty INT NOT NULL, price DECIMAL(10,2), payload JSON) ENGINE=InnoDB"
        )
        cur.execute("CREATE TABLE digits (d INT)")
        cur.execute("INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)")
        tables = ", ".join(f"digits d{k}" for k in range(6))
        number = " + ".join(f"d{k}.d * {10**k}" for k in range(6))
        cur.execute(
            "INSERT INTO items (id, name, qty, price, payload) SELECT n + 1, "
            "CONCAT('item-', n), n % 97, n / 100, JSON_OBJECT('i', n) "
            f"FROM (SELECT {number} AS n FROM {tables}) s WHERE n < {rows}"
        )
        cur.execute("DROP TABLE digits")
        cur.execute("ANALYZE TABLE items")
        cur.fetchall()


def branch(api: Any, rows: int, changed: int, rng: random.Random, inserts: bool = True) -> None:
    ids = rng.sample(range(1, rows + 1), changed)
    updates = changed // 2 if inserts else changed
    added = changed * 3 // 10 if inserts else 0
    with api.cursor() as cur:
        for i in ids[:updates]:
            cur.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (i,))
        for _ in range(added):
            cur.execute("INSERT INTO items (name, qty) VALUES ('new', 1)")
        for i in ids[updates : changed - added]:
            cur.execute("DELETE FROM items WHERE id = %s", (i,))


def per_statement(api: Any, rows: int, n: int = 1000) -> tuple[float, float]:
    """Mean seconds per single-row INSERT and UPDATE, in a transaction that is rolled back."""
    api.begin()
    try:
        with api.cursor() as cur:
            start = time.perf_counter()
            for _ in range(n):
                cur.execute("INSERT INTO items (name, qty) VALUES ('w', 1)")
            insert = (time.perf_counter() - start) / n
            start = time.perf_counter()
            for i in range(n):
                cur.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (i % rows + 1,))
            update = (time.perf_counter() - start) / n
    finally:
        api.rollback()
    return insert, update


def trigger_overhead(api: Any, dsn: str, rows: int, rounds: int = 5) -> dict[str, float]:
    """Per-statement times without and with the store (its triggers) set up, alternating."""
    per_statement(api, rows)  # warm up
    plain, tracked = [], []
    for _ in range(rounds):
        plain.append(per_statement(api, rows))
        store = MySQLStore(dsn=dsn)
        store.setup()
        try:
            tracked.append(per_statement(api, rows))
        finally:
            store.teardown()
    out = {}
    for i, kind in enumerate(("insert", "update")):
        out[f"{kind}_plain"] = statistics.median(p[i] for p in plain)
        out[f"{kind}_tracked"] = statistics.median(t[i] for t in tracked)
        out[f"{kind}_extra"] = statistics.median(
            t[i] - p[i] for p, t in zip(plain, tracked, strict=True)
        )
    return out


def driver_rollbacks(store: MySQLStore, api: Any, database: str, rows: int) -> dict[str, float]:
    """The same rollback (10 updated rows) sent as one round trip by each driver."""
    drivers: dict[str, Any] = {"pymysql": store._conn}
    try:
        import MySQLdb
        from MySQLdb.constants import CLIENT

        conn = MySQLdb.connect(
            host="127.0.0.1",
            user="root",
            database=database,
            autocommit=True,
            client_flag=CLIENT.MULTI_STATEMENTS,
        )
        conn.cursor().execute("SET SESSION foreign_key_checks = 0, time_zone = '+00:00'")
        drivers["mysqlclient"] = conn
    except ImportError:
        pass
    rng = random.Random(11)
    out = {}
    for name, conn in drivers.items():

        def one_round(conn: Any = conn) -> float:
            token = store.checkpoint()
            branch(api, rows, 10, rng, inserts=False)
            store.fingerprint()
            sql = store.rollback_sql(token)
            start = time.perf_counter()
            cur = conn.cursor()
            cur.execute(sql)
            while True:
                if cur.description is not None:
                    cur.fetchall()
                if not cur.nextset():
                    break
            elapsed = time.perf_counter() - start
            cur.close()
            store.rollback(token)  # nothing left to undo: brings the store's bookkeeping along
            return elapsed

        one_round()
        out[f"driver_{name}"] = median(one_round)
    return out


def alter_round(api: Any, rows: int) -> float:
    """One ``ALTER TABLE ... AUTO_INCREMENT`` that lowers the counter (no store set up)."""
    with api.cursor() as cur:
        cur.execute("INSERT INTO items (name, qty) VALUES ('a', 1)")
        cur.execute("DELETE FROM items WHERE id > %s", (rows,))
        return timed(lambda: cur.execute(f"ALTER TABLE items AUTO_INCREMENT = {rows + 1}"))


def counter_rounds(store: MySQLStore, api: Any, rows: int, rng: random.Random) -> dict[str, float]:
    """The counter-lowering case, the variants interleaved round by round (so they share the
    machine's load): a 10-row branch of updates only (no counter moves); the 10-row branch
    with 3 inserts rolled back with the counter set back after (deferred) and before
    (synchronous) the rollback returns; and the time from the rollback's start until the
    API's next single-row insert is done, sent at once or after 2 ms (the explorer's and the
    HTTP request's own work), in both ways. Counts next inserts that got another id."""
    wrong = 0

    def rollback_round(inserts: bool, defer: bool) -> float:
        store._defer_counters = defer
        token = store.checkpoint()
        branch(api, rows, 10, rng, inserts=inserts)
        store.fingerprint()
        return timed(lambda: store.rollback(token))

    def next_insert_round(defer: bool, pause: float) -> float:
        nonlocal wrong
        store._defer_counters = defer
        token = store.checkpoint()
        branch(api, rows, 10, rng)
        store.fingerprint()
        with api.cursor() as cur:
            start = time.perf_counter()
            store.rollback(token)
            if pause:
                time.sleep(pause)
            cur.execute("INSERT INTO items (name, qty) VALUES ('next', 1)")
            elapsed = time.perf_counter() - start
            wrong += cur.lastrowid != token.counters[0]
        store.rollback(token)
        return elapsed

    series: dict[str, Callable[[], float]] = {
        "rollback_10_updates": lambda: rollback_round(False, True),
        "rollback_10_deferred": lambda: rollback_round(True, True),
        "rollback_10_sync": lambda: rollback_round(True, False),
        "next_insert_deferred": lambda: next_insert_round(True, 0),
        "next_insert_sync": lambda: next_insert_round(False, 0),
        "next_insert_2ms_deferred": lambda: next_insert_round(True, 0.002),
        "next_insert_2ms_sync": lambda: next_insert_round(False, 0.002),
    }
    samples: dict[str, list[float]] = {key: [] for key in series}
    for round_ in range(ROUNDS + 1):
        for key, fn in series.items():
            elapsed = fn()
            if round_:  # the first round warms up
                samples[key].append(elapsed)
    store._defer_counters = True
    out = {key: statistics.median(values) for key, values in samples.items()}
    out["wrong_ids"] = wrong
    return out


def measure_size(rows: int) -> dict[str, float]:
    name = f"vq_bench_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(**ADMIN, autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    dsn = f"mysql://root@127.0.0.1:3306/{name}"
    out: dict[str, float] = {}
    api = connect(name)
    try:
        build(api, rows)
        copies = []
        for _ in range(3):
            copies.append(
                timed(
                    lambda: api.cursor().execute("CREATE TABLE items_copy AS SELECT * FROM items")
                )
            )
            api.cursor().execute("DROP TABLE items_copy")
        out["copy"] = statistics.median(copies)
        out["alter_alone"] = median(lambda: alter_round(api, rows))
        store = MySQLStore(dsn=dsn)
        store.setup()
        try:
            rng = random.Random(7)
            root = store.checkpoint()
            out["checkpoint"] = median(lambda: timed(store.checkpoint))
            store.rollback(root)
            for changed in (10, 100):

                def one_round(changed: int = changed) -> float:
                    token = store.checkpoint()
                    branch(api, rows, changed, rng)
                    store.fingerprint()
                    return timed(lambda: store.rollback(token))

                one_round()
                out[f"rollback_{changed}"] = median(one_round)

            def fingerprint_round() -> float:
                token = store.checkpoint()
                branch(api, rows, 10, rng)
                elapsed = timed(store.fingerprint)
                store.rollback(token)
                return elapsed

            out["fingerprint_10"] = median(fingerprint_round)
            out.update(counter_rounds(store, api, rows, rng))
            out.update(driver_rollbacks(store, api, name, rows))
        finally:
            store.teardown()
        out.update(trigger_overhead(api, dsn, rows))
    finally:
        api.close()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
    return out


def main() -> None:
    figures = {rows: measure_size(rows) for rows in SIZES}
    small, large = (figures[s] for s in SIZES)
    print(f"MySQL store, medians of {ROUNDS} rounds; sizes {SIZES[0]:.0e} / {SIZES[1]:.0e}")
    print(f"{'':52} {'1e4 rows':>12} {'1e6 rows':>12} {'ratio':>7}")
    rows = [
        ("baseline: full table copy (CREATE TABLE AS)", "copy"),
        ("checkpoint", "checkpoint"),
        ("fingerprint after a 10-row branch", "fingerprint_10"),
        ("rollback of 10 updated rows (no counter moves)", "rollback_10_updates"),
        ("rollback of a 10-row branch, 3 inserts", "rollback_10"),
        ("  same, counter set back after (deferred)", "rollback_10_deferred"),
        ("  same, counter set back before (synchronous)", "rollback_10_sync"),
        ("  deferred, until the API's next insert is done", "next_insert_deferred"),
        ("  synchronous, until the API's next insert is done", "next_insert_sync"),
        ("  deferred, same with 2 ms of other work first", "next_insert_2ms_deferred"),
        ("  synchronous, same with 2 ms of other work first", "next_insert_2ms_sync"),
        ("ALTER TABLE items AUTO_INCREMENT = n alone", "alter_alone"),
        ("rollback of a 100-row branch", "rollback_100"),
        ("rollback of 10 updated rows, PyMySQL", "driver_pymysql"),
        ("rollback of 10 updated rows, mysqlclient", "driver_mysqlclient"),
    ]
    for label, key in rows:
        if key not in small:
            print(f"{label:52} (not installed)")
            continue
        ratio = large[key] / small[key]
        print(f"{label:52} {ms(small[key]):>12} {ms(large[key]):>12} {ratio:6.2f}x")
    for kind in ("insert", "update"):
        for size, fig in figures.items():
            print(
                f"single-row {kind} at {size:.0e} rows: {ms(fig[f'{kind}_plain'])} plain, "
                f"{ms(fig[f'{kind}_tracked'])} tracked, extra {ms(fig[f'{kind}_extra'])}"
            )
    wrong = small["wrong_ids"] + large["wrong_ids"]
    print(f"next inserts that did not get the repeated id: {wrong:.0f}")
    print(
        f"rollback of 10 rows vs one full copy at 1e6 rows: "
        f"{large['copy'] / large['rollback_10']:.0f}x faster"
    )


if __name__ == "__main__":
    main()
