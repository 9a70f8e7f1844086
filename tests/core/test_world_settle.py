"""``SupportsSettle``: the world lets a store wait for background work once after each action,
before it reads or saves any store (checkpoint, rollback, fingerprint, view, observe)."""

from __future__ import annotations

from venomqa import Journey, Step, World, action, explore, invariant
from venomqa.evaluation import run_action
from venomqa.runner import run_journey


class Backlog:
    """A store whose "worker" applies queued jobs only when settled: ``done`` lags ``queued``
    until ``settle()`` runs; the log records the order of the world's calls."""

    name = "backlog"

    def __init__(self) -> None:
        self.queued = 0
        self.done = 0
        self.log: list[str] = []
        self._tokens: list[tuple[int, int]] = []

    def setup(self) -> None: ...
    def teardown(self) -> None: ...

    def settle(self) -> None:
        self.log.append("settle")
        self.done = self.queued

    def checkpoint(self) -> int:
        self.log.append("checkpoint")
        self._tokens.append((self.queued, self.done))
        return len(self._tokens) - 1

    def rollback(self, token: object) -> None:
        assert isinstance(token, int)
        self.log.append("rollback")
        self.queued, self.done = self._tokens[token]
        del self._tokens[token + 1 :]

    def fingerprint(self) -> str:
        self.log.append("fingerprint")
        return f"{self.queued}/{self.done}"

    def observe(self) -> dict[str, object]:
        return {"queued": self.queued, "done": self.done}


def test_settle_runs_once_after_each_action_before_any_store_call() -> None:
    store = Backlog()
    world = World("http://127.0.0.1:9", {"jobs": store})
    world.fingerprint()
    world.checkpoint()
    assert store.log == ["fingerprint", "checkpoint"]  # no action yet: nothing to settle
    store.log.clear()

    def bump(api: object, ctx: object) -> None:
        store.queued += 1

    run_action(world, "bump", bump)
    assert store.done == 0
    world.view()
    world.fingerprint()
    world.checkpoint()
    assert store.log == ["settle", "fingerprint", "fingerprint", "checkpoint"]
    assert store.done == 1


def test_an_invariant_after_an_action_sees_settled_state() -> None:
    store = Backlog()
    world = World("http://127.0.0.1:9", {"jobs": store})

    @action
    def enqueue(api: object, ctx: object) -> None:
        store.log.append("action")
        store.queued += 1

    @invariant
    def jobs_are_done(w: World) -> bool:
        return store.done == store.queued

    result = explore(world, [enqueue], [jobs_are_done], max_depth=2)
    assert result.violations == []
    assert result.states == 3
    # once after every action (calibration fires some twice), before any other store call
    runs = store.log.count("action")
    assert runs >= 2
    assert store.log.count("settle") == runs
    assert all(store.log[i + 1] == "settle" for i, c in enumerate(store.log) if c == "action")


def test_a_journey_settles_after_each_step_before_its_invariants() -> None:
    store = Backlog()
    world = World("http://127.0.0.1:9", {"jobs": store})

    def enqueue(api: object, ctx: object) -> None:
        store.queued += 1

    @invariant
    def jobs_are_done(w: World) -> bool:
        return store.done == store.queued

    journey = Journey("two jobs", [Step("first", enqueue), Step("second", enqueue)])
    result = run_journey(world, journey, [jobs_are_done])
    assert result.violations == []
    assert store.log.count("settle") == 2
