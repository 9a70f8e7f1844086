"""Following a Celery cluster's task events in a background thread: which tasks are in flight,
which failed, and a barrier that proves every event a worker sent before it has arrived.

Workers send task events only when told (``-E`` or the ``enable_events`` control command);
``TaskEvents`` asks them at ``start`` and, at ``stop``, turns events off again on exactly the
workers that answered that it turned them on, so the workers are left as found. Only workers
that consume one of the store's queues count (``active_queues``; one that does not answer it is
kept): a worker of another queue on the same broker, another project's or one a test run left
behind, is neither asked nor waited for, and its task events are ignored.

The barrier: a ``heartbeat`` broadcast makes each worker send a ``worker-heartbeat`` event
at once, stamped after the request. A worker with an event loop buffers its task events and
publishes them on a later turn of that loop, so a heartbeat can overtake the events of a task it
just ran; a barrier during which no task event arrived, seen twice in a row (each needing its
own loop turn of the worker), proves the buffer was empty. Cost: one broadcast and one event
per worker per barrier.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Events that end a task. Not ``task-retried``: the worker has published the next attempt
#: (same id), which may not have reached it yet, so the task stays in flight until it succeeds
#: or fails for good.
_TERMINAL = ("task-succeeded", "task-failed", "task-rejected", "task-revoked")


@dataclass
class TaskFailure:
    """A task that failed for good (or retried past its limit): what it was and why."""

    task: str
    error: str


@dataclass
class _Seen:
    in_flight: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    heartbeats: dict[str, float] = field(default_factory=dict)
    task_events: int = 0


def describe_task(event: dict[str, Any]) -> str:
    """``name(args)`` (plus kwargs when there are any), as the task-received event gives them."""
    name = str(event.get("name") or "?")
    args = str(event.get("args") or "()")
    kwargs = str(event.get("kwargs") or "{}")
    return f"{name}{args}" + ("" if kwargs in ("{}", "") else f" {kwargs}")


def disable_task_events(app: Any, workers: list[str], timeout: float) -> list[str]:
    """Turn task events off on ``workers``; the workers that confirmed it (turned off now, or
    already off) within ``timeout`` seconds."""
    answers = app.control.disable_events(
        reply=True, timeout=timeout, destination=workers, limit=len(workers)
    )
    return sorted(
        name
        for answer in answers or []
        for name, said in answer.items()
        if str(said.get("ok", "")).startswith("task events")
    )


class TaskEvents:
    """The task events of the workers of ``app``, followed from ``start`` to ``stop``."""

    def __init__(self, app: Any, reply_timeout: float, queues: list[str]) -> None:
        self.app = app
        self.reply_timeout = reply_timeout
        self.queues = queues
        self.workers: list[str] = []
        self._enabled_by_us: list[str] = []
        self._lock = threading.Lock()
        self._seen = _Seen()
        self._receiver: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, before_enabling: Callable[[list[str]], None] | None = None) -> None:
        """Find the workers, turn their task events on, and start following events.
        ``before_enabling`` is called with the workers found before any is asked (the store
        journals them there: a run killed now must still be repairable)."""
        replies = self.app.control.ping(timeout=self.reply_timeout) or []
        self.workers = self._consuming(sorted(name for reply in replies for name in reply))
        if before_enabling is not None:
            before_enabling(list(self.workers))
        if self.workers:
            answers = self.app.control.enable_events(
                reply=True,
                timeout=self.reply_timeout,
                destination=self.workers,
                limit=len(self.workers),
            )
            self._enabled_by_us = sorted(
                name
                for answer in answers or []
                for name, said in answer.items()
                if said.get("ok") == "task events enabled"
            )
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._follow, args=(ready,), name="venomqa-celery-events", daemon=True
        )
        self._thread.start()
        if not ready.wait(self.reply_timeout * 5):
            raise TimeoutError("the event receiver did not start")
        if self.workers and not self.barrier(self.reply_timeout * 5):
            raise TimeoutError("the workers' heartbeat events did not arrive")

    def _consuming(self, workers: list[str]) -> list[str]:
        """The ``workers`` that consume one of ``queues`` (or do not say which they consume)."""
        if not workers:
            return []
        inspect = self.app.control.inspect(
            destination=workers, timeout=self.reply_timeout, limit=len(workers)
        )
        answers = inspect.active_queues() or {}
        wanted = set(self.queues)
        return [
            name
            for name in workers
            if name not in answers
            or wanted & {str(queue.get("name")) for queue in answers[name] or []}
        ]

    @property
    def enabled_by_us(self) -> list[str]:
        """The workers whose task events ``start`` turned on (and ``stop`` has not turned off)."""
        return list(self._enabled_by_us)

    def stop(self) -> list[str]:
        """Stop following events; turn task events off where ``start`` turned them on. Returns
        the workers that did not confirm it within the reply timeout (a worker busy in its own
        loop, as with ``-P solo``, answers only once its task is done; it still gets the
        command then)."""
        if self._receiver is not None:
            self._receiver.should_stop = True
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        enabled, self._enabled_by_us = self._enabled_by_us, []
        if not enabled:
            return []
        confirmed = disable_task_events(self.app, enabled, self.reply_timeout)
        return sorted(set(enabled) - set(confirmed))

    def in_flight(self) -> dict[str, str]:
        """Tasks received by a worker and not finished yet: id -> description."""
        self._raise_if_broken()
        with self._lock:
            return dict(self._seen.in_flight)

    def take_failures(self) -> list[TaskFailure]:
        """The failures that arrived since the last call, oldest first."""
        self._raise_if_broken()
        with self._lock:
            failures, self._seen.failures = self._seen.failures, []
        return failures

    def task_events(self) -> int:
        """How many task events have arrived so far."""
        with self._lock:
            return self._seen.task_events

    def describe(self, task_id: str) -> str:
        """The description of a task seen in a task-received event (else its id)."""
        with self._lock:
            return self._seen.names.get(task_id, f"task {task_id}")

    def barrier(self, timeout: float, stop: Callable[[], bool] = lambda: False) -> bool:
        """Whether a heartbeat sent after now arrived from every worker within ``timeout``
        (False at once when ``stop()`` becomes true)."""
        if not self.workers:
            return True
        asked = time.time()
        self.app.control.broadcast("heartbeat", destination=self.workers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                beats = self._seen.heartbeats
                if all(beats.get(worker, 0.0) >= asked for worker in self.workers):
                    return True
            self._raise_if_broken()
            if stop():
                return False
            time.sleep(0.0005)
        return False

    def _raise_if_broken(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"the event receiver stopped: {self._error}") from self._error

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        task_id = str(event.get("uuid", ""))
        with self._lock:
            seen = self._seen
            if kind == "worker-heartbeat":
                sent = float(event.get("timestamp") or 0.0)  # the worker's clock: this machine
                seen.heartbeats[str(event.get("hostname"))] = sent
            if kind.startswith("task-"):
                if str(event.get("hostname")) not in self.workers:
                    return  # a worker of other queues
                seen.task_events += 1
            if kind == "task-received":
                description = describe_task(event)
                seen.names[task_id] = description
                seen.in_flight[task_id] = description
            elif kind in _TERMINAL:
                seen.in_flight.pop(task_id, None)
                if kind == "task-failed":
                    name = seen.names.get(task_id, f"task {task_id}")
                    seen.failures.append(TaskFailure(name, str(event.get("exception", ""))))

    def _follow(self, ready: threading.Event) -> None:
        try:
            with self.app.connection_for_read() as connection:
                self._receiver = self.app.events.Receiver(
                    connection, handlers={"*": self._on_event}
                )
                receiver = self._receiver
                original = receiver.on_consume_ready

                def consuming(*args: Any, **kwargs: Any) -> None:
                    original(*args, **kwargs)
                    ready.set()

                receiver.on_consume_ready = consuming
                for _ in receiver.consume(limit=None, timeout=None, safety_interval=0.1):
                    pass
        except BaseException as exc:  # reported by the next call from the store
            self._error = exc
            ready.set()
