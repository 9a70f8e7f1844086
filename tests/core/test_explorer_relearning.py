"""The explorer meeting values that change between runs: a replay that reaches another state, and
a volatile field learned after states it concerns were keyed (the search starts over), and a
graph finding's steps taken from one run from the root.

Actions here change the context or a real SQLite file directly (no HTTP; the graph's edges call
an in-process WSGI app), so every run is deterministic: a "volatile" value is a counter the test
controls, or a hidden epoch that the stores and the context do not show.
Found by mutation testing (docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from venomqa import Action, ExecutionContext, Invariant, StateGraph, World, explore
from venomqa.client import Client
from venomqa.explorer import _engine, explore_graph
from venomqa.models import FindingKind
from venomqa.models.results import Progress
from venomqa.stores import SQLiteStore

#: A base URL nothing listens on: these actions never call the API.
NO_API = "http://127.0.0.1:9"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, stamp INTEGER)")
        conn.execute("CREATE TABLE other (id INTEGER PRIMARY KEY)")
    return path


def _write(path: Path, sql: str, *params: object) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(sql, params)


def _world(db: Path | None) -> World:
    return World(NO_API, {"db": SQLiteStore(str(db))} if db is not None else {})


def _set(key: str, value: object) -> Action:
    """An action that sets ``ctx[key] = value()`` once."""

    def run(api: object, ctx: ExecutionContext) -> None:
        ctx[key] = value()

    return Action(key, run, requires=lambda ctx: key not in ctx)


@pytest.mark.parametrize("with_store", [True, False], ids=["store declared", "no store"])
def test_a_path_that_replays_to_another_state_is_one_finding_naming_the_path(
    db: Path, with_store: bool
) -> None:
    runs = itertools.count(1)
    fired: list[str] = []

    def counted(value: Iterator[int]) -> int:
        fired.append("a")
        return next(value)

    actions = [_set("a", lambda: counted(runs)), _set("b", lambda: 1)]
    result = explore(_world(db if with_store else None), actions, learn=False)

    # BFS: a and b from the root; going back to a's state replays a, which sets a=2, not 1.
    [finding] = result.violations
    assert finding.kind is FindingKind.NONDETERMINISM
    assert finding.message.startswith("the path ['a'] reached different states on two runs: ")
    assert "context" in finding.message and "'a'" in finding.message  # what differed
    hint = "if the API keeps state" if with_store else "no store is declared under `stores:`"
    assert hint in finding.message
    assert finding.path == ["a"]
    assert finding.steps[0].changed  # what the step changed, for the report
    reached = {edge.target for edge in result.state_edges if edge.action == "a"}
    assert finding.state in reached  # the state the path was meant to reach
    assert result.volatile == []  # learn=False: nothing learned, on a replay either
    # a ran three times: to a's state, its replay, and from b's state; the finding is reported
    # with the steps already run (not reproduced again from the root).
    assert fired == ["a", "a", "a"]
    assert result.states == 4


def test_a_value_that_changes_only_on_replay_is_learned_and_the_search_starts_over() -> None:
    epoch = itertools.count()
    now = [0]

    ran: list[str] = []

    def tick() -> int:
        ran.append("b")
        now[0] = next(epoch)  # state the stores and the context do not show
        return 1

    def stamp() -> str:
        ran.append("a")
        return f"v{now[0]}"

    actions = [_set("a", stamp), _set("b", tick)]
    result = explore(_world(None), actions)

    assert result.violations == []
    [learned] = [rule for rule in result.volatile if rule.spec == "a"]
    assert learned.where == "context.ignore"
    assert "differed on replaying ['a']" in learned.reason
    assert result.restarts == 1
    assert result.states == 4  # {}, {a}, {b}, {a, b}
    assert result.calls == len(ran)  # both passes' runs, replays included


def test_with_learning_off_a_value_that_gives_itself_away_is_not_learned_either() -> None:
    """A clock reading is recognised by its form (``venomqa.state.clues``) only when learning."""
    stamp = datetime.now(UTC).isoformat()  # the same on every run: no difference to find
    actions = [_set("created_at", lambda: stamp), _set("b", lambda: 1)]
    assert [r.spec for r in explore(_world(None), actions).volatile] == ["created_at"]
    assert explore(_world(None), actions, learn=False).volatile == []


def test_a_context_key_learned_volatile_after_it_was_keyed_restarts_the_search() -> None:
    stamps = itertools.count(1)
    init = _set("t", lambda: 0)

    def stamp(api: object, ctx: ExecutionContext) -> None:
        ctx["t"] = next(stamps)

    actions = [init, Action("stamp", stamp, requires=lambda ctx: "t" in ctx)]
    result = explore(_world(None), actions, max_depth=3)

    # Calibrating stamp learns that t is volatile after {t: 0} was keyed: start over, so that
    # {t: 0} and {t: 1} are one state.
    assert [rule.spec for rule in result.volatile] == ["t"]
    assert result.restarts == 1
    assert result.states == 2


def test_a_rule_about_nothing_keyed_yet_does_not_restart_the_search() -> None:
    stamps = itertools.count(1)

    def stamp(api: object, ctx: ExecutionContext) -> None:
        ctx["t"] = next(stamps)

    result = explore(_world(None), [Action("stamp", stamp)], max_depth=2)

    [rule] = result.volatile
    assert (rule.spec, rule.reason) == ("t", "differed between two runs of 'stamp'")
    assert result.restarts == 0
    assert result.states == 2


def _init_then_stamp(db: Path, init_table: str) -> list[Action]:
    stamps = itertools.count(1)

    def init(api: object, ctx: ExecutionContext) -> None:
        _write(db, f"INSERT INTO {init_table} (id) VALUES (1)")
        ctx["init"] = True

    def stamp(api: object, ctx: ExecutionContext) -> None:
        _write(db, "INSERT OR REPLACE INTO items (id, stamp) VALUES (1, ?)", next(stamps))

    return [
        Action("init", init, requires=lambda ctx: "init" not in ctx),
        Action("stamp", stamp, requires=lambda ctx: "init" in ctx),
    ]


def test_a_store_field_learned_after_its_table_was_keyed_restarts_the_search(db: Path) -> None:
    result = explore(_world(db), _init_then_stamp(db, "items"), max_depth=3)

    assert [(rule.where, rule.spec) for rule in result.volatile] == [
        ("stores.db.ignore", "items.stamp")
    ]
    assert result.restarts == 1
    assert result.states == 2  # {}, {items row 1}: its stamp no longer splits states


def test_a_store_field_learned_in_a_table_not_keyed_yet_does_not_restart(db: Path) -> None:
    result = explore(_world(db), _init_then_stamp(db, "other"), max_depth=3)

    assert [rule.spec for rule in result.volatile] == ["items.stamp"]
    assert result.restarts == 0  # only `other` had been keyed in this store
    assert result.states == 3


def test_a_graph_finding_is_reported_with_the_steps_of_one_run_from_the_root() -> None:
    served = itertools.count(1)

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"serial": next(served)}).encode()]  # not rolled back by any store

    def tick(api: Client, ctx: ExecutionContext) -> object:
        return api.post("/tick")

    graph = StateGraph(name="ticks")
    graph.add_node("start")
    graph.add_node("middle")
    graph.add_node("end", checker=lambda world: False)
    graph.add_edge("start", "middle", tick, name="first")
    graph.add_edge("middle", "end", tick, name="second")
    result = explore_graph(World(Client(app=app), {}), graph, max_depth=3)

    [violation] = result.violations
    assert violation.path == ["first", "second"]
    assert "checker of node 'end' returned False" in violation.message
    reached = {edge.target for edge in result.state_edges if edge.action == "second"}
    assert violation.state in reached  # keyed in the graph node the path ends in
    # Run again from the root in one go: consecutive requests, not the ones of the first
    # firings (calibration ran each edge twice, so those are not consecutive).
    serials = [step.requests[-1].response_body["serial"] for step in violation.steps]
    assert serials[1] == serials[0] + 1


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "random"])
def test_calls_counts_every_action_run_replays_calibrations_and_reproductions_included(
    strategy: str,
) -> None:
    ran: list[str] = []

    def step(name: str) -> Action:
        def run(api: object, ctx: ExecutionContext) -> None:
            ran.append(name)
            ctx[name] = ctx.get(name, 0) + 1  # type: ignore[operator]

        return Action(name, run, requires=lambda ctx: ctx.get(name, 0) < 2)  # type: ignore[operator]

    def at_most_three_steps(world: World) -> bool:
        return sum(world.ctx.values()) <= 3  # type: ignore[arg-type]

    result = explore(
        _world(None),
        [step("x"), step("y")],
        [Invariant("at_most_three_steps", at_most_three_steps)],
        strategy=strategy,
        seed=3,
    )

    assert {v.invariant for v in result.violations} == {"at_most_three_steps"}
    assert len(ran) > result.transitions  # calibration, replays and the finding's re-run
    assert result.calls == len(ran)


@pytest.mark.parametrize("worlds", [1, 2], ids=["one world", "two worlds"])
@pytest.mark.parametrize("strategy", ["dfs", "random"])
def test_a_two_step_path_is_shrunk_when_one_step_is_enough(strategy: str, worlds: int) -> None:
    """With two worlds, shrinking runs candidate paths again in the first one
    (``Workers.reproduce``)."""
    actions = [_set("noise", lambda: 1), _set("bad", lambda: True)]
    never_bad = Invariant("never_bad", lambda world: "bad" not in world.ctx)

    for seed in range(20):  # a seed whose first walk fires noise first
        more = [_world(None) for _ in range(worlds - 1)]
        result = explore(
            _world(None),
            actions,
            [never_bad],
            strategy=strategy,
            stop_on_first=True,
            seed=seed,
            more_worlds=more,
        )
        [violation] = result.violations
        assert violation.path == ["bad"]
        if result.transitions > 1:  # the search took noise before bad: the path was shrunk
            return
    pytest.fail("no run fired noise before bad")


def test_shrinking_an_invariant_path_may_drop_the_step_where_it_was_found() -> None:
    # The invariant breaks with q, or with p done without a; dfs first finds [a, p, q].
    actions = [
        _set("a", lambda: 1),
        _set("p", lambda: 1),
        Action("q", lambda api, ctx: ctx.update(q=1), requires=lambda ctx: "p" in ctx),
    ]

    def fine(world: World) -> bool:
        ctx = world.ctx
        return "q" not in ctx and ("a" in ctx or "p" not in ctx)

    result = explore(
        _world(None), actions, [Invariant("fine", fine)], strategy="dfs", stop_on_first=True
    )

    [violation] = result.violations
    assert violation.path == ["p"]  # the shortest path that shows it, without q
    assert result.transitions == 3


def test_a_new_rule_restarts_for_itself_not_for_a_declared_rule_about_keyed_states() -> None:
    stamps = itertools.count(1)

    def stamp(api: object, ctx: ExecutionContext) -> None:
        ctx["u"] = next(stamps)

    actions = [_set("t", lambda: 0), Action("stamp", stamp, requires=lambda ctx: "t" in ctx)]
    result = explore(_world(None), actions, ignore_context=["t"], max_depth=3)

    assert [(rule.spec, rule.declared) for rule in result.volatile] == [("t", True), ("u", False)]
    assert result.restarts == 0  # u was learned before any state with u was keyed
    assert result.states == 3  # {}, {t}, {t, u}


@pytest.mark.parametrize(("field", "restarts"), [("created_at", 1), ("updated_at", 0)])
def test_a_clock_reading_met_without_calibrating_restarts_only_for_a_field_already_keyed(
    field: str, restarts: int
) -> None:
    """bump stops calibrating once its first run changed something; its second run writes a
    clock reading, learned where the state is keyed: the search starts over when the field was
    in states keyed already (created_at, None before), not for a new field, nor for the
    declared rule about t, which keyed states hold too."""
    stamp = datetime.now(UTC).isoformat()

    def init(api: object, ctx: ExecutionContext) -> None:
        ctx["created_at"], ctx["n"], ctx["t"] = None, 0, 0

    def bump(api: object, ctx: ExecutionContext) -> None:
        ctx["n"] += 1
        if ctx["n"] == 2:
            ctx[field] = stamp

    actions = [
        Action("init", init, requires=lambda ctx: "n" not in ctx),
        Action("bump", bump, requires=lambda ctx: "n" in ctx and ctx["n"] < 3),
    ]
    n_below_1 = Invariant("n_below_1", lambda world: world.ctx.get("n", 0) < 1)
    result = explore(_world(None), actions, [n_below_1], ignore_context=["t"])

    assert [(rule.spec, rule.declared) for rule in result.volatile] == [
        ("t", True),
        (field, False),
    ]
    assert result.restarts == restarts
    [violation] = result.violations
    assert violation.occurrences == 3  # n = 1, 2 and 3, counted in the last pass only


@pytest.mark.parametrize(("failing", "with_store"), [(1, True), (2, False)])
def test_a_calibration_finding_says_which_of_the_two_runs_raised(
    db: Path, failing: int, with_store: bool
) -> None:
    runs = itertools.count(1)

    def flaky(api: object, ctx: ExecutionContext) -> None:
        if next(runs) == failing:
            ctx["half_done"] = True
            raise ValueError("this run fails half-way")
        ctx["done"] = True

    world = _world(db if with_store else None)
    result = explore(world, [Action("flaky", flaky, requires=lambda ctx: not ctx)])

    [finding] = [v for v in result.violations if v.kind is FindingKind.NONDETERMINISM]
    assert finding.message.startswith("action 'flaky' reached different states on two runs: ")
    assert f"run {failing} raised ValueError: this run fails half-way" in finding.message
    assert f"run {3 - failing} raised" not in finding.message
    hint = "if the API keeps state" if with_store else "no store is declared under `stores:`"
    assert hint in finding.message
    # Reported where the action was fired from, with the first run's step; not run again.
    assert finding.state == result.initial_state
    assert finding.path == ["flaky"] and [s.action for s in finding.steps] == ["flaky"]
    assert (finding.steps[0].error is not None) == (failing == 1)
    # The two calibration runs, plus the re-run of run 2's action error when it raised.
    assert result.calls == next(runs) - 1 == (2 if failing == 1 else 3)


def test_a_calibration_finding_below_the_root_is_not_run_again_from_the_root() -> None:
    runs = itertools.count(1)
    started: list[int] = []

    def start(api: object, ctx: ExecutionContext) -> None:
        started.append(1)
        ctx["started"] = True

    def flaky(api: object, ctx: ExecutionContext) -> None:
        ctx[f"run{next(runs)}"] = True  # another key on every run: not explained by a field

    actions = [
        Action("start", start, requires=lambda ctx: "started" not in ctx),
        Action("flaky", flaky, requires=lambda ctx: len(ctx) == 1),
    ]
    result = explore(_world(None), actions)

    [finding] = result.violations
    assert finding.kind is FindingKind.NONDETERMINISM and finding.path == ["start", "flaky"]
    assert len(started) == 2  # start's own calibration; the finding did not replay it
    assert result.calls == len(started) + next(runs) - 1


def test_a_move_is_calibrated_until_it_changes_something_at_most_three_times() -> None:
    noop_runs: list[int] = []

    def inc(api: object, ctx: ExecutionContext) -> None:
        ctx["n"] = ctx.get("n", 0) + 1  # type: ignore[operator]

    def noop(api: object, ctx: ExecutionContext) -> None:
        noop_runs.append(1)  # changes nothing: its arrival is never a new state, never replayed

    actions = [
        Action("inc", inc, requires=lambda ctx: ctx.get("n", 0) < 4),  # type: ignore[operator]
        Action("noop", noop),
    ]
    result = explore(_world(None), actions)

    assert result.states == 5 and result.actions["noop"] == 5
    assert len(noop_runs) == 5 + 3  # each firing, plus a second run for the first three


def test_a_precondition_that_raises_does_not_disable_the_actions_after_it() -> None:
    def broken(ctx: ExecutionContext) -> bool:
        raise KeyError("missing")

    actions = [Action("broken", lambda api, ctx: None, requires=broken), _set("after", lambda: 1)]
    result = explore(_world(None), actions)

    assert result.actions == {"broken": 0, "after": 1} and result.states == 2
    assert [v.kind for v in result.violations] == [FindingKind.ACTION_ERROR]


def _listening() -> tuple[list[Progress], object]:
    """An observer and the progress reports it hears."""
    heard: list[Progress] = []

    class Listener:
        def on_progress(self, progress: Progress) -> None:
            heard.append(progress)

    return heard, Listener()


def test_observers_hear_how_much_is_left_and_how_deep_the_search_is() -> None:
    heard, listener = _listening()
    actions = [_set("a", lambda: 1), _set("b", lambda: 1)]
    result = explore(_world(None), actions, observers=[listener])

    assert heard and heard[-1].states == result.states == 4
    assert all(isinstance(p.frontier, int) and isinstance(p.depth, int) for p in heard)
    assert heard[-1].depth == 1  # the last move fired was from a state one step deep


@pytest.mark.parametrize(("interval_s", "many"), [(0.0, True), (3600.0, False)])
def test_progress_is_heard_during_the_search_at_most_once_per_interval(
    monkeypatch: pytest.MonkeyPatch, interval_s: float, many: bool
) -> None:
    heard, listener = _listening()
    monkeypatch.setattr(_engine, "_PROGRESS_INTERVAL_S", interval_s)
    actions = [_set("a", lambda: 1), _set("b", lambda: 1)]
    explore(_world(None), actions, observers=[listener])
    if many:
        assert len(heard) > 2, len(heard)  # a report after each fire
        assert any(p.frontier > 0 for p in heard)  # states were waiting to be expanded
        assert all(0 <= p.elapsed_s < 60 for p in heard)
    else:
        assert len(heard) == 1, len(heard)  # at the end only: the first interval never passed


def test_progress_waits_a_whole_interval_after_each_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a clock that moves one second per reading, with a ten-second interval: a report
    about every ten readings (each fire reads the clock once, each report once more)."""
    heard, listener = _listening()

    class Clock:
        now = 0.0

        def perf_counter(self) -> float:
            self.now += 1.0
            return self.now

    monkeypatch.setattr(_engine, "time", Clock())
    monkeypatch.setattr(_engine, "_PROGRESS_INTERVAL_S", 10.0)
    actions = [_set(key, lambda: 1) for key in "abcd"]
    result = explore(_world(None), actions, observers=[listener])
    assert result.transitions == 32
    assert 2 <= len(heard) <= 6, len(heard)


