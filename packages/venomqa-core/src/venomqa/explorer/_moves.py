"""Moves: what the engine fires. A plain Action or a StateGraph edge, in one shape.

A move may carry a model state (``from_node``/``to_node``): the explorer then tracks the current
graph node next to the world's fingerprint, and the move is enabled only in its ``from_node``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from venomqa.context import ExecutionContext
from venomqa.errors import ActionDefinitionError
from venomqa.models.actions import Action, Invariant
from venomqa.models.graph import StateGraph


@dataclass(frozen=True, slots=True, eq=False)
class Move:
    """One thing the explorer can do in a state: ``run(api, ctx)`` when ``enabled``."""

    name: str
    run: Callable[..., Any]
    requires: Callable[[ExecutionContext], Any] | None = None
    from_node: str | None = None
    to_node: str | None = None
    to_checker: Callable[..., Any] | None = None


def state_key(fingerprint: str, node: str | None) -> str:
    """The explorer's key for a state: the world's fingerprint, prefixed by the graph node."""
    return fingerprint if node is None else f"{node}|{fingerprint}"


def node_after(move: Move, node: str | None) -> str | None:
    """The graph node the exploration is in after ``move`` (unchanged for plain actions)."""
    return node if move.to_node is None else move.to_node


def as_action(candidate: Any) -> Action:
    """Accept an Action, or wrap a plain ``fn(api, ctx)`` function as one."""
    if isinstance(candidate, Action):
        return candidate
    if callable(candidate):
        return Action(name=getattr(candidate, "__name__", repr(candidate)), fn=candidate)
    raise ActionDefinitionError(f"{candidate!r} is not an action (use @action on a function)")


def as_invariant(candidate: Any) -> Invariant:
    """Accept an Invariant, or wrap a plain ``fn(world)`` function as one."""
    if isinstance(candidate, Invariant):
        return candidate
    if callable(candidate):
        return Invariant(name=getattr(candidate, "__name__", repr(candidate)), check=candidate)
    raise ActionDefinitionError(f"{candidate!r} is not an invariant (use @invariant on a function)")


def moves_from_actions(actions: Iterable[Any]) -> list[Move]:
    """One move per action; two actions with the same name are an error."""
    moves: list[Move] = []
    seen: set[str] = set()
    for candidate in actions:
        act = as_action(candidate)
        if act.name in seen:
            raise ActionDefinitionError(
                f"two actions are named {act.name!r}; give one of them another name"
            )
        seen.add(act.name)
        moves.append(Move(name=act.name, run=act.fn, requires=act.requires))
    return moves


def moves_from_graph(graph: StateGraph) -> list[Move]:
    """One move per edge, enabled only in the edge's source node; checks the target's checker."""
    moves: list[Move] = []
    for edge in graph.all_edges():
        run = edge.action.fn if isinstance(edge.action, Action) else edge.action
        requires = edge.action.requires if isinstance(edge.action, Action) else None
        moves.append(
            Move(
                name=edge.name,
                run=run,
                requires=requires,
                from_node=edge.from_node,
                to_node=edge.to_node,
                to_checker=graph.nodes[edge.to_node].checker,
            )
        )
    return moves


def unique_invariants(invariants: Iterable[Any]) -> list[Invariant]:
    """Invariants as Invariant objects; two with the same name are an error."""
    result: list[Invariant] = []
    seen: set[str] = set()
    for candidate in invariants:
        inv = as_invariant(candidate)
        if inv.name in seen:
            raise ActionDefinitionError(
                f"two invariants are named {inv.name!r}; give one of them another name"
            )
        seen.add(inv.name)
        result.append(inv)
    return result
