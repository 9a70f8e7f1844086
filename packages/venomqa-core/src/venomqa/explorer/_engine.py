"""The engine: fires moves for a strategy, keys states, checks rules, reports findings.

A state is identified by its *abstract* key (see ``venomqa.state``): every store's changed
records and the context, with volatile fields left out, prefixed by the graph node when a
StateGraph is explored. Each distinct state is recorded once with the route that first reached
it; invariants run in the initial state and after every action; an action that raises or gets
a 5xx is a finding, never a crash. The work in the world (moving it between states with a
checkpoint trail, running actions, evaluating the rules) is an executor's (``_executor``): the
engine's own world, or one world per parallel worker; the engine decides and judges, so one
world and several give the same states, paths and findings.

Learning volatile fields (unless ``learn=False``):

- *Calibration*: the first time a move is fired (until it has changed something, at most three
  times) it runs twice from the same state with a rollback between; fields that differ are
  learned (``venomqa.state.explain``), what no field explains is a nondeterminism finding.
- *Telltale values* (clock readings, salted hashes, JWTs) are learned as they are met.
- *Replays*: when going back to a state replays its route and reaches another key, the two
  views are compared the same way.

A rule learned after states it concerns were keyed makes those keys stale: the search starts
over (a new *pass*, same strategy, findings kept) under the new rules. Each rule can do that
once, so passes are few; calibration makes most of them unnecessary.
"""

from __future__ import annotations

import random
import time
from array import array
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from functools import partial
from signal import SIGINT

from venomqa.errors import InfrastructureError, RollbackDriftError
from venomqa.explorer._executor import Executor
from venomqa.explorer._findings import (
    Finding,
    Findings,
    action_error_finding,
    invariant_finding,
    node_check_finding,
    nondeterminism_finding,
    precondition_finding,
    rollback_drift_violation,
    server_error_finding,
)
from venomqa.explorer._moves import Move, state_key
from venomqa.explorer._shrink import shrink_path
from venomqa.explorer._trail import ReplayMismatch
from venomqa.explorer._work import Fired, FireTask, Judged
from venomqa.explorer.options import ExploreOptions
from venomqa.explorer.search import Arrival, Hops, Route, State, Steps, Strategy
from venomqa.interrupts import signal_name
from venomqa.models.actions import Invariant
from venomqa.models.graph import NodeChecker
from venomqa.models.results import (
    ExplorationResult,
    Progress,
    StateEdge,
    StateOrigin,
    StepRecord,
    StopReason,
    VolatileFieldInfo,
)
from venomqa.ports.reporter import notify
from venomqa.state import CONTEXT, Normalizer, VolatileRules, WorldView, explain
from venomqa.state.changes import describe_changes
from venomqa.state.rules import split_spec

_PROGRESS_INTERVAL_S = 0.1
#: Firings of a move that calibrate it at most, until one of them changes something.
_CALIBRATIONS = 3
#: Passes after which learning stops (each pass needs a new rule, so this is a safety net).
_MAX_PASSES = 25


#: A path run again from the root: its steps, the finding's message, the state key reached.
_Reproduction = tuple[tuple[StepRecord, ...], str, str]


