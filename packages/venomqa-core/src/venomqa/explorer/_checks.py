"""Checking rules in a state: invariants, graph node checkers and action preconditions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from venomqa.context import ExecutionContext
from venomqa.errors import InfrastructureError
from venomqa.explorer._execute import describe_exception
from venomqa.explorer._moves import Move
from venomqa.models.actions import Invariant
from venomqa.world import World


def invariant_failure(inv: Invariant, world: World) -> str | None:
    """Why ``inv`` is violated in the current state, or None when it holds.

    Returning False (or any falsy value other than None) or raising AssertionError violates it;
    any other exception is reported as a violation naming the exception.
    """
    try:
        result = inv.check(world)
    except InfrastructureError:
        raise
    except AssertionError as exc:
        return str(exc) or f"invariant {inv.name!r} failed an assertion"
    except Exception as exc:
        return f"invariant {inv.name!r} raised {describe_exception(exc)}"
    if result is None or result:
        return None
    return f"invariant {inv.name!r} returned {result!r}"


def failed_invariants(world: World, invariants: Sequence[Invariant]) -> list[tuple[Invariant, str]]:
    """Every invariant violated in the current state, with its message."""
    failed: list[tuple[Invariant, str]] = []
    for inv in invariants:
        message = invariant_failure(inv, world)
        if message is not None:
            failed.append((inv, message))
    return failed


def node_check_failure(checker: Callable[..., Any], node: str, world: World) -> str | None:
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


def is_enabled(move: Move, ctx: ExecutionContext, node: str | None) -> bool:
    """Whether ``move`` may fire: right graph node and precondition holds (raises if it raises)."""
    if move.from_node is not None and move.from_node != node:
        return False
    return move.requires is None or bool(move.requires(ctx))
