"""ExploreOptions: every setting of one exploration, validated in one place.

``explore()`` takes them as keyword arguments and the ``explore:`` section of venomqa.yaml holds
the same names (the configuration builds this very type), so defaults and validation cannot
drift apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TypedDict, Unpack

from venomqa.errors import UsageError

#: The strategies built into core (plugins may add more).
BUILTIN_STRATEGY_NAMES = ("bfs", "dfs", "random")


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
    check_server_errors: bool = True
    shrink: bool = True
    #: Volatile fields per store key, e.g. ``{"db": ["posts.created_at", "audit"]}``.
    ignore: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: Volatile context keys, e.g. ``["token", "*_token"]``.
    ignore_context: Sequence[str] = ()
    #: Learn volatile fields while exploring (calibration runs, replays, telltale values).
    learn: bool = True
    #: Self-check: after every rollback, check each store holds what it held at the
    #: checkpoint; drift is a ``rollback_drift`` finding and stops the run.
    verify_rollback: bool = False
    #: Parallel workers, each with its own copy of the stores and its own API process
    #: (``venomqa run --workers N``; ``explore()`` takes the extra worlds as ``more_worlds``).
    workers: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, str) or not self.strategy:
            raise UsageError(f"strategy must be a strategy name, got {self.strategy!r}")
        _check_int("max_depth", self.max_depth, 0)
        _check_int("max_states", self.max_states, 1)
        if self.max_transitions is not None:
            _check_int("max_transitions", self.max_transitions, 0)
        if self.time_budget_s is not None and (
            isinstance(self.time_budget_s, bool)
            or not isinstance(self.time_budget_s, int | float)
            or not self.time_budget_s > 0
        ):
            raise UsageError(f"time_budget_s must be > 0 or None, got {self.time_budget_s!r}")
        _check_int("seed", self.seed, 0)
        _check_int("workers", self.workers, 1)
        if not isinstance(self.ignore, Mapping):
            raise UsageError(f"ignore must map store names to lists of fields, got {self.ignore!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every option name (the keys ``explore()`` and the ``explore:`` section accept)."""
        return tuple(f.name for f in fields(cls))

    def as_kwargs(self) -> ExploreKwargs:
        """The options as ``explore()`` keyword arguments."""
        return ExploreKwargs(
            strategy=self.strategy,
            max_depth=self.max_depth,
            max_states=self.max_states,
            max_transitions=self.max_transitions,
            time_budget_s=self.time_budget_s,
            stop_on_first=self.stop_on_first,
            seed=self.seed,
            check_server_errors=self.check_server_errors,
            shrink=self.shrink,
            ignore=self.ignore,
            ignore_context=self.ignore_context,
            learn=self.learn,
            verify_rollback=self.verify_rollback,
            workers=self.workers,
        )

    def replace(self, **changes: Unpack[ExploreKwargs]) -> ExploreOptions:
        """A copy with ``changes`` applied (and validated)."""
        names = self.names()
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise UsageError(
                f"unknown exploration option(s) {', '.join(unknown)}; known: {', '.join(names)}"
            )
        return dataclasses.replace(self, **changes)


class ExploreKwargs(TypedDict, total=False):
    """The options as keyword arguments (``explore(..., max_depth=4)``): any of them, by name."""

    strategy: str
    max_depth: int
    max_states: int
    max_transitions: int | None
    time_budget_s: float | None
    stop_on_first: bool
    seed: int
    check_server_errors: bool
    shrink: bool
    ignore: Mapping[str, Sequence[str]]
    ignore_context: Sequence[str]
    learn: bool
    verify_rollback: bool
    workers: int


# The two lists of options must not drift apart (``as_kwargs`` names every field too).
assert set(ExploreKwargs.__annotations__) == set(ExploreOptions.names()), (
    "ExploreKwargs must name every ExploreOptions field"
)


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {value!r}")
