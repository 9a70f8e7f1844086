"""A small cart API that keeps its state in Redis, run as its own process by the tests.

    python _support_redis_api.py --url redis://127.0.0.1:6379/12

prints ``LISTENING host:port`` once it accepts connections and serves until SIGTERM. State:
``cart:next`` (INCR counter of cart ids), ``cart:ID`` (hash: status), ``cart:ID:items`` (hash:
sku -> quantity), ``queue:checkout`` (RQ-style list of cart ids). The seeded bug: checking out a
cart that is already checked out queues it again.

    POST   /carts                    -> 201 {id}
    POST   /carts/ID/items/SKU       -> 200 | 404 | 409 (checked out)
    DELETE /carts/ID/items/SKU       -> 200 | 404 | 409 (not in the cart)
    POST   /carts/ID/checkout        -> 200 | 404 | 409 (empty)
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis

ROUTES = [
    ("POST", re.compile(r"/carts"), "create"),
    ("POST", re.compile(r"/carts/(\d+)/items/(\w+)"), "add"),
    ("DELETE", re.compile(r"/carts/(\d+)/items/(\w+)"), "remove"),
    ("POST", re.compile(r"/carts/(\d+)/checkout"), "checkout"),
]


def handle(r: Any, op: str, args: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
    if op == "create":
        cart = r.incr("cart:next")
        r.hset(f"cart:{cart}", "status", "open")
        return 201, {"id": cart}
    cart = args[0]
    status = r.hget(f"cart:{cart}", "status")
    if status is None:
        return 404, {"error": "no such cart"}
    items = f"cart:{cart}:items"
    if op == "add":
        if status == "checked_out":
            return 409, {"error": "cart is checked out"}
        return 200, {"quantity": r.hincrby(items, args[1], 1)}
    if op == "remove":
        quantity = int(r.hget(items, args[1]) or 0)
        if quantity == 0:
            return 409, {"error": "not in the cart"}
        if quantity == 1:
            r.hdel(items, args[1])
        else:
            r.hincrby(items, args[1], -1)
        return 200, {"quantity": quantity - 1}
    if not r.hlen(items):
        return 409, {"error": "cart is empty"}
    # The seeded bug: an already checked-out cart is queued again.
    r.rpush("queue:checkout", cart)
    r.hset(f"cart:{cart}", "status", "checked_out")
    return 200, {"queued": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Any

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_GET(self) -> None:
        self._reply(200, {"ok": True})

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        for route_method, pattern, op in ROUTES:
            match = pattern.fullmatch(self.path)
            if match and route_method == method:
                try:
                    status, body = handle(self.server.redis, op, match.groups())
                except redis.RedisError as exc:
                    status, body = 500, {"error": str(exc)}
                self._reply(status, body)
                return
        self._reply(404, {"error": "no route"})

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.redis = redis.Redis.from_url(args.url, decode_responses=True)  # type: ignore[attr-defined]
    signal.signal(
        signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    )
    host, port = server.server_address[:2]
    print(f"LISTENING {host!s}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        server.redis.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
