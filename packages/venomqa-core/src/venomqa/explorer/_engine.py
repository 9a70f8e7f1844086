"""The search engine: BFS, DFS and seeded random walks over the states of a World.

A state is identified by ``World.fingerprint()`` (every store plus the context), prefixed by the
graph node when a StateGraph is explored. Each distinct state is recorded once with the path that
first reached it; invariants run in the initial state and after every action; an action that
raises or gets a 5xx is a finding, never a crash. The world is moved between states with a
checkpoint trail (see ``_trail``) because store tokens behave like a stack.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from venomqa.errors import InfrastructureError
from venomqa.explorer._checks import (
    failed_invariants,
    invariant_failure,
    is_enabled,
    node_check_failure,
)
from venomqa.explorer._execute import Executed, describe_exception, execute, server_error_status
from venomqa.explorer._findings import Finding, Findings
from venomqa.explorer._moves import Move, node_after, state_key
from venomqa.explorer._options import (
    STOP_EXHAUSTED,
    STOP_MAX_DEPTH,
    STOP_MAX_STATES,
    STOP_MAX_TRANSITIONS,
    STOP_ON_FIRST,
    STOP_STALLED,
    STOP_TIME_BUDGET,
    ExploreOptions,
)
from venomqa.explorer._shrink import shrink_path
from venomqa.explorer._trail import Hops, Trail
from venomqa.models.actions import Invariant, Severity
from venomqa.models.results import (
    KIND_ACTION_ERROR,
    KIND_INVARIANT,
    KIND_NODE_CHECK,
    KIND_SERVER_ERROR,
    ExplorationResult,
    Progress,
    StateEdge,
    StepRecord,
    Violation,
)
from venomqa.ports.reporter import notify
from venomqa.world import World, WorldCheckpoint

Steps = tuple[StepRecord, ...]

_NEVER = sys.maxsize
_PROGRESS_INTERVAL_S = 0.1
#: Random walk: this many walks in a row without a new state or a first-time action end it.
_STALL_WALKS = 200
_NO_VIOLATIONS: frozenset[str] = frozenset()


@dataclass(slots=True, eq=False)
class _State:
    """A distinct state: its key, the graph node, and the first (shortest in BFS) path to it."""

    key: str
    node: str | None
    depth: int
    hops: Hops
    steps: Steps
    enabled: tuple[int, ...] = ()
    violated: frozenset[str] = _NO_VIOLATIONS
    expanded_at: int = _NEVER
    untried: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Frame:
    state: _State
    hops: Hops
    steps: Steps
    next: int = 0


class _Stop(Exception):
    """Ends the search early; ``reason`` becomes the result's stop_reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Engine:
    """One exploration of ``world`` with ``moves``; build it, call ``run()`` once."""

    def __init__(
        self,
        world: World,
        moves: Sequence[Move],
        invariants: Sequence[Invariant],
        options: ExploreOptions,
        root: WorldCheckpoint,
        *,
        root_node: str | None = None,
        root_checker: Callable[..., Any] | None = None,
    ) -> None:
        self.world = world
        self.moves = list(moves)
        self.invariants = list(invariants)
        self.options = options
        self.root_node = root_node
        self._root_checker = root_checker
        self._root_checkpoint = root
        self._trail: Trail | None = None
        self.findings = Findings(options.observers)
        self.states: dict[str, _State] = {}
        self.edges: dict[tuple[str, int, str], None] = {}
        self.fired = [0] * len(self.moves)
        self.ever_enabled: set[int] = set()
        self.transitions = 0
        self.max_depth_reached = 0
        self.frontier = 0
        self._depth_now = 0
        self._observers = list(options.observers)
        self._start = 0.0
        self._deadline: float | None = None
        self._next_progress = 0.0

    @property
    def trail(self) -> Trail:
        """The checkpoint trail (exists once the initial state has been fingerprinted)."""
        if self._trail is None:
            raise RuntimeError("the exploration has not started")
        return self._trail

    @property
    def started(self) -> bool:
        return self._trail is not None

    # ----------------------------------------------------------------------------- driving
    def run(self) -> ExplorationResult:
        """Explore until exhausted or a limit is hit; the world is left wherever the search ended
        (the caller rolls it back to the root)."""
        options = self.options
        self._start = time.perf_counter()
        self._next_progress = self._start + _PROGRESS_INTERVAL_S
        if options.time_budget_s is not None:
            self._deadline = self._start + options.time_budget_s
        try:
            root = self._initial_state()
            if options.strategy == "dfs":
                stop_reason = self._dfs(root)
            elif options.strategy == "random":
                stop_reason = self._random(root)
            else:
                stop_reason = self._bfs(root)
        except _Stop as stop:
            stop_reason = stop.reason
        result = self._result(stop_reason)
        notify(self._observers, "on_progress", self._progress())
        return result

    def _bfs(self, root: _State) -> str:
        max_depth = self.options.max_depth
        depth_cut = False
        queue: deque[_State] = deque()
        if max_depth > 0:
            queue.append(root)
        else:
            depth_cut = bool(root.enabled)
        while queue:
            state = queue.popleft()
            self._depth_now = state.depth
            hops, steps = state.hops, state.steps
            state.expanded_at = state.depth
            for index in state.enabled:
                self.frontier = len(queue)
                self.trail.goto(hops)
                child, is_new, _, _ = self._fire(state, hops, steps, index)
                if is_new:
                    if child.depth < max_depth:
                        queue.append(child)
                    elif child.enabled:
                        depth_cut = True
        return STOP_MAX_DEPTH if depth_cut else STOP_EXHAUSTED

    def _dfs(self, root: _State) -> str:
        """Depth first, each state expanded once. A state first met at the depth limit is
        expanded when it is met again closer to the root; states below an already expanded
        state may still be cut by the limit, so BFS is the complete search within max_depth."""
        max_depth = self.options.max_depth
        frames: list[_Frame] = []
        if max_depth > 0:
            root.expanded_at = 0
            frames.append(_Frame(root, (), ()))
        while frames:
            frame = frames[-1]
            enabled = frame.state.enabled
            if frame.next >= len(enabled):
                frames.pop()
                continue
            index = enabled[frame.next]
            frame.next += 1
            self.frontier = len(frames)
            self._depth_now = len(frame.hops)
            self.trail.goto(frame.hops)
            child, _, hops, steps = self._fire(frame.state, frame.hops, frame.steps, index)
            depth = len(hops)
            if depth < max_depth and child.expanded_at == _NEVER:
                child.expanded_at = depth
                frames.append(_Frame(child, hops, steps))
        cut = any(s.enabled and s.expanded_at == _NEVER for s in self.states.values())
        return STOP_MAX_DEPTH if cut else STOP_EXHAUSTED

    def _random(self, root: _State) -> str:
        """Seeded random walks from the root, preferring actions not yet tried in a state.

        Ends when every state within ``max_depth`` of the root has tried each enabled action.
        A state's depth is its distance from the root in the graph of transitions seen so far,
        which is exact once every state closer than ``max_depth`` has tried all its actions.
        """
        rng = random.Random(self.options.seed)
        max_depth = self.options.max_depth
        successors: dict[str, set[str]] = {}
        states = self.states
        open_pairs = 0

        def relax(start: _State, depth: int) -> None:
            nonlocal open_pairs
            pending: deque[tuple[_State, int]] = deque([(start, depth)])
            while pending:
                state, distance = pending.popleft()
                if distance >= state.depth:
                    continue
                if state.depth >= max_depth > distance:
                    open_pairs += len(state.untried)
                state.depth = distance
                for key in successors.get(state.key, ()):
                    pending.append((states[key], distance + 1))

        root.untried = set(root.enabled)
        root.depth = _NEVER
        relax(root, 0)
        idle_walks = 0
        while open_pairs > 0:
            if idle_walks >= _STALL_WALKS:
                return STOP_STALLED
            self.trail.goto(())
            state = root
            hops: Hops = ()
            steps: Steps = ()
            productive = False
            while len(hops) < max_depth and state.enabled:
                untried = state.untried
                choices = [i for i in state.enabled if i in untried] or state.enabled
                index = rng.choice(choices)
                if index in untried:
                    untried.discard(index)
                    productive = True
                    if state.depth < max_depth:
                        open_pairs -= 1
                self.frontier = open_pairs
                self._depth_now = len(hops)
                child, is_new, hops2, steps2 = self._fire(state, hops, steps, index)
                if is_new:
                    productive = True
                    child.untried = set(child.enabled)
                    child.depth = _NEVER
                targets = successors.setdefault(state.key, set())
                if child.key not in targets:
                    targets.add(child.key)
                    relax(child, state.depth + 1)
                if self.trail.at_key is None:
                    break  # a shrink replay moved the world; start a fresh walk
                state, hops, steps = child, hops2, steps2
            idle_walks = 0 if productive else idle_walks + 1
        cut = any(s.enabled and s.depth >= max_depth for s in states.values())
        return STOP_MAX_DEPTH if cut else STOP_EXHAUSTED

    # ------------------------------------------------------------------------- one step
    def _initial_state(self) -> _State:
        world = self.world
        key = state_key(world.fingerprint(), self.root_node)
        self._trail = Trail(world, self.moves, self._root_checkpoint, key, self.root_node)
        root = _State(key=key, node=self.root_node, depth=0, hops=(), steps=())
        self.states[key] = root
        findings = self._analyse(root)
        checker = self._root_checker
        if checker is not None and self.root_node is not None:
            message = node_check_failure(checker, self.root_node, world)
            if message is not None:
                findings.append(self._node_check_finding(None, self.root_node, message, key))
        failed = failed_invariants(world, self.invariants)
        if failed:
            root.violated = frozenset(inv.name for inv, _ in failed)
            findings.extend(self._invariant_finding(inv, msg, key) for inv, msg in failed)
        if findings:
            self._report(findings, (), ())
        return root

    def _fire(
        self, source: _State, hops: Hops, steps: Steps, index: int
    ) -> tuple[_State, bool, Hops, Steps]:
        """Fire move ``index`` in ``source`` (the world must be in it): record the transition,
        check everything, report findings. Returns the target state, whether it is new, and the
        path that reached it now."""
        options = self.options
        if options.max_transitions is not None and self.transitions >= options.max_transitions:
            raise _Stop(STOP_MAX_TRANSITIONS)
        now = time.perf_counter()
        if self._deadline is not None and now >= self._deadline:
            raise _Stop(STOP_TIME_BUDGET)
        if now >= self._next_progress:
            self._next_progress = now + _PROGRESS_INTERVAL_S
            notify(self._observers, "on_progress", self._progress())

        world = self.world
        move = self.moves[index]
        self.transitions += 1
        self.fired[index] += 1
        executed = execute(world, move)
        node = node_after(move, source.node)
        key = state_key(world.fingerprint(), node)
        new_hops = (*hops, (index, key))
        new_steps = (*steps, executed.step)
        self.trail.arrive(len(new_hops), key, node)

        state = self.states.get(key)
        is_new = state is None
        findings: list[Finding] = []
        if state is None:
            if len(self.states) >= options.max_states:
                raise _Stop(STOP_MAX_STATES)
            depth = len(new_hops)
            state = _State(key=key, node=node, depth=depth, hops=new_hops, steps=new_steps)
            self.states[key] = state
            if depth > self.max_depth_reached:
                self.max_depth_reached = depth
            findings = self._analyse(state)
        self.edges[(source.key, index, key)] = None

        if executed.error_type is not None:
            findings.append(self._action_error_finding(index, executed, key))
        elif options.check_server_errors:
            status = server_error_status(executed)
            if status is not None:
                findings.append(self._server_error_finding(index, executed, status, key))
        if move.to_node is not None and move.to_checker is not None:
            message = node_check_failure(move.to_checker, move.to_node, world)
            if message is not None:
                findings.append(self._node_check_finding(index, move.to_node, message, key))
        if self.invariants:
            failed = failed_invariants(world, self.invariants)
            if failed:
                if is_new:
                    state.violated = frozenset(inv.name for inv, _ in failed)
                inherited = source.violated
                findings.extend(
                    self._invariant_finding(inv, message, key)
                    for inv, message in failed
                    if inv.name not in inherited  # still violated since the source: same bug
                )
        if findings:
            self._report(findings, new_hops, new_steps)
        return state, is_new, new_hops, new_steps

    def _analyse(self, state: _State) -> list[Finding]:
        """Work out which moves are enabled in a new state (the world is in it)."""
        ctx = self.world.ctx
        node = state.node
        enabled: list[int] = []
        findings: list[Finding] = []
        for index, move in enumerate(self.moves):
            try:
                ok = is_enabled(move, ctx, node)
            except InfrastructureError:
                raise
            except Exception as exc:
                findings.append(self._precondition_finding(index, exc, state.key))
                continue
            if ok:
                enabled.append(index)
        state.enabled = tuple(enabled)
        self.ever_enabled.update(enabled)
        return findings

    # ---------------------------------------------------------------------------- findings
    def _report(self, findings: list[Finding], hops: Hops, steps: Steps) -> None:
        options = self.options
        for finding in findings:
            if not self.findings.first_time(finding.key):
                continue
            message, state = finding.message, finding.state
            if options.shrink and options.strategy != "bfs" and len(hops) > 1:
                shrunk = self._shrink(finding, [index for index, _ in hops])
                if shrunk is not None:
                    steps, message, state = shrunk
            violation = Violation(
                invariant=finding.name,
                severity=finding.severity,
                path=[step.action for step in steps],
                steps=list(steps),
                message=message,
                kind=finding.kind,
                state=state,
            )
            if self.findings.add(violation) and options.stop_on_first:
                raise _Stop(STOP_ON_FIRST)

    def _shrink(self, finding: Finding, path: list[int]) -> tuple[Steps, str, str] | None:
        """Replay shorter versions of ``path`` from the root; the shortest that still shows the
        finding, as (steps, message, state), or None when no step could be dropped."""
        world, trail, moves = self.world, self.trail, self.moves

        def reproduces(candidate: list[int]) -> tuple[Steps, str, str] | None:
            trail.goto(())
            node = self.root_node
            steps: list[StepRecord] = []
            last: Executed | None = None
            for index in candidate:
                move = moves[index]
                try:
                    if not is_enabled(move, world.ctx, node):
                        return None
                except InfrastructureError:
                    raise
                except Exception:
                    return None
                trail.lose()
                last = execute(world, move)
                steps.append(last.step)
                node = node_after(move, node)
            if finding.final_move is not None and (
                not candidate or candidate[-1] != finding.final_move
            ):
                return None
            message = finding.recheck(world, last)
            if message is None:
                return None
            return tuple(steps), message, state_key(world.fingerprint(), node)

        _, payload = shrink_path(path, reproduces, keep_last=finding.final_move is not None)
        return payload

    def _invariant_finding(self, inv: Invariant, message: str, key: str) -> Finding:
        return Finding(
            kind=KIND_INVARIANT,
            name=inv.name,
            severity=inv.severity,
            message=message,
            key=(KIND_INVARIANT, inv.name, key),
            state=key,
            recheck=lambda world, _last: invariant_failure(inv, world),
        )

    def _action_error_finding(self, index: int, executed: Executed, key: str) -> Finding:
        name = self.moves[index].name
        error_type = executed.error_type

        def recheck(_world: World, last: Executed | None) -> str | None:
            if last is None or last.error_type != error_type:
                return None
            return f"action {name!r} raised {last.step.error}"

        return Finding(
            kind=KIND_ACTION_ERROR,
            name="action_error",
            severity=Severity.HIGH,
            message=f"action {name!r} raised {executed.step.error}",
            key=(KIND_ACTION_ERROR, name, error_type),
            state=key,
            recheck=recheck,
            final_move=index,
        )

    def _server_error_finding(
        self, index: int, executed: Executed, status: int, key: str
    ) -> Finding:
        name = self.moves[index].name

        def describe(last: Executed) -> str:
            failing = next((r for r in last.step.requests if (r.response_status or 0) >= 500), None)
            where = f" from {failing.method} {failing.url}" if failing is not None else ""
            return f"action {name!r} got HTTP {status}{where}"

        def recheck(_world: World, last: Executed | None) -> str | None:
            if last is None or server_error_status(last) != status:
                return None
            return describe(last)

        return Finding(
            kind=KIND_SERVER_ERROR,
            name="server_error",
            severity=Severity.HIGH,
            message=describe(executed),
            key=(KIND_SERVER_ERROR, name, status),
            state=key,
            recheck=recheck,
            final_move=index,
        )

    def _node_check_finding(self, index: int | None, node: str, message: str, key: str) -> Finding:
        if index is None:
            edge = "the initial state"
            checker = self._root_checker
        else:
            move = self.moves[index]
            edge = f"edge {move.name!r} ({move.from_node} -> {move.to_node})"
            checker = move.to_checker

        def recheck(world: World, _last: Executed | None) -> str | None:
            if checker is None:
                return None
            detail = node_check_failure(checker, node, world)
            return None if detail is None else f"after {edge}: {detail}"

        return Finding(
            kind=KIND_NODE_CHECK,
            name="node_check",
            severity=Severity.HIGH,
            message=f"after {edge}: {message}",
            key=(KIND_NODE_CHECK, edge, node),
            state=key,
            recheck=recheck,
            final_move=index,
        )

    def _precondition_finding(self, index: int, exc: Exception, key: str) -> Finding:
        move = self.moves[index]
        error_type = type(exc).__name__

        def recheck(world: World, _last: Executed | None) -> str | None:
            try:
                is_enabled(move, world.ctx, move.from_node)
            except InfrastructureError:
                raise
            except Exception as again:
                if type(again).__name__ == error_type:
                    return (
                        f"precondition of action {move.name!r} raised {describe_exception(again)}"
                    )
            return None

        return Finding(
            kind=KIND_ACTION_ERROR,
            name="action_error",
            severity=Severity.HIGH,
            message=f"precondition of action {move.name!r} raised {describe_exception(exc)}",
            key=(KIND_ACTION_ERROR, move.name, f"precondition:{error_type}"),
            state=key,
            recheck=recheck,
        )

    # ------------------------------------------------------------------------------ output
    def _progress(self) -> Progress:
        return Progress(
            states=len(self.states),
            transitions=self.transitions,
            violations=len(self.findings),
            depth=self._depth_now,
            elapsed_s=time.perf_counter() - self._start,
            frontier=self.frontier,
        )

    def _result(self, stop_reason: str) -> ExplorationResult:
        moves = self.moves
        actions: dict[str, int] = {}
        for move, count in zip(moves, self.fired, strict=True):
            actions[move.name] = actions.get(move.name, 0) + count
        enabled_names = {moves[i].name for i in self.ever_enabled}
        never_enabled = list(dict.fromkeys(m.name for m in moves if m.name not in enabled_names))
        root = next(iter(self.states), None)
        return ExplorationResult(
            states=len(self.states),
            transitions=self.transitions,
            violations=self.findings.sorted(),
            actions=actions,
            never_enabled=never_enabled,
            duration_s=time.perf_counter() - self._start,
            strategy=self.options.strategy,
            stop_reason=stop_reason,
            max_depth_reached=self.max_depth_reached,
            initial_state=root,
            state_edges=[
                StateEdge(source=s, action=moves[i].name, target=t) for s, i, t in self.edges
            ],
            invariants=[inv.name for inv in self.invariants],
        )
