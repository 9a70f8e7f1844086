"""Findings: violations found while exploring, deduplicated, announced to observers, sorted.

A finding is deduplicated twice: before it is reported by its key (an invariant once per state;
an action error, server error or node check once per action and error), and after shrinking by
``(invariant, path)`` so the same reproduction is never listed twice. The final list is sorted
worst severity first, then shortest path, then discovery order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from venomqa.explorer._execute import Executed
from venomqa.models.actions import Severity
from venomqa.models.results import Violation
from venomqa.ports.reporter import notify
from venomqa.world import World

#: Re-check a finding after replaying a candidate path: the message when it still holds.
Recheck = Callable[[World, Executed | None], str | None]


@dataclass(slots=True)
class Finding:
    """A violation as first seen, before shrinking: what, how bad, and how to re-check it."""

    kind: str
    name: str
    severity: Severity
    message: str
    key: Hashable
    state: str
    recheck: Recheck
    #: The move the finding is about; a shrunk path must still end with it.
    final_move: int | None = None


class Findings:
    """The violations of one exploration, deduplicated, in discovery order."""

    def __init__(self, observers: Sequence[Any]) -> None:
        self._observers = list(observers)
        self._occurrences: dict[Hashable, int] = {}
        self._paths: set[tuple[str, tuple[str, ...]]] = set()
        self.violations: list[Violation] = []

    def __len__(self) -> int:
        return len(self.violations)

    def first_time(self, key: Hashable) -> bool:
        """Count an occurrence of ``key``; True only the first time it is seen."""
        count = self._occurrences.get(key, 0)
        self._occurrences[key] = count + 1
        return count == 0

    def add(self, violation: Violation) -> bool:
        """Record and announce ``violation`` unless the same invariant and path are already in."""
        path_key = (violation.invariant, tuple(violation.path))
        if path_key in self._paths:
            return False
        self._paths.add(path_key)
        self.violations.append(violation)
        notify(self._observers, "on_violation", violation)
        return True

    def occurrences(self, key: Hashable) -> int:
        """How many times a finding with ``key`` was met (reported or not)."""
        return self._occurrences.get(key, 0)

    def sorted(self) -> list[Violation]:
        """Worst severity first, then shortest path, then the order they were found."""
        return sorted(self.violations, key=lambda v: (v.severity.rank, len(v.path)))
