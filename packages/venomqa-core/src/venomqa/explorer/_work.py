"""The world side of an exploration: what happens in one world when the engine fires a move.

The engine decides (which move, from which state, whether to calibrate) and judges (keys,
learning, findings); a ``WorldRunner`` does the work in one world and hands back plain data:
going to the source state (checkpoint trail), running the action (twice when calibrating),
the view after it, the invariants and node check that fail there, and which moves are enabled.
One exploration has one runner per world: one for a plain run, one per worker with
``--workers`` (each over its own copy of the stores and its own API process).

A runner's trail verifies replays itself when it is given the engine's keyer (one world: the
engine keys in the same thread, learning included). A worker's runner is not: it records the
view a replay ended in (``Fired.replay_view``) and the engine checks it when it commits the
outcome, so keys (and what they learn) are only ever computed by the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from venomqa.errors import InfrastructureError
from venomqa.evaluation import (
    Executed,
    Failure,
    Raised,
    check_invariant,
    node_check_failure,
    run_action,
    server_error_status,
)
from venomqa.explorer._findings import Finding
from venomqa.explorer._moves import Move, node_after
from venomqa.explorer._trail import Keyer, Trail
from venomqa.explorer.search import Hops
from venomqa.models.actions import Invariant
from venomqa.models.graph import NodeChecker
from venomqa.models.results import StepRecord
from venomqa.state.changes import describe_changes
from venomqa.state.view import WorldView
from venomqa.world import World, WorldCheckpoint

#: The engine's key of a view in a graph node.
KeyOf = Callable[[WorldView, str | None], str]


@dataclass(frozen=True, slots=True)
class FireTask:
    """Fire move ``index`` in the state ``hops`` leads to (graph node ``node``)."""

    hops: Hops
    index: int
    node: str | None
    #: Run it twice from the source (rolling back between) to learn what differs.
    calibrate: bool
    #: Keep a checkpoint of the source, so its other moves start from there cheaply.
    anchor: bool = True


@dataclass(slots=True)
class Judged:
    """What the rules say about the state a world is in: failing invariants (by index, with
    why), the graph node's checker message, enabled moves, preconditions that raised."""

    failed: list[tuple[int, Failure]] = field(default_factory=list)
    node_message: str | None = None
    enabled: tuple[int, ...] = ()
    precondition_errors: list[tuple[int, Raised]] = field(default_factory=list)


@dataclass(slots=True)
class Fired:
    """What firing a move did in one world."""

    #: The run that is the transition (the second one when calibrating).
    executed: Executed
    view: WorldView
    node: str | None
    judged: Judged
    server_status: int | None
    #: Calibration's first run and the view after it.
    first: Executed | None = None
    first_view: WorldView | None = None
    #: The view a replay ended in, for the engine to check (workers only; None when the world
    #: was rolled back to a checkpoint of the source, or its trail checked the replay itself).
    replay_view: WorldView | None = None
    #: What replayed actions raised on the way (``on the replay, NAME raised ...``).
    replay_errors: list[str] = field(default_factory=list)
    #: The number of the worker whose world fired it (0 with one world).
    worker: int = 0

    def portable(self) -> Fired:
        """This outcome as plain data that pickles (sent from a worker in another process)."""
        return replace(
            self,
            executed=self.executed.portable(),
            first=None if self.first is None else self.first.portable(),
        )


@dataclass(slots=True)
class Reproduced:
    """A path run again from the root: its steps, the finding's message and the last view."""

    steps: tuple[StepRecord, ...]
    message: str
    view: WorldView
    node: str | None


