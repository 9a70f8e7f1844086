"""An API whose server closes connections without answering, as crashed workers and impatient
proxies do. Orders live in a SQLite file (``--db``).

- ``POST /orders`` stores an order and answers 201; with ``--drop-every N`` every Nth one closes
  the connection instead: before storing the order (a worker that died on it), or, with
  ``--after-commit``, after (the work is done, the answer lost).
- ``POST /reports`` always closes the connection before doing anything.
- ``GET /orders`` lists the orders.

Run: ``python dropping_api.py --db FILE [--drop-every N [--after-commit]]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
from dataclasses import dataclass, field

from venomqa.testing.server import DropConnection, JsonApi, Reply, Request

api = JsonApi("dropping")
api.argument("--db", required=True)
api.argument("--drop-every", type=int, default=0)
api.argument("--after-commit", action="store_true")


@dataclass
class _State:
    db: str
    drop_every: int
    after_commit: bool
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@api.setup
def connect(options: argparse.Namespace) -> _State:
    with sqlite3.connect(options.db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, amount INTEGER)")
    return _State(options.db, options.drop_every, options.after_commit)


@api.route("POST", "/orders")
def create_order(request: Request) -> Reply:
    state: _State = request.state
    with state.lock:
        state.posts += 1
        drop = state.drop_every > 0 and state.posts % state.drop_every == 0
        if drop and not state.after_commit:
            raise DropConnection()
        with sqlite3.connect(state.db) as conn:
            row_id = conn.execute("INSERT INTO orders (amount) VALUES (10)").lastrowid
    if drop:
        raise DropConnection()
    return 201, {"id": row_id, "amount": 10}


@api.route("POST", "/reports")
def create_report(request: Request) -> Reply:
    raise DropConnection()


@api.route("GET", "/orders")
def list_orders(request: Request) -> Reply:
    state: _State = request.state
    with sqlite3.connect(state.db) as conn:
        rows = conn.execute("SELECT id, amount FROM orders ORDER BY id").fetchall()
    return 200, [{"id": i, "amount": a} for i, a in rows]


if __name__ == "__main__":
    api.main()
