"""The background jobs of the orders API (``_support_orders_api.py``): plain functions over the
SQLite file named by ``$ORDERS_DB``, run by a real RQ worker or Celery worker (or in-process by
the rq store's ``run_next_job``).

Seeded bugs: ``refund`` adds the amount without checking the order was refunded already (two
refunds: refunded > amount); ``ship`` always fails (no carrier is configured).
"""

from __future__ import annotations

import os
import sqlite3
import time

SCHEMA = """
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    charged INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0
);
"""


def _db() -> sqlite3.Connection:
    return sqlite3.connect(os.environ["ORDERS_DB"], timeout=30, isolation_level=None)


def pay(order_id: int) -> str:
    """Charge a new order (a cancelled one is left alone)."""
    time.sleep(float(os.environ.get("ORDERS_JOB_DELAY", "0")))
    with _db() as db:
        db.execute(
            "UPDATE orders SET status = 'paid', charged = amount WHERE id = ? AND status = 'new'",
            (order_id,),
        )
    return "paid"


def refund(order_id: int) -> str:
    """Refund a paid order. Bug: a second refund of the same order refunds it again."""
    with _db() as db:
        db.execute(
            "UPDATE orders SET refunded = refunded + amount WHERE id = ? AND status = 'paid'",
            (order_id,),
        )
    return "refunded"


def ship(order_id: int) -> str:
    """Always fails: no carrier is configured."""
    raise RuntimeError(f"no carrier configured for order {order_id}")


def stall(seconds: float) -> str:
    """Sleep (a job that outlives a short settle timeout). While it sleeps the file
    ``$ORDERS_DB.stalling`` exists, so a test knows the job is running."""
    marker = os.environ["ORDERS_DB"] + ".stalling"
    with open(marker, "w") as out:
        out.write(str(seconds))
    try:
        time.sleep(seconds)
    finally:
        os.unlink(marker)
    return "done"
