"""Actions (one API call each, with an optional precondition) and invariants (rules checked in
every state), plus the ``@action`` / ``@invariant`` decorators users write them with."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from venomqa.client import Client
    from venomqa.context import ExecutionContext
    from venomqa.world import World

#: ``fn(api, ctx)``: makes the call through the world's client; what it returns (usually the
#: response) is kept for built-in checks such as the 5xx one.
ActionFn = Callable[["Client", "ExecutionContext"], object]
#: ``requires(ctx)``: the action is enabled while it returns a truthy value.
Precondition = Callable[["ExecutionContext"], object]
#: ``check(world)``: violated when it returns False (any falsy value but None) or raises.
InvariantFn = Callable[["World"], object]


class Severity(enum.Enum):
    """How bad a violated invariant is; ordered from worst to mildest."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for CRITICAL up to 3 for LOW, for sorting worst first."""
        return list(Severity).index(self)


@dataclass(frozen=True, eq=False)
class Action:
    """One API call: ``fn(api, ctx)`` returns the response; enabled when ``requires(ctx)`` holds."""

    name: str
    fn: ActionFn
    requires: Precondition | None = None
    description: str = ""
    tags: tuple[str, ...] = ()

    def __call__(self, api: Client, ctx: ExecutionContext) -> object:
        return self.fn(api, ctx)

    def is_enabled(self, ctx: ExecutionContext) -> bool:
        """Whether the precondition holds in ``ctx`` (always, without one)."""
        return precondition_holds(self.requires, ctx)

    def __repr__(self) -> str:
        return f"Action({self.name!r})"


@dataclass(frozen=True, eq=False)
class Invariant:
    """A rule over the world; ``check(world)`` returning False or raising AssertionError
    violates it."""

    name: str
    check: InvariantFn
    severity: Severity = Severity.HIGH
    description: str = ""
    tags: tuple[str, ...] = field(default=())

    def __call__(self, world: World) -> object:
        return self.check(world)

    def __repr__(self) -> str:
        return f"Invariant({self.name!r}, {self.severity.name})"


def precondition_holds(requires: Precondition | None, ctx: ExecutionContext) -> bool:
    """Whether ``requires(ctx)`` holds (always, without a precondition); raises if it raises."""
    return True if requires is None else bool(requires(ctx))


def _doc(fn: Callable[..., object]) -> str:
    return (fn.__doc__ or "").strip().split("\n\n")[0].strip()


@overload
def action(fn: ActionFn, /) -> Action: ...
@overload
def action(
    *,
    name: str | None = None,
    requires: Precondition | None = None,
    description: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
) -> Callable[[ActionFn], Action]: ...
def action(
    fn: ActionFn | None = None,
    /,
    *,
    name: str | None = None,
    requires: Precondition | None = None,
    description: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
) -> Action | Callable[[ActionFn], Action]:
    """Declare an action; usable bare (``@action``) or with options (``@action(requires=...)``)."""

    def wrap(f: ActionFn) -> Action:
        return Action(
            name=name or f.__name__,
            fn=f,
            requires=requires,
            description=_doc(f) if description is None else description,
            tags=tuple(tags),
        )

    return wrap(fn) if fn is not None else wrap


@overload
def invariant(fn: InvariantFn, /) -> Invariant: ...
@overload
def invariant(
    *,
    name: str | None = None,
    severity: Severity = Severity.HIGH,
    description: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
) -> Callable[[InvariantFn], Invariant]: ...
def invariant(
    fn: InvariantFn | None = None,
    /,
    *,
    name: str | None = None,
    severity: Severity = Severity.HIGH,
    description: str | None = None,
    tags: tuple[str, ...] | list[str] = (),
) -> Invariant | Callable[[InvariantFn], Invariant]:
    """Declare an invariant; usable bare or as ``@invariant(severity=Severity.CRITICAL)``."""

    def wrap(f: InvariantFn) -> Invariant:
        return Invariant(
            name=name or f.__name__,
            check=f,
            severity=severity,
            description=_doc(f) if description is None else description,
            tags=tuple(tags),
        )

    return wrap(fn) if fn is not None else wrap
