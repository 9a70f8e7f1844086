"""A kept-alive connection the server closed before reading the next request is re-sent once on
a fresh connection; a request the server read and then dropped is never sent twice.

The first server behaves as uvicorn does after an unhandled exception: it answers 500 on a
kept-alive connection, then (after logging, say) closes that connection without reading what
the client sent meanwhile. The second is ``tests/shared/dropping_api.py`` in its own process,
which reads and stores an order, then closes the connection without answering.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from venomqa.client import Client
from venomqa.testing.server import start_api_process

SHARED = Path(__file__).resolve().parents[1] / "shared"


class LingeringCloser:
    """Per connection: read one request; ``/boom`` answers 500 then closes the connection
    ``linger`` seconds later without reading further; anything else answers 200 and keeps the
    connection open. ``read`` counts the requests the server actually read, by path."""

    def __init__(self, linger: float = 0.4) -> None:
        self.linger = linger
        self.read: Counter[str] = Counter()
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def serve(self) -> None:
        self.listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._connection, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            buffered = b""
            while True:
                while b"\r\n\r\n" not in buffered:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffered += chunk
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                path = head.split(b" ")[1].decode()
                self.read[path] += 1
                status = b"500 Internal Server Error" if path == "/boom" else b"200 OK"
                conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\n{}")
                if path == "/boom":
                    time.sleep(self.linger)  # the request sent meanwhile stays unread
                    return  # closing with unread data: the kernel answers with a reset

    def stop(self, serving: threading.Thread) -> None:
        self._stop.set()
        serving.join(timeout=5)
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


@contextmanager
def lingering_closer() -> Iterator[LingeringCloser]:
    server = LingeringCloser()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop(thread)


def test_a_connection_closed_before_the_request_was_read_is_resent_on_a_fresh_one() -> None:
    with lingering_closer() as server, Client(server.url) as client:
        assert client.get("/boom").status_code == 500
        response = client.get("/next")  # written into the kept-alive connection at once
        assert response.status_code == 200
    assert server.read["/next"] == 1  # the server read it once: on the fresh connection
    assert server.connections == 2
    tries = [record for record in client.history if record.url.endswith("/next")]
    assert [record.response_status for record in tries] == [None, 200]
    assert tries[0].error is not None


def test_without_the_resend_the_stale_connection_fails_the_call() -> None:
    """The failure the re-send is for, shown with httpx alone (same server, same timing)."""
    with lingering_closer() as server, httpx.Client(base_url=server.url) as raw:
        assert raw.get("/boom").status_code == 500
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            raw.get("/next")
    assert server.read["/next"] == 0


def test_a_request_the_server_read_and_dropped_is_not_sent_again(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    command = [sys.executable, str(SHARED / "dropping_api.py"), "--db", str(db)]
    command += ["--drop-every", "2", "--after-commit"]
    with start_api_process(command) as api, Client(api.url) as client:
        assert client.post("/orders").status_code == 201
        with pytest.raises(httpx.TransportError):
            client.post("/orders")  # kept-alive connection: read, stored, then dropped
        orders = client.get("/orders").json()
    assert len(orders if isinstance(orders, list) else orders["orders"]) == 2
    posts = [record for record in client.history if record.method == "POST"]
    assert len(posts) == 2  # one try each: the dropped call was not re-sent
