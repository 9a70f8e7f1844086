"""Benchmark the PostgreSQL store: rollback cost must follow the rows a branch changed.

For tables of 1e4 and 1e6 rows, a branch changes 10 rows (5 updates, 3 inserts, 2 deletes) or
100 rows (50/30/20) through a separate connection, committing each statement like an API would;
then the store rolls it back. Prints medians of several rounds for checkpoint, fingerprint and
rollback; the extra time the triggers add to a single-row INSERT and UPDATE (mean per statement
of 2000, inside a transaction so no commit flush blurs it; rounds alternate with the store's
triggers disabled and enabled, and the median of the per-round differences is reported);
the baseline a copy-per-checkpoint design pays (one full table copy, CREATE TABLE AS) with the
ratio; and transitions per second exploring the Postgres shop server (tests/postgres) as a
separate process. Needs PostgreSQL at 127.0.0.1:5432 (trust auth). No asserts.

Run: hatch run python bench/postgres.py
"""

from __future__ import annotations

import random
import statistics
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from venomqa_postgres import PostgresStore

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROUNDS = 30
SIZES = (10_000, 1_000_000)
HERE = Path(__file__).resolve().parent


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def median(fn: Callable[[], float], rounds: int = ROUNDS) -> float:
    return statistics.median(fn() for _ in range(rounds))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def build(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, "
            "qty integer NOT NULL, payload jsonb)"
        )
        conn.execute(
            "INSERT INTO items (name, qty, payload) SELECT 'item-' || i, i %% 97, "
            "jsonb_build_object('i', i) FROM generate_series(1, %s) i",
            (rows,),
        )
        conn.execute("VACUUM ANALYZE items")


def branch(api: psycopg.Connection, rows: int, changed: int, rng: random.Random) -> None:
    ids = rng.sample(range(1, rows + 1), changed)
    updates, inserts = changed // 2, changed * 3 // 10
    for i in ids[:updates]:
        api.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (i,))
    for _ in range(inserts):
        api.execute("INSERT INTO items (name, qty) VALUES ('new', 1)")
    for i in ids[updates : changed - inserts]:
        api.execute("DELETE FROM items WHERE id = %s", (i,))


def per_statement(api: psycopg.Connection, rows: int) -> tuple[float, float]:
    """Mean seconds per single-row INSERT and UPDATE, in a transaction that is rolled back."""
    n = 2000
    with api.transaction(force_rollback=True):
        start = time.perf_counter()
        for _ in range(n):
            api.execute("INSERT INTO items (name, qty) VALUES ('w', 1)")
        insert = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for i in range(n):
            api.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (i % rows + 1,))
        update = (time.perf_counter() - start) / n
    return insert, update


def trigger_overhead(api: psycopg.Connection, rows: int, rounds: int = 9) -> dict[str, float]:
    """Per-statement times with the store's triggers off and on, in alternating rounds."""
    per_statement(api, rows)  # warm up
    plain, tracked = [], []
    for _ in range(rounds):
        api.execute("ALTER TABLE items DISABLE TRIGGER USER")
        plain.append(per_statement(api, rows))
        api.execute("ALTER TABLE items ENABLE TRIGGER USER")
        tracked.append(per_statement(api, rows))
    out = {}
    for i, kind in enumerate(("insert", "update")):
        out[f"{kind}_plain"] = statistics.median(p[i] for p in plain)
        out[f"{kind}_tracked"] = statistics.median(t[i] for t in tracked)
        out[f"{kind}_extra"] = statistics.median(
            t[i] - p[i] for p, t in zip(plain, tracked, strict=True)
        )
    return out


