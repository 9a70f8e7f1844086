"""A rollback soak: many random checkpoints and rollbacks through a real API, each verified.

``soak_rollbacks(world, actions, rollbacks=1000)`` walks the API at random, as the explorer
does but without its bookkeeping: it fires enabled actions, checkpoints after each, and every
few steps rolls back to a random checkpoint on its stack (dropping the ones above it), with
``World.verify_rollback`` on, so each rollback is checked against what the stores held at that
checkpoint. A rollback that does not restore it raises ``RollbackDriftError`` naming the store
and the records that differ. It ends with the world rolled back to the start (and checked).

It is how an adapter's test suite shows its rollbacks are exact on real data written by a real
API: thousands of states, nested checkpoints, tokens reused after rollbacks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from venomqa.errors import UsageError
from venomqa.evaluation import run_action
from venomqa.models.actions import Action
from venomqa.world import World, WorldCheckpoint


@dataclass(frozen=True, slots=True)
class SoakResult:
    """What a soak did: rollbacks verified, actions fired (and how many raised), the deepest
    checkpoint stack."""

    rollbacks: int
    actions: int
    errors: int
    deepest: int


def soak_rollbacks(
    world: World,
    actions: Sequence[Action],
    *,
    rollbacks: int = 1000,
    max_depth: int = 6,
    seed: int = 0,
    manage_world: bool = True,
) -> SoakResult:
    """Fire random enabled ``actions`` and roll back to random checkpoints until ``rollbacks``
    verified rollbacks were made; raises RollbackDriftError at the first one that is not exact.
    """
    if not actions:
        raise UsageError("soak_rollbacks needs at least one action")
    rng = random.Random(seed)
    done = fired = errors = deepest = 0
    verifying, world.verify_rollback = world.verify_rollback, True
    try:
        with world.session(manage=manage_world) as start:
            stack: list[WorldCheckpoint] = [start]
            while done < rollbacks:
                enabled = [a for a in actions if a.is_enabled(world.ctx)]
                if enabled and len(stack) <= max_depth and rng.random() < 0.6:
                    action = rng.choice(enabled)
                    executed = run_action(world, action.name, action.fn)
                    fired += 1
                    errors += executed.error is not None
                    stack.append(world.checkpoint())
                    deepest = max(deepest, len(stack) - 1)
                    continue
                target = rng.randrange(len(stack))
                while len(stack) > target + 1:
                    world.release(stack.pop())
                world.rollback(stack[target])
                done += 1
            while len(stack) > 1:
                world.release(stack.pop())
    finally:
        world.verify_rollback = verifying
    return SoakResult(rollbacks=done, actions=fired, errors=errors, deepest=deepest)
