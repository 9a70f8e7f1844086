"""Running an action and judging a state: the one implementation the explorer, the journey
runner and ``venomqa replay`` share, so the same action or invariant means the same everywhere.

- ``run_action``: call ``fn(api, ctx, **args)`` once and record the requests it made. An
  exception from the action is recorded, not raised, unless it is an InfrastructureError (the
  API or a store is unreachable: the run cannot go on, exit 3) or not an Exception at all
  (Ctrl-C).
- ``invariant_failure``: None when the invariant holds; otherwise why not. Returning False (or
  any falsy value other than None) or raising AssertionError violates it; any other exception
  is a violation naming the exception, and so is a store error inside the invariant (a query
  that fails: the message names the invariant, the store's key and the query); any other
  InfrastructureError (the API is gone) propagates.
- ``node_check_failure``: the same for a StateGraph node's checker.

An exception from the user's code keeps where it was raised (``venomqa.tracebacks``): an
Executed's ``frames``, and ``check_invariant``'s Failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from venomqa.errors import InfrastructureError, StoreError
from venomqa.models.actions import Invariant
from venomqa.models.graph import NodeChecker
from venomqa.models.journey import StepFn
from venomqa.models.results import StepRecord, TraceFrame
from venomqa.tracebacks import error_frames

if TYPE_CHECKING:
    from venomqa.client import Client
    from venomqa.context import ExecutionContext
    from venomqa.world import World


@dataclass(slots=True)
class Executed:
    """The outcome of one action: its step record (requests, error) and what it returned."""

    step: StepRecord
    #: What the action returned (usually its response; None when it raised).
    response: object
    error: Exception | None = None
    #: Where ``error`` was raised (innermost last); empty when the action did not raise.
    frames: list[TraceFrame] = field(default_factory=list)
    #: The exception's class name when ``error`` itself is not kept (``portable``).
    error_name: str | None = None

    @property
    def error_type(self) -> str | None:
        """The exception's class name, or None when the action did not raise."""
        return self.error_name if self.error is None else type(self.error).__name__

    def portable(self) -> Executed:
        """This outcome as plain data that pickles (sent between processes): no response
        object, the exception by its class name only (the step keeps its message)."""
        return Executed(self.step, None, None, list(self.frames), self.error_type)


@dataclass(frozen=True, slots=True)
class Raised:
    """An exception as plain data: its class name, ``Type: message`` and where it was raised."""

    type_name: str
    description: str
    frames: list[TraceFrame] = field(default_factory=list)

    @classmethod
    def of(cls, exc: BaseException) -> Raised:
        return cls(type(exc).__name__, describe_exception(exc), error_frames(exc))


def describe_exception(exc: BaseException) -> str:
    """``TypeName: message`` (or just the type name when the message is empty)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def call_action(
    fn: StepFn, api: Client, ctx: ExecutionContext, args: Mapping[str, object] | None = None
) -> tuple[object, Exception | None]:
    """``fn(api, ctx, **args)``: (what it returned, None), or (None, the exception it raised).
    InfrastructureErrors and BaseExceptions that are not Exceptions propagate."""
    try:
        return fn(api, ctx, **(args or {})), None
    except InfrastructureError:
        raise
    except Exception as exc:
        return None, exc


def run_action(
    world: World, name: str, fn: StepFn, args: Mapping[str, object] | None = None
) -> Executed:
    """Run one action against ``world`` and record what it sent and received."""
    api = world.api
    mark = api.mark()
    world.note_action()
    response, error = call_action(fn, api, world.ctx, args)
    step = StepRecord(
        action=name,
        requests=api.records_since(mark),
        error=None if error is None else describe_exception(error),
    )
    frames = [] if error is None else error_frames(error)
    return Executed(step=step, response=response, error=error, frames=frames)


def server_error_status(executed: Executed) -> int | None:
    """The first 5xx status the action's requests (or its returned response) got, if any."""
    for record in executed.step.requests:
        status = record.response_status
        if status is not None and status >= 500:
            return status
    status = getattr(executed.response, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return status
    return None


class Failure(NamedTuple):
    """Why an invariant is violated, and where it raised (empty unless it raised)."""

    message: str
    frames: list[TraceFrame]


def invariant_failure(inv: Invariant, world: World) -> str | None:
    """Why ``inv`` is violated in the current state, or None when it holds."""
    failure = check_invariant(inv, world)
    return None if failure is None else failure.message


def check_invariant(inv: Invariant, world: World) -> Failure | None:
    """``invariant_failure`` with the frames of the exception the invariant raised (not for an
    AssertionError, its way to say "violated", nor for a store error, located by its message)."""
    try:
        result = inv.check(world)
    except StoreError as exc:
        return Failure(f"invariant {inv.name!r} could not be checked: {_located(exc, world)}", [])
    except InfrastructureError:
        raise
    except AssertionError as exc:
        message = str(exc) or inv.description or f"invariant {inv.name!r} failed an assertion"
        return Failure(message, [])
    except Exception as exc:
        return Failure(
            f"invariant {inv.name!r} raised {describe_exception(exc)}", error_frames(exc)
        )
    if result is None or result:
        return None
    explained = f": {inv.description}" if inv.description else ""
    return Failure(f"invariant {inv.name!r} returned {result!r}{explained}", [])


def _located(exc: StoreError, world: World) -> str:
    """``exc``, naming the store by its key in the world (``db``) rather than its adapter."""
    keys = [key for key, store in world.stores.items() if getattr(store, "name", None) == exc.store]
    return str(exc.located(keys[0])) if len(keys) == 1 else str(exc)


def failed_invariants(
    world: World, invariants: Sequence[Invariant]
) -> list[tuple[Invariant, Failure]]:
    """Every invariant violated in the current state, with why (and where it raised)."""
    failed: list[tuple[Invariant, Failure]] = []
    for inv in invariants:
        failure = check_invariant(inv, world)
        if failure is not None:
            failed.append((inv, failure))
    return failed


def node_check_failure(checker: NodeChecker, node: str, world: World) -> str | None:
    """Why the graph node's checker says the system is not in ``node``, or None when it is."""
    try:
        result = checker(world)
    except InfrastructureError:
        raise
    except AssertionError as exc:
        detail = str(exc) or "assertion failed"
        return f"checker of node {node!r} failed: {detail}"
    except Exception as exc:
        return f"checker of node {node!r} raised {describe_exception(exc)}"
    return None if result else f"checker of node {node!r} returned {result!r}"
