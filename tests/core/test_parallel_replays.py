"""Workers whose replay goes astray: a worker's trail does not key the state a replay ends in,
it hands the view to the engine, which keys it and reports a path that replays to another state
as one could with one world: the same nondeterminism finding (path, what the replay raised), the
same states; and the worker's world is brought back to a known place afterwards.

The worlds have no API and no store: the actions change the context, and a counter shared by
the worlds makes every run of ``a`` differ from the one before. Found by mutation testing
(docs/benchmarks.md: ``WorldRunner.fire`` handing the replay's view and errors to the engine,
``WorldRunner.forget``).
"""

from __future__ import annotations

import itertools
import pickle
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from venomqa import Action, ExecutionContext, StateGraph, World, explore
from venomqa.client import Client
from venomqa.explorer import explore_graph
from venomqa.explorer._moves import moves_from_actions
from venomqa.explorer._parallel import Workers
from venomqa.explorer._work import Fired, FireTask, WorldRunner
from venomqa.models import FindingKind
from venomqa.models.results import ExplorationResult

#: A base URL nothing listens on: these actions never call the API.
NO_API = "http://127.0.0.1:9"


def _actions(raise_after_first: bool, b_runs: list[int] | None = None) -> list[Action]:
    runs = itertools.count(1)

    def run_a(api: object, ctx: ExecutionContext) -> None:
        number = next(runs)
        ctx["a"] = number
        if raise_after_first and number > 1:
            raise RuntimeError(f"run {number} of a")

    def run_b(api: object, ctx: ExecutionContext) -> None:
        if b_runs is not None:
            b_runs.append(1)
        ctx["b"] = 1

    return [
        Action("a", run_a, requires=lambda ctx: "a" not in ctx),
        Action("b", run_b, requires=lambda ctx: "b" not in ctx),
    ]


def _explore(
    workers: int, raise_after_first: bool, b_runs: list[int] | None = None
) -> ExplorationResult:
    worlds = [World(NO_API) for _ in range(workers)]
    actions = _actions(raise_after_first, b_runs)
    return explore(worlds[0], actions, learn=False, more_worlds=worlds[1:])


def _nondeterminism(result: ExplorationResult) -> list[tuple[list[str], str]]:
    return [
        (v.path, v.message.split(": ", 1)[0])
        for v in result.violations
        if v.kind is FindingKind.NONDETERMINISM
    ]


@pytest.mark.parametrize("raise_after_first", [False, True], ids=["differs", "raises"])
def test_a_worker_replay_that_reaches_another_state_is_reported_as_with_one_world(
    raise_after_first: bool,
) -> None:
    alone = _explore(1, raise_after_first)
    together = _explore(2, raise_after_first)

    expected = [(["a"], "the path ['a'] reached different states on two runs")]
    assert _nondeterminism(alone) == expected
    assert _nondeterminism(together) == expected
    assert together.states == alone.states == 4  # root, a, b, then a after b
    [finding] = [v for v in together.violations if v.kind is FindingKind.NONDETERMINISM]
    assert "'a'" in finding.message and "context" in finding.message  # what differed
    if raise_after_first:  # what the replay raised is part of the finding
        assert "on the replay, a raised RuntimeError: run " in finding.message
    else:
        assert "on the replay" not in finding.message


def test_forget_drops_the_checkpoints_of_a_replay_and_where_the_world_was() -> None:
    world = World(NO_API)
    root = world.checkpoint()
    runner = WorldRunner(world, moves_from_actions(_actions(False)), [], root, None)
    runner.start("root", None)
    runner.fire(FireTask((), 0, None, False))  # a, from the root
    runner.fire(FireTask(((0, "after-a"),), 1, None, False, True))  # b, after replaying a
    trail = runner.trail
    assert trail is not None and len(trail.entries) > 1  # a checkpoint of a's state
    runner.forget()
    assert len(trail.entries) == 1  # the root's only
    assert trail.at_key is None  # where the world is: unknown
    world.rollback(root)


def test_the_world_whose_replay_went_astray_is_the_one_told_to_forget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its checkpoints on the way hold states other than the ones keyed: that world drops
    them. Every state's fires go to the second world here, so it is the one that replays a."""
    astray: list[int] = []  # the worlds (by id) whose replay went through a (always astray)
    told: list[int] = []
    fire, forget = WorldRunner.fire, WorldRunner.forget

    def spying_fire(self: WorldRunner, task: FireTask, *, keep_position: bool = True) -> Fired:
        fired = fire(self, task, keep_position=keep_position)
        if fired.replay_view is not None and any(index == 0 for index, _ in task.hops):
            astray.append(id(self.world))
        return fired

    def spying_forget(self: WorldRunner) -> None:
        told.append(id(self.world))
        forget(self)

    monkeypatch.setattr(WorldRunner, "fire", spying_fire)
    monkeypatch.setattr(WorldRunner, "forget", spying_forget)
    monkeypatch.setattr(Workers, "_roomiest", lambda self, hops: self._workers[-1])
    worlds = [World(NO_API) for _ in range(2)]
    explore(worlds[0], _actions(False), learn=False, more_worlds=worlds[1:])
    assert astray and set(astray) == {id(worlds[1])}
    assert told == astray


