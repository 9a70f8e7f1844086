"""Workers in other processes get their next fire while the one before still runs there.

A ``ProxyRunner`` whose transport ``SendsAhead`` (the Ray backend's) lets a worker's thread send
the next fire it holds before the outcome of the previous one is back, so the round trip to the
worker is hidden behind a fire. Here:

- with fires queued a worker keeps two in flight, never more, and takes their outcomes back in
  the order sent; a fire the engine asks for is found among them;
- any other call (``forget``) waits until the fires sent before it are back;
- a fire that fails to be sent, or fails there, is that fire's error and the others go on;
- ``close`` (a run's end, Ctrl-C) takes back every fire sent before the world is closed;
- a worker reached through a pickling transport that runs calls in its own thread, in the order
  sent, explores the blog API exactly as one world does, with fires really sent ahead.
"""

from __future__ import annotations

import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from pathlib import Path

import pytest
from blog_model import assert_matches_model
from test_parallel_scheduling import GATE_S, HELD, Gates, _outcome, _tasks
from test_parallel_workers import (
    DEPTH,
    copies_beside,
    dump,
    explore_with,
    make_blog_db,
    summary,
    write_project,
)
from venomqa.demo.blog import start_blog_server
from venomqa.demo.blog.checks import ACTIONS, INVARIANTS
from venomqa.explorer import explore
from venomqa.explorer._parallel import Workers
from venomqa.explorer._work import Fired, FireTask
from venomqa.parallel_worker import ProxyRunner, Receive, RemoteHost, WorkerProcess
from venomqa.ports.backend import WorkerRecipe
from venomqa.stores.sqlite import SQLiteStore
from venomqa.world import World


