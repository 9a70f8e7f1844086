"""Connection faults for the Redis store tests, against the real server.

``ConnectionKiller`` is another client that keeps ``CLIENT KILL``ing the store's connections,
found by their client names. ``TcpProxy`` forwards a loopback port to Redis: ``drop()`` closes
every connection through it (a proxy restarting), ``stop()`` also stops listening (the server is
gone for whoever uses the proxy), ``start()`` listens again on the same port.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections import Counter
from typing import Any

import redis
from conftest import REDIS_HOST, REDIS_PORT
from venomqa_redis._connection import COMMAND_CLIENT, EVENTS_CLIENT


class ConnectionKiller:
    """A thread that ``CLIENT KILL``s every connection named ``venomqa``/``venomqa-events`` on
    database ``db`` every 1-10 ms; ``kills`` counts them by name."""

    def __init__(self, db: int, seed: int = 0) -> None:
        self.kills: Counter[str] = Counter()
        self._db = str(db)
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, decode_responses=True)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionKiller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self._rng.uniform(0.001, 0.01)):
            for client in self._client.client_list():
                if client["name"] in (COMMAND_CLIENT, EVENTS_CLIENT) and client["db"] == self._db:
                    try:
                        self._client.client_kill_filter(_id=client["id"])
                    except redis.ResponseError:  # gone meanwhile
                        continue
                    self.kills[client["name"]] += 1


class TcpProxy:
    """Forwards connections on 127.0.0.1:``port`` to the Redis server, one thread per direction."""

    def __init__(self) -> None:
        self.port = 0
        self._listener: socket.socket | None = None
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()
        self._accepting = threading.Event()

    @property
    def url_prefix(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def drop(self) -> None:
        """Close every connection through the proxy (both ends), as a restarting proxy does."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            _close(link)

    def stop(self) -> None:
        """Stop listening and close every connection: nothing answers on the port any more."""
        self._accepting.clear()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self.drop()

    def _accept(self, listener: socket.socket) -> None:
        while self._accepting.is_set() and self._listener is listener:
            try:
                downstream, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            downstream.settimeout(None)
            upstream = socket.create_connection((REDIS_HOST, REDIS_PORT))
            with self._lock:
                self._links += [downstream, upstream]
            for source, target in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(target)


def _close(link: Any) -> None:
    with contextlib.suppress(OSError):
        link.shutdown(socket.SHUT_RDWR)
    link.close()
