"""The checkpoint trail: moving the world to any explored state under stack-like store tokens.

Store tokens behave like a stack (rolling back to a token invalidates every later one), so the
explorer cannot keep a checkpoint per state. The trail keeps checkpoints along one chain of
states from the root. ``goto(hops)`` rolls back to the deepest checkpoint on the way to the
target, releasing the ones beyond it, then *replays* the remaining moves (checkpointing after
each), and checks that the replay reached the state it reached the first time.

A hop is ``(move index, state key reached)``; a tuple of hops is a path from the root. A
checkpoint at depth ``d`` lies on the way to a target when the target's hop ``d`` reached the
same state key: equal keys mean equal (abstract) states, whatever path led there.

A trail given no keyer (a parallel worker's) does not check replays: ``goto`` returns the view
the replay ended in, for the engine to check when it takes the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from venomqa.evaluation import run_action
from venomqa.explorer._moves import Move, node_after
from venomqa.explorer.search import Hops
from venomqa.state.view import WorldView
from venomqa.world import World, WorldCheckpoint

#: Keys the world where it is now (in graph node ``node``): (state key, view).
Keyer = Callable[[str | None], tuple[str, WorldView]]


class ReplayMismatch(Exception):
    """A replay reached another state than the first time (the world is where it went)."""

    def __init__(
        self,
        hops: Hops,
        depth: int,
        expected: str,
        reached: str,
        view: WorldView,
        errors: Sequence[str] = (),
    ):
        super().__init__(f"replay of {len(hops)} hops reached {reached}, expected {expected}")
        self.hops = hops
        self.depth = depth
        self.expected = expected
        self.reached = reached
        self.view = view
        #: What the replayed actions raised (``name raised Type: message``), if any did.
        self.errors = list(errors)


@dataclass(slots=True)
class Replay:
    """Where an unchecked replay ended: the view there, and what replayed actions raised."""

    view: WorldView
    errors: list[str]


@dataclass(slots=True)
class _Entry:
    depth: int
    key: str
    node: str | None
    checkpoint: WorldCheckpoint


class Trail:
    """Checkpoints along one chain of states from the root, plus where the world is now:
    ``at_depth``/``at_key``/``at_node`` (``at_key`` None when unknown, e.g. after a shrink)."""

    def __init__(
        self,
        world: World,
        moves: Sequence[Move],
        root: WorldCheckpoint,
        root_key: str,
        root_node: str | None,
        keyer: Keyer | None,
    ) -> None:
        self.world = world
        self.moves = moves
        self.keyer = keyer
        self.entries: list[_Entry] = [_Entry(0, root_key, root_node, root)]
        self.at_depth = 0
        self.at_key: str | None = root_key
        self.at_node = root_node
        #: Moves executed to reach states again (a cost, counted for reports).
        self.replayed = 0

    def arrive(self, depth: int, key: str, node: str | None) -> None:
        """The world has moved (an action ran) to the state ``key``, ``depth`` hops deep."""
        self.at_depth = depth
        self.at_key = key
        self.at_node = node

    def lose(self) -> None:
        """The world has moved somewhere the trail does not know."""
        self.at_key = None

    def _on_the_way(self, depth: int, key: str | None, hops: Hops) -> bool:
        if depth == 0:
            return key == self.entries[0].key
        return depth <= len(hops) and hops[depth - 1][1] == key

    def goto(self, hops: Hops, *, anchor: bool = True) -> Replay | None:
        """Put the world in the state ``hops`` leads to; with ``anchor``, with a checkpoint of
        it on top of the trail.

        Every replayed step is checkpointed, so later targets sharing the way replay less; the
        state is verified where the replay ends (a replay that went astray on the way almost
        never finds its way back to the recorded state). Raises ReplayMismatch when it does
        not reach the recorded state; the checkpoints that replay took are dropped then. A trail
        without a keyer returns where a replay ended instead (None when nothing was replayed).
        """
        entries = self.entries
        world = self.world
        while len(entries) > 1:
            top = entries[-1]
            if self._on_the_way(top.depth, top.key, hops):
                break
            entries.pop()
            world.release(top.checkpoint)
        base = entries[-1]
        target = len(hops)
        if (
            self.at_key is not None
            and base.depth <= self.at_depth <= target
            and self._on_the_way(self.at_depth, self.at_key, hops)
        ):
            start, node = self.at_depth, self.at_node  # already on the way: continue from here
        else:
            world.rollback(base.checkpoint)
            start, node = base.depth, base.node
        if start == target:
            self.arrive(target, base.key if target == base.depth else hops[-1][1], node)
            if anchor:
                self.anchor()
            return None
        self.lose()
        kept = len(entries)
        errors: list[str] = []
        replay: Replay | None = None
        for position in range(start, target):
            index, expected = hops[position]
            move = self.moves[index]
            executed = run_action(world, move.name, move.run)
            if executed.step.error is not None:
                errors.append(f"on the replay, {move.name} raised {executed.step.error}")
            self.replayed += 1
            node = node_after(move, node)
            depth = position + 1
            if depth == target:
                if self.keyer is None:
                    replay = Replay(world.view(), errors)
                else:
                    reached, view = self.keyer(node)
                    if reached != expected:
                        self._drop_above(kept)
                        raise ReplayMismatch(hops, depth, expected, reached, view, errors)
            if anchor or depth < target:
                entries.append(_Entry(depth, expected, node, world.checkpoint()))
        self.arrive(target, hops[-1][1], node)
        return replay if self.keyer is None else None

    def anchor(self) -> None:
        """Checkpoint the current state on top of the trail unless it is there already. Only
        right after ``goto`` (the world is at the end of the path gone to)."""
        if self.at_key is None:
            raise RuntimeError("the trail does not know where the world is")
        if self.entries[-1].depth != self.at_depth:
            self.entries.append(
                _Entry(self.at_depth, self.at_key, self.at_node, self.world.checkpoint())
            )

    def rewind(self) -> None:
        """Roll the world back to the checkpoint on top of the trail (taken by ``anchor``)."""
        top = self.entries[-1]
        self.world.rollback(top.checkpoint)
        self.arrive(top.depth, top.key, top.node)

    def _drop_above(self, kept: int) -> None:
        while len(self.entries) > kept:
            self.world.release(self.entries.pop().checkpoint)

    def release_above_root(self) -> None:
        """Release every checkpoint but the root."""
        self._drop_above(1)

    def rollback_to_root(self) -> None:
        """Release every checkpoint but the root and roll the world back to the root."""
        self._drop_above(1)
        root = self.entries[0]
        self.world.rollback(root.checkpoint)
        self.arrive(0, root.key, root.node)

    def restart(self, root_key: str) -> None:
        """Back at the root, now known by ``root_key`` (the state abstraction changed)."""
        self.rollback_to_root()
        self.entries[0].key = root_key
        self.arrive(0, root_key, self.entries[0].node)
