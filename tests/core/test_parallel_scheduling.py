"""How parallel workers are given fires (``venomqa.explorer._parallel.Workers``).

- Planned fires start before the engine asks for them, each once.
- A state's fires go to one worker together, also ones planned later; a worker runs what it was
  given in order, except that a fire the engine asks for goes next.
- Near the root a state's fires are split among idle workers while the replays cost less; a
  state goes to the nearest of the workers not much busier than the least busy.
- ``forget`` (a worker's replay went astray) and ``reproduce`` go before the fires waiting on
  their worker; a planned fire asked for with calibration is fired again calibrating, and the
  planned one is dropped if it has not started; ``drop_plans`` forgets what was not started.
- Failures: a fire's error reaches the engine; a world that cannot be set up or closed fails
  ``open`` or ``close``; Ctrl-C while closing still waits for the running fire.

The runners are stand-ins whose fires wait until the test opens their gate, so what each worker
holds, and when it becomes idle, is known exactly; they log what they were asked to do.
"""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from venomqa.explorer._parallel import Preparer, Workers, _shared
from venomqa.explorer._work import Fired, FireTask, Judged
from venomqa.explorer.search import Hops

#: How long a fire waits for its gate before failing the test.
GATE_S = 5.0


class GatedRunner:
    """A runner whose every fire waits for its gate; ``log`` records what it was asked."""

    calls = 0

    def __init__(self, gates: Gates) -> None:
        self.gates = gates
        self.log: list[tuple[object, ...]] = []
        #: The thread each fire ran in: its name and whether it is a daemon.
        self.threads: set[tuple[str, bool]] = set()

    def at_root(self) -> tuple[GatedRunner, str]:
        return self, "the root"

    def start(self, root_key: str, key_of: object) -> None:
        pass

    def fire(self, task: FireTask, *, keep_position: bool = True) -> Fired:
        self.log.append((task.hops, task.index, task.calibrate))
        self.threads.add((threading.current_thread().name, threading.current_thread().daemon))
        assert self.gates.get(task).wait(GATE_S), f"fire {task.index} was never let finish"
        return _outcome()

    def forget(self) -> None:
        self.log.append(("forget",))

    def reproduce(self, finding: object, path: object) -> None:
        self.log.append(("reproduce",))

    def release(self) -> None:
        self.log.append(("release",))

    def fires(self) -> list[tuple[object, ...]]:
        """The fires it started, in order, as (source state, move index)."""
        return [entry[:2] for entry in self.log if len(entry) == 3]

    def started(self, task: FireTask) -> bool:
        return (task.hops, task.index) in self.fires()


def _outcome() -> Fired:
    """An outcome of nothing in particular (the workers only pass it on)."""
    return Fired(executed=None, view=None, node=None, judged=Judged(), server_status=None)  # type: ignore[arg-type]


def _tasks(hops: Hops, count: int) -> list[FireTask]:
    """The first ``count`` moves of state ``hops``, not calibrating."""
    return [FireTask(hops, index, None, calibrate=False) for index in range(count)]


def _keys(tasks: list[FireTask]) -> list[tuple[object, ...]]:
    return [(task.hops, task.index) for task in tasks]


class Gates:
    """One gate per fire (source state and move), closed until opened."""

    def __init__(self) -> None:
        self._gates: dict[tuple[Hops, int], threading.Event] = {}

    def get(self, task: FireTask) -> threading.Event:
        return self._gates.setdefault((task.hops, task.index), threading.Event())

    def open(self, *tasks: FireTask) -> None:
        for task in tasks:
            self.get(task).set()

    def open_later(self, task: FireTask, delay_s: float = 0.2) -> None:
        threading.Timer(delay_s, self.get(task).set).start()

    def open_all(self) -> None:
        for gate in self._gates.values():
            gate.set()


class Harness:
    def __init__(self, count: int) -> None:
        self.gates = Gates()
        self.runners = [GatedRunner(self.gates) for _ in range(count)]

        def preparer(runner: GatedRunner) -> Preparer:
            return lambda stack: runner  # type: ignore[return-value]

        self.workers = Workers([preparer(r) for r in self.runners])
        self.workers.open()

    def tasks(self, hops: Hops, count: int) -> list[FireTask]:
        return _tasks(hops, count)

    def wait_until_started(self, runner: int, task: FireTask) -> None:
        deadline = time.monotonic() + GATE_S
        while not self.runners[runner].started(task):
            assert time.monotonic() < deadline, f"worker {runner} never started {task.index}"
            time.sleep(0.001)

    def fire_open(self, task: FireTask) -> int:
        """Open a fire's gate, ask for it as the engine does; the worker that fired it."""
        self.gates.open(task)
        return self.workers.fire(task).worker

    def close(self) -> None:
        self.gates.open_all()
        self.workers.close()


