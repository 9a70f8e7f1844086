"""Small JSON APIs in their own process: what the demo and the test suites run VenomQA against.

The API under test is a separate process in real use, so tests serve theirs the same way. An API
module declares routes on a ``JsonApi`` and calls ``main()``::

    api = JsonApi("carts")
    api.argument("--url", required=True)          # options of this API, read in ``setup``

    @api.setup
    def connect(options):                          # runs once, before serving
        return redis.Redis.from_url(options.url)   # handlers get it as ``request.state``

    @api.route("POST", r"/carts/(?P<cart>\\d+)/checkout")
    def checkout(request):
        return 200, {"id": request.params["cart"]}

    if __name__ == "__main__":
        api.main()

``main()`` binds (``--host``, ``--port``; 0 picks a free port), prints ``LISTENING host:port`` once
it accepts connections, and serves until SIGTERM or SIGINT. A handler returns ``(status, body)``
(a body of None sends no content); ``raise HttpError(status, body)`` answers at once from anywhere
in a handler; ``raise DropConnection()`` closes the connection without an answer; any other
exception becomes a 500 with the exception in the body, as in a real API.
The parent side: ``start_api_process([sys.executable, "api.py", "--url", ...])``
waits for the ready line and returns an ``ApiProcess`` (a context manager that stops it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import IO, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from venomqa.errors import InfrastructureError
from venomqa.json_types import Json

#: The first line an API process prints on stdout once it accepts connections.
READY_PREFIX = "LISTENING"

#: (status, body): the body is anything ``json.dumps`` writes (a Json value, a TypedDict, a list
#: of rows), or None for no content.
Reply = tuple[int, object]

_State = TypeVar("_State")


class HttpError(Exception):
    """Raised by a handler (or what it calls) to answer ``status`` with ``body`` at once."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__(f"HTTP {status}: {body!r}")
        self.status = status
        self.body = body


class DropConnection(Exception):
    """Raised by a handler to close the connection without answering, as a crashed worker or a
    proxy that gives up does (what is done by then stays done)."""


@dataclass
class Request:
    """One request as a handler sees it: ``body`` is the decoded JSON (None when empty) and
    ``state`` what the ``setup`` function returned."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: Json
    state: object = None

    @property
    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer ...`` header, if any."""
        value = self.headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else None


Handler = Callable[[Request], Reply]


@dataclass
class JsonApi:
    """Routes plus what the process needs to serve them (see the module docstring)."""

    name: str
    routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    # argparse's add_argument keyword arguments, passed on unchanged (argparse types them Any).
    _arguments: list[tuple[tuple[str, ...], dict[str, Any]]] = field(default_factory=list)
    _setup: Callable[[argparse.Namespace], object] | None = None

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``method`` on paths fully matching ``pattern``."""

        def register(handler: Handler) -> Handler:
            self.routes.append((method.upper(), re.compile(pattern), handler))
            return handler

        return register

    def argument(self, *flags: str, **options: Any) -> None:
        """A command-line option of this API (``argparse.add_argument`` arguments)."""
        self._arguments.append((flags, options))

    def setup(
        self, fn: Callable[[argparse.Namespace], _State]
    ) -> Callable[[argparse.Namespace], _State]:
        """Decorate the function that prepares the API's state from its options."""
        self._setup = fn
        return fn

    def dispatch(
        self, method: str, target: str, headers: dict[str, str], raw: bytes, state: object
    ) -> Reply:
        """The reply to one request: (status, body)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            body: Json = json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            return 400, {"error": f"request body is not JSON: {exc}"}
        allowed = False
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method != method:
                allowed = True
                continue
            request = Request(method, path, match.groupdict(), query, headers, body, state)
            try:
                return handler(request)
            except HttpError as refused:
                return refused.status, refused.body
            except DropConnection:
                raise
            except Exception as exc:  # a bug in the API: a 500, like any real API's
                return 500, {"error": f"{type(exc).__name__}: {exc}"}
        if allowed:
            return 405, {"error": f"{method} not allowed on {path}"}
        return 404, {"error": f"no route for {method} {path}"}

    def main(self, argv: Sequence[str] | None = None) -> None:
        """Parse the command line, set up, serve until SIGTERM/SIGINT; exit 1 if it cannot."""
        parser = argparse.ArgumentParser(description=f"The {self.name} test API.")
        parser.add_argument("--host", default="127.0.0.1", help="address to bind")
        parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
        for flags, options in self._arguments:
            parser.add_argument(*flags, **options)
        args = parser.parse_args(argv)
        try:
            state = self._setup(args) if self._setup is not None else None
            serve(self, state, args.host, args.port)
        except Exception as exc:
            print(f"{self.name}: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
            sys.exit(1)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: JsonApi, state: object) -> None:
        self.api = api
        self.state = state
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes; don't wait on ACKs

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, body = self.server.api.dispatch(
                method, self.path, headers, raw, self.server.state
            )
        except DropConnection:
            self.close_connection = True  # no status line, no headers: the socket just closes
            return
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the parent process reads only the ready line."""


