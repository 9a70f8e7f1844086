"""Parallel workers: one world per worker thread, fires started ahead, outcomes taken in order.

Each worker owns one world (its own copy of the stores, its own API process) and a
``Runner`` on it, in a thread of its own: it is the only thread that touches that world
while the exploration runs. The engine stays single-threaded and sequential: it asks for fires
one by one, in its strategy's order, and commits each outcome (keys, learning, findings) before
asking for the next, exactly as with one world. What makes it fast is ``plan``: a strategy
announces the fires it will ask for next (BFS: the moves of the states at the head of its
queue), and ``Workers`` hands them to idle workers at once, so when the engine asks, the
outcome is usually there. Outcomes are plain data and do not depend on what the engine has
learned; a worker's replays are checked by the engine when it takes the outcome.

A planned fire is taken as it was started, except that one started without calibration cannot
serve a request to calibrate (it is fired again, calibrating); one started calibrating serves a
request not to (its second run is an ordinary fire). All fires of one state go to one worker
(its checkpoint of the state serves them all), preferring the worker whose last state shares
the longest path prefix (fewer replays). ``drop_plans`` (a new pass, the end of the search)
forgets what was not started and waits for what was: a world is never left mid-operation.
A worker in another process whose transport can send ahead (Ray's) is sent its next fire while
the one before still runs there, so the round trip is hidden; the fires still run in order.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Generic, Protocol, TypeVar, runtime_checkable

from venomqa.explorer._findings import Finding
from venomqa.explorer._moves import Move
from venomqa.explorer._work import Fired, FireTask, Judged, KeyOf, Reproduced, WorldRunner
from venomqa.explorer.options import ExploreOptions
from venomqa.explorer.search import Hops
from venomqa.models.actions import Invariant
from venomqa.models.graph import NodeChecker
from venomqa.state.view import WorldView
from venomqa.world import World

_R = TypeVar("_R")


class Runner(Protocol):
    """What a worker's thread drives: a ``WorldRunner``, or a stand-in for one in another
    process (a plugin's execution backend: every value crossing is plain data). ``reproduce``
    is only ever asked of worker 1, the run's own world."""

    #: Actions run so far, replays included.
    calls: int

    def at_root(self) -> tuple[WorldView, Judged]: ...

    def start(self, root_key: str, key_of: KeyOf | None) -> None: ...

    def fire(self, task: FireTask, *, keep_position: bool = True) -> Fired: ...

    def forget(self) -> None: ...

    def reproduce(self, finding: Finding, path: Sequence[int]) -> Reproduced | None: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class Exploration:
    """What every worker of one exploration shares: its name (``actions``, or ``graph NAME``),
    the moves (by index), invariants, options and graph root."""

    name: str
    moves: Sequence[Move]
    invariants: Sequence[Invariant]
    options: ExploreOptions
    root_node: str | None = None
    root_checker: NodeChecker | None = None


class WorkerHost(Protocol):
    """Where one extra worker runs: it prepares the worker's runner for an exploration, in the
    worker's thread, entering whatever must be closed at the end on ``stack`` (a world's
    session, a remote process)."""

    def prepare(self, exploration: Exploration, stack: ExitStack) -> Runner: ...


class LocalHost:
    """A worker over a World of this process (its own copy of the stores and its own API)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def prepare(self, exploration: Exploration, stack: ExitStack) -> Runner:
        world = self.world
        world.verify_rollback = exploration.options.verify_rollback
        root = stack.enter_context(world.session())
        return WorldRunner(
            world,
            exploration.moves,
            exploration.invariants,
            root,
            exploration.root_node,
            root_checker=exploration.root_checker,
        )


#: Prepares a worker's runner in the worker's thread (entering its world's session on the
#: stack, which the worker closes when it stops).
Preparer = Callable[[ExitStack], Runner]
#: A worker is given another state's fires while it has fewer than this many to do.
_ROOM = 8
#: Fires a worker has in flight at most in a runner that sends ahead (see ``_Worker._serve``).
_AHEAD = 2


@runtime_checkable
class SendsFires(Protocol):
    """A runner (a stand-in for a worker in another process) that may send a fire without
    waiting for the one before: ``send_fire(task)`` returns what waits for its outcome."""

    @property
    def sends_ahead(self) -> bool: ...

    def send_fire(self, task: FireTask) -> Callable[[], Fired]: ...


@dataclass(eq=False)
class _Job(Generic[_R]):
    """Something one worker does with its runner; ``result`` or ``error`` once ``done`` (set by
    the coordinator when it takes the finished job back, so a worker's ``load`` is exact then).
    ``finished`` is set by the worker before it hands the job back: a job a Ctrl-C took out of
    the outbox before the coordinator could count it is still known to be over."""

    work: Callable[[Runner], _R]
    worker: int = -1
    result: _R | None = None
    error: BaseException | None = None
    finished: bool = False
    done: bool = False
    #: The fire this job runs, when it is one.
    task: FireTask | None = None


class _Worker:
    """One world's thread: prepares its runner, runs jobs in order, closes the world."""

    def __init__(self, number: int, prepare: Preparer, outbox: queue.SimpleQueue[_Job[object]]):
        self.number = number
        self._prepare = prepare
        self._outbox = outbox
        self._jobs: deque[_Job[object]] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self.ready = threading.Event()
        #: Set when the thread has closed its world and is about to end. Waited on instead of
        #: ``Thread.join``: on CPython before 3.13 a join interrupted by Ctrl-C can leave
        #: ``is_alive()`` False while the thread still runs (its world mid-operation).
        self._finished = threading.Event()
        self.failure: BaseException | None = None
        self.runner: Runner | None = None
        #: Jobs given and not finished (the coordinator's count).
        self.load = 0
        #: The path of the last state whose fires it was given.
        self.last_hops: Hops = ()
        self._thread = threading.Thread(
            target=self._main, name=f"venomqa-worker-{number}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def give(self, job: _Job[object], *, first: bool) -> None:
        job.worker = self.number
        self.load += 1
        with self._wake:
            if first:
                self._jobs.appendleft(job)
            else:
                self._jobs.append(job)
            self._wake.notify()

    def hurry(self, job: _Job[object]) -> None:
        """Move ``job`` to the front of the jobs not started (if it is still among them)."""
        with self._wake:
            if job in self._jobs:
                self._jobs.remove(job)
                self._jobs.appendleft(job)

    def discard(self, job: _Job[object]) -> None:
        """Take ``job`` out of the queue if it has not started."""
        with self._wake:
            if job not in self._jobs:
                return
            self._jobs.remove(job)
        self.load -= 1

    def withdraw(self) -> list[_Job[object]]:
        """Take back the jobs not started yet."""
        with self._wake:
            taken = [job for job in self._jobs if job.task is not None]
            self._jobs = deque(job for job in self._jobs if job.task is None)
        self.load -= len(taken)
        return taken

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def join(self, timeout: float | None = None) -> None:
        self._finished.wait(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.ident is not None and not self._finished.is_set()

    def _main(self) -> None:
        try:
            with ExitStack() as stack:
                try:
                    self.runner = self._prepare(stack)
                finally:
                    self.ready.set()
                self._serve()
        except BaseException as exc:  # setting up or closing the world: the coordinator raises it
            self.failure = exc
        finally:
            self._finished.set()

    def _serve(self) -> None:
        """Run jobs in order until stopped. With a runner that sends ahead (a worker in another
        process), a fire is sent while the one before it still runs there (``_AHEAD`` at most
        in flight) and finished in the order sent; any other job waits for them first."""
        runner = self.runner
        assert runner is not None
        send = runner.send_fire if isinstance(runner, SendsFires) and runner.sends_ahead else None
        sent: deque[tuple[_Job[object], Callable[[], object]]] = deque()
        while True:
            with self._wake:
                while not self._jobs and not self._stopping and not sent:
                    self._wake.wait()
                job = self._jobs.popleft() if self._jobs else None
            if job is None:  # nothing new: wait for the oldest fire sent, or stop
                if not sent:
                    return
                self._finish(*sent.popleft())
            elif send is not None and job.task is not None:
                sent.append((job, _sent(send, job.task)))
                if len(sent) == _AHEAD:
                    self._finish(*sent.popleft())
            else:
                while sent:
                    self._finish(*sent.popleft())
                self._finish(job, partial(job.work, runner))

    def _finish(self, job: _Job[object], outcome: Callable[[], object]) -> None:
        try:
            job.result = outcome()
        except BaseException as exc:  # handed to whoever waits for the job
            job.error = exc
        job.finished = True
        self._outbox.put(job)


class Workers:
    """The executor of several worlds (see the module docstring)."""

    checks_replays = False
    plans_ahead = True

    def __init__(self, preparers: Sequence[Preparer]) -> None:
        if not preparers:
            raise ValueError("parallel workers need at least one world")
        self._outbox: queue.SimpleQueue[_Job[object]] = queue.SimpleQueue()
        self._workers = [_Worker(n, p, self._outbox) for n, p in enumerate(preparers)]
        self._planned: dict[tuple[Hops, int], _Job[object]] = {}
        #: Planned fires not given to a worker yet, by source state (in plan order).
        self._backlog: dict[Hops, list[_Job[object]]] = {}
        #: The worker each state's fires were given to (while some are planned).
        self._holder: dict[Hops, _Worker] = {}

    # -- life ----------------------------------------------------------------------------------

    def open(self) -> None:
        """Start every worker and wait until each world is set up; the first failure is
        raised after the others were stopped (and their worlds closed)."""
        for worker in self._workers:
            worker.start()
        for worker in self._workers:
            worker.ready.wait()
        failures = [w.failure for w in self._workers if w.failure is not None]
        if failures:
            self.close()
            raise failures[0]

    def close(self) -> None:
        """Stop every worker after its current job; each closes its world. Waits for them all,
        also through a Ctrl-C (a world must not be left mid-operation), then re-raises it."""
        self._drop_backlog()
        for worker in self._workers:
            worker.withdraw()
            worker.stop()
        interrupted: BaseException | None = None
        for worker in self._workers:
            while worker.alive:
                try:
                    worker.join(0.5)
                except BaseException as exc:
                    interrupted = interrupted or exc
        if interrupted is not None:
            raise interrupted
        failures = [w.failure for w in self._workers if w.failure is not None]
        if failures:  # a worker's world could not be closed (its stores are not back)
            raise failures[0]

    # -- the Executor protocol -----------------------------------------------------------------

    def at_root(self) -> tuple[WorldView, Judged]:
        results = self._everywhere(lambda runner: runner.at_root())
        return results[0]

    def start(self, root_key: str, key_of: KeyOf) -> None:
        self._everywhere(lambda runner: runner.start(root_key, None))

    def plan(self, tasks: Sequence[FireTask]) -> None:
        for task in tasks:
            key = (task.hops, task.index)
            if key in self._planned:
                continue
            job: _Job[object] = _Job(_fire(task), task=task)
            self._planned[key] = job
            holder = self._holder.get(task.hops)
            if holder is not None:  # the state's other fires are with a worker already
                self._give(job, holder)
            else:
                self._backlog.setdefault(task.hops, []).append(job)
        self._dispatch()

    def fire(self, task: FireTask) -> Fired:
        job = self._planned.pop((task.hops, task.index), None)
        if job is not None and task.calibrate and not (job.task and job.task.calibrate):
            self._cancel(job)
            job = None
        if job is None:
            job = _Job(_fire(task), task=task)
            self._give(job, self._holder.get(task.hops) or self._roomiest(task.hops), first=True)
        elif job.worker < 0:  # planned, not started yet: its state's fires go first
            self._give_group(task.hops, self._roomiest(task.hops), first=True)
        else:  # if it waits behind other fires of its worker, it goes next
            self._workers[job.worker].hurry(job)
        fired = self._wait(job)
        assert isinstance(fired, Fired)
        fired.worker = job.worker
        self._dispatch()
        return fired

    def arrived(self, depth: int, key: str, node: str | None) -> None:
        """Nothing: a worker's trail forgets where it is after each fire."""

    def forget(self, fired: Fired | None) -> None:
        number = fired.worker if fired is not None else 0
        job: _Job[object] = _Job(_forget)
        self._give(job, self._workers[number], first=True)
        self._wait(job)

    def reproduce(self, finding: Finding, path: Sequence[int]) -> Reproduced | None:
        job: _Job[object] = _Job(lambda runner: runner.reproduce(finding, path))
        self._give(job, self._workers[0], first=True)  # the run's own world: always local
        result = self._wait(job)
        assert result is None or isinstance(result, Reproduced)
        return result

    def drop_plans(self) -> None:
        self._drop_backlog()
        withdrawn = {job for worker in self._workers for job in worker.withdraw()}
        for job in list(self._planned.values()):
            if job.worker >= 0 and not job.done and job not in withdrawn:
                self._wait(job, rethrow=False)
        self._planned.clear()

    def calls(self) -> int:
        return sum(w.runner.calls for w in self._workers if w.runner is not None)

    def release(self) -> None:
        self.drop_plans()
        self._everywhere(lambda runner: runner.release())

    # -- inside --------------------------------------------------------------------------------

    def _drop_backlog(self) -> None:
        """Forget the fires no worker was given (their ``_planned`` entries go with the rest in
        ``drop_plans``; ``close`` ends the exploration)."""
        self._backlog.clear()
        self._holder.clear()

    def _dispatch(self) -> None:
        """Give planned states' fires to workers while one has room: a state's fires together
        to one worker, unless workers would idle otherwise (near the root, where few states are
        known): then split among them while the split costs less than it saves (a worker
        replays the state's path first)."""
        while self._backlog:
            hops = next(iter(self._backlog))
            worker = self._roomiest(hops)
            if worker.load >= _ROOM:
                return
            idle = [w for w in self._workers if w.load == 0]
            spare = len(idle) - (len(self._backlog) - 1)
            group = self._backlog[hops]
            parts = min(spare, len(group), len(group) // max(1, len(hops)))
            if parts > 1:
                self._backlog.pop(hops)
                for number, job in enumerate(group):
                    self._give(job, idle[number % parts])
                self._holder[hops] = idle[0]
                continue
            self._give_group(hops, worker)

    def _give_group(self, hops: Hops, worker: _Worker, *, first: bool = False) -> None:
        jobs = self._backlog.pop(hops)
        self._holder[hops] = worker
        for job in reversed(jobs) if first else jobs:
            self._give(job, worker, first=first)

    def _roomiest(self, hops: Hops) -> _Worker:
        """Among the workers with at most one state's fires more to do than the least busy, the
        one whose last state shares the longest path prefix with ``hops`` (siblings go to one
        worker: it reaches each from their parent's checkpoint, one replayed move instead of a
        whole path), then the least busy."""
        least = min(w.load for w in self._workers)
        slack = len(self._backlog.get(hops, ())) or 1
        near = [w for w in self._workers if w.load <= least + slack]
        return max(near, key=lambda w: (_shared(w.last_hops, hops), -w.load, -w.number))

    def _give(self, job: _Job[object], worker: _Worker, *, first: bool = False) -> None:
        if job.task is not None:
            worker.last_hops = job.task.hops
        worker.give(job, first=first)

    def _cancel(self, job: _Job[object]) -> None:
        """Forget a planned fire: out of the backlog, or out of its worker's queue if it has
        not started (one that has runs to its end, and its outcome is not used)."""
        task = job.task
        assert task is not None
        if job.worker < 0:
            self._backlog[task.hops].remove(job)
        else:
            self._workers[job.worker].discard(job)

    def _wait(self, job: _Job[_R], *, rethrow: bool = True) -> _R | None:
        """Take finished jobs from the workers until ``job`` is done; its result (its error
        raised)."""
        while not job.done:
            # a signal raised between taking a job from the outbox and counting it loses the
            # entry, not the job: its own flag says it is over
            self._take(job if job.finished else self._outbox.get())  # type: ignore[arg-type]
        # jobs that finished meanwhile stay marked done in their records
        if job.error is not None and rethrow:
            raise job.error
        return job.result

    def _take(self, job: _Job[object]) -> None:
        """Count a finished job back from its worker, once (its outbox entry may come after)."""
        if not job.done:
            job.done = True
            self._workers[job.worker].load -= 1

    def _everywhere(self, work: Callable[[Runner], _R]) -> list[_R]:
        jobs = [_Job(work) for _ in self._workers]
        for job, worker in zip(jobs, self._workers, strict=True):
            worker.give(job, first=True)  # type: ignore[arg-type]
        results = [self._wait(job) for job in jobs]
        return results  # type: ignore[return-value]


def _fire(task: FireTask) -> Callable[[Runner], object]:
    def work(runner: Runner) -> Fired:
        return runner.fire(task, keep_position=False)

    return work


def _sent(send: Callable[[FireTask], Callable[[], Fired]], task: FireTask) -> Callable[[], object]:
    """``send(task)``; what waits for its outcome (a failure to send is raised by it)."""
    try:
        return send(task)
    except BaseException as exc:
        return partial(_reraise, exc)


def _reraise(error: BaseException) -> object:
    raise error


def _forget(runner: Runner) -> None:
    runner.forget()


def _shared(a: Hops, b: Hops) -> int:
    """How many first hops two paths share."""
    shared = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        shared += 1
    return shared
