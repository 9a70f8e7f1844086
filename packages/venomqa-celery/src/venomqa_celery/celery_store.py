"""The ``celery`` store: the Celery queues an API feeds, settled after every call, or (with
``settle: false``) kept as state.

With ``settle: false`` no worker may consume the queues: the pending messages are state (the
fingerprint lists each queue's tasks in order, by name and arguments, never their ids), a
checkpoint records them and a rollback purges each queue and publishes the recorded messages
again in order (``_celery_queue``; O(messages) per checkpoint and fingerprint). On AMQP, after
each action the queues' depths must hold still for two reads 10 ms apart (longer on a slow
broker) first: the API's publish is asynchronous (see ``_await_routing``). A queue the broker
does not know yet (nothing declared it) is an empty one.
``run_next_job_actions()`` gives an action per queue that takes the oldest message and runs its
task in this process (``Task.apply`` with the user's app, the ``app`` option); a failure is a
``failed`` WorkerProblem.

Settle: before the world reads or saves any store after an action, wait until every queue of
``queues`` is empty on the broker (a passive declare: RabbitMQ's ready count, or the Redis
lists kombu keeps) and no task is in flight: none received by a worker without a final event
(task events, followed in a background thread), and a heartbeat barrier proves every task event
the workers sent before it has arrived (a task a worker took from the broker is then known to
be in flight). Idle must be seen twice in a row, each time behind its own barrier during which
no task event arrived: a message the API published an instant ago may not be routed yet, and a
worker buffers task events until a later turn of its loop, so a heartbeat can overtake the
events of a task it just ran (a retried task's next attempt, for one).
``celery inspect`` (active/reserved) is not used: its two broadcasts cost about as much as a
whole settle (docs/benchmarks.md) and the barrier already covers what it would add. A task that
fails (or retries past its limit) becomes a ``failed`` WorkerProblem, a queue that does not
drain within ``timeout`` a ``stuck`` one; both are part of this store's state and reported by
``venomqa_celery.worker_invariants``.

Workers are the user's (``celery worker``), running before the run starts: the store finds
those that consume its queues at setup (``ping``, ``active_queues``), turns their task events on
for the run and off again at teardown on those where it turned them on. Tasks with an ETA or
countdown are waited for like any other (a worker receives them at once, and they stay in flight
until they ran), up to ``timeout``.

A run killed before its teardown (SIGKILL) would leave the workers' task events on (and, with
``settle: false``, its messages in the queues). So setup journals, before it changes anything
(``_journal``), the workers it is about to ask (then those it did turn events on for) and, with
``settle: false``, each queue's messages; teardown removes the journal once everything is back.
The next setup on the same broker and queues, or ``venomqa recover``, finishes the clean-up from
it (task events off again, queues purged and their messages published again) and says so
(``LeftoversRepaired``). A Ctrl-C during a long settle ends the wait at once (``_settle``);
teardown then does not wait for the tasks still running either, and keeps the journal for the
workers that did not confirm their events are off (a ``-P solo`` worker answers only once its
task is done).

Costs per settle, when the queues are already drained: two rounds of one passive declare per
queue and one heartbeat barrier (a few milliseconds on loopback; see docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import importlib
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from venomqa import Action
from venomqa.errors import StoreError, StoreUnreachableError, VenomQAWarning
from venomqa.json_types import Json
from venomqa.stores.kit import hide_password

from venomqa_celery import _celery_queue as _queue
from venomqa_celery._celery_events import TaskEvents, disable_task_events
from venomqa_celery._celery_queue import Pending
from venomqa_celery._imports import require as _require
from venomqa_celery._journal import RunJournal, decode, default_state_dir, encode, journal_path
from venomqa_celery._options import flag, queue_names, seconds
from venomqa_celery._problems import FAILED, STUCK, WorkerProblem
from venomqa_celery._queued import QUEUED, run_next_job_actions
from venomqa_celery._settle import Busy, stop_requested, wait_until_idle

STORE_NAME = "celery"
_T = TypeVar("_T")
#: With ``settle: false`` on AMQP, after an action: queue depths must read the same this many
#: times in a row, each read at least ROUTING_QUIET seconds (or ROUTING_RTT_FACTOR times the
#: slowest read) after the one before.
ROUTING_STEADY_READS = 2
ROUTING_QUIET = 0.01
ROUTING_RTT_FACTOR = 5.0
#: Seconds teardown waits (at least) for running tasks before it stops following events.
TEARDOWN_WAIT = 30.0


class CeleryStore:
    """The Celery queues ``queues`` of the broker at ``broker`` (``amqp://`` or ``redis://``)."""

    name = STORE_NAME

    def __init__(
        self,
        broker: str = "amqp://guest:guest@127.0.0.1:5672//",
        queues: Iterable[str] = ("celery",),
        settle: bool = True,
        timeout: float = 10.0,
        reply_timeout: float = 1.0,
        app: str | None = None,
        state_dir: str | None = None,
    ) -> None:
        self.queues = queue_names(queues)
        self.settles = flag("settle", settle)
        if app is not None and (not isinstance(app, str) or ":" not in app):
            raise ValueError(f"app must be 'module:attribute' naming a Celery app, not {app!r}")
        self.timeout = seconds("timeout", timeout)
        self.reply_timeout = seconds("reply_timeout", reply_timeout)
        self.broker = broker
        self.app = app
        self.state_dir = Path(state_dir) if state_dir else default_state_dir(STORE_NAME)
        self._journal: RunJournal | None = None
        #: What was still busy when a stop signal cut a settle short (teardown does not wait).
        self._cut_short: Busy = {}
        self._user_app: Any = None
        self._queue_channel: Any = None
        self._pending_at: list[dict[str, list[Pending]]] = []
        self._app: Any = None
        self._connection: Any = None
        self._channel: Any = None
        self._events: TaskEvents | None = None
        self._problems: list[WorkerProblem] = []
        self._tokens: list[int] = []

    # -- contract ----------------------------------------------------------------------------

    def setup(self) -> None:
        _require("celery")
        from celery import Celery

        app = Celery("venomqa-celery", broker=self.broker, set_as_current=False)
        app.conf.broker_connection_retry_on_startup = False
        connection = app.connection_for_write()
        try:
            connection.ensure_connection(max_retries=1)
        except Exception as exc:
            connection.release()
            raise StoreUnreachableError(
                f"cannot connect to the Celery broker at {hide_password(self.broker)}: {exc}",
                store=STORE_NAME,
            ) from exc
        self._app, self._connection = app, connection
        self._problems = []
        self._tokens = []
        self._pending_at = []
        self._cut_short = {}
        where = hide_password(self.broker)
        journal = RunJournal(
            journal_path(self.state_dir, STORE_NAME, where, self.queues), STORE_NAME, where
        )
        try:
            journal.open(self._repair)
        except BaseException as exc:
            self._close()
            if isinstance(exc, Exception) and not isinstance(exc, StoreError):
                raise StoreError(
                    f"repairing what an earlier run left ({journal.path}) failed: "
                    f"{type(exc).__name__}: {exc}",
                    store=STORE_NAME,
                ) from exc
            raise
        self._journal = journal
        if not self.settles:
            try:
                self._queue_channel = connection.channel()
                journal.write({"pending": self._journal_messages(self._read_queues())})
            except BaseException:
                self._journal = None
                journal.close()
                self._close()
                raise
            QUEUED.append(self)
            return
        events = TaskEvents(app, self.reply_timeout, self.queues)
        try:  # journaled before any worker is asked: a run killed meanwhile stays repairable
            events.start(lambda workers: journal.write({"asked": workers, "enabled": None}))
            journal.write({"asked": events.workers, "enabled": events.enabled_by_us})
        except BaseException as exc:
            left = events.stop()
            self._journal = None
            journal.close(keep=bool(left))
            self._close()
            if not isinstance(exc, Exception):
                raise
            raise StoreError(
                f"cannot follow the workers' task events on {hide_password(self.broker)}: {exc}",
                store=STORE_NAME,
            ) from exc
        self._events = events

    def teardown(self) -> None:
        if self in QUEUED:
            QUEUED.remove(self)
        journal, self._journal = self._journal, None
        unconfirmed: list[str] = []
        busy: Busy = dict(self._cut_short)
        try:
            if self._events is not None:
                if not busy:  # let running tasks end (a second Ctrl-C stops waiting)
                    busy = wait_until_idle(self._busy, max(self.timeout, TEARDOWN_WAIT), quiet=2)
                unconfirmed = self._events.stop()
                if busy or unconfirmed:
                    self._warn_left(busy, unconfirmed, journal)
        finally:
            self._events = None
            self._close()
            if journal is not None:
                if unconfirmed:
                    journal.write({"asked": unconfirmed, "enabled": unconfirmed})
                journal.close(keep=bool(unconfirmed))

    def _warn_left(self, busy: Busy, unconfirmed: list[str], journal: RunJournal | None) -> None:
        parts = []
        if busy:
            parts.append(
                "tasks still running at teardown: "
                + "; ".join(f"queue {q!r}: {what}" for q, what in busy.items())
            )
        if unconfirmed:
            later = f" (journal {journal.path})" if journal is not None else ""
            parts.append(
                f"workers {', '.join(unconfirmed)} did not confirm their task events are off "
                "again (busy?): they get the command once their task is done; the next setup "
                f"of this store or `venomqa recover` makes sure{later}"
            )
        warnings.warn("celery store: " + "; ".join(parts), VenomQAWarning, stacklevel=3)

    def _repair(self, journal: dict[str, Any]) -> str:
        """Finish the teardown of the killed run that left ``journal``: task events off again
        on the workers it turned them on for, and (``settle: false``) each queue back to the
        messages it held at that run's setup."""
        done = []
        enabled = journal.get("enabled")
        if isinstance(enabled, list) and enabled:
            workers = [str(w) for w in enabled]
            confirmed = disable_task_events(self._app, workers, self.reply_timeout)
            done.append(f"turned task events off again on {', '.join(confirmed) or 'no worker'}")
            silent = sorted(set(workers) - set(confirmed))
            if silent:
                done.append(
                    f"{', '.join(silent)} did not answer (gone, or busy: the command waits for it)"
                )
        elif enabled is None and journal.get("asked"):
            asked = ", ".join(str(w) for w in journal["asked"])
            done.append(
                f"it was killed while turning task events on ({asked}); which of these had "
                "them on before is unknown, so they were left as they are (`celery control "
                "disable_events` turns them off)"
            )
        pending = journal.get("pending")
        if isinstance(pending, dict):
            channel = self._connection.channel()
            for queue, messages in pending.items():
                channel = self._restore(channel, str(queue), [_journaled(m) for m in messages])
            count = sum(len(messages) for messages in pending.values())
            done.append(f"put its queues back as they were ({count} message(s))")
        return "; ".join(done) or "nothing needed undoing"

    @staticmethod
    def _journal_messages(queues: dict[str, list[Pending]]) -> dict[str, Json]:
        return {
            queue: [
                {
                    "body": encode(m.body),
                    "content_type": m.content_type,
                    "content_encoding": m.content_encoding,
                    "headers": m.headers,
                    "properties": m.properties,
                }
                for m in messages
            ]
            for queue, messages in queues.items()
        }

    def _close(self) -> None:
        self._queue_channel = None
        if self._connection is not None:
            self._connection.release()
            self._connection = None
            self._channel = None
        self._app = None

    def checkpoint(self) -> int:
        self._tokens.append(len(self._problems))
        if not self.settles:
            self._pending_at.append(self._read_queues())
        return len(self._tokens) - 1

    def rollback(self, token: object) -> None:
        if not isinstance(token, int) or not 0 <= token < len(self._tokens):
            raise StoreError(f"unknown or invalid checkpoint token {token!r}", store=STORE_NAME)
        del self._problems[self._tokens[token] :]
        del self._tokens[token + 1 :]
        if not self.settles:
            del self._pending_at[token + 1 :]
            for queue, messages in self._pending_at[token].items():
                self._queue_channel = self._restore(self._queue_channel, queue, messages)

    def fingerprint(self) -> str:
        digest = hashlib.blake2b(digest_size=8)
        for problem in self._problems:
            digest.update(f"{problem.kind}\0{problem.queue}\0{problem.text}\n".encode())
        if not self.settles:
            for queue, messages in self._read_queues().items():
                listed = chr(1).join(m.describe() for m in messages)
                digest.update(f"queue {queue}\0{listed}\n".encode())
        return digest.hexdigest()

    def observe(self) -> dict[str, Json]:
        summary: dict[str, Json] = {"problems": [p.text for p in self._problems]}
        if self.settles:
            summary["workers"] = list(self._require_events().workers)
        else:
            summary["pending"] = {
                q: [m.describe() for m in messages] for q, messages in self._read_queues().items()
            }
        return summary

    # -- optional capabilities ---------------------------------------------------------------

    def settle(self) -> None:
        """Wait for the queues to drain and the workers to finish; note tasks that failed
        (with ``settle: false``: nothing to wait for)."""
        if not self.settles:
            self._await_routing()
            return
        busy = wait_until_idle(self._busy, self.timeout, quiet=2)
        if busy and stop_requested():  # the run is stopping: not stuck, and no wait
            self._cut_short = busy
            return
        for queue, what in busy.items():
            self._problems.append(
                WorkerProblem(
                    STUCK, queue, f"queue {queue!r} did not settle within {self.timeout:g}s: {what}"
                )
            )
        for failure in self._require_events().take_failures():
            self._problems.append(
                WorkerProblem(FAILED, "", f"task {failure.task} failed: {failure.error}")
            )

    def problems(self) -> list[WorkerProblem]:
        """The failed and stuck tasks of the current state, oldest first."""
        return list(self._problems)

    def length(self, queue: str) -> int:
        """How many messages wait in ``queue`` on the broker (QueuePort)."""
        return self._depth(queue)

    def peek(self, queue: str, count: int = 10) -> list[object]:
        """Not offered: reading messages would take them from the workers (QueuePort)."""
        return []

    def run_next_job_actions(self) -> list[Action]:
        """An action per queue, ``run_next_job_<queue>``, that runs the queue's oldest task in
        this process (``settle: false``; needs the ``app`` option)."""
        return run_next_job_actions(self.queues)

    def run_next_job(self, queue: str) -> str | None:
        """Take the oldest message of ``queue`` and run its task here (``Task.apply``) with
        the user's app (the ``app`` option); a failure is kept as a ``failed`` problem.
        Returns the task's description, or None when the queue is empty."""
        if self._queue_channel is None:
            raise StoreError("run_next_job needs settle: false and a set-up store", store=self.name)
        taken = self._on_queue(_queue.take, queue, missing=None)
        if taken is None:
            return None
        message, body = taken
        name = str(message.headers.get("task", ""))
        task = self._tasks().get(name)
        if task is None:
            raise StoreError(f"the app {self.app!r} has no task {name!r}", store=STORE_NAME)
        if isinstance(body, dict):  # task message protocol 1
            args, kwargs = body.get("args", ()), body.get("kwargs", {})
        else:
            args, kwargs = body[0], body[1]
        result = task.apply(args=args, kwargs=kwargs, task_id=message.headers.get("id"))
        if result.failed():
            self._problems.append(
                WorkerProblem(FAILED, queue, f"task {message.describe()} failed: {result.result!r}")
            )
        return message.describe()

    # -- internals ---------------------------------------------------------------------------

    def _tasks(self) -> Any:
        if self._user_app is None:
            if self.app is None:
                raise StoreError(
                    "run_next_job needs the app option ('module:attribute' naming the Celery "
                    "app whose tasks the queue holds)",
                    store=STORE_NAME,
                )
            module, _, attribute = self.app.partition(":")
            try:
                self._user_app = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as exc:
                raise StoreError(
                    f"cannot load the app {self.app!r}: {type(exc).__name__}: {exc}",
                    store=STORE_NAME,
                ) from exc
        return self._user_app.tasks

    def _await_routing(self) -> None:
        """``settle: false`` on AMQP: a message the API published just before answering may
        not be routed to its queue yet (publishing is asynchronous and the API's connection is
        not ours), so wait until the queues' depths hold still for ROUTING_STEADY_READS reads
        in a row, each after a pause of ROUTING_QUIET or ROUTING_RTT_FACTOR times the slowest
        depth read so far, whichever is longer: a broker slowed by load (its reads take longer)
        is given longer to route. A heuristic: no barrier exists across connections unless the
        API publishes with confirms (``confirm_publish``), which makes it exact."""
        if self._connection.transport.driver_type != "amqp":
            return
        deadline = time.monotonic() + self.timeout
        depths, slowest = self._timed_depths()
        steady = 0
        while steady < ROUTING_STEADY_READS and time.monotonic() < deadline:
            time.sleep(max(ROUTING_QUIET, ROUTING_RTT_FACTOR * slowest))
            again, took = self._timed_depths()
            slowest = max(slowest, took)
            steady = steady + 1 if again == depths else 0
            depths = again

    def _timed_depths(self) -> tuple[list[int], float]:
        """Each queue's depth, and how long reading them took."""
        started = time.monotonic()
        depths = [self._depth(q) for q in self.queues]
        return depths, time.monotonic() - started

    def _read_queues(self) -> dict[str, list[Pending]]:
        return {queue: self._read_queue(queue) for queue in self.queues}

    def _read_queue(self, queue: str) -> list[Pending]:
        """The messages of ``queue``; none while the broker has no such queue."""
        return self._on_queue(_queue.read, queue, missing=[])

    def _on_queue(self, operation: Callable[[Any, str], _T], queue: str, *, missing: _T) -> _T:
        """``operation(channel, queue)``, or ``missing`` while the broker has no such queue (on
        AMQP a queue exists once the API's first publish or a worker declared it); AMQP closed
        the channel then, so a new one is opened."""
        try:
            return operation(self._queue_channel, queue)
        except _queue.QueueMissing:
            self._queue_channel = self._connection.channel()
            return missing

    def _restore(self, channel: Any, queue: str, messages: list[Pending]) -> Any:
        """Put ``messages`` back in ``queue`` through ``channel``; returns the channel to use
        from now on (a new one where AMQP closed it because the queue does not exist, which
        is the recorded state when no message was recorded)."""
        try:
            _queue.restore(channel, queue, messages)
            return channel
        except _queue.QueueMissing:
            if messages:
                raise StoreError(
                    f"queue {queue!r} is gone from the broker {hide_password(self.broker)} "
                    f"(deleted during the run?): its {len(messages)} recorded message(s) "
                    "cannot be put back",
                    store=STORE_NAME,
                ) from None
            return self._connection.channel()

    def _require_events(self) -> TaskEvents:
        if self._events is None:
            raise StoreError("the store is not set up", store=STORE_NAME)
        return self._events

    def _depth(self, queue: str) -> int:
        from amqp.exceptions import NotFound
        from kombu.exceptions import ChannelError

        if self._channel is None:
            self._channel = self._connection.channel()
        try:
            return int(self._channel.queue_declare(queue=queue, passive=True).message_count)
        except (ChannelError, NotFound):  # no such queue (Redis: no message): nothing waits
            if self._connection.transport.driver_type == "amqp":
                self._channel = None  # AMQP closes a channel on a failed passive declare
            return 0

    def _busy(self) -> Busy:
        """What is still busy; when nothing seems to be, a heartbeat barrier first proves that
        every task event the workers sent before it (a task received) has arrived."""
        events = self._require_events()
        busy = self._pending(events)
        if busy:
            return busy
        arrived = events.task_events()
        if events.barrier(self.reply_timeout, stop_requested):
            if events.task_events() != arrived:  # a buffer was flushed: not quiet yet
                return {",".join(self.queues): "task events still arriving"}
            return self._pending(events)
        workers = ", ".join(events.workers)
        return {
            ",".join(self.queues): f"workers busy, no heartbeat within {self.reply_timeout:g}s "
            f"({workers}; a worker running a task in its own loop, as with -P solo, names it "
            "only once it is done)"
        }

    def _pending(self, events: TaskEvents) -> dict[str, str]:
        busy: dict[str, str] = {}
        for queue in self.queues:
            depth = self._depth(queue)
            if depth:
                busy[queue] = f"{depth} waiting on the broker"
        flying = events.in_flight()
        if flying:
            names = ", ".join(sorted(flying.values())[:5])
            key = ",".join(self.queues)
            label = busy.pop(key, "") if key in busy else ""
            busy[key] = (label + "; " if label else "") + f"{len(flying)} running ({names})"
        return busy


def _journaled(message: Any) -> Pending:
    """A message as ``CeleryStore._journal_messages`` wrote it."""
    return Pending(
        body=decode(str(message["body"])),
        content_type=str(message["content_type"]),
        content_encoding=str(message["content_encoding"]),
        headers=dict(message.get("headers") or {}),
        properties=dict(message.get("properties") or {}),
    )
