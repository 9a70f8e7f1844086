"""Fixtures for the CLI, config and reporter tests: a real shop API over HTTP backed by SQLite.

The API (stdlib ThreadingHTTPServer on 127.0.0.1, its own sqlite3 connection per request):

    GET  /                      200 {"ok": true}
    POST /items                 201 {"id": N}          body {"name": str, "quantity": int}
    GET  /items/N               200 item | 404
    POST /items/N/sell          200 item | 409 when sold out (unless the bug is on)
    DELETE /items/N             204 | 404
    POST /crash                 500 when the bug is on, else 200

``ShopServer.bug`` (a plain attribute) turns the seeded bug on or off while the server runs:
with the bug, selling a sold-out item drives its quantity negative, and /crash crashes.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL
);
"""

CHECKS_MODULE = """
from venomqa import Severity, action, invariant


@action(requires=lambda ctx: "item_id" not in ctx)
def create_item(api, ctx):
    response = api.post("/items", json={"name": "widget", "quantity": 1})
    ctx["item_id"] = response.json()["id"]
    return response


@action(requires=lambda ctx: "item_id" in ctx)
def sell_item(api, ctx):
    return api.post(f"/items/{ctx['item_id']}/sell")


@invariant(severity=Severity.CRITICAL)
def quantity_never_negative(world):
    rows = world.stores["db"].query("SELECT id, quantity FROM items")
    bad = [row for row in rows if row["quantity"] < 0]
    assert not bad, f"negative quantity: {bad}"
"""

CRASH_MODULE = """
from venomqa import action


@action
def crash(api, ctx):
    return api.post("/crash", json={"reason": "test"})
"""


class ShopServer:
    """The shop API in a thread; ``url`` is its base URL, ``db`` its SQLite file."""

    def __init__(self, db: Path, *, bug: bool = True) -> None:
        self.db = db
        self.bug = bug
        with sqlite3.connect(db) as conn:
            conn.executescript(SCHEMA)
        conn.close()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ShopServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def rows(self) -> list[tuple[int, str, int]]:
        conn = sqlite3.connect(self.db)
        try:
            return list(conn.execute("SELECT id, name, quantity FROM items ORDER BY id"))
        finally:
            conn.close()


def _handler_for(shop: ShopServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _json(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"null")

        def do_GET(self) -> None:
            if self.path == "/":
                return self._send(200, {"ok": True})
            match = re.fullmatch(r"/items/(\d+)", self.path)
            if match:
                with _db(shop) as conn:
                    row = conn.execute(
                        "SELECT id, name, quantity FROM items WHERE id = ?", (match[1],)
                    ).fetchone()
                if row is None:
                    return self._send(404, {"error": "no such item"})
                return self._send(200, {"id": row[0], "name": row[1], "quantity": row[2]})
            return self._send(404, {"error": "not found"})

        def do_DELETE(self) -> None:
            match = re.fullmatch(r"/items/(\d+)", self.path)
            if match is None:
                return self._send(404, {"error": "not found"})
            with _db(shop) as conn:
                deleted = conn.execute("DELETE FROM items WHERE id = ?", (match[1],)).rowcount
            if not deleted:
                return self._send(404, {"error": "no such item"})
            self.send_response(204)
            self.end_headers()

        def do_POST(self) -> None:
            if self.path == "/items":
                body = self._json()
                with _db(shop) as conn:
                    cursor = conn.execute(
                        "INSERT INTO items (name, quantity) VALUES (?, ?)",
                        (body["name"], body["quantity"]),
                    )
                return self._send(201, {"id": cursor.lastrowid})
            if self.path == "/crash":
                self._json()
                if shop.bug:
                    return self._send(500, {"error": "internal error"})
                return self._send(200, {"ok": True})
            match = re.fullmatch(r"/items/(\d+)/sell", self.path)
            if match:
                with _db(shop) as conn:
                    row = conn.execute(
                        "SELECT quantity FROM items WHERE id = ?", (match[1],)
                    ).fetchone()
                    if row is None:
                        return self._send(404, {"error": "no such item"})
                    if row[0] <= 0 and not shop.bug:
                        return self._send(409, {"error": "sold out"})
                    conn.execute(
                        "UPDATE items SET quantity = quantity - 1 WHERE id = ?", (match[1],)
                    )
                return self._send(200, {"id": int(match[1]), "quantity": row[0] - 1})
            return self._send(404, {"error": "not found"})

    return Handler


class _db:
    """A short-lived connection committing on success, like a real API's request scope."""

    def __init__(self, shop: ShopServer) -> None:
        self.conn = sqlite3.connect(shop.db, timeout=10)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.conn.commit()
        self.conn.close()


def write_project(
    folder: Path,
    target: str,
    *,
    module: str = "shop_checks",
    source: str = CHECKS_MODULE,
    extra: str = "",
) -> Path:
    """Write ``venomqa.yaml`` + an actions module into ``folder``; returns the config path."""
    (folder / f"{module}.py").write_text(source)
    config = folder / "venomqa.yaml"
    config.write_text(
        f"target: {target}\n"
        f"actions: [{module}]\n"
        "stores:\n"
        "  db: {adapter: sqlite, path: ./shop.db}\n"
        "explore: {strategy: bfs, max_depth: 4, max_states: 200}\n"
        "reports:\n"
        "  - {format: json, path: reports/venomqa.json}\n" + extra
    )
    return config


def free_port_url() -> str:
    """A loopback URL nothing listens on (the port was just free)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
