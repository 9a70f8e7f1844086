"""The options ``explore()`` accepts, validated in one place, and the names of stop reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from venomqa.errors import UsageError

STRATEGIES = ("bfs", "dfs", "random")

#: Every reachable state (within ``max_depth``) was explored.
STOP_EXHAUSTED = "exhausted"
#: Everything within ``max_depth`` was explored, but deeper states exist.
STOP_MAX_DEPTH = "max_depth"
STOP_MAX_STATES = "max_states"
STOP_MAX_TRANSITIONS = "max_transitions"
STOP_TIME_BUDGET = "time_budget"
STOP_ON_FIRST = "stop_on_first"
#: Random walk only: many walks in a row found nothing new although untried actions remain.
STOP_STALLED = "stalled"


@dataclass(frozen=True)
class ExploreOptions:
    """Limits and switches of one exploration (see ``explore`` for what each means)."""

    strategy: str = "bfs"
    max_depth: int = 8
    max_states: int = 10_000
    max_transitions: int | None = None
    time_budget_s: float | None = None
    stop_on_first: bool = False
    seed: int = 0
    observers: Sequence[Any] = ()
    check_server_errors: bool = True
    shrink: bool = True

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            choices = ", ".join(STRATEGIES)
            raise UsageError(
                f"unknown exploration strategy {self.strategy!r}; use one of {choices}"
            )
        if not isinstance(self.max_depth, int) or self.max_depth < 0:
            raise UsageError(f"max_depth must be an integer >= 0, got {self.max_depth!r}")
        if not isinstance(self.max_states, int) or self.max_states < 1:
            raise UsageError(f"max_states must be an integer >= 1, got {self.max_states!r}")
        if self.max_transitions is not None and (
            not isinstance(self.max_transitions, int) or self.max_transitions < 0
        ):
            raise UsageError(
                f"max_transitions must be an integer >= 0 or None, got {self.max_transitions!r}"
            )
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise UsageError(f"time_budget_s must be > 0 or None, got {self.time_budget_s!r}")