def measure_size(rows: int) -> dict[str, float]:
    name = f"vq_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    out: dict[str, float] = {}
    try:
        build(dsn, rows)
        with psycopg.connect(dsn, autocommit=True) as api:
            copies = []
            for _ in range(3):
                copies.append(
                    timed(lambda: api.execute("CREATE TABLE items_copy AS SELECT * FROM items"))
                )
                api.execute("DROP TABLE items_copy")
            out["copy"] = statistics.median(copies)
            store = PostgresStore(dsn=dsn)
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

                    one_round()  # warm the session's plan cache
                    out[f"rollback_{changed}"] = median(one_round)

                def fingerprint_round() -> float:
                    token = store.checkpoint()
                    branch(api, rows, 10, rng)
                    elapsed = timed(store.fingerprint)
                    store.rollback(token)
                    return elapsed

                out["fingerprint_10"] = median(fingerprint_round)
                # last: its rolled-back statements leave dead log rows behind
                out.update(trigger_overhead(api, rows))
            finally:
                store.teardown()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return out


def exploration() -> tuple[int, int, float]:
    sys.path.insert(0, str(HERE.parent / "tests" / "postgres"))
    from _support_postgres import ShopServer, fresh_database
    from venomqa import World, explore

    module: dict[str, object] = {}
    exec(
        textwrap.dedent(
            """
            from venomqa import action, invariant

            @action(requires=lambda ctx: len(ctx.get("orders", [])) < 2)
            def create_order(api, ctx):
                r = api.post("/orders", json={"amount": 100})
                ctx["orders"] = [*ctx.get("orders", []), r.json()["id"]]
                return r

            @action(requires=lambda ctx: bool(ctx.get("orders")))
            def pay_order(api, ctx):
                return api.post(f"/orders/{ctx['orders'][-1]}/pay")

            @action(requires=lambda ctx: bool(ctx.get("orders")))
            def refund_order(api, ctx):
                return api.post(f"/orders/{ctx['orders'][-1]}/refund")

            @action(requires=lambda ctx: bool(ctx.get("orders")))
            def cancel_order(api, ctx):
                return api.delete(f"/orders/{ctx['orders'][-1]}")

            @invariant()
            def refunds_never_exceed_payment(world):
                rows = world.stores["db"].query("SELECT amount, refunded FROM orders")
                return all(r["refunded"] <= r["amount"] for r in rows)
            """
        ),
        module,
    )
    actions = [module[n] for n in ("create_order", "pay_order", "refund_order", "cancel_order")]
    with fresh_database("vq_bench") as dsn, ShopServer(dsn) as server:
        world = World(server.url, stores={"db": PostgresStore(dsn=dsn)})
        start = time.perf_counter()
        result = explore(world, actions, [module["refunds_never_exceed_payment"]], max_depth=6)
        elapsed = time.perf_counter() - start
    return result.states, result.transitions, elapsed


def main() -> None:
    figures = {rows: measure_size(rows) for rows in SIZES}
    small, large = (figures[s] for s in SIZES)
    print(f"PostgreSQL store, medians of {ROUNDS} rounds; sizes {SIZES[0]:.0e} / {SIZES[1]:.0e}")
    print(f"{'':44} {'1e4 rows':>12} {'1e6 rows':>12} {'ratio':>7}")
    for label, key in [
        ("baseline: full table copy (CREATE TABLE AS)", "copy"),
        ("checkpoint", "checkpoint"),
        ("fingerprint after a 10-row branch", "fingerprint_10"),
        ("rollback of a 10-row branch", "rollback_10"),
        ("rollback of a 100-row branch", "rollback_100"),
    ]:
        ratio = large[key] / small[key]
        print(f"{label:44} {ms(small[key]):>12} {ms(large[key]):>12} {ratio:6.2f}x")
    for kind in ("insert", "update"):
        for rows, fig in figures.items():
            extra = fig[f"{kind}_extra"]
            print(
                f"single-row {kind} at {rows:.0e} rows: {ms(fig[f'{kind}_plain'])} plain, "
                f"{ms(fig[f'{kind}_tracked'])} tracked, extra {ms(extra)}"
            )
    print(
        f"rollback of 10 rows vs one full copy at 1e6 rows: "
        f"{large['copy'] / large['rollback_10']:.0f}x faster"
    )
    states, transitions, elapsed = exploration()
    print(
        f"exploring the Postgres shop server (BFS depth 6): {states} states, "
        f"{transitions} transitions in {elapsed:.2f} s = {transitions / elapsed:.0f} transitions/s"
    )


if __name__ == "__main__":
    main()
