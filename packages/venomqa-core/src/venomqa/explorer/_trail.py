"""The checkpoint trail: moving the world to any explored state under stack-like store tokens.

Store tokens behave like a stack (rolling back to a token invalidates every later one), so the
explorer cannot keep a checkpoint per state. The trail keeps checkpoints along one chain of
states from the root. ``goto(hops)`` rolls back to the deepest checkpoint on the way to the
target, releasing the ones beyond it, then *replays* the remaining moves (checkpointing after
each), and checks that every replayed move reaches the state it reached the first time.

A hop is ``(move index, state key reached)``; a tuple of hops is a path from the root. A
checkpoint at depth ``d`` lies on the way to a target when the target's hop ``d`` reached the
same state key: equal keys mean equal states, whatever path led there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from venomqa.errors import NondeterminismError
from venomqa.explorer._execute import execute
from venomqa.explorer._moves import Move, node_after, state_key
from venomqa.world import World, WorldCheckpoint

Hop = tuple[int, str]
Hops = tuple[Hop, ...]


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
    ) -> None:
        self.world = world
        self.moves = moves
        self.entries: list[_Entry] = [_Entry(0, root_key, root_node, root)]
        self.at_depth = 0
        self.at_key: str | None = root_key
        self.at_node = root_node
        self.replayed = 0

    @property
    def root(self) -> WorldCheckpoint:
        return self.entries[0].checkpoint

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

    def goto(self, hops: Hops) -> None:
        """Put the world in the state ``hops`` leads to, with a checkpoint of it on top.

        Every replayed step is checkpointed, so later targets sharing the way replay less; the
        fingerprint is verified where the replay ends (a replay that went astray on the way
        almost never finds its way back to the recorded state).
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
            if base.depth != target:
                entries.append(_Entry(target, hops[-1][1], node, world.checkpoint()))
            self.arrive(target, base.key if target == base.depth else hops[-1][1], node)
            return
        self.lose()
        verified = start
        for position in range(start, target):
            index, expected = hops[position]
            move = self.moves[index]
            execute(world, move)
            self.replayed += 1
            node = node_after(move, node)
            depth = position + 1
            if depth == target:
                reached = state_key(world.fingerprint(), node)
                if reached != expected:
                    raise self._nondeterminism(hops, verified, depth, reached, expected)
            entries.append(_Entry(depth, expected, node, world.checkpoint()))
        self.arrive(target, hops[-1][1], node)

    def _nondeterminism(
        self, hops: Hops, verified: int, depth: int, reached: str, expected: str
    ) -> NondeterminismError:
        names = [self.moves[index].name for index, _ in hops]
        replayed = names[verified:depth]
        which = (
            f"step {depth} ({replayed[0]!r})"
            if len(replayed) == 1
            else f"steps {verified + 1}-{depth} ({', '.join(map(repr, replayed))})"
        )
        return NondeterminismError(
            f"replaying the path {names} did not reach the state it reached before: after "
            f"{which} the state is {reached}, the first time it was {expected}. Something that "
            "shapes the API's state is not rolled back (a store that is not declared, time-based "
            "values, an external service) or the API is not deterministic."
        )

    def rollback_to_root(self) -> None:
        """Release every checkpoint but the root and roll the world back to the root."""
        while len(self.entries) > 1:
            self.world.release(self.entries.pop().checkpoint)
        root = self.entries[0]
        self.world.rollback(root.checkpoint)
        self.arrive(0, root.key, root.node)
