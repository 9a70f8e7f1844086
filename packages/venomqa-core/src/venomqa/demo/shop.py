"""The demo shop's business rules over a SQLite file, with three seeded sequence bugs.

Each function opens its own connection (like a real API's pool would) and returns
``(http_status, json_body)``; ``venomqa.demo.server`` maps HTTP requests onto them.

The seeded bugs, each visible only through a sequence of two or more calls:

1. ``list_orders`` counts cancelled orders in ``total`` while leaving them out of ``orders``
   (create an order, cancel it, list).
2. ``pay_order`` looks the order up without checking whether it was cancelled, so a cancelled
   order can still be charged (create, cancel, pay).
3. ``refund_order`` checks the requested amount against the order's total instead of what is
   left to refund, and accepts orders already refunded, so refunding twice over-refunds
   (create, pay, refund, refund).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TypedDict

from venomqa.json_types import Json

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    refunded INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    amount INTEGER NOT NULL
);
"""


class Order(TypedDict):
    """An order as the API answers it."""

    id: int
    amount: int
    status: str
    refunded: int
    cancelled: bool


#: (status, JSON body): an order, a listing, or an error.
Reply = tuple[int, object]

_ORDER_COLUMNS = "id, amount, status, refunded, cancelled"


def init_schema(db_path: str) -> None:
    """Create the shop's tables in ``db_path`` if they do not exist yet."""
    with closing(_connect(db_path)) as conn, conn:
        conn.executescript(SCHEMA)


def create_order(db_path: str, body: Json) -> Reply:
    """``POST /orders {amount}``: a new pending order."""
    amount = body.get("amount") if isinstance(body, dict) else None
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return 400, {"error": "amount must be a positive integer (cents)"}
    with closing(_connect(db_path)) as conn, conn:
        cursor = conn.execute("INSERT INTO orders (amount) VALUES (?)", (amount,))
        return 201, _existing_order(conn, int(cursor.lastrowid or 0))


def get_order(db_path: str, order_id: int) -> Reply:
    """``GET /orders/{id}``: the order, or 404 when it does not exist or was cancelled."""
    with closing(_connect(db_path)) as conn:
        order = _order(conn, order_id)
    if order is None or order["cancelled"]:
        return 404, {"error": f"order {order_id} not found"}
    return 200, order


def list_orders(db_path: str) -> Reply:
    """``GET /orders``: open orders and their count."""
    with closing(_connect(db_path)) as conn:
        rows = conn.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE cancelled = 0 ORDER BY id"
        ).fetchall()
        # Seeded bug 1: the count forgets the `cancelled = 0` filter the listing uses.
        (total,) = conn.execute("SELECT COUNT(*) FROM orders").fetchone()
    return 200, {"orders": [_as_order(row) for row in rows], "total": total}


def pay_order(db_path: str, order_id: int) -> Reply:
    """``POST /orders/{id}/pay``: charge a pending order."""
    with closing(_connect(db_path)) as conn, conn:
        # Seeded bug 2: the lookup ignores `cancelled`, so a cancelled order is charged.
        order = _order(conn, order_id)
        if order is None:
            return 404, {"error": f"order {order_id} not found"}
        if order["status"] != "pending":
            return 409, {"error": f"order {order_id} is {order['status']}, not pending"}
        conn.execute("UPDATE orders SET status = 'paid' WHERE id = ?", (order_id,))
        return 200, _existing_order(conn, order_id)


def refund_order(db_path: str, order_id: int, body: Json) -> Reply:
    """``POST /orders/{id}/refund {amount?}``: refund a paid order (the full amount by default)."""
    with closing(_connect(db_path)) as conn, conn:
        order = _order(conn, order_id)
        if order is None or order["cancelled"]:
            return 404, {"error": f"order {order_id} not found"}
        # Seeded bug 3 (with the amount check below): 'refunded' orders stay refundable, so
        # partial refunds can continue, but nothing tracks what is left to refund.
        if order["status"] not in ("paid", "refunded"):
            return 409, {"error": f"order {order_id} is {order['status']}, not paid"}
        amount = body.get("amount", order["amount"]) if isinstance(body, dict) else order["amount"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return 400, {"error": "amount must be a positive integer (cents)"}
        if amount > order["amount"]:  # should be: amount > order["amount"] - order["refunded"]
            return 400, {"error": f"cannot refund {amount}, order total is {order['amount']}"}
        conn.execute("INSERT INTO refunds (order_id, amount) VALUES (?, ?)", (order_id, amount))
        conn.execute(
            "UPDATE orders SET refunded = refunded + ?, status = 'refunded' WHERE id = ?",
            (amount, order_id),
        )
        return 200, _existing_order(conn, order_id)


def cancel_order(db_path: str, order_id: int) -> Reply:
    """``DELETE /orders/{id}``: cancel an order that has not been paid."""
    with closing(_connect(db_path)) as conn, conn:
        order = _order(conn, order_id)
        if order is None or order["cancelled"]:
            return 404, {"error": f"order {order_id} not found"}
        if order["status"] != "pending":
            problem = f"order {order_id} is {order['status']}; only pending orders can be cancelled"
            return 409, {"error": problem}
        conn.execute("UPDATE orders SET cancelled = 1 WHERE id = ?", (order_id,))
        return 200, _existing_order(conn, order_id)


def _connect(db_path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, timeout=10.0)
    conn.row_factory = sqlite3.Row
    return conn


def _order(conn: sqlite3.Connection, order_id: int) -> Order | None:
    row = conn.execute(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)).fetchone()
    return None if row is None else _as_order(row)


def _existing_order(conn: sqlite3.Connection, order_id: int) -> Order:
    order = _order(conn, order_id)
    if order is None:  # only after a write to this very row in the same transaction
        raise LookupError(f"order {order_id} vanished")
    return order


def _as_order(row: sqlite3.Row) -> Order:
    return {
        "id": row["id"],
        "amount": row["amount"],
        "status": row["status"],
        "refunded": row["refunded"],
        "cancelled": bool(row["cancelled"]),
    }
