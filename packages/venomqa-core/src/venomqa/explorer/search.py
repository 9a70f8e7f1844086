"""What a search strategy works with: states, routes, and the ``Search`` that fires actions.

A strategy decides *which* action to fire from *which* state next; the engine does everything
else (moving the world there, firing, keying the new state, checking invariants, reporting,
limits). A strategy is a class with a ``name``, a ``shortest_paths`` flag (True when every
state is first reached by a shortest path, as in BFS: findings are then not shrunk) and a
``search(search) -> StopReason`` method; a fresh instance runs each pass of an exploration
(the engine starts over when it learns a volatile field that changes states already seen).
Strategies are registered like adapters, through the ``venomqa_register_strategies`` hook.

Minimal example, a search that only fires from the initial state::

    class RootOnly:
        name = "root-only"
        shortest_paths = True

        def search(self, search):
            for index in search.root.enabled:
                search.fire(search.root, search.root.route, index)
            return StopReason.MAX_DEPTH
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from venomqa.models.results import StepRecord, StopReason
from venomqa.state.view import WorldView

#: One step of a route: (move index, key of the state it reached).
Hop = tuple[int, str]
Hops = tuple[Hop, ...]
Steps = tuple[StepRecord, ...]

_NO_VIOLATIONS: frozenset[str] = frozenset()


class Route:
    """A path from the initial state: the moves fired with the states they reached, and what
    each call sent and received.

    Stored as its last move and the route before it (every state keeps its route, and routes
    share their beginnings: a state costs one small node, not a copy of its whole path);
    ``hops`` and ``steps`` are built on demand, in O(length).
    """

    __slots__ = ("_index", "_key", "_length", "_parent", "_step")

    def __init__(self) -> None:
        self._parent: Route | None = None
        self._index = -1
        self._key = ""
        self._step: StepRecord | None = None
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def then(self, index: int, key: str, step: StepRecord) -> Route:
        """This route extended by one move."""
        route = Route.__new__(Route)
        route._parent = self
        route._index = index
        route._key = key
        route._step = step
        route._length = self._length + 1
        return route

    @property
    def hops(self) -> Hops:
        """(move index, state key reached) of each move, from the root."""
        return tuple((node._index, node._key) for node in self._nodes())

    @property
    def steps(self) -> Steps:
        """What each move's call sent and received, from the root."""
        return tuple(node._step for node in self._nodes() if node._step is not None)

    def _nodes(self) -> list[Route]:
        nodes: list[Route] = []
        node: Route | None = self
        while node is not None and node._parent is not None:
            nodes.append(node)
            node = node._parent
        nodes.reverse()
        return nodes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Route):
            return NotImplemented
        return self.hops == other.hops and self.steps == other.steps

    def __hash__(self) -> int:
        return hash(self.hops)

    def __repr__(self) -> str:
        return f"Route({self.hops!r})"


@dataclass(slots=True, eq=False)
class State:
    """A distinct (abstract) state: its key, graph node, first route, enabled moves."""

    key: str
    node: str | None
    route: Route
    #: What the world held when the state was first reached.
    view: WorldView
    enabled: tuple[int, ...] = ()
    violated: frozenset[str] = _NO_VIOLATIONS
    #: Replaying its route reached a state no volatile field explains: not expanded further.
    unreachable: bool = False

    @property
    def depth(self) -> int:
        """Length of the first route found to it (shortest under BFS)."""
        return len(self.route)


@dataclass(frozen=True, slots=True)
class Arrival:
    """Where firing a move led: the target state, whether it is new, and the route taken."""

    state: State
    is_new: bool
    route: Route


class Search(Protocol):
    """The engine as a strategy sees it."""

    @property
    def root(self) -> State:
        """The initial state (its ``enabled`` moves are known)."""
        ...

    @property
    def states(self) -> Mapping[str, State]:
        """Every distinct state found so far, by key."""
        ...

    @property
    def max_depth(self) -> int:
        """The longest route the strategy may fire along (moves from the root)."""
        ...

    @property
    def rng(self) -> random.Random:
        """A random generator seeded with the exploration's ``seed``."""
        ...

    def fire(
        self, source: State, route: Route, index: int, *, anchor: bool = True
    ) -> Arrival | None:
        """Fire move ``index`` in ``source``, reached along ``route`` (the world is moved there
        first: from where it is when it is already on the way, else by rollback and replay;
        with ``anchor`` a checkpoint of ``source`` is kept, so firing its other moves next is
        cheap). None when ``source`` could not be reached again: its route turned out not to
        be repeatable (reported as a nondeterminism finding; ``source.unreachable`` is set).
        Limits (states, transitions, time, stop-on-first) end the search from inside."""
        ...

    def progress(self, frontier: int, depth: int) -> None:
        """Tell observers how much is left to explore (for progress lines)."""
        ...

    def plan(self, fires: Sequence[tuple[State, int]]) -> None:
        """Announce the ``(state, move index)`` fires the strategy will ask for next, in that
        order (optional): with parallel workers they start at once, so ``fire`` finds them
        done. Fires announced and never asked for only cost time."""
        ...


@runtime_checkable
class Strategy(Protocol):
    """A search order. See the module docstring."""

    name: ClassVar[str]
    shortest_paths: ClassVar[bool]

    def search(self, search: Search) -> StopReason:
        """Explore from ``search.root``; return why the search ended."""
        ...
