"""Run the demo shop server in a child process and stop it again, from the parent's side.

with start_demo_server("shop.db") as server:
    httpx.get(f"{server.url}/orders")
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
from types import TracebackType
from typing import IO

from venomqa.demo.server import READY_PREFIX
from venomqa.errors import InfrastructureError


class DemoServerError(InfrastructureError):
    """The demo server process did not start (its stderr is part of the message)."""


class DemoServer:
    """A running demo shop server process; a context manager that stops it on exit."""

    def __init__(
        self, process: subprocess.Popen[str], host: str, port: int, stderr: IO[str]
    ) -> None:
        self.process = process
        self.host = host
        self.port = port
        self._stderr = stderr

    @property
    def url(self) -> str:
        """The base URL the shop answers on, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """The server process's id."""
        return self.process.pid

    def is_running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to stop (SIGTERM), kill it if it does not within ``timeout`` seconds."""
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

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_demo_server(
    db_path: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 15.0,
) -> DemoServer:
    """Start ``python -m venomqa.demo.server`` on ``db_path`` and wait until it listens.

    Raises DemoServerError, with the process's stderr, when it exits or stays silent for
    ``startup_timeout`` seconds; the process is never left running in that case.
    """
    # Closed by DemoServer.stop(); a file, not a pipe, so a chatty server can never block.
    stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
    command = [
        sys.executable,
        "-m",
        "venomqa.demo.server",
        "--db",
        os.fspath(db_path),
        "--host",
        host,
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        encoding="utf-8",
    )
    server = DemoServer(process, host, port, stderr)
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
            raise DemoServerError(_failure(problem, command, line or "", stderr))
        server.host, _, bound_port = line.split(" ", 1)[1].strip().rpartition(":")
        server.port = int(bound_port)
    except BaseException:
        _stop_quietly(server)
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


def _failure(problem: str, command: list[str], line: str, stderr: IO[str]) -> str:
    stderr.seek(0)
    output = stderr.read().strip()
    detail = f"\n{output}" if output else ""
    said = f" (its first line was {line.strip()!r})" if line.strip() else ""
    return f"demo server {problem}{said}: {' '.join(command)}{detail}"


def _stop_quietly(server: DemoServer) -> None:
    with contextlib.suppress(Exception):
        server.stop()
