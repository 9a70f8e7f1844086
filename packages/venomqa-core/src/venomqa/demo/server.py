"""The demo shop as a real HTTP server (stdlib only), meant to run in its own process.

    python -m venomqa.demo.server --db shop.db --port 0

prints ``LISTENING 127.0.0.1:PORT`` as its first line once it accepts connections, serves JSON
until SIGTERM or SIGINT, then shuts down cleanly. Routes:

    POST   /orders               {amount}   -> 201 order
    GET    /orders                          -> 200 {orders, total}
    GET    /orders/{id}                     -> 200 order | 404
    POST   /orders/{id}/pay                 -> 200 order | 404 | 409
    POST   /orders/{id}/refund   {amount?}  -> 200 order | 400 | 404 | 409
    DELETE /orders/{id}                     -> 200 order (cancelled) | 404 | 409

The business rules, and the bugs seeded in them, live in ``venomqa.demo.shop``.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from venomqa.demo import shop

READY_PREFIX = "LISTENING"

Route = tuple[str, "re.Pattern[str]", Callable[[str, dict[str, str], Any], shop.Reply]]

_ROUTES: list[Route] = [
    ("POST", re.compile(r"/orders"), lambda db, _, body: shop.create_order(db, body)),
    ("GET", re.compile(r"/orders"), lambda db, _, body: shop.list_orders(db)),
    (
        "GET",
        re.compile(r"/orders/(?P<id>\d+)"),
        lambda db, p, body: shop.get_order(db, int(p["id"])),
    ),
    (
        "POST",
        re.compile(r"/orders/(?P<id>\d+)/pay"),
        lambda db, p, body: shop.pay_order(db, int(p["id"])),
    ),
    (
        "POST",
        re.compile(r"/orders/(?P<id>\d+)/refund"),
        lambda db, p, body: shop.refund_order(db, int(p["id"]), body),
    ),
    (
        "DELETE",
        re.compile(r"/orders/(?P<id>\d+)"),
        lambda db, p, body: shop.cancel_order(db, int(p["id"])),
    ),
]


class ShopServer(ThreadingHTTPServer):
    """A threading HTTP server that knows which SQLite file the shop lives in."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], db_path: str) -> None:
        self.db_path = db_path
        super().__init__(address, ShopRequestHandler)


class ShopRequestHandler(BaseHTTPRequestHandler):
    """Routes one request to ``venomqa.demo.shop`` and writes its JSON reply."""

    server: ShopServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes; don't wait on ACKs

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            body = self._read_json()
        except ValueError as exc:
            self._reply(400, {"error": f"request body is not JSON: {exc}"})
            return
        allowed = False
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method != method:
                allowed = True
                continue
            try:
                status, reply = handler(self.server.db_path, match.groupdict(), body)
            except Exception as exc:  # an unexpected failure is a 500, like any real API's
                status, reply = 500, {"error": f"{type(exc).__name__}: {exc}"}
            self._reply(status, reply)
            return
        if allowed:
            self._reply(405, {"error": f"{method} not allowed on {path}"})
        else:
            self._reply(404, {"error": f"no route for {method} {path}"})

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        return json.loads(raw) if raw.strip() else None

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the parent process reads only the ``LISTENING`` line."""


def serve(db_path: str, host: str = "127.0.0.1", port: int = 0) -> None:
    """Initialise the schema, bind, print the ready line and serve until SIGTERM/SIGINT."""
    shop.init_schema(db_path)
    server = ShopServer((host, port), db_path)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound_host, bound_port = server.server_address[:2]
    host_text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
    print(f"{READY_PREFIX} {host_text}:{bound_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point of ``python -m venomqa.demo.server``."""
    parser = argparse.ArgumentParser(description="The VenomQA demo shop API.")
    parser.add_argument("--db", required=True, help="SQLite file the shop keeps its data in")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0 = any free port)")
    args = parser.parse_args(argv)
    try:
        serve(args.db, args.host, args.port)
    except (OSError, sqlite3.Error) as exc:
        print(
            f"demo server: cannot serve {args.db} on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
