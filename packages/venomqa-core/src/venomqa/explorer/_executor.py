"""How the engine gets work done in worlds: the ``Executor`` protocol and the one-world executor.

The engine asks an executor to look at the root, fire a move from a state, or run a path again
from the root; the executor answers with plain data (``venomqa.explorer._work``). ``Inline``
does it at once in the engine's own world and thread: the plain ``explore()``. The executor of
parallel workers (``venomqa.explorer._parallel``) keeps one world per worker, starts the fires
a strategy announces (``plan``) ahead of time, and hands each outcome over when the engine asks
for it, in the engine's order, so the engine commits exactly what one world would have given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from venomqa.explorer._findings import Finding
from venomqa.explorer._work import Fired, FireTask, Judged, KeyOf, Reproduced, WorldRunner
from venomqa.state.view import WorldView


class Executor(Protocol):
    """What the engine needs done in worlds."""

    #: Whether the executor's trail checks replays with the engine's keyer itself (raising
    #: ReplayMismatch from ``fire``) rather than returning ``Fired.replay_view``.
    checks_replays: bool
    #: Whether ``plan`` is worth calling (it starts fires early).
    plans_ahead: bool

    def at_root(self) -> tuple[WorldView, Judged]:
        """Every world back at its root; the view of the root and what the rules say there."""
        ...

    def start(self, root_key: str, key_of: KeyOf) -> None:
        """The root is known as ``root_key`` (a new pass begins); ``key_of`` is the engine's
        keying, for executors that check replays in the engine's thread."""
        ...

    def plan(self, tasks: Sequence[FireTask]) -> None:
        """These fires will be asked for next, in this order (a hint; may be ignored)."""
        ...

    def fire(self, task: FireTask) -> Fired:
        """Fire the task's move from its source state."""
        ...

    def arrived(self, depth: int, key: str, node: str | None) -> None:
        """The last fire's state has been keyed."""
        ...

    def forget(self, fired: Fired | None) -> None:
        """A replay went astray (in the world that gave ``fired``, or the last one): drop what
        that world's trail holds beyond the root."""
        ...

    def reproduce(self, finding: Finding, path: Sequence[int]) -> Reproduced | None:
        """Run ``path`` from the root in one go (see ``WorldRunner.reproduce``)."""
        ...

    def drop_plans(self) -> None:
        """Forget every planned fire (the search starts over or stops)."""
        ...

    def calls(self) -> int:
        """Actions run so far in every world, replays included."""
        ...

    def release(self) -> None:
        """Release every checkpoint taken (not the roots, which the callers own)."""
        ...


class Inline:
    """The one-world executor: everything happens at once, in the engine's world."""

    checks_replays = True
    plans_ahead = False

    def __init__(self, runner: WorldRunner) -> None:
        self.runner = runner

    def at_root(self) -> tuple[WorldView, Judged]:
        return self.runner.at_root()

    def start(self, root_key: str, key_of: KeyOf) -> None:
        self.runner.start(root_key, key_of)

    def plan(self, tasks: Sequence[FireTask]) -> None:
        """Nothing to start early: the one world fires when asked."""

    def fire(self, task: FireTask) -> Fired:
        return self.runner.fire(task)

    def arrived(self, depth: int, key: str, node: str | None) -> None:
        self.runner.arrive(depth, key, node)

    def forget(self, fired: Fired | None) -> None:
        """Nothing: this world's trail checks its replays, and one that went astray has already
        dropped its checkpoints above where it started and forgotten where the world is."""

    def reproduce(self, finding: Finding, path: Sequence[int]) -> Reproduced | None:
        return self.runner.reproduce(finding, path)

    def drop_plans(self) -> None:
        """No plans are kept."""

    def calls(self) -> int:
        return self.runner.calls

    def release(self) -> None:
        self.runner.release()