@pytest.fixture
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    made = Harness(getattr(request, "param", 2))
    yield made
    made.close()


def _state(*moves: int) -> Hops:
    return tuple((move, f"s{n}-{move}") for n, move in enumerate(moves))


#: A state eight moves deep: its fires are never split among workers (they go to one together).
HELD = _state(0, 1, 2, 3, 4, 5, 6, 7)


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_planned_fires_start_before_the_engine_asks_and_run_once(harness: Harness) -> None:
    first, second = harness.tasks(HELD, 2)
    harness.gates.open(first, second)
    harness.workers.plan([first])
    harness.workers.plan([first, second])  # planned again with one more: only that one is new
    harness.wait_until_started(0, second)
    assert [harness.workers.fire(t).worker for t in (first, second)] == [0, 0]
    assert harness.runners[0].log == [(HELD, 0, False), (HELD, 1, False)]
    # in a thread of its own, named for tools that list threads, that does not keep a stuck
    # interpreter alive
    assert harness.runners[0].threads == {("venomqa-worker-0", True)}


def test_near_the_root_a_states_fires_are_split_among_idle_workers(harness: Harness) -> None:
    root = harness.tasks((), 4)
    harness.workers.plan(root)  # four fires, two idle workers: two each, no replay needed
    assert [harness.fire_open(t) for t in root] == [0, 1, 0, 1]


def test_fires_planned_later_go_to_the_worker_holding_their_states_others(
    harness: Harness,
) -> None:
    tasks = harness.tasks(HELD, 3)
    harness.workers.plan(tasks[:2])  # to worker 0: it starts one, one waits
    harness.wait_until_started(0, tasks[0])
    harness.workers.plan(tasks)  # worker 1 is idle, but the state's fires are with worker 0
    assert [harness.fire_open(t) for t in tasks] == [0, 0, 0]
    assert harness.runners[1].log == []


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_a_worker_runs_fires_in_the_order_given_and_one_asked_for_next(
    harness: Harness,
) -> None:
    a = harness.tasks(HELD, 3)
    b = harness.tasks(_state(9), 3)
    harness.workers.plan(a)
    harness.wait_until_started(0, a[0])
    harness.workers.plan(b)  # given behind a's fires
    harness.gates.open(*a[1:], *b)
    harness.gates.open_later(a[0])
    harness.workers.fire(b[1])  # asked for while a[0] runs: it goes next
    for task in (*a, b[0], b[2]):
        harness.workers.fire(task)
    assert harness.runners[0].fires() == _keys([a[0], b[1], a[1], a[2], b[0], b[2]])


def test_forget_goes_to_the_worker_whose_fire_it_names_or_the_first(harness: Harness) -> None:
    outcome = _outcome()
    outcome.worker = 1
    harness.workers.forget(outcome)
    assert (harness.runners[0].log, harness.runners[1].log) == ([], [("forget",)])
    harness.workers.forget(None)
    assert (harness.runners[0].log, harness.runners[1].log) == ([("forget",)], [("forget",)])


