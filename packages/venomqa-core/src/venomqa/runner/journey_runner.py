"""The journey runner: runs a Journey's steps, checkpoints and branches against a World.

How a journey runs (docs/journeys.md shows it from the user's side):

- Steps run in order (see ``venomqa.runner.steps`` for timeout, retries, ``expect_failure``); what
  a step returns is kept with ``ctx.set_step_result(step.name, value)``.
- Every invariant is checked after every step that ran. A violation's ``path`` is the names of
  the steps run so far on that line of execution (main line, then the path's steps). An invariant
  is reported once per line: the first step after which it fails; after a rollback to a
  checkpoint taken before it failed, it can be reported again.
- ``Checkpoint(name)`` saves every store and the context (``world.checkpoint()``) under ``name``.
- ``Branch(name, paths)``: for each path, roll every store and the context back to the checkpoint,
  then run the path's items (nested checkpoints and branches allowed). Each path becomes a
  PathResult (nested paths are named ``outer/inner``). After the branch the world is in the state
  the *last* path left, and the main line continues from there.
- A failing step stops its line: the rest of the main line (or of that path) does not run and is
  reported as skipped steps (``passed=False``, ``attempts=0``, error ``skipped: ...``), including
  the steps of branches it would have reached. A failing path does not stop its sibling paths.
- A store failure (checkpoint, rollback) is an infrastructure error and propagates.

``JourneyRunner.run`` uses the world as it finds it; ``run_journey(manage_world=True)`` also sets
the stores up, and afterwards rolls back to where it started and tears them down.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from venomqa.errors import ActionDefinitionError
from venomqa.evaluation import invariant_failure
from venomqa.models.actions import Invariant
from venomqa.models.journey import Branch, Checkpoint, Journey, JourneyItem, Step
from venomqa.models.results import (
    KIND_INVARIANT,
    JourneyResult,
    PathResult,
    StepRecord,
    StepResult,
    Violation,
)
from venomqa.ports.reporter import notify
from venomqa.runner.steps import execute_step, skipped_step
from venomqa.runner.validation import validate_journey
from venomqa.world import World, WorldCheckpoint


@dataclass
class _Saved:
    """A named checkpoint: the world's tokens plus the line's trail and reported invariants."""

    checkpoint: WorldCheckpoint
    trail: list[StepRecord]
    violated: frozenset[str]


@dataclass
class _Line:
    """One line of execution (the main line or one path) and the checkpoints it owns."""

    trail: list[StepRecord] = field(default_factory=list)
    violated: set[str] = field(default_factory=set)
    inherited: dict[str, _Saved] = field(default_factory=dict)
    owned: list[tuple[str, _Saved]] = field(default_factory=list)

    def find(self, name: str) -> tuple[int, _Saved] | None:
        """The latest checkpoint called ``name``: (index in ``owned`` or -1 if inherited, it)."""
        for index in range(len(self.owned) - 1, -1, -1):
            if self.owned[index][0] == name:
                return index, self.owned[index][1]
        saved = self.inherited.get(name)
        return None if saved is None else (-1, saved)


class JourneyRunner:
    """Runs journeys against ``world``, checking ``invariants`` after every step.

    ``observers`` get ``on_violation(violation)`` as violations are found (optional method).
    """

    def __init__(
        self,
        world: World,
        *,
        invariants: Iterable[Invariant] = (),
        observers: Sequence[object] = (),
    ) -> None:
        self.world = world
        self.invariants = list(invariants)
        self.observers = list(observers)

    def run(self, journey: Journey) -> JourneyResult:
        """Run ``journey`` once and return its per-step and per-path results.

        Raises ActionDefinitionError (before running anything) when a Branch names a checkpoint
        that does not exist at that point, and StoreError when a store fails.
        """
        validate_journey(journey)
        started = time.perf_counter()
        result = JourneyResult(name=journey.name)
        main = _Line()
        self._run_items(journey, journey.steps, main, result.steps, result, prefix="")
        self._release_owned(main)
        result.duration_s = time.perf_counter() - started
        return result

    # -- lines of execution ------------------------------------------------------------------

    def _run_items(
        self,
        journey: Journey,
        items: Sequence[JourneyItem],
        line: _Line,
        steps_out: list[StepResult],
        result: JourneyResult,
        prefix: str,
    ) -> bool:
        """Run ``items`` on ``line``; False when a step failed and the rest was skipped."""
        for index, item in enumerate(items):
            if isinstance(item, Step):
                step_result = self._run_step(item, line, result)
                steps_out.append(step_result)
                if not step_result.passed:
                    reason = f"step {item.name!r} failed"
                    self._skip(items[index + 1 :], reason, steps_out, result, prefix)
                    return False
            elif isinstance(item, Checkpoint):
                saved = _Saved(
                    checkpoint=self.world.checkpoint(),
                    trail=list(line.trail),
                    violated=frozenset(line.violated),
                )
                line.owned.append((item.name, saved))
            elif isinstance(item, Branch):
                self._run_branch(journey, item, line, result, prefix)
        return True

    def _run_branch(
        self, journey: Journey, branch: Branch, line: _Line, result: JourneyResult, prefix: str
    ) -> None:
        found = line.find(branch.checkpoint_name)
        if found is None:  # validate_journey prevents this; kept for a clear error regardless
            raise ActionDefinitionError(
                f"journey {journey.name!r}: branch refers to unknown checkpoint "
                f"{branch.checkpoint_name!r}"
            )
        index, saved = found
        # Rolling back to the checkpoint invalidates every later token of this line.
        later = line.owned[index + 1 :]
        del line.owned[index + 1 :]
        for _, dropped in reversed(later):
            self.world.release(dropped.checkpoint)

        last: _Line | None = None
        for path in branch.paths:
            self.world.rollback(saved.checkpoint)
            path_line = _Line(
                trail=list(saved.trail),
                violated=set(saved.violated),
                inherited={branch.checkpoint_name: saved},
            )
            name = f"{prefix}{path.name}"
            path_result = PathResult(name=name, checkpoint=branch.checkpoint_name)
            result.paths.append(path_result)
            self._run_items(journey, path.steps, path_line, path_result.steps, result, f"{name}/")
            self._release_owned(path_line)
            last = path_line
        if last is not None:
            line.trail = last.trail
            line.violated = last.violated

    def _skip(
        self,
        items: Sequence[JourneyItem],
        reason: str,
        steps_out: list[StepResult],
        result: JourneyResult,
        prefix: str,
    ) -> None:
        for item in items:
            if isinstance(item, Step):
                steps_out.append(skipped_step(item, reason))
            elif isinstance(item, Branch):
                for path in item.paths:
                    name = f"{prefix}{path.name}"
                    path_result = PathResult(name=name, checkpoint=item.checkpoint_name)
                    result.paths.append(path_result)
                    self._skip(path.steps, reason, path_result.steps, result, f"{name}/")

    def _release_owned(self, line: _Line) -> None:
        while line.owned:
            _, saved = line.owned.pop()
            self.world.release(saved.checkpoint)

    # -- steps and invariants ----------------------------------------------------------------

    def _run_step(self, step: Step, line: _Line, result: JourneyResult) -> StepResult:
        self.world.note_action()
        outcome = execute_step(step, self.world.api, self.world.ctx)
        if outcome.returned:
            self.world.ctx.set_step_result(step.name, outcome.value)
        step_result = outcome.result
        line.trail.append(
            StepRecord(
                action=step.name, requests=list(step_result.requests), error=step_result.error
            )
        )
        self.world.settle()  # invariants see what background workers did (SupportsSettle)
        self._check_invariants(line, result)
        return step_result

    def _check_invariants(self, line: _Line, result: JourneyResult) -> None:
        for inv in self.invariants:
            if inv.name in line.violated:
                continue
            message = invariant_failure(inv, self.world)
            if message is None:
                continue
            line.violated.add(inv.name)
            violation = Violation(
                invariant=inv.name,
                severity=inv.severity,
                path=[record.action for record in line.trail],
                steps=list(line.trail),
                message=message,
                kind=KIND_INVARIANT,
            )
            result.violations.append(violation)
            notify(self.observers, "on_violation", violation)


def run_journey(
    world: World,
    journey: Journey,
    invariants: Iterable[Invariant] = (),
    manage_world: bool = True,
    *,
    observers: Sequence[object] = (),
) -> JourneyResult:
    """Run one journey. With ``manage_world`` (default) the stores are set up first, and in every
    case (errors, Ctrl-C) rolled back to the starting state and torn down afterwards."""
    runner = JourneyRunner(world, invariants=invariants, observers=observers)
    if not manage_world:
        return runner.run(journey)
    validate_journey(journey)
    with world.session():
        return runner.run(journey)
