"""Connecting to a Ray cluster for one run, with errors a user can act on.

``--address`` takes what ``ray.init`` takes: ``auto`` (the cluster ``ray start`` started on this
machine, or ``RAY_ADDRESS``), ``HOST:PORT`` (the head node's GCS port, 6379 by default) or
``ray://HOST:PORT`` (the Ray Client server, 10001 by default). Without an address, ``RAY_ADDRESS``
is used when set; otherwise a private local Ray instance is started for the run and stopped at
its end (handy on one machine; ``--backend local`` is cheaper there).

Ray itself waits two minutes for a GCS that does not answer and then exits the process, so an
explicit ``HOST:PORT`` is first probed with a plain TCP connection (a few seconds): an
unreachable cluster is an ``InfrastructureError`` naming the address, at once.

Through ``ray://`` the Ray Client proxy starts a server process for each driver; when that
process dies while starting (a busy head node), the connection fails with "Starting Ray client
server failed" and the next attempt gets a new server on the next port: such a connection is
tried up to ``CLIENT_ATTEMPTS`` times, a second apart.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from venomqa.errors import InfrastructureError, UsageError

#: How long the TCP probe of an explicit address waits.
PROBE_TIMEOUT_S = 5.0
#: Attempts at a ``ray://`` connection whose per-driver server failed to start.
CLIENT_ATTEMPTS = 3
#: What Ray's client proxy says when a driver's server process died while starting.
CLIENT_SERVER_FAILED = "Starting Ray client server failed"


def import_ray() -> ModuleType:
    """``ray``, or a UsageError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError(
            f"--backend ray needs the ray package ({exc}): pip install 'venomqa-ray'"
        ) from exc
    return ray


def host_and_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of an explicit address (``HOST:PORT``, ``ray://HOST:PORT``); None for
    ``auto`` and ``local``. A malformed address is a UsageError."""
    if address in ("auto", "local"):
        return None
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        raise UsageError(
            f"--address {address}: expected HOST:PORT, ray://HOST:PORT or auto "
            "(e.g. 10.0.0.5:6379 or ray://10.0.0.5:10001)"
        )
    return host, int(port)


def probe(address: str) -> None:
    """InfrastructureError unless something accepts TCP connections at ``address``."""
    where = host_and_port(address)
    if where is None:
        return
    try:
        with socket.create_connection(where, timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise InfrastructureError(
            f"cannot reach the Ray cluster at {address}: {exc or type(exc).__name__} "
            "(is `ray start --head` running there, and is the port open from this machine?)"
        ) from exc


@contextmanager
def connected(address: str | None) -> Iterator[ModuleType]:
    """``ray``, connected to the cluster at ``address`` for the block (see the module
    docstring). A connection this process already had is used as it is and left open."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    chosen = address or os.environ.get("RAY_ADDRESS") or "local"
    probe(chosen)
    options: dict[str, object] = {"log_to_driver": False, "logging_level": "WARNING"}
    if chosen == "local":
        options["include_dashboard"] = False
    try:
        _init(ray, chosen, options)
    except (Exception, SystemExit) as exc:  # Ray exits the process when the GCS never answers
        raise InfrastructureError(
            f"cannot connect to the Ray cluster at {chosen}: {exc or type(exc).__name__} "
            "(a cluster with token authentication needs RAY_AUTH_MODE=token and its token in "
            "this process's environment, as for any Ray driver)"
        ) from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _init(ray: ModuleType, address: str, options: dict[str, object]) -> None:
    """``ray.init``, tried again (``CLIENT_ATTEMPTS``) while a ``ray://`` proxy fails to start
    this driver's server."""
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        try:
            ray.init(address=address, **options)
            return
        except Exception as exc:
            transient = address.startswith("ray://") and CLIENT_SERVER_FAILED in str(exc)
            if not transient or attempt == CLIENT_ATTEMPTS:
                raise
        ray.shutdown()
        time.sleep(1.0)