@pytest.mark.parametrize("harness", [1], indirect=True)
@pytest.mark.parametrize("job", ["forget", "reproduce"])
def test_forget_and_reproduce_run_before_the_fires_waiting_on_the_worker(
    harness: Harness, job: str
) -> None:
    tasks = harness.tasks(HELD, 3)
    harness.workers.plan(tasks)
    harness.wait_until_started(0, tasks[0])
    harness.gates.open_later(tasks[0])
    # the others' gates stay closed: they must not be ahead of it
    if job == "forget":
        harness.workers.forget(None)
    else:
        harness.workers.reproduce(None, [])  # type: ignore[arg-type]
    assert harness.runners[0].log[:3] == [(HELD, 0, False), (job,), (HELD, 1, False)]


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_a_fire_asked_for_before_its_state_was_given_to_a_worker_goes_next_with_its_group(
    harness: Harness,
) -> None:
    busy = harness.tasks(HELD, 9)
    harness.workers.plan(busy)  # the worker has more than it takes: the next state waits
    harness.wait_until_started(0, busy[0])
    later = harness.tasks(_state(9), 3)
    harness.workers.plan(later)
    harness.gates.open(*busy[1:], *later)
    harness.gates.open_later(busy[0])
    harness.workers.fire(later[0])  # its state's fires go to the front, in their order
    for task in (*busy, *later[1:]):
        harness.workers.fire(task)
    assert harness.runners[0].fires() == _keys([busy[0], *later, *busy[1:]])


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_a_planned_fire_asked_for_with_calibration_is_fired_again_calibrating(
    harness: Harness,
) -> None:
    first, planned, last = harness.tasks(HELD, 3)
    harness.workers.plan([first, planned, last])
    harness.wait_until_started(0, first)
    calibrating = FireTask(HELD, planned.index, None, calibrate=True)
    harness.gates.open(planned, last)
    harness.gates.open_later(first)
    assert harness.workers.fire(calibrating).worker == 0
    harness.workers.fire(first)
    harness.workers.fire(last)
    # the planned fire had not started: it was dropped, not run beside the calibrating one
    assert harness.runners[0].log == [(HELD, 0, False), (HELD, 1, True), (HELD, 2, False)]
    assert harness.workers._workers[0].load == 0  # nothing left to do


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_a_planned_fire_no_worker_took_yet_asked_for_with_calibration_runs_once_calibrating(
    harness: Harness,
) -> None:
    busy = harness.tasks(HELD, 8)  # the worker is full: the next state's fires wait
    later = harness.tasks(_state(9), 3)
    harness.workers.plan(busy + later)
    harness.gates.open(*busy, *later)
    calibrating = FireTask(later[1].hops, later[1].index, None, calibrate=True)
    harness.workers.fire(calibrating)
    for task in [*busy, later[0], later[2]]:
        harness.workers.fire(task)
    # every fire asked for has run, the dropped one not at all: the worker has nothing left
    assert harness.runners[0].log.count((later[1].hops, 1, True)) == 1
    assert harness.workers._workers[0].load == 0
    assert (later[1].hops, 1, False) not in harness.runners[0].log


