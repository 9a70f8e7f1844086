"""A real loopback HTTP server (stdlib) and small in-process apps for the client tests.

Server routes (all answers are JSON unless said otherwise):

* ``/echo`` (any method): what the server received — method, path, query, headers, body.
* ``/flaky/<key>/<n>``: 503 (with ``Retry-After: 0``) for the first ``n`` hits of ``key``, then 200.
* ``/status/<code>``: answers ``code``.
* ``/login``: answers tokens and a nested password, to test response redaction.
* ``/big/<n>``: ``n`` bytes of JSON-looking text.
* ``/text``: plain text.

``hits`` counts requests per path; ``received`` keeps each request's headers and full path.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class LoopbackServer:
    base_url: str
    hits: Counter[str] = field(default_factory=Counter)
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler_for(state: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _answer(
            self,
            status: int,
            payload: Any,
            content_type: str = "application/json",
            extra: dict[str, str] | None = None,
        ) -> None:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Set-Cookie", "session=server-cookie-value")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            path = parts.path
            with state.lock:
                state.hits[path] += 1
                hits = state.hits[path]
                state.received.append({"path": self.path, "headers": dict(self.headers.items())})
            segments = [s for s in path.split("/") if s]
            if path == "/echo":
                self._answer(
                    200,
                    {
                        "method": self.command,
                        "path": path,
                        "query": parse_qs(parts.query),
                        "headers": dict(self.headers.items()),
                        "body": raw.decode("utf-8", "replace"),
                    },
                )
            elif segments[:1] == ["flaky"] and len(segments) == 3:
                if hits <= int(segments[2]):
                    self._answer(503, {"error": "try later"}, extra={"Retry-After": "0"})
                else:
                    self._answer(200, {"ok": True, "hits": hits})
            elif segments[:1] == ["status"] and len(segments) == 2:
                self._answer(int(segments[1]), {"status": int(segments[1])})
            elif path == "/login":
                self._answer(
                    200,
                    {
                        "access_token": "issued-access-token-123",
                        "refreshToken": "issued-refresh-token-456",
                        "user": {"name": "ada", "profile": [{"Password": "hunter22"}]},
                    },
                )
            elif segments[:1] == ["big"] and len(segments) == 2:
                size = int(segments[1])
                self._answer(200, b'{"password": "leak", "x": "' + b"a" * size + b'"}')
            elif path == "/text":
                self._answer(200, b"hello, plain text", content_type="text/plain; charset=utf-8")
            else:
                self._answer(404, {"error": f"no route {path}"})

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    return Handler


@contextmanager
def running_server() -> Iterator[LoopbackServer]:
    """A ThreadingHTTPServer on 127.0.0.1, port chosen by the OS, shut down on exit."""
    state = LoopbackServer(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A tiny WSGI app: /items answers a JSON list, /boom raises, anything else 404."""
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("the app exploded")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    if path == "/items":
        payload = json.dumps(
            {"method": environ["REQUEST_METHOD"], "got": body.decode(), "secret": "s3cr3t-value"}
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [payload]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


class AsgiApp:
    """A tiny ASGI app: echoes the method, path and body as JSON; counts calls on its own loop."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        payload = json.dumps(
            {"method": scope["method"], "path": scope["path"], "body": body.decode()}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class FakeClock:
    """A clock tests move by hand (for the circuit breaker)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