def test_a_runner_used_before_it_started_says_so() -> None:
    runner = WorldRunner(World(NO_API), [], [], World(NO_API).checkpoint(), None)
    with pytest.raises(RuntimeError, match=r"^the runner has not started$"):
        runner.arrive(1, "key", None)


def test_one_world_does_not_fire_a_move_where_its_replay_did_not_arrive() -> None:
    """With one world the trail keys each replay itself: b is not fired from a's state when
    the replay of a went astray (a worker fires it and the engine discards the outcome)."""
    alone: list[int] = []
    _explore(1, False, alone)
    assert len(alone) == 2  # from the root, calibrating (twice); not after a's replay
    together: list[int] = []
    _explore(2, False, together)
    assert len(together) == 3  # also after the replay of a, its outcome void


class Unpicklable(Exception):
    """An error holding a lock: it cannot be pickled (as errors holding sockets cannot)."""

    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


@pytest.mark.parametrize("calibrate", [False, True], ids=["fired once", "calibrated"])
def test_an_outcome_made_portable_pickles_with_the_step_and_the_error_name(
    calibrate: bool,
) -> None:
    def fail(api: object, ctx: ExecutionContext) -> None:
        raise Unpicklable()

    world = World(NO_API)
    root = world.checkpoint()
    runner = WorldRunner(world, moves_from_actions([Action("fail", fail)]), [], root, None)
    runner.start("root", None)
    fired = runner.fire(FireTask((), 0, None, calibrate))
    with pytest.raises((TypeError, pickle.PicklingError)):
        pickle.dumps(fired)
    sent = pickle.loads(pickle.dumps(fired.portable()))
    assert sent.executed.error_type == "Unpicklable"
    assert sent.executed.step.action == "fail"
    if calibrate:
        assert sent.first is not None and sent.first.error_type == "Unpicklable"
    world.rollback(root)


def test_a_graph_explored_with_two_worlds_gives_what_one_gives() -> None:
    """Each extra world starts in the graph's root node (its moves are the root's edges)."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    def tick(api: Client, ctx: ExecutionContext) -> object:
        ctx["ticks"] = ctx.get("ticks", 0) + 1
        return api.post("/tick")

    def graph() -> StateGraph:
        built = StateGraph(name="ticks")
        built.add_node("start")
        built.add_node("middle")
        built.add_node("end", checker=lambda world: world.ctx.get("ticks", 0) < 2)
        built.add_edge("start", "middle", tick, name="first")
        built.add_edge("middle", "end", tick, name="second")
        built.add_edge("middle", "start", tick, name="back")
        return built

    def run(workers: int) -> ExplorationResult:
        worlds = [World(Client(app=app), {}) for _ in range(workers)]
        return explore_graph(worlds[0], graph(), max_depth=4, more_worlds=worlds[1:])

    alone, together = run(1), run(2)
    assert together.states == alone.states > 3
    assert sorted((e.source, e.action, e.target) for e in together.state_edges) == sorted(
        (e.source, e.action, e.target) for e in alone.state_edges
    )
    assert [v.path for v in together.violations] == [v.path for v in alone.violations]
    assert [v.path for v in alone.violations] == [["first", "second"]]


def _switches(count: int, most: list[int]) -> list[Action]:
    """Switch ``count`` flags in the context on and off; each run takes a moment, and
    ``most[0]`` is the most runs under way at once."""
    lock = threading.Lock()
    running = [0]

    def switch(flag: str, on: bool) -> Callable[[object, ExecutionContext], None]:
        def run(api: object, ctx: ExecutionContext) -> None:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.01)
            ctx[flag] = on
            with lock:
                running[0] -= 1

        return run

    actions = []
    for n in range(count):
        flag = f"flag{n}"
        actions.append(
            Action(f"on_{n}", switch(flag, True), requires=lambda ctx, f=flag: not ctx.get(f))
        )
        actions.append(
            Action(f"off_{n}", switch(flag, False), requires=lambda ctx, f=flag: ctx.get(f))
        )
    return actions


def test_planned_fires_run_at_once_in_two_worlds_each_exactly_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine plans each fire ahead as it will ask for it, so no world runs a fire whose
    outcome is thrown away, and two worlds work at the same time. A move calibrates on its
    first fires until one shows what it changes: planned before that is known, a fire may
    calibrate that one world would not have (never more than three per move)."""
    fired: list[tuple[object, int, bool]] = []
    fire = WorldRunner.fire

    def counting_fire(self: WorldRunner, task: FireTask, *, keep_position: bool = True) -> Fired:
        fired.append((task.hops, task.index, task.calibrate))
        return fire(self, task, keep_position=keep_position)

    monkeypatch.setattr(WorldRunner, "fire", counting_fire)
    alone = explore(World(NO_API), _switches(3, [0]))
    calibrating_alone = Counter(index for _, index, calibrate in fired if calibrate)
    fired.clear()
    most = [0]
    worlds = [World(NO_API) for _ in range(2)]
    together = explore(worlds[0], _switches(3, most), more_worlds=worlds[1:])
    assert together.states == alone.states == 27  # each flag: never set, on, off
    assert together.transitions == alone.transitions == len(fired)
    calibrating = Counter(index for _, index, calibrate in fired if calibrate)
    assert set(calibrating) == set(calibrating_alone) == set(range(6))
    assert all(calibrating_alone[i] <= calibrating[i] <= 3 for i in range(6)), calibrating
    assert most[0] == 2
