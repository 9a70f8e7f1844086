"""The ``processes`` execution backend: workers 2..N as processes of this machine.

Each worker is a fresh Python process (``multiprocessing``, spawned) holding a ``WorkerProcess``:
it builds its stores from its copy's options, starts its own API from ``target.command`` and
answers the coordinator's calls over a pipe. Unlike the ``local`` backend's threads, the workers'
own Python work (HTTP client, store reads, keying views) then runs on every core instead of taking
turns under one interpreter lock, which matters when a run has more workers than the API's latency
hides.

Stopping: the workers ignore Ctrl-C (the terminal sends it to the whole process group); the
coordinator stops them when the run ends, whatever ended it: each closes its exploration (stores
rolled back and torn down) and its API. A worker whose coordinator dies (killed outright) sees
its pipe close and does the same. A worker that fails while building or answering sends its error
back; one that dies is an InfrastructureError naming it.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, ClassVar

from venomqa.errors import InfrastructureError
from venomqa.ports.backend import WorkerRecipe

if TYPE_CHECKING:
    from venomqa.explorer import WorkerHost

#: Seconds a worker may take to close (roll back, tear down, stop its API) before it is killed.
CLOSE_TIMEOUT_S = 60.0


class ProcessBackend:
    """Workers 2..N as spawned processes of this machine (see the module docstring)."""

    name: ClassVar[str] = "processes"

    @contextmanager
    def hosts(self, recipes: Sequence[WorkerRecipe]) -> Iterator[Sequence[WorkerHost]]:
        from venomqa.parallel_worker import RemoteHost

        context = multiprocessing.get_context("spawn")
        with ExitStack() as stack:
            links: list[_Link] = []
            for recipe in recipes:
                mine, theirs = context.Pipe()
                process = context.Process(
                    target=serve, args=(recipe, theirs), name=f"venomqa-{recipe.label}"
                )
                process.start()
                theirs.close()
                link = _Link(recipe.label, process, mine)
                stack.callback(link.close)
                links.append(link)
            for link in links:  # all start together; each says when it is ready
                link.wait_ready()
            yield [RemoteHost(link.call) for link in links]


class _Link:
    """The coordinator's end of one worker process."""

    def __init__(self, label: str, process: multiprocessing.process.BaseProcess, conn: Connection):
        self.label = label
        self.process = process
        self.conn = conn
        self._lock = threading.Lock()

    def wait_ready(self) -> None:
        self._answer("starting")

    def call(self, method: str, args: tuple[object, ...]) -> tuple[object, int]:
        with self._lock:
            self._send((method, args))
            answer = self._answer(method)
        assert isinstance(answer, tuple)
        return answer

    def close(self) -> None:
        """Ask the worker to close, wait for it (killing it after CLOSE_TIMEOUT_S), reap it."""
        try:
            if self.process.is_alive():
                with self._lock:
                    self._send(("close", ()))
                    if self.conn.poll(CLOSE_TIMEOUT_S):
                        self.conn.recv()
        except (OSError, EOFError, InfrastructureError):
            pass
        finally:
            self.process.join(CLOSE_TIMEOUT_S)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.conn.close()

    def _send(self, message: object) -> None:
        try:
            self.conn.send(message)
        except (OSError, EOFError) as exc:
            raise self._gone() from exc

    def _answer(self, doing: str) -> object:
        try:
            kind, value = self.conn.recv()
        except (OSError, EOFError) as exc:
            raise self._gone() from exc
        if kind == "raised":
            raise value if isinstance(value, BaseException) else InfrastructureError(str(value))
        return value

    def _gone(self) -> InfrastructureError:
        self.process.join(1.0)
        return InfrastructureError(
            f"parallel worker {self.label} (pid {self.process.pid}) is gone "
            f"(exit code {self.process.exitcode})"
        )


def serve(recipe: WorkerRecipe, conn: Connection) -> None:
    """A worker process's life: build the worker, answer calls until told to close (or until
    the coordinator's end of the pipe closes), then close the worker."""
    from venomqa.parallel_worker import WorkerProcess

    for signum in (signal.SIGINT, signal.SIGHUP):  # the terminal's, sent to the whole group:
        signal.signal(signum, signal.SIG_IGN)  # the coordinator decides when this stops
    try:
        worker = WorkerProcess(recipe)
    except BaseException as exc:
        _send_error(conn, exc)
        return
    conn.send(("ready", None))
    try:
        while True:
            try:
                method, args = conn.recv()
            except (EOFError, OSError):  # the coordinator is gone
                return
            if method == "close":
                break
            try:
                conn.send(("ok", worker.handle(method, args)))
            except BaseException as exc:
                _send_error(conn, exc)
    finally:
        worker.close()
    conn.send(("closed", None))


def _send_error(conn: Connection, exc: BaseException) -> None:
    """Send ``exc`` back as it is when it survives pickling both ways, else as its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        conn.send(("raised", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("raised", exc))
