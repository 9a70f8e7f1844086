"""Checking a journey's structure before anything runs: every Branch must name a checkpoint that
is reachable at that point, so a typo fails fast instead of after half the journey has run.

Scoping (the runner follows the same rules):
- A Checkpoint is visible to the items after it in its own list and inside their paths.
- Inside a path, only the branch's own checkpoint and the checkpoints made in that path can be
  branched to: rolling back further would destroy the state the sibling paths start from.
- A Branch rolls back to its checkpoint, which invalidates every checkpoint taken after it;
  those names cannot be branched to afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from venomqa.errors import ActionDefinitionError
from venomqa.models.journey import Branch, Checkpoint, Journey, JourneyItem, Path, Step


def visible_after_branch(checkpoints: list[str], name: str) -> list[str]:
    """The checkpoints still valid after rolling back to ``name``: those up to and including it."""
    return checkpoints[: checkpoints.index(name) + 1]


def validate_journey(journey: Journey) -> None:
    """Raise ActionDefinitionError naming the journey and the problem when the structure cannot
    run (unknown checkpoint, a non-step item, a Branch without paths)."""
    _check_items(journey, journey.steps, [], where=journey.name)


def _check_items(
    journey: Journey, items: Sequence[JourneyItem], checkpoints: list[str], where: str
) -> list[str]:
    visible = list(checkpoints)
    for item in items:
        if isinstance(item, Step):
            if not callable(item.action):
                raise ActionDefinitionError(
                    f"journey {journey.name!r}: step {item.name!r} in {where} has an action "
                    f"that is not callable: {item.action!r}"
                )
        elif isinstance(item, Checkpoint):
            visible = [name for name in visible if name != item.name] + [item.name]
        elif isinstance(item, Branch):
            if item.checkpoint_name not in visible:
                known = ", ".join(repr(name) for name in visible) or "none"
                raise ActionDefinitionError(
                    f"journey {journey.name!r}: branch in {where} refers to checkpoint "
                    f"{item.checkpoint_name!r}, which is not defined before it (or was "
                    f"invalidated by an earlier rollback; inside a path only the branch's own "
                    f"checkpoint and the path's checkpoints count); available there: {known}"
                )
            visible = visible_after_branch(visible, item.checkpoint_name)
            for path in item.paths:
                _check_path(journey, path, [item.checkpoint_name], where)
        else:
            raise ActionDefinitionError(
                f"journey {journey.name!r}: {where} holds {item!r}; expected Step, Checkpoint "
                f"or Branch"
            )
    return visible


def _check_path(journey: Journey, path: Path, checkpoints: list[str], where: str) -> None:
    _check_items(journey, path.steps, checkpoints, where=f"{where} > path {path.name!r}")