def test_a_state_is_checkpointed_so_its_other_moves_do_not_replay_its_path() -> None:
    ran: list[str] = []

    def first(api: object, ctx: ExecutionContext) -> None:
        ran.append("first")
        ctx["first"] = True

    actions = [
        Action("first", first, requires=lambda ctx: "first" not in ctx),
        Action("x", lambda api, ctx: ctx.update(x=1), requires=lambda ctx: len(ctx) == 1),
        Action("y", lambda api, ctx: ctx.update(y=1), requires=lambda ctx: len(ctx) == 1),
    ]
    result = explore(_world(None), actions, learn=False)

    assert result.states == 4
    assert ran == ["first"]  # x and y were fired from a checkpoint of its state, not a replay


def test_without_learning_the_graph_node_is_still_part_of_the_state() -> None:
    def nothing(api: Client, ctx: ExecutionContext) -> None:
        return None

    graph = StateGraph(name="walk")
    for node in ("start", "middle", "end"):
        graph.add_node(node)
    graph.add_edge("start", "middle", nothing, name="on")
    graph.add_edge("middle", "end", nothing, name="further")
    result = explore_graph(World(NO_API, {}), graph, learn=False)

    assert result.states == 3  # the same (empty) data in three nodes


def test_learning_stops_after_so_many_restarts_and_what_differs_is_then_a_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A value that is volatile under a new name on every pass would restart the search for
    ever: after ``_MAX_PASSES`` passes nothing more is learned (from a replay, from a
    calibration or by its form) and the differences are reported as nondeterminism."""
    passes = [0]
    begin_pass = _engine.Engine._begin_pass

    def counting(engine: _engine.Engine) -> object:
        passes[0] += 1
        return begin_pass(engine)

    monkeypatch.setattr(_engine.Engine, "_begin_pass", counting)
    epoch = itertools.count()
    now = [0]
    stamp = datetime.now(UTC).isoformat()  # gives itself away as a clock reading

    def stamp_a(api: object, ctx: ExecutionContext) -> None:
        ctx[f"a{passes[0]}"] = f"v{now[0]}"  # changes only on replay, after b
        if passes[0] > _engine._MAX_PASSES:
            ctx["seen_at"] = stamp

    def tick(api: object, ctx: ExecutionContext) -> None:
        now[0] = next(epoch)
        ctx["b"] = 1

    counts = itertools.count()

    def count(api: object, ctx: ExecutionContext) -> None:  # differs between any two runs
        ctx["c"] = next(counts)

    actions = [
        Action("a", stamp_a, requires=lambda ctx: not any(key[0] == "a" for key in ctx)),
        Action("b", tick, requires=lambda ctx: "b" not in ctx),
        Action("c", count, requires=lambda ctx: passes[0] > _engine._MAX_PASSES and "c" not in ctx),
    ]
    result = explore(_world(None), actions)

    assert result.restarts == _engine._MAX_PASSES
    assert [rule.spec for rule in result.volatile] == [
        f"a{n}" for n in range(1, _engine._MAX_PASSES + 1)
    ]
    calibrated, replayed = sorted(result.violations, key=lambda finding: finding.message)
    assert {replayed.kind, calibrated.kind} == {FindingKind.NONDETERMINISM}
    last = f"a{_engine._MAX_PASSES + 1}"
    assert replayed.message.startswith("the path ['a'] reached different states on two runs: ")
    assert f"{last} is " in replayed.message
    assert calibrated.message.startswith("action 'c' ")  # its two runs differed: not learned
