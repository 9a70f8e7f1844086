"""Run the demo shop server in a child process and stop it again, from the parent's side.

with start_demo_server("shop.db") as server:
    httpx.get(f"{server.url}/orders")
"""

from __future__ import annotations

import os
import sys

from venomqa.testing.server import ApiProcess, ApiProcessError, start_api_process

#: A running demo server (see ``venomqa.testing.server.ApiProcess``).
DemoServer = ApiProcess
#: The demo server did not start (its stderr is part of the message).
DemoServerError = ApiProcessError


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
    command = [sys.executable, "-m", "venomqa.demo.server", "--db", os.fspath(db_path)]
    command += ["--host", host, "--port", str(port)]
    return start_api_process(command, what="demo server", startup_timeout=startup_timeout)
