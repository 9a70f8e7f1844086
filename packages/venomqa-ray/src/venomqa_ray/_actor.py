"""The Ray actor that holds one parallel worker: a ``WorkerProcess`` on a node of the cluster.

``WorkerActor`` is a plain class (Ray is not imported here); the backend makes it an actor
with ``ray.remote``. The worker is built by ``open`` rather than by the constructor, so a
failure (the API not starting, a store copy unreachable from that node) comes back as that
call's exception, which names what failed. The actor holds the worker's API process and the
connections to its copies of the stores; every call runs in the actor's one thread, in order.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from venomqa.parallel_worker import WorkerProcess
from venomqa.ports.backend import WorkerRecipe


class WorkerActor:
    """One worker, built from its recipe in the actor's process."""

    def __init__(self) -> None:
        self._worker: WorkerProcess | None = None

    def open(self, recipe: WorkerRecipe) -> str:
        """Build the worker (load venomqa.yaml, build the stores from the copy's options, start
        the API); where it runs (``host pid N``)."""
        self._worker = WorkerProcess(recipe)
        return f"{socket.gethostname()} pid {os.getpid()}"

    def handle(self, method: str, args: Sequence[object]) -> tuple[object, int]:
        """``WorkerProcess.handle``: one of the coordinator's calls."""
        if self._worker is None:
            raise RuntimeError("this worker was not opened")
        return self._worker.handle(method, args)

    def close(self) -> None:
        """End the exploration (stores rolled back and torn down) and stop the API."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()
