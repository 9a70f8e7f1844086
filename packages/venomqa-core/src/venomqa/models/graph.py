"""StateGraph: declared nodes (each with a checker saying "am I here?") and edges (actions).

A graph is explored by the same engine as plain actions: after an edge's action the target node's
checker must hold, and the graph's invariants are checked in every state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from venomqa.errors import ActionDefinitionError
from venomqa.models.actions import Action, ActionFn, Invariant, InvariantFn, Severity

if TYPE_CHECKING:
    from venomqa.world import World

#: ``checker(world)``: truthy when the system is in the node.
NodeChecker = Callable[["World"], object]


@dataclass
class StateNode:
    """A declared state; ``checker(world)`` returns truthy when the system is in it."""

    id: str
    description: str = ""
    checker: NodeChecker | None = None


@dataclass
class Edge:
    """A transition from ``from_node`` to ``to_node`` performed by ``action(api, ctx)``."""

    from_node: str
    to_node: str
    action: Action | ActionFn
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = getattr(self.action, "__name__", f"{self.from_node}->{self.to_node}")


@dataclass
class StateGraph:
    """A model of the API as nodes and edges, plus invariants that hold in every node."""

    name: str = "graph"
    nodes: dict[str, StateNode] = field(default_factory=dict)
    edges: dict[str, list[Edge]] = field(default_factory=dict)
    invariants: list[Invariant] = field(default_factory=list)
    _initial_node: str | None = None

    def add_node(
        self,
        id: str,
        *,
        description: str = "",
        checker: NodeChecker | None = None,
        initial: bool = False,
    ) -> StateNode:
        """Declare a node; the first node added (or the one marked ``initial``) is the start."""
        if id in self.nodes:
            raise ActionDefinitionError(f"graph {self.name!r}: node {id!r} declared twice")
        node = StateNode(id=id, description=description, checker=checker)
        self.nodes[id] = node
        self.edges.setdefault(id, [])
        if initial or self._initial_node is None:
            self._initial_node = id
        return node

    def add_edge(
        self, from_node: str, to_node: str, action: Action | ActionFn, *, name: str = ""
    ) -> Edge:
        """Declare a transition; both nodes must already exist."""
        for node in (from_node, to_node):
            if node not in self.nodes:
                raise ActionDefinitionError(
                    f"graph {self.name!r}: edge {name or action!r} names unknown node {node!r}"
                )
        edge = Edge(from_node=from_node, to_node=to_node, action=action, name=name)
        self.edges[from_node].append(edge)
        return edge

    def add_invariant(
        self,
        name: str,
        check: InvariantFn,
        *,
        severity: Severity = Severity.HIGH,
        description: str = "",
    ) -> Invariant:
        """Add a rule checked in every state reached while exploring the graph."""
        inv = Invariant(name=name, check=check, severity=severity, description=description)
        self.invariants.append(inv)
        return inv

    @property
    def initial_node(self) -> str:
        """The id of the start node."""
        if self._initial_node is None:
            raise ActionDefinitionError(f"graph {self.name!r} has no nodes")
        return self._initial_node

    def all_edges(self) -> list[Edge]:
        """Every edge, in declaration order per node."""
        return [edge for edges in self.edges.values() for edge in edges]
