"""Seeded random walks from the root, preferring moves not yet tried in a state.

A walk fires moves one after another (up to ``max_depth``) from the state the last one reached,
without checkpoints along the way. The search ends when every state within ``max_depth`` of the
root has tried each of its enabled moves (a state's depth is its distance from the root in the
graph of transitions seen so far, exact once every closer state has tried all its moves), or
when ``STALL_WALKS`` walks in a row found no new state and tried no new move. States are
abstract (volatile fields left out), so an API that stores timestamps or random ids still has
finitely many, and the walk ends on its own. Findings are shrunk (``shortest_paths`` False).
"""

from __future__ import annotations

import sys
from collections import deque

from venomqa.explorer.search import Search
from venomqa.models.results import StopReason

#: Walks in a row without a new state or a first-time move that end the search.
STALL_WALKS = 200
_NEVER = sys.maxsize


class RandomWalk:
    """Random walks seeded by the exploration's ``seed``."""

    name = "random"
    shortest_paths = False

    def search(self, search: Search) -> StopReason:
        rng = search.rng
        max_depth = search.max_depth
        successors: dict[str, set[str]] = {}
        distance: dict[str, int] = {}
        untried: dict[str, set[int]] = {}
        open_pairs = 0

        def relax(start: str, depth: int) -> None:
            """Lower distances from ``start`` on; count moves of states that come within the
            depth limit as open."""
            nonlocal open_pairs
            pending: deque[tuple[str, int]] = deque([(start, depth)])
            while pending:
                key, new = pending.popleft()
                if new >= distance[key]:
                    continue
                if distance[key] >= max_depth > new:
                    open_pairs += len(untried[key])
                distance[key] = new
                for target in successors.get(key, ()):
                    pending.append((target, new + 1))

        root = search.root
        untried[root.key] = set(root.enabled)
        distance[root.key] = _NEVER
        relax(root.key, 0)
        idle_walks = 0
        while open_pairs > 0:
            if idle_walks >= STALL_WALKS:
                return StopReason.STALLED
            state, route = root, root.route
            productive = False
            while len(route) < max_depth and state.enabled:
                tried_not = untried[state.key]
                choices = [i for i in state.enabled if i in tried_not] or list(state.enabled)
                index = rng.choice(choices)
                if index in tried_not:
                    tried_not.discard(index)
                    productive = True
                    if distance[state.key] < max_depth:
                        open_pairs -= 1
                search.progress(open_pairs, len(route))
                arrival = search.fire(state, route, index, anchor=False)
                if arrival is None:  # the state cannot be reached again: give up its moves
                    if distance[state.key] < max_depth:
                        open_pairs -= len(tried_not)
                    tried_not.clear()
                    break
                child = arrival.state
                if child.key not in untried:
                    productive = True
                    untried[child.key] = set(child.enabled)
                    distance[child.key] = _NEVER
                targets = successors.setdefault(state.key, set())
                if child.key not in targets:
                    targets.add(child.key)
                    relax(child.key, distance[state.key] + 1)
                state, route = child, arrival.route
            idle_walks = 0 if productive else idle_walks + 1
        cut = any(
            s.enabled and distance.get(s.key, _NEVER) >= max_depth
            for s in search.states.values()
            if not s.unreachable
        )
        return StopReason.MAX_DEPTH if cut else StopReason.EXHAUSTED
