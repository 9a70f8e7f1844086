"""Idle workers take over fires waiting behind another worker's: the end of a search leaves
workers unevenly loaded (a state's fires go to one worker together), so a worker left idle takes
some of the fires waiting at the back of another's queue when replaying the state's path costs
less than the wait: half the difference, after the replays its last state does not share.

The runners are stand-ins whose fires wait until the test lets them finish, so what each
worker holds, and when it becomes idle, is known exactly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from venomqa.explorer._parallel import Preparer, Workers
from venomqa.explorer._work import Fired, FireTask, Judged
from venomqa.explorer.search import Hops


class GatedRunner:
    """A runner whose every fire waits for its gate; it records the fires it started."""

    calls = 0

    def __init__(self, gates: dict[tuple[Hops, int], threading.Event]) -> None:
        self.gates = gates
        self.fired: list[tuple[Hops, int]] = []

    def at_root(self) -> None:
        raise AssertionError("not used here")

    def start(self, root_key: str, key_of: object) -> None:
        pass

    def fire(self, task: FireTask, *, keep_position: bool = True) -> Fired:
        self.fired.append((task.hops, task.index))
        assert self.gates[(task.hops, task.index)].wait(10), "the test never let it finish"
        return Fired(executed=None, view=None, node=None, judged=Judged(), server_status=None)  # type: ignore[arg-type]

    def forget(self) -> None:
        pass

    def reproduce(self, finding: object, path: object) -> None:
        return None

    def release(self) -> None:
        pass


@pytest.fixture
def gates() -> Iterator[dict[tuple[Hops, int], threading.Event]]:
    opened: dict[tuple[Hops, int], threading.Event] = {}
    yield opened
    for gate in opened.values():
        gate.set()


def _workers(
    count: int, gates: dict[tuple[Hops, int], threading.Event]
) -> tuple[Workers, list[GatedRunner]]:
    runners = [GatedRunner(gates) for _ in range(count)]

    def preparer(runner: GatedRunner) -> Preparer:
        return lambda stack: runner  # type: ignore[return-value]

    return Workers([preparer(r) for r in runners]), runners


def _wait_until_started(runner: GatedRunner, task: FireTask) -> None:
    deadline = time.monotonic() + 10
    while (task.hops, task.index) not in runner.fired:
        assert time.monotonic() < deadline, "the worker never started the fire"
        time.sleep(0.001)


def _tasks(
    hops: Hops, count: int, gates: dict[tuple[Hops, int], threading.Event]
) -> list[FireTask]:
    for index in range(count):
        gates[(hops, index)] = threading.Event()
    return [FireTask(hops, index, None, calibrate=False) for index in range(count)]


#: A state eight moves deep: its fires are never split (they go to one worker together).
HELD = tuple((n, f"s{n}") for n in range(8))


@pytest.mark.parametrize(
    ("deep", "taken"),
    [
        ((*HELD, (1, "b")), [4, 5]),  # 5 waiting, 1 replay: (5 - 1) // 2 = 2 taken
        (((2, "c"), (1, "b")), [5]),  # 5 waiting, 2 replays: 1 taken
        (((2, "c"), (1, "b"), (1, "d"), (3, "e"), (4, "f")), []),  # 5 replays: none
    ],
    ids=["child-of-its-state", "shares-nothing", "too-deep"],
)
def test_an_idle_worker_takes_fires_waiting_behind_another_when_its_replay_costs_less(
    gates: dict[tuple[Hops, int], threading.Event], deep: Hops, taken: list[int]
) -> None:
    workers, runners = _workers(2, gates)
    workers.open()
    try:
        held = _tasks(HELD, 7, gates)
        workers.plan(held)  # all seven to worker 0
        group = _tasks(deep, 6, gates)
        workers.plan(group)  # all six to worker 1 (worker 0 has more than six to do)
        _wait_until_started(runners[1], group[0])
        for task in held:
            gates[(task.hops, task.index)].set()
            assert workers.fire(task).worker == 0
        # worker 0 is idle now; worker 1 has started one of the six and five wait
        if taken:
            _wait_until_started(runners[0], group[taken[0]])
        by_worker = {}
        for task in group:  # one at a time: no worker is idle while another has two waiting
            gates[(task.hops, task.index)].set()
            by_worker[task.index] = workers.fire(task).worker
    finally:
        workers.close()
    assert [index for index, worker in by_worker.items() if worker == 0] == taken
    assert [index for index, worker in by_worker.items() if worker == 1] == [
        i for i in range(6) if i not in taken
    ]
