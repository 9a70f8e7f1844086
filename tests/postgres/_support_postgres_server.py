"""A small shop API over PostgreSQL, run as its own process by the tests and the benchmark.

    python _support_postgres_server.py --dsn postgresql://... [--port 0]

Same routes and seeded bugs as ``venomqa.demo.shop`` (create, pay, refund, cancel; refunding
twice over-refunds), but it keeps its data in PostgreSQL and writes through its own
``psycopg_pool`` pool, committing every request. Prints ``LISTENING host:port`` once it serves.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id serial PRIMARY KEY,
    amount integer NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    refunded integer NOT NULL DEFAULT 0,
    cancelled boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS refunds (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id integer NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    amount integer NOT NULL
);
"""

Reply = tuple[int, dict[str, Any]]
_COLS = "id, amount, status, refunded, cancelled"


def handle(pool: ConnectionPool, method: str, path: str, body: Any) -> Reply:
    """Route one request; every write commits when the pool's connection block ends."""
    with pool.connection() as conn:
        conn.row_factory = dict_row  # type: ignore[assignment]
        if method == "POST" and path == "/orders":
            amount = body.get("amount") if isinstance(body, dict) else None
            if not isinstance(amount, int) or amount <= 0:
                return 400, {"error": "amount must be a positive integer"}
            row = conn.execute(
                f"INSERT INTO orders (amount) VALUES (%s) RETURNING {_COLS}", (amount,)
            ).fetchone()
            return 201, dict(row or {})
        if method == "GET" and path == "/orders":
            rows = conn.execute(f"SELECT {_COLS} FROM orders ORDER BY id").fetchall()
            return 200, {"orders": [dict(r) for r in rows]}
        match = re.fullmatch(r"/orders/(\d+)(/pay|/refund)?", path)
        if match is None:
            return 404, {"error": f"no route for {method} {path}"}
        oid, verb = int(match[1]), match[2]
        order = conn.execute(
            f"SELECT {_COLS} FROM orders WHERE id = %s FOR UPDATE", (oid,)
        ).fetchone()
        if order is None:
            return 404, {"error": f"order {oid} not found"}
        if method == "POST" and verb == "/pay":  # seeded: cancelled not checked
            if order["status"] != "pending":
                return 409, {"error": "not pending"}
            conn.execute("UPDATE orders SET status = 'paid' WHERE id = %s", (oid,))
        elif method == "POST" and verb == "/refund":  # seeded: refunded stays refundable
            if order["cancelled"]:
                return 404, {"error": f"order {oid} not found"}
            if order["status"] not in ("paid", "refunded"):
                return 409, {"error": "not paid"}
            conn.execute(
                "INSERT INTO refunds (order_id, amount) VALUES (%s, %s)", (oid, order["amount"])
            )
            conn.execute(
                "UPDATE orders SET refunded = refunded + amount, status = 'refunded' WHERE id = %s",
                (oid,),
            )
        elif method == "DELETE" and verb is None:
            if order["cancelled"]:
                return 404, {"error": f"order {oid} not found"}
            if order["status"] != "pending":
                return 409, {"error": "only pending orders can be cancelled"}
            conn.execute("UPDATE orders SET cancelled = true WHERE id = %s", (oid,))
        elif method == "GET" and verb is None:
            return 200, dict(order)
        else:
            return 405, {"error": f"{method} not allowed on {path}"}
        row = conn.execute(f"SELECT {_COLS} FROM orders WHERE id = %s", (oid,)).fetchone()
        return 200, dict(row or {})


class Handler(BaseHTTPRequestHandler):
    """Reads the JSON body, calls ``handle`` and writes its JSON reply."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            status, reply = handle(
                self.server.pool,  # type: ignore[attr-defined]
                method,
                self.path.split("?", 1)[0].rstrip("/"),
                json.loads(raw) if raw.strip() else None,
            )
        except Exception as exc:
            status, reply = 500, {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the parent reads only the LISTENING line."""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    pool = ConnectionPool(args.dsn, min_size=2, max_size=4, open=True)
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.pool = pool  # type: ignore[attr-defined]

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"LISTENING 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