class WorldRunner:
    """Fires moves in one world (see the module docstring)."""

    def __init__(
        self,
        world: World,
        moves: Sequence[Move],
        invariants: Sequence[Invariant],
        root: WorldCheckpoint,
        root_node: str | None,
        *,
        root_checker: NodeChecker | None = None,
    ) -> None:
        self.world = world
        self.moves = list(moves)
        self.invariants = list(invariants)
        self.root = root
        self.root_node = root_node
        self.root_checker = root_checker
        self.trail: Trail | None = None
        #: Actions run, replays included (the engine adds them up).
        self.calls = 0

    def start(self, root_key: str, key_of: KeyOf | None) -> None:
        """Be at the root, known as ``root_key``; the trail checks replays with ``key_of`` (None:
        it records the view a replay ends in instead, for the engine to check)."""
        keyer: Keyer | None = None
        if key_of is not None:
            world = self.world

            def keyer(node: str | None) -> tuple[str, WorldView]:
                view = world.view()
                return key_of(view, node), view

        if self.trail is None:
            self.trail = Trail(self.world, self.moves, self.root, root_key, self.root_node, keyer)
        else:
            self.trail.restart(root_key)

    def at_root(self) -> tuple[WorldView, Judged]:
        """Roll back to the root (dropping every other checkpoint) and look at it."""
        if self.trail is not None:
            self.trail.rollback_to_root()
        view = self.world.view()
        return view, self.judge(self.root_node, self.root_checker)

    def fire(self, task: FireTask, *, keep_position: bool = True) -> Fired:
        """Go to the task's source and fire its move; raises ReplayMismatch when the trail
        checks replays and one went astray. Without ``keep_position`` the trail forgets where
        the world went (a worker's: the engine does not tell it the key)."""
        trail = self._trail()
        before = trail.replayed
        try:
            replay = trail.goto(task.hops, anchor=task.anchor or task.calibrate)
        finally:  # replays count, also those that went astray
            self.calls += trail.replayed - before
        world = self.world
        move = self.moves[task.index]
        first: Executed | None = None
        first_view: WorldView | None = None
        if task.calibrate:
            first = run_action(world, move.name, move.run)
            first_view = world.view()
            trail.rewind()
            self.calls += 1
        executed = run_action(world, move.name, move.run)
        self.calls += 1
        view = world.view()
        node = node_after(move, task.node)
        judged = self.judge(node, move.to_checker if move.to_node is not None else None)
        if not keep_position:
            trail.lose()
        return Fired(
            executed=executed,
            view=view,
            node=node,
            judged=judged,
            server_status=server_error_status(executed),
            first=first,
            first_view=first_view,
            replay_view=replay.view if replay is not None else None,
            replay_errors=replay.errors if replay is not None else [],
        )

    def arrive(self, depth: int, key: str, node: str | None) -> None:
        """The engine has keyed where the last fire went."""
        self._trail().arrive(depth, key, node)

    def forget(self) -> None:
        """Drop every checkpoint but the root (a replay of this world went astray)."""
        trail = self._trail()
        trail.release_above_root()
        trail.lose()

    def judge(self, node: str | None, checker: NodeChecker | None) -> Judged:
        """Evaluate invariants, the node checker and every precondition where the world is."""
        world = self.world
        judged = Judged()
        enabled: list[int] = []
        for index, move in enumerate(self.moves):
            try:
                if move.enabled(world.ctx, node):
                    enabled.append(index)
            except InfrastructureError:
                raise
            except Exception as exc:
                judged.precondition_errors.append((index, Raised.of(exc)))
        judged.enabled = tuple(enabled)
        if checker is not None and node is not None:
            judged.node_message = node_check_failure(checker, node, world)
        for position, inv in enumerate(self.invariants):
            failure = check_invariant(inv, world)
            if failure is not None:
                judged.failed.append((position, failure))
        return judged

    def reproduce(self, finding: Finding, path: Sequence[int]) -> Reproduced | None:
        """Run ``path`` from the root in one go: its steps, the finding's message and the last
        view when the finding shows again, else None (a precondition fails on the way, or the
        problem does not reproduce)."""
        world, trail, moves = self.world, self._trail(), self.moves
        trail.goto((), anchor=False)
        node = self.root_node
        steps: list[StepRecord] = []
        last: Executed | None = None
        before = world.view()  # each step reports what it changed (one view per step)
        for index in path:
            move = moves[index]
            try:
                if not move.enabled(world.ctx, node):
                    return None
            except InfrastructureError:
                raise
            except Exception:
                return None
            trail.lose()
            last = run_action(world, move.name, move.run)
            self.calls += 1
            after = world.view()
            last.step.changed = describe_changes(before, after)
            before = after
            steps.append(last.step)
            node = node_after(move, node)
        if finding.final_move is not None and (not path or path[-1] != finding.final_move):
            return None
        message = finding.recheck(world, last)
        if message is None:
            return None
        return Reproduced(tuple(steps), message, world.view(), node)

    def release(self) -> None:
        """Release every checkpoint the runner took (not the root, which its caller owns)."""
        if self.trail is not None:
            self.trail.release_above_root()

    def _trail(self) -> Trail:
        if self.trail is None:
            raise RuntimeError("the runner has not started")
        return self.trail