class _Stop(Exception):
    """Ends the search early; ``reason`` becomes the result's stop_reason."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason = reason


class _Restart(Exception):
    """A rule was learned that changes keys already given out: start the search over."""


class Engine:
    """One exploration with ``moves`` through ``executor``; build it, call ``run()`` once.
    ``stores_declared``: whether the worlds have stores (a nondeterminism finding's hint)."""

    def __init__(
        self,
        executor: Executor,
        moves: Sequence[Move],
        invariants: Sequence[Invariant],
        options: ExploreOptions,
        strategy: type[Strategy],
        *,
        stores_declared: bool,
        observers: Sequence[object] = (),
        root_node: str | None = None,
        root_checker: NodeChecker | None = None,
    ) -> None:
        self.executor = executor
        self._stores_declared = stores_declared
        self.moves = list(moves)
        self.invariants = list(invariants)
        self.options = options
        self.strategy = strategy
        self.root_node = root_node
        self._root_checker = root_checker
        self._observers = list(observers)
        self.rules = VolatileRules.declared(options.ignore, options.ignore_context)
        self._learning = options.learn
        self.normalizer = Normalizer(self.rules, clues=options.learn)
        self.findings = Findings(self._observers)
        self._root: State | None = None
        self._states: dict[str, State] = {}
        #: Transitions fired, in order: source state, move, target state, in three columns of
        #: 4-byte numbers (states numbered in ``_keys``); repeats are dropped at the end.
        self._edges = (array("I"), array("I"), array("I"))
        self._numbers: dict[str, int] = {}
        self._keys: list[str] = []
        self.fired = [0] * len(self.moves)
        self.ever_enabled: set[int] = set()
        self.transitions = 0
        self.passes = 0
        self.max_depth_reached = 0
        self._fired_total = 0
        self._touched: set[tuple[str, str]] = set()
        self._context_keys: set[str] = set()
        self._calibrations = [0 if options.learn else _CALIBRATIONS] * len(self.moves)
        #: Fires planned and not fired yet (whether each calibrates), calibrating ones per move.
        self._planned: dict[tuple[Hops, int], bool] = {}
        self._calibrating_ahead = [0] * len(self.moves)
        self._rng = random.Random(options.seed)
        self._frontier = 0
        self._depth_now = 0
        #: The Ctrl-C (or signal) that stopped the search, if one did.
        self.interruption: KeyboardInterrupt | None = None
        #: The failure of the API or a store that stopped the search, if one did.
        self.failure: InfrastructureError | None = None
        self._start = 0.0
        self._deadline: float | None = None
        self._next_progress = 0.0

    # -- what strategies see (venomqa.explorer.search.Search) ---------------------------------

    @property
    def root(self) -> State:
        if self._root is None:
            raise RuntimeError("the exploration has not started")
        return self._root

    @property
    def states(self) -> Mapping[str, State]:
        return self._states

    @property
    def max_depth(self) -> int:
        return self.options.max_depth

    @property
    def rng(self) -> random.Random:
        return self._rng

    def progress(self, frontier: int, depth: int) -> None:
        self._frontier = frontier
        self._depth_now = depth

    def plan(self, fires: Sequence[tuple[State, int]]) -> None:
        """The strategy will fire these moves from these states next, in this order."""
        if not self.executor.plans_ahead:
            return
        calibrations, ahead, planned = self._calibrations, self._calibrating_ahead, self._planned
        tasks: list[FireTask] = []
        last: State | None = None
        hops: Hops = ()
        for state, index in fires:
            if state is not last:  # a state's fires come together: its path is built once
                last, hops = state, state.route.hops
            if (hops, index) in planned:
                continue
            # the first fires of a move calibrate: as many as are still to come, counting those
            # planned already, so a planned fire calibrates exactly when it will have to
            calibrate = calibrations[index] + ahead[index] < _CALIBRATIONS
            planned[(hops, index)] = calibrate
            ahead[index] += calibrate
            tasks.append(FireTask(hops, index, state.node, calibrate))
        self.executor.plan(tasks)

    def release_checkpoints(self) -> None:
        """Release every checkpoint the search took (not the roots, which the callers own)."""
        self.executor.release()

    # -- driving ------------------------------------------------------------------------------

    def run(self) -> ExplorationResult:
        """Explore until exhausted or a limit is hit; the world is left wherever the search ended
        (the caller rolls it back to the root)."""
        options = self.options
        self._start = time.perf_counter()
        self._next_progress = self._start + _PROGRESS_INTERVAL_S
        if options.time_budget_s is not None:
            self._deadline = self._start + options.time_budget_s
        while True:
            try:
                self._begin_pass()
                stop_reason = self.strategy().search(self)
                break
            except _Restart:  # a new volatile field made keys stale: search again
                if self.passes >= _MAX_PASSES:
                    self._learning = False
                    self.normalizer.clues = False
            except _Stop as stop:
                stop_reason = stop.reason
                break
            except KeyboardInterrupt as interrupt:  # Ctrl-C or a signal: keep what was found
                stop_reason = StopReason.INTERRUPTED
                self.interruption = interrupt
                break
            except InfrastructureError as failure:  # the API or a store failed: keep them too
                stop_reason = StopReason.ABORTED
                self.failure = failure
                break
        self.executor.drop_plans()
        result = self._result(stop_reason)
        if self.interruption is not None:
            result.stop_detail = signal_name(getattr(self.interruption, "signum", SIGINT))
        elif self.failure is not None:
            result.stop_detail = str(self.failure) or type(self.failure).__name__
            if isinstance(self.failure, RollbackDriftError):
                result.violations.insert(0, rollback_drift_violation(self.failure))
        notify(self._observers, "on_progress", self._progress())
        return result

    def _begin_pass(self) -> State:
        """Key the initial state (again, after a restart) and check it."""
        self.passes += 1
        self.executor.drop_plans()
        self._planned.clear()
        self._calibrating_ahead = [0] * len(self.moves)
        self._states.clear()
        for column in self._edges:
            del column[:]
        self._numbers.clear()
        self._keys.clear()
        self._touched.clear()
        self._context_keys.clear()
        self.fired = [0] * len(self.moves)
        self.transitions = 0
        self.max_depth_reached = 0
        self._rng = random.Random(self.options.seed)
        self._root = None
        if self.passes > 1:
            self.findings.begin_pass()
        view, judged = self.executor.at_root()
        key = self._key_of(view, self.root_node)
        self.executor.start(key, self._key_of)
        root = State(key=key, node=self.root_node, route=Route(), view=view)
        self._states[key] = root
        self._root = root
        findings = self._analyse(root, judged)
        checker = self._root_checker
        if checker is not None and self.root_node is not None and judged.node_message is not None:
            findings.append(
                node_check_finding(
                    "the initial state", self.root_node, checker, judged.node_message, None
                )
            )
        if judged.failed:
            root.violated = frozenset(self.invariants[i].name for i, _ in judged.failed)
            findings.extend(self._invariant_findings(judged))
        if findings:
            self._report(findings, root.route, key)
        return root

    # -- firing -------------------------------------------------------------------------------

    def fire(
        self, source: State, route: Route, index: int, *, anchor: bool = True
    ) -> Arrival | None:
        """Fire move ``index`` in ``source`` (see ``Search.fire``)."""
        self._check_limits()
        calibrate = self._calibrations[index] < _CALIBRATIONS
        hops = route.hops
        if self._planned and self._planned.pop((hops, index), False):
            self._calibrating_ahead[index] -= 1
        try:
            fired = self.executor.fire(FireTask(hops, index, source.node, calibrate, anchor))
        except ReplayMismatch as mismatch:
            self._replay_mismatch(source, mismatch, None)
            return None
        if fired.replay_view is not None and self._went_astray(source, route, fired):
            return None
        move = self.moves[index]
        executed, view, node = fired.executed, fired.view, fired.node
        if calibrate:
            key = self._learn_from_calibration(source, route, index, fired)
        else:
            key = self._key_of(view, node)
        self.transitions += 1
        self._fired_total += 1
        self.fired[index] += 1
        executed.step.changed = describe_changes(source.view, view)  # for reports, short
        new_route = route.then(index, key, executed.step)
        self.executor.arrived(len(new_route), key, node)

        state = self._states.get(key)
        is_new = state is None
        findings: list[Finding] = []
        if state is not None:
            key = state.key  # one string per state, however many edges lead to it
        else:
            if len(self._states) >= self.options.max_states:
                raise _Stop(StopReason.MAX_STATES)
            state = State(key=key, node=node, route=new_route, view=view)
            self._states[key] = state
            self.max_depth_reached = max(self.max_depth_reached, len(new_route))
            findings = self._analyse(state, fired.judged)
        sources, indexes, targets = self._edges
        sources.append(self._number(source.key))
        indexes.append(index)
        targets.append(self._number(key))

        judged = fired.judged
        if executed.error_type is not None:
            findings.append(action_error_finding(move, index, executed))
        elif self.options.check_server_errors and fired.server_status is not None:
            findings.append(server_error_finding(move, index, executed, fired.server_status))
        message = judged.node_message
        if move.to_node is not None and move.to_checker is not None and message is not None:
            edge = f"edge {move.name!r} ({move.from_node} -> {move.to_node})"
            findings.append(node_check_finding(edge, move.to_node, move.to_checker, message, index))
        if judged.failed:
            if is_new:
                state.violated = frozenset(self.invariants[i].name for i, _ in judged.failed)
            findings.extend(self._invariant_findings(judged))
        if findings:
            self._report(findings, new_route, key)
        return Arrival(state, is_new, new_route)

    def _check_limits(self) -> None:
        options = self.options
        if options.max_transitions is not None and self._fired_total >= options.max_transitions:
            raise _Stop(StopReason.MAX_TRANSITIONS)
        now = time.perf_counter()
        if self._deadline is not None and now >= self._deadline:
            raise _Stop(StopReason.TIME_BUDGET)
        if now >= self._next_progress:
            self._next_progress = now + _PROGRESS_INTERVAL_S
            notify(self._observers, "on_progress", self._progress())

    def _analyse(self, state: State, judged: Judged) -> list[Finding]:
        """Record which moves are enabled in a new state; preconditions that raised."""
        state.enabled = judged.enabled
        self.ever_enabled.update(judged.enabled)
        return [precondition_finding(self.moves[i], exc) for i, exc in judged.precondition_errors]

    def _invariant_findings(self, judged: Judged) -> list[Finding]:
        return [invariant_finding(self.invariants[i], failure) for i, failure in judged.failed]

    # -- keys and learning --------------------------------------------------------------------

    def _key_of(self, view: WorldView, node: str | None) -> str:
        known = len(self.rules.rules)
        key = state_key(self.normalizer.key(view), node)
        if len(self.rules.rules) != known:
            self._check_learned(known)
        for store, part in view.stores.items():
            if not isinstance(part, str):
                self._touched.update((store, change.collection) for change in part)
        self._context_keys.update(view.context)
        return key

    def _check_learned(self, known: int) -> None:
        """Start over if a rule added since ``known`` concerns states keyed already."""
        for rule in self.rules.rules[known:]:
            if rule.store == CONTEXT:
                hit = any(fnmatchcase(key, rule.spec) for key in self._context_keys)
            else:
                collection, _ = split_spec(rule.spec)
                hit = any(
                    store == rule.store and fnmatchcase(touched, collection)
                    for store, touched in self._touched
                )
            if hit and self._learning:
                raise _Restart()

    def _learn_from_calibration(self, source: State, route: Route, index: int, fired: Fired) -> str:
        """Learn from the difference between the two runs of a calibrated fire (the second is
        the transition); the key of the state it reached."""
        first, first_view = fired.first, fired.first_view
        if first is None or first_view is None:
            raise RuntimeError("a calibrating fire came back without its first run")
        move, second, view = self.moves[index], fired.executed, fired.view
        known = len(self.rules.rules)
        explanation = explain(
            self.normalizer,
            first_view,
            view,
            f"differed between two runs of {move.name!r}",
            learn=self._learning,
        )
        if len(self.rules.rules) != known:
            self._check_learned(known)
        key = self._key_of(view, fired.node)
        if explanation.unexplained:
            self._calibrations[index] = _CALIBRATIONS
            steps = (*route.steps, first.step)
            raised = [
                f"run {n} raised {run.step.error}"
                for n, run in ((1, first), (2, second))
                if run.step.error is not None and first.step.error != second.step.error
            ]
            finding = nondeterminism_finding(
                f"action {move.name!r}",
                [*raised, *explanation.unexplained],
                stores_declared=self._stores_declared,
            )
            self._report([finding], route, source.key, shrink=False, steps=steps)
        elif key != source.key:
            self._calibrations[index] = _CALIBRATIONS
        else:
            self._calibrations[index] += 1
        return key

    def _went_astray(self, source: State, route: Route, fired: Fired) -> bool:
        """Check where a worker's replay to ``source`` ended; report it when that is another
        state (True: the fire is void)."""
        view = fired.replay_view
        assert view is not None
        expected = route.hops[-1][1]
        reached = self._key_of(view, source.node)
        if reached == expected:
            return False
        hops = route.hops
        mismatch = ReplayMismatch(hops, len(hops), expected, reached, view, fired.replay_errors)
        self._replay_mismatch(source, mismatch, fired)
        return True

    def _replay_mismatch(
        self, source: State, mismatch: ReplayMismatch, fired: Fired | None
    ) -> None:
        """Going back to ``source`` reached another state: learn why, or report it."""
        self.executor.forget(fired)
        names = [self.moves[index].name for index, _ in mismatch.hops]
        known = len(self.rules.rules)
        explanation = explain(
            self.normalizer,
            source.view,
            mismatch.view,
            f"differed on replaying {names}",
            learn=self._learning,
        )
        if len(self.rules.rules) != known and self._learning:
            raise _Restart()
        differences = [*mismatch.errors, *explanation.unexplained]
        source.unreachable = True
        finding = nondeterminism_finding(
            f"the path {names}", differences, stores_declared=self._stores_declared
        )
        self._report([finding], source.route, source.key, shrink=False)

    # -- findings -----------------------------------------------------------------------------

    def _report(
        self,
        findings: list[Finding],
        route: Route,
        key: str,
        *,
        shrink: bool = True,
        steps: Steps | None = None,
    ) -> None:
        """Record ``findings`` seen in state ``key`` reached along ``route`` (whose calls are
        ``steps`` when given: a calibration's first run ended elsewhere).

        The first (or a shorter) path to a problem is run again from the root in one go, so the
        requests reported are one coherent run: a route's steps come from the runs that first
        reached each state on it, and ids and tokens differ from run to run. Strategies without
        shortest paths shrink it at the same time.
        """
        shrinking = (
            shrink and self.options.shrink and not self.strategy.shortest_paths and len(route) > 1
        )
        for finding in findings:
            recorded = False
            if shrink and self.findings.improves(finding, len(route)):
                path = [index for index, _ in route.hops]
                best = self._shrink(finding, path) if shrinking else None
                if best is None:
                    best = self._reproduce(finding, path)
                if best is not None:
                    steps, message, state = best
                    recorded = self.findings.record(finding, state, steps, message)
            taken = route.steps if steps is None else steps
            new = self.findings.record(finding, key, taken, finding.message)
            if (new or recorded) and self.options.stop_on_first:
                raise _Stop(StopReason.STOP_ON_FIRST)

    def _shrink(self, finding: Finding, path: list[int]) -> _Reproduction | None:
        """Replay shorter versions of ``path`` from the root; the shortest that still shows the
        finding, or None when no step could be dropped."""
        reproduces = partial(self._reproduce, finding)
        _, payload = shrink_path(path, reproduces, keep_last=finding.final_move is not None)
        return payload

    def _reproduce(self, finding: Finding, path: list[int]) -> _Reproduction | None:
        """Run ``path`` from the root in one go: its steps, the finding's message and the state
        key when the finding shows again, else None (a precondition fails on the way, or the
        problem does not reproduce)."""
        reproduced = self.executor.reproduce(finding, path)
        if reproduced is None:
            return None
        key = self._key_of(reproduced.view, reproduced.node)
        return reproduced.steps, reproduced.message, key

    # -- output -------------------------------------------------------------------------------

    def _progress(self) -> Progress:
        return Progress(
            states=len(self._states),
            transitions=self.transitions,
            violations=len(self.findings),
            depth=self._depth_now,
            elapsed_s=time.perf_counter() - self._start,
            frontier=self._frontier,
        )

    def _number(self, key: str) -> int:
        number = self._numbers.get(key)
        if number is None:
            number = self._numbers[key] = len(self._keys)
            self._keys.append(key)
        return number

    def _state_edges(self) -> list[StateEdge]:
        """Each transition fired, once, in the order first fired."""
        keys, names, width = self._keys, [move.name for move in self.moves], len(self.moves)
        seen: set[int] = set()
        edges: list[StateEdge] = []
        for source, index, target in zip(*self._edges, strict=True):
            packed = (source * width + index) << 32 | target
            if packed not in seen:
                seen.add(packed)
                edges.append(StateEdge(keys[source], names[index], keys[target]))
        return edges

    def _result(self, stop_reason: StopReason) -> ExplorationResult:
        moves = self.moves
        actions: dict[str, int] = {}
        for move, count in zip(moves, self.fired, strict=True):
            actions[move.name] = actions.get(move.name, 0) + count
        enabled_names = {moves[i].name for i in self.ever_enabled}
        never_enabled = list(dict.fromkeys(m.name for m in moves if m.name not in enabled_names))
        return ExplorationResult(
            states=len(self._states),
            transitions=self.transitions,
            violations=self.findings.sorted(),
            actions=actions,
            never_enabled=never_enabled,
            duration_s=time.perf_counter() - self._start,
            strategy=self.strategy.name,
            stop_reason=stop_reason,
            max_depth_reached=self.max_depth_reached,
            initial_state=self._root.key if self._root is not None else None,
            state_edges=self._state_edges(),
            invariants=[inv.name for inv in self.invariants],
            calls=self.executor.calls(),
            restarts=self.passes - 1,
            volatile=[
                VolatileFieldInfo(rule.where, rule.spec, rule.reason, rule.declared)
                for rule in self.rules.rules
            ],
            origins={
                key: StateOrigin(state.route.steps[-1].action, tuple(state.route.steps[-1].changed))
                for key, state in self._states.items()
                if state.route.steps
            },
        )
