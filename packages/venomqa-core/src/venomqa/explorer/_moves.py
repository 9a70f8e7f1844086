"""Moves: what the engine fires. A plain Action or a StateGraph edge, in one shape.

A move may carry a model state (``from_node``/``to_node``): the explorer then tracks the current
graph node next to the world's fingerprint, and the move is enabled only in its ``from_node``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from venomqa.context import ExecutionContext
from venomqa.errors import ActionDefinitionError
from venomqa.models.actions import (
    Action,
    ActionFn,
    Invariant,
    InvariantFn,
    Precondition,
    precondition_holds,
)
from venomqa.models.graph import NodeChecker, StateGraph

Named = TypeVar("Named", Action, Invariant)
Candidate = TypeVar("Candidate")


@dataclass(frozen=True, slots=True, eq=False)
class Move:
    """One thing the explorer can do in a state: ``run(api, ctx)`` when ``enabled``."""

    name: str
    run: ActionFn
    requires: Precondition | None = None
    from_node: str | None = None
    to_node: str | None = None
    to_checker: NodeChecker | None = None

    def enabled(self, ctx: ExecutionContext, node: str | None) -> bool:
        """Whether it may fire: in its graph node, and its precondition holds (raises if the
        precondition raises)."""
        if self.from_node is not None and self.from_node != node:
            return False
        return precondition_holds(self.requires, ctx)


def state_key(fingerprint: str, node: str | None) -> str:
    """The explorer's key for a state: the world's fingerprint, prefixed by the graph node."""
    return fingerprint if node is None else f"{node}|{fingerprint}"


def node_after(move: Move, node: str | None) -> str | None:
    """The graph node the exploration is in after ``move`` (unchanged for plain actions)."""
    return node if move.to_node is None else move.to_node


def as_action(candidate: Action | ActionFn) -> Action:
    """Accept an Action, or wrap a plain ``fn(api, ctx)`` function as one."""
    if isinstance(candidate, Action):
        return candidate
    return Action(name=_plain_function_name(candidate, "action"), fn=candidate)


def as_invariant(candidate: Invariant | InvariantFn) -> Invariant:
    """Accept an Invariant, or wrap a plain ``fn(world)`` function as one."""
    if isinstance(candidate, Invariant):
        return candidate
    return Invariant(name=_plain_function_name(candidate, "invariant"), check=candidate)


def _plain_function_name(candidate: object, kind: str) -> str:
    """The name a plain function gets as an action or invariant; not callable is an error."""
    if not callable(candidate):
        raise ActionDefinitionError(f"{candidate!r} is not an {kind} (use @{kind} on a function)")
    return str(getattr(candidate, "__name__", repr(candidate)))


def _unique_by_name(
    candidates: Iterable[Candidate], convert: Callable[[Candidate], Named], kind: str
) -> list[Named]:
    """``convert`` each candidate; two results with the same ``name`` are an error."""
    result: list[Named] = []
    seen: set[str] = set()
    for candidate in candidates:
        item = convert(candidate)
        name = item.name
        if name in seen:
            raise ActionDefinitionError(
                f"two {kind}s are named {name!r}; give one of them another name"
            )
        seen.add(name)
        result.append(item)
    return result


def moves_from_actions(actions: Iterable[Action | ActionFn]) -> list[Move]:
    """One move per action; two actions with the same name are an error."""
    return [
        Move(name=act.name, run=act.fn, requires=act.requires)
        for act in _unique_by_name(actions, as_action, "action")
    ]


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


def unique_invariants(invariants: Iterable[Invariant | InvariantFn]) -> list[Invariant]:
    """Invariants as Invariant objects; two with the same name are an error."""
    return _unique_by_name(invariants, as_invariant, "invariant")
