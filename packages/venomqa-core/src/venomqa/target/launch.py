"""Start the API under test from its TargetSpec, wait until it answers, stop it again.

``start_target(spec, stores=..., label=...)`` picks a free loopback port, renders the spec,
runs the command in its own process group (output to a temporary file, never a pipe that could
fill up), and polls the readiness URL until any HTTP answer below 500 comes back. It returns a
``RunningTarget`` (a context manager) whose ``stop()`` ends the whole group: SIGTERM, then
SIGKILL after the spec's grace period; a watchdog does the same if VenomQA dies first.

A command that cannot run, exits before it is ready, or is not ready within
``ready_timeout_s`` raises ``TargetStartError`` (exit code 3) naming the command, the exit code
and the last lines of its output; nothing is left running. So does a URL at which something
already answers before the command has started (a server left over from an earlier run).
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

from venomqa.errors import TargetStartError
from venomqa.target._group import ProcessGroup
from venomqa.target.spec import Launch, TargetSpec

#: Lines of the API's output shown when it fails.
TAIL_LINES = 20
_TAIL_BYTES = 16_384


def start_target(
    spec: TargetSpec, *, stores: Mapping[str, Mapping[str, object]], label: str = ""
) -> RunningTarget:
    """Start the API ``spec`` describes and wait until it is ready (see the module docstring).

    ``stores`` maps each store key to that store's options (a parallel worker passes its
    copies' options); ``label`` (``w2``) names this API in messages. An unknown placeholder is
    a ConfigError; a failure to start is a TargetStartError.
    """
    port = _PORTS.reserve()
    try:
        launch = spec.render(port=port, stores=stores)
        target = RunningTarget(spec, launch, port=port, label=label)
    except BaseException:
        _PORTS.release(port)
        raise
    try:
        target._start()
    except BaseException:
        target.stop()
        raise
    return target


class RunningTarget:
    """An API VenomQA started (or, without a command, only waited for): ``url`` is where it
    answers, ``pid`` its process id (None without a command). Leaving the ``with`` block, or
    ``stop()``, ends its whole process group."""

    def __init__(self, spec: TargetSpec, launch: Launch, *, port: int, label: str = "") -> None:
        self.spec = spec
        self.launch = launch
        self.port = port
        self.label = label
        self._group: ProcessGroup | None = None
        self._output: IO[bytes] | None = None
        self._tail = ""
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The API's base URL, every placeholder filled in."""
        return self.launch.url

    @property
    def pid(self) -> int | None:
        """The command's process id (its process group's id too); None without a command."""
        return None if self._group is None else self._group.process.pid

    @property
    def exit_code(self) -> int | None:
        """The command's exit code once it has ended (negative: the signal that ended it)."""
        return None if self._group is None else self._group.process.poll()

    def alive(self) -> bool:
        """Whether the command still runs (True when there is no command)."""
        return self._group is None or self._group.alive()

    def output_tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines the command wrote (standard output and error together)."""
        text = self._tail if self._output is None else _read_tail(self._output)
        return "\n".join(text.splitlines()[-lines:])

    def describe(self) -> str:
        """``the API (w2) `uvicorn app:app --port 8123`` for messages."""
        who = f"the API ({self.label})" if self.label else "the API"
        return f"{who} `{self.launch.describe()}`" if self.launch.command is not None else who

    def stopped_message(self) -> str:
        """What became of the command, for a run that failed while it was meant to run:
        ``the API `...` (pid 123) exited with code 1; its last output: ...``."""
        code = self.exit_code
        state = "is still running" if code is None else _ended(code)
        return f"{self.describe()} (pid {self.pid}) {state}{self._output_block()}"

    def stop(self) -> None:
        """End the command's whole process group (SIGTERM, grace period, SIGKILL); idempotent,
        safe from several threads. The output stays readable through ``output_tail``."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            try:
                if self._group is not None:
                    self._group.stop(self.spec.stop_timeout_s)
            finally:
                _PORTS.release(self.port)
                if self._output is not None:
                    self._tail = _read_tail(self._output)
                    self._output.close()
                    self._output = None

    def __enter__(self) -> RunningTarget:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningTarget(url={self.url!r}, pid={self.pid}, label={self.label!r})"

    # -- starting -------------------------------------------------------------------------------

    def _start(self) -> None:
        launch = self.launch
        if launch.command is not None:
            early = _probe(launch.ready_url, timeout=1.0)
            if isinstance(early, int):
                raise TargetStartError(
                    f"{self.describe()} was not started: something already answers at "
                    f"{launch.ready_url} (HTTP {early}); stop that server (left over from an "
                    "earlier run?) or put {port} in target.url to get a free port"
                )
            # Closed by stop(); a file, not a pipe, so a chatty server can never block on it.
            self._output = tempfile.TemporaryFile()  # noqa: SIM115
            try:
                self._group = ProcessGroup.start(
                    launch.command,
                    env={**os.environ, **launch.env},
                    cwd=launch.cwd,
                    output=self._output,
                    grace_s=self.spec.stop_timeout_s,
                )
            except OSError as exc:
                where = f" in {launch.cwd}" if launch.cwd else ""
                raise TargetStartError(
                    f"{self.describe()} could not be run{where}: {exc.strerror or exc} "
                    "(check target.command)"
                ) from exc
        self._wait_ready()

    def _wait_ready(self) -> None:
        launch = self.launch
        if launch.command is None and self.spec.ready is None:
            return
        timeout = self.spec.ready_timeout_s
        deadline = time.monotonic() + timeout
        pause = 0.02
        last: int | str = "no answer yet"
        while True:
            if not self.alive():
                raise TargetStartError(
                    f"{self.describe()} {_ended(self.exit_code or 0)} before it answered "
                    f"GET {launch.ready_url}{self._output_block()}"
                )
            left = deadline - time.monotonic()
            answer = _probe(launch.ready_url, timeout=max(0.05, min(2.0, left)))
            if isinstance(answer, int) and answer < 500:
                return
            last = f"HTTP {answer}" if isinstance(answer, int) else answer
            if time.monotonic() >= deadline:
                raise TargetStartError(
                    f"{self.describe()} did not answer GET {launch.ready_url} below 500 within "
                    f"{timeout:g}s (last: {last}); it was stopped. Raise target.ready_timeout "
                    f"if it needs longer{self._output_block()}"
                )
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.25)

    def _output_block(self) -> str:
        if self.launch.command is None:
            return ""
        tail = self.output_tail()
        if not tail.strip():
            return "; it wrote no output"
        shown = "\n".join(f"    {line}" for line in tail.splitlines())
        return f"; its last output:\n{shown}"


def _ended(code: int) -> str:
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was ended by {name}"
    return f"exited with code {code}"


def _read_tail(output: IO[bytes]) -> str:
    """The end of the output file. ``pread``: the command writes through the same open file,
    sharing its offset, so seeking here would move where the command writes next."""
    fd = output.fileno()
    size = os.fstat(fd).st_size
    start = max(0, size - _TAIL_BYTES)
    return os.pread(fd, size - start, start).decode("utf-8", errors="replace")


def _probe(url: str, *, timeout: float) -> int | str:
    """The status of ``GET url``, or why there was none (``connection refused``). A probe: the
    certificate of an https URL is not checked, nothing is sent but the request line."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"User-Agent": "venomqa-ready-probe"})
        response = connection.getresponse()
        response.read()
        return response.status
    except ConnectionRefusedError:
        return "connection refused"
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        connection.close()


class _Ports:
    """Free loopback ports handed out and not yet given back, so that several targets started
    at once (parallel workers) never get the same one."""

    def __init__(self) -> None:
        self._held: set[int] = set()
        self._lock = threading.Lock()

    def reserve(self) -> int:
        with self._lock:
            for _ in range(100):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    probe.bind(("127.0.0.1", 0))
                    port = int(probe.getsockname()[1])
                if port not in self._held:
                    self._held.add(port)
                    return port
        raise TargetStartError("no free loopback port found for the API")

    def release(self, port: int) -> None:
        with self._lock:
            self._held.discard(port)


_PORTS = _Ports()