def serve(api: JsonApi, state: object, host: str = "127.0.0.1", port: int = 0) -> None:
    """Bind, print the ready line and serve ``api`` until SIGTERM or SIGINT."""
    server = _Server((host, port), api, state)

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


class ApiProcessError(InfrastructureError):
    """An API process did not start (its stderr is part of the message)."""


class ApiProcess:
    """A running API process; a context manager that stops it on exit."""

    def __init__(
        self, process: subprocess.Popen[str], host: str, port: int, stderr: IO[str]
    ) -> None:
        self.process = process
        self.host = host
        self.port = port
        self._stderr = stderr

    @property
    def url(self) -> str:
        """The base URL it answers on, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """The process's id."""
        return self.process.pid

    def is_running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def stderr_text(self) -> str:
        """What the process wrote on stderr so far."""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask it to stop (SIGTERM), kill it if it does not within ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> ApiProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_api_process(
    command: Sequence[str],
    *,
    what: str = "API server",
    startup_timeout: float = 15.0,
    env: dict[str, str] | None = None,
) -> ApiProcess:
    """Run ``command`` and wait until it prints the ready line.

    Raises ApiProcessError, with the process's stderr, when it exits or stays silent for
    ``startup_timeout`` seconds; the process is never left running in that case.
    """
    # Closed by ApiProcess.stop(); a file, not a pipe, so a chatty server can never block.
    stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
    command = list(command)
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        encoding="utf-8",
        env=env,
    )
    server = ApiProcess(process, "127.0.0.1", 0, stderr)
    try:
        line = _first_line(process, startup_timeout)
        if line is None or not line.startswith(READY_PREFIX + " "):
            if line is not None:
                # Its stdout ended, so the process is exiting: give it a moment to be reaped.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
            exited = process.poll() is not None
            if not exited:
                process.kill()
                process.wait()
            problem = (
                f"exited with code {process.returncode} before listening"
                if exited
                else f"did not report its port within {startup_timeout:g}s"
            )
            raise ApiProcessError(_failure(what, problem, command, line or "", stderr))
        server.host, _, bound_port = line.split(" ", 1)[1].strip().rpartition(":")
        server.port = int(bound_port)
    except BaseException:
        with contextlib.suppress(Exception):
            server.stop()
        raise
    return server


def _first_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    """The first stdout line ('' at end of output), or None if nothing came within ``timeout``."""
    lines: list[str] = []
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else None


def _failure(what: str, problem: str, command: list[str], line: str, stderr: IO[str]) -> str:
    stderr.seek(0)
    output = stderr.read().strip()
    detail = f"\n{output}" if output else ""
    said = f" (its first line was {line.strip()!r})" if line.strip() else ""
    return f"{what} {problem}{said}: {' '.join(command)}{detail}"
