"""The checkpoint trail: moving the world to any explored state under stack-like store tokens.

Store tokens behave like a stack (rolling back to a token invalidates every later one), so the
explorer cannot keep a checkpoint per state. The trail keeps checkpoints along the current path
only. ``goto(hops)`` rolls back to the deepest checkpoint on the way to the target, releasing the
ones beyond it, then *replays* the remaining moves (checkpointing after each), and checks that
every replayed move reaches the state it reached the first time.

A hop is ``(move index, state key reached)``; a path of hops identifies a state and how to get
there from the root.
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
    hops: Hops
    node: str | None
    checkpoint: WorldCheckpoint


class Trail:
    """Checkpoints along one path from the root; ``at`` is the path the world is in now
    (None when unknown, e.g. after a shrinking replay)."""

    def __init__(
        self, world: World, moves: Sequence[Move], root: WorldCheckpoint, root_node: str | None
    ) -> None:
        self.world = world
        self.moves = moves
        self.entries: list[_Entry] = [_Entry((), root_node, root)]
        self.at: Hops | None = ()
        self.replayed = 0

    @property
    def root(self) -> WorldCheckpoint:
        return self.entries[0].checkpoint

    def goto(self, hops: Hops) -> None:
        """Put the world in the state ``hops`` leads to, with a checkpoint of it on top."""
        entries = self.entries
        world = self.world
        target_len = len(hops)
        while len(entries) > 1:
            top = entries[-1]
            size = len(top.hops)
            if size <= target_len and hops[:size] == top.hops:
                break
            entries.pop()
            world.release(top.checkpoint)
        base = entries[-1]
        at = self.at
        base_len = len(base.hops)
        if at is not None and base_len <= len(at) <= target_len and hops[: len(at)] == at:
            start = len(at)  # the world already stands on the way: continue from here
        else:
            world.rollback(base.checkpoint)
            start = base_len
        if start == target_len:
            if base_len != target_len:
                entries.append(_Entry(hops, self._node_of(hops, base), world.checkpoint()))
            self.at = hops
            return
        node = self._node_of(hops[:start], base)
        for position in range(start, target_len):
            index, expected = hops[position]
            move = self.moves[index]
            self.at = None
            execute(world, move)
            self.replayed += 1
            node = node_after(move, node)
            reached = state_key(world.fingerprint(), node)
            if reached != expected:
                names = [self.moves[i].name for i, _ in hops]
                raise NondeterminismError(
                    f"replaying the path {names} did not reach the state it reached before: "
                    f"after step {position + 1} ({move.name!r}) the state is {reached}, "
                    f"the first time it was {expected}. Something that shapes the API's state "
                    "is not rolled back (a store that is not declared, time-based values, an "
                    "external service) or the API is not deterministic."
                )
            entries.append(_Entry(hops[: position + 1], node, world.checkpoint()))
        self.at = hops

    def rollback_to_root(self) -> None:
        """Release every checkpoint but the root and roll the world back to the root."""
        while len(self.entries) > 1:
            self.world.release(self.entries.pop().checkpoint)
        self.world.rollback(self.root)
        self.at = ()

    def _node_of(self, hops: Hops, base: _Entry) -> str | None:
        node = base.node
        for index, _ in hops[len(base.hops) :]:
            node = node_after(self.moves[index], node)
        return node