class SendingRunner:
    """A runner that sends fires ahead: each one's outcome waits for its gate; ``log`` records
    every send, every outcome taken back and every other call, in order."""

    calls = 0
    sends_ahead = True

    def __init__(self, gates: Gates) -> None:
        self.gates = gates
        self.log: list[tuple[str, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.refuse: set[int] = set()  # fires whose send fails
        self.lock = threading.Lock()

    def send_fire(self, task: FireTask) -> Callable[[], Fired]:
        if task.index in self.refuse:
            raise ConnectionError(f"could not send fire {task.index}")
        with self.lock:
            self.log.append(("sent", task.index))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

        def outcome() -> Fired:
            opened = self.gates.get(task).wait(GATE_S)
            with self.lock:
                self.in_flight -= 1
                self.log.append(("back", task.index))
            assert opened, f"fire {task.index} was never let finish"
            if task.index < 0:
                raise RuntimeError(f"fire {task.index} broke there")
            return _outcome()

        return outcome

    def fire(self, task: FireTask, *, keep_position: bool = True) -> Fired:
        raise AssertionError("a runner that sends ahead is sent its fires")

    def forget(self) -> None:
        with self.lock:
            self.log.append(("forget", self.in_flight))

    def at_root(self) -> tuple[object, str]:
        return self, "the root"

    def start(self, root_key: str, key_of: object) -> None:
        pass

    def release(self) -> None:
        pass


@pytest.fixture
def sending() -> Iterator[tuple[Workers, SendingRunner, Gates]]:
    gates = Gates()
    runner = SendingRunner(gates)
    workers = Workers([lambda stack: runner])  # type: ignore[list-item,return-value]
    workers.open()
    yield workers, runner, gates
    gates.open_all()
    workers.close()


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    done = threading.Event()
    for _ in range(int(GATE_S / 0.005)):
        if condition():
            return
        done.wait(0.005)
    raise AssertionError(f"never happened: {what}")


def test_two_fires_are_in_flight_and_come_back_in_the_order_sent(
    sending: tuple[Workers, SendingRunner, Gates],
) -> None:
    workers, runner, gates = sending
    tasks = _tasks(HELD, 4)
    workers.plan(tasks)
    _wait_for(lambda: runner.log == [("sent", 0), ("sent", 1)], "two fires sent")
    gates.open(tasks[1])  # the second finishes first there; it is taken back after the first
    gates.open_later(tasks[0], 0.1)
    assert workers.fire(tasks[1]).worker == 0
    assert runner.log[:4] == [("sent", 0), ("sent", 1), ("back", 0), ("sent", 2)]
    gates.open(tasks[2], tasks[3])
    for task in (tasks[0], tasks[2], tasks[3]):
        workers.fire(task)
    assert runner.log == [
        ("sent", 0),
        ("sent", 1),
        ("back", 0),
        ("sent", 2),
        ("back", 1),
        ("sent", 3),
        ("back", 2),
        ("back", 3),
    ]
    assert runner.most_in_flight == 2


def test_forget_waits_until_the_fires_sent_before_it_are_back(
    sending: tuple[Workers, SendingRunner, Gates],
) -> None:
    workers, runner, gates = sending
    tasks = _tasks(HELD, 2)
    workers.plan(tasks)
    _wait_for(lambda: runner.in_flight == 2, "two fires sent")
    gates.open_later(tasks[0], 0.05)
    gates.open_later(tasks[1], 0.1)
    workers.forget(None)  # worker 0
    assert runner.log[-1] == ("forget", 0)
    assert [entry for entry in runner.log if entry[0] == "back"] == [("back", 0), ("back", 1)]


def test_a_fire_that_cannot_be_sent_or_fails_there_is_that_fires_error(
    sending: tuple[Workers, SendingRunner, Gates],
) -> None:
    workers, runner, gates = sending
    runner.refuse.add(1)
    tasks = [*_tasks(HELD, 3), FireTask(HELD, -1, None, calibrate=False)]
    gates.open(*tasks)
    workers.plan(tasks)
    workers.fire(tasks[0])
    with pytest.raises(ConnectionError, match="could not send fire 1"):
        workers.fire(tasks[1])
    workers.fire(tasks[2])
    with pytest.raises(RuntimeError, match="fire -1 broke there"):
        workers.fire(tasks[3])
    assert ("sent", 1) not in runner.log


def test_close_takes_back_every_fire_sent_before_the_world_closes() -> None:
    gates = Gates()
    runner = SendingRunner(gates)
    closed_with: list[int] = []

    def prepare(stack: ExitStack) -> SendingRunner:
        stack.callback(lambda: closed_with.append(runner.in_flight))
        return runner

    workers = Workers([prepare])  # type: ignore[list-item]
    workers.open()
    tasks = _tasks(HELD, 3)
    workers.plan(tasks)
    _wait_for(lambda: runner.in_flight == 2, "two fires sent")
    gates.open_later(tasks[0], 0.05)
    gates.open_later(tasks[1], 0.1)
    workers.close()  # the third was never sent: it is dropped
    assert closed_with == [0]
    assert runner.log == [("sent", 0), ("sent", 1), ("back", 0), ("back", 1)]


class InOrderTransport:
    """A transport that ``SendsAhead``: calls are pickled, run one by one in the order sent by a
    thread standing for the worker's process, and answered pickled."""

    def __init__(self, worker: WorkerProcess) -> None:
        self._worker = worker
        self._calls: queue.SimpleQueue[tuple[bytes, Future[bytes]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.waiting = 0
        self.most_waiting = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def __call__(self, method: str, args: tuple[object, ...]) -> tuple[object, int]:
        return self.send(method, args)()

    def send(self, method: str, args: tuple[object, ...]) -> Receive:
        answer: Future[bytes] = Future()
        with self._lock:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        self._calls.put((pickle.dumps((method, args)), answer))

        def receive() -> tuple[object, int]:
            result, calls = pickle.loads(answer.result())
            return result, calls

        return receive

    def stop(self) -> None:
        self._calls.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            message, answer = call
            try:
                answer.set_result(pickle.dumps(self._worker.handle(*pickle.loads(message))))
            except BaseException as exc:
                answer.set_exception(exc)
            with self._lock:
                self.waiting -= 1


def test_a_worker_sent_fires_ahead_finds_what_one_world_finds(tmp_path: Path) -> None:
    db = tmp_path / "blog.db"
    make_blog_db(db)
    config = write_project(tmp_path, db)
    before = dump(db)
    alone = explore_with(db, 1)
    store = SQLiteStore(str(db))
    with ExitStack() as stack:
        copy = store.clone("w2")
        stack.callback(store.drop_clone, copy)
        worker = WorkerProcess(WorkerRecipe(str(config), {}, "w2", {"db": copy}))
        stack.callback(worker.close)
        transport = InOrderTransport(worker)
        stack.callback(transport.stop)
        assert ProxyRunner(transport).sends_ahead
        server = stack.enter_context(start_blog_server(f"sqlite:{db}"))
        world = World(server.url, stores={"db": SQLiteStore(str(db))})
        stack.callback(world.api.close)
        together = explore(
            world, ACTIONS, INVARIANTS, max_depth=DEPTH, more_worlds=[RemoteHost(transport)]
        )
        assert worker.calls > 0
        assert transport.most_waiting == 2  # fires were sent ahead, never more than two
        assert dump(Path(str(copy["path"]))) == before
    assert_matches_model(together, DEPTH)
    assert summary(together) == summary(alone)
    assert dump(db) == before
    assert copies_beside(db) == []