def test_drop_plans_forgets_fires_not_started_and_waits_for_the_one_running(
    harness: Harness,
) -> None:
    held = harness.tasks(HELD, 3)
    harness.workers.plan(held)
    harness.wait_until_started(0, held[0])
    harness.gates.open_later(held[0])
    harness.workers.drop_plans()  # returns once the running fire is done; the others never run
    assert harness.runners[0].log == [(HELD, 0, False)]
    root = harness.tasks((), 4)  # both workers are idle again: the root's fires are split
    harness.workers.plan(root)
    assert [harness.fire_open(t) for t in root] == [0, 1, 0, 1]
    assert harness.runners[0].log[1:] == [((), 0, False), ((), 2, False)]


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_what_a_fire_raises_is_raised_to_the_engine(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(task: FireTask, *, keep_position: bool = True) -> Fired:
        raise RuntimeError("the world broke")

    monkeypatch.setattr(harness.runners[0], "fire", failing)
    (task,) = harness.tasks(HELD, 1)
    with pytest.raises(RuntimeError, match="the world broke"):
        harness.workers.fire(task)


def test_a_world_that_cannot_be_set_up_fails_open_after_the_others_are_closed() -> None:
    closed: list[str] = []

    def working(stack: ExitStack) -> GatedRunner:
        stack.callback(closed.append, "the working world")
        return GatedRunner(Gates())

    def failing(stack: ExitStack) -> GatedRunner:
        raise RuntimeError("no copy of the database")

    workers = Workers([working, failing])  # type: ignore[list-item]
    with pytest.raises(RuntimeError, match="no copy of the database"):
        workers.open()
    assert closed == ["the working world"]


def test_a_fire_not_planned_goes_next_to_the_worker_holding_its_states_others(
    harness: Harness,
) -> None:
    held = harness.tasks(HELD, 3)
    harness.workers.plan(held)  # worker 0 starts one, two wait; worker 1 is idle
    harness.wait_until_started(0, held[0])
    unplanned = FireTask(HELD, 5, None, calibrate=False)
    harness.gates.open(*held[1:], unplanned)
    harness.gates.open_later(held[0])
    assert harness.workers.fire(unplanned).worker == 0  # the state's checkpoint is there
    for task in held:
        harness.workers.fire(task)
    assert harness.runners[0].fires() == [(HELD, 0), (HELD, 5), (HELD, 1), (HELD, 2)]
    assert harness.runners[1].log == []


def test_the_root_is_looked_at_in_the_runs_own_world(harness: Harness) -> None:
    assert harness.workers.at_root() == (harness.runners[0], "the root")


def test_workers_need_a_world() -> None:
    with pytest.raises(ValueError, match=r"^parallel workers need at least one world$"):
        Workers([])


def test_a_world_that_cannot_be_closed_fails_close() -> None:
    def failing_to_close(stack: ExitStack) -> GatedRunner:
        stack.callback(_raise, RuntimeError("the copy could not be dropped"))
        return GatedRunner(Gates())

    workers = Workers([failing_to_close])  # type: ignore[list-item]
    workers.open()
    with pytest.raises(RuntimeError, match="the copy could not be dropped"):
        workers.close()


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_ctrl_c_while_closing_waits_for_the_running_fire_then_is_raised(
    harness: Harness,
) -> None:
    # Ctrl-C raises KeyboardInterrupt, as in any Python process (a test runner may ignore it).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        (task,) = harness.tasks(HELD, 1)
        harness.workers.plan([task])
        harness.wait_until_started(0, task)
        threading.Timer(0.1, _thread.interrupt_main).start()
        harness.gates.open_later(task, 1.0)
        with pytest.raises(KeyboardInterrupt):
            harness.workers.close()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert harness.gates.get(task).is_set()  # it was raised after the fire could finish
    assert not any(thread.name == "venomqa-worker-0" for thread in threading.enumerate())


def _raise(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_drop_plans_does_not_raise_what_a_dropped_fire_raised(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    (task,) = harness.tasks(HELD, 1)

    def failing(task: FireTask, *, keep_position: bool = True) -> Fired:
        harness.runners[0].log.append((task.hops, task.index, task.calibrate))
        harness.gates.get(task).wait(GATE_S)
        raise RuntimeError("its outcome was never going to be used")

    monkeypatch.setattr(harness.runners[0], "fire", failing)
    harness.workers.plan([task])
    harness.wait_until_started(0, task)
    harness.gates.open_later(task)
    harness.workers.drop_plans()  # waits for it, and does not raise what it raised


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_fires_dropped_before_a_worker_took_them_run_when_asked_for_again(
    harness: Harness,
) -> None:
    busy = harness.tasks(HELD, 9)  # more than the worker takes: the next state waits
    harness.workers.plan(busy)
    waiting = harness.tasks(_state(9, 9, 9, 9, 9), 2)
    harness.workers.plan(waiting)
    harness.gates.open_all()
    harness.workers.drop_plans()
    assert [harness.fire_open(t) for t in waiting] == [0, 0]  # planned anew, as if never
    assert harness.runners[0].log[-2:] == [(waiting[0].hops, 0, False), (waiting[1].hops, 1, False)]


def test_calls_and_release_cover_every_worker(harness: Harness) -> None:
    harness.runners[0].calls, harness.runners[1].calls = 3, 4
    assert harness.workers.calls() == 7
    harness.workers.release()
    assert [runner.log for runner in harness.runners] == [[("release",)], [("release",)]]


@pytest.mark.parametrize(
    ("a", "b", "shared"),
    [
        ((), _state(1, 2), 0),
        (_state(1, 2), _state(1, 2), 2),
        (_state(1, 2, 3), _state(1, 2), 2),
        (_state(1, 2), _state(1, 3), 1),
        (_state(2, 2), _state(1, 2), 0),
    ],
)
def test_shared_counts_the_first_hops_two_paths_have_in_common(
    a: Hops, b: Hops, shared: int
) -> None:
    assert _shared(a, b) == shared == _shared(b, a)


class Unstarted:
    """Workers that were never opened: what they are given stays in their queues to read."""

    def __init__(self, count: int) -> None:
        self.workers = Workers([lambda stack: None for _ in range(count)])  # type: ignore[misc]
        self.queues = [worker._jobs for worker in self.workers._workers]

    def plan(self, hops: Hops, count: int) -> None:
        self.workers.plan(_tasks(hops, count))

    def holders(self, hops: Hops) -> list[int]:
        """The worker each of the state's fires was given to, by move index."""
        found = {
            job.task.index: number
            for number, queue in enumerate(self.queues)
            for job in queue
            if job.task is not None and job.task.hops == hops
        }
        return [found[index] for index in sorted(found)]


@pytest.mark.parametrize(
    ("depth", "holders"),
    [
        (0, [0, 1, 2, 0, 1, 2]),  # no replay to reach the root: split among all three
        (2, [0, 1, 2, 0, 1, 2]),  # two replays each: 6 // 2 = 3 parts
        (3, [0, 1, 0, 1, 0, 1]),  # 6 // 3 = 2 parts
        (4, [0, 0, 0, 0, 0, 0]),  # 6 // 4 = 1: not worth a replay, to one worker
    ],
)
def test_a_states_fires_are_split_among_idle_workers_while_the_replays_cost_less(
    depth: int, holders: list[int]
) -> None:
    unstarted = Unstarted(3)
    hops = _state(*range(depth))
    unstarted.plan(hops, 6)
    assert unstarted.holders(hops) == holders


def test_with_more_states_than_idle_workers_each_state_goes_to_one() -> None:
    unstarted = Unstarted(3)
    first, second = _state(1), _state(2)
    unstarted.workers.plan([*_tasks(first, 4), *_tasks(second, 4)])
    # two states, three idle workers: the first is split in two, the second goes to the third
    assert unstarted.holders(first) == [0, 1, 0, 1]
    assert unstarted.holders(second) == [2, 2, 2, 2]


def test_a_worker_with_room_for_no_more_gets_nothing_new() -> None:
    unstarted = Unstarted(1)
    unstarted.plan(HELD, 8)  # a worker takes a state's fires while it has fewer than eight
    unstarted.plan(_state(9), 2)
    assert len(unstarted.queues[0]) == 8
    assert unstarted.holders(_state(9)) == []  # waiting to be given


@pytest.mark.parametrize(
    ("loads", "lasts", "chosen"),
    [
        ((0, 0, 0), ((), HELD[:2], HELD[:1]), 1),  # the longest shared path first
        ((2, 1, 2), ((), (), ()), 1),  # then the least busy
        ((1, 1, 1), ((), (), ()), 0),  # then the first
        ((0, 2, 1), ((), HELD, HELD[:1]), 2),  # more than a state's fires busier: passed over
    ],
)
def test_a_state_goes_to_the_nearest_worker_among_those_not_much_busier(
    loads: tuple[int, ...], lasts: tuple[Hops, ...], chosen: int
) -> None:
    unstarted = Unstarted(3)
    for worker, load, last in zip(unstarted.workers._workers, loads, lasts, strict=True):
        worker.load, worker.last_hops = load, last
    assert unstarted.workers._roomiest(HELD).number == chosen


class _LosesOneEntry:
    """The coordinator's end of the outbox, where a Ctrl-C arrives just after the first job is
    taken out and before it is counted (the entry is gone, the job is finished)."""

    def __init__(self, outbox: object) -> None:
        self._outbox = outbox
        self.armed = True

    def get(self) -> object:
        job = self._outbox.get()  # type: ignore[attr-defined]
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt
        return job


@pytest.mark.parametrize("harness", [1], indirect=True)
def test_a_ctrl_c_between_taking_a_fire_back_and_counting_it_does_not_hang_the_stop(
    harness: Harness,
) -> None:
    """The first planned fire is over; while the engine waits for the second, a Ctrl-C loses
    the first's outbox entry: stopping (``drop_plans`` waits for planned fires) still returns."""
    first, second = harness.tasks(HELD, 2)
    harness.gates.open(first)
    harness.workers.plan([first, second])
    harness.wait_until_started(0, second)
    harness.workers._outbox = _LosesOneEntry(harness.workers._outbox)  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        harness.workers.fire(second)  # the first's entry is taken and lost
    harness.gates.open(second)
    stopped = threading.Thread(target=harness.workers.drop_plans, daemon=True)
    stopped.start()
    stopped.join(GATE_S)
    assert not stopped.is_alive(), "drop_plans waited for a fire already over"
