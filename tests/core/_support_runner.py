"""A small real HTTP API for the journey-runner tests: its state lives in a SQLite file that it
opens with its own connection on every request, so the store under test (SQLiteStore) sees
writes made by another connection, as with a separate server.

    POST /items {"name": ...} -> 201 {"id": ...}     GET /items -> 200 [{"id", "name"}, ...]
    POST /items {"name": ..., "delay_s": S} waits S seconds before it inserts (a slow call);
    with "ctrl_c": true it first sends SIGINT to the process's main thread (Ctrl-C mid-call);
    ``server.posted`` is released once per POST answered
    GET /flaky  -> 503 for the first N calls, then 200 (N = server.flaky_failures)
    GET /missing -> 404
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SCHEMA = "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)"


def create_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(SCHEMA)
    conn.close()


class ItemsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, db_path: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.db_path = db_path
        self.flaky_failures = 0
        self.flaky_calls = 0
        self.requests_seen = 0
        self.posted = threading.Semaphore(0)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: ItemsServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.server.db_path, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests_seen += 1
        if self.path == "/items":
            conn = self._db()
            try:
                rows = conn.execute("SELECT id, name FROM items ORDER BY id").fetchall()
            finally:
                conn.close()
            self._send(200, [dict(row) for row in rows])
        elif self.path == "/flaky":
            with self.server.lock:
                self.server.flaky_calls += 1
                failing = self.server.flaky_calls <= self.server.flaky_failures
            self._send(503, {"error": "try again"}) if failing else self._send(200, {"ok": True})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        with self.server.lock:
            self.server.requests_seen += 1
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/items":
            self._send(404, {"error": "not found"})
            return
        if payload.get("ctrl_c"):
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        time.sleep(payload.get("delay_s", 0))
        conn = self._db()
        try:
            with conn:
                cursor = conn.execute("INSERT INTO items (name) VALUES (?)", (payload["name"],))
            self._send(201, {"id": cursor.lastrowid, "name": payload["name"]})
        finally:
            conn.close()
            self.server.posted.release()


@contextmanager
def running_server(db_path: Path) -> Iterator[ItemsServer]:
    server = ItemsServer(db_path)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def rows_in(db_path: Path) -> list[tuple[int, str]]:
    """The items table read with a fresh connection, as the user would see it."""
    conn = sqlite3.connect(db_path)
    try:
        return [tuple(row) for row in conn.execute("SELECT id, name FROM items ORDER BY id")]
    finally:
        conn.close()
