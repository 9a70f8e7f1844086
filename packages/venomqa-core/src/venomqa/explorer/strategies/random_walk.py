"""Seeded random walks from the root, preferring moves not yet tried in a state.

A walk fires moves one after another (up to ``max_depth``) from the state the last one reached,
without checkpoints along the way. In a state whose moves have all been tried, the walk heads for
the nearest state that still has untried moves (by the transitions seen so far), choosing at
random among equally good moves; this keeps the last untried moves from taking as many walks as
a coupon collector's last coupons. The search ends when every state within ``max_depth`` of the
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
        #: (state key, move) -> state key it led to the last time.
        targets_of: dict[tuple[str, int], str] = {}
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
            to_open = _distances_to_open(successors, untried, distance, max_depth)
            state, route = root, root.route
            productive = False
            while len(route) < max_depth and state.enabled:
                tried_not = untried[state.key]
                choices = [i for i in state.enabled if i in tried_not]
                if not choices:
                    choices = _closest(state.key, state.enabled, targets_of, to_open)
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
                targets_of[(state.key, index)] = child.key
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


def _distances_to_open(
    successors: dict[str, set[str]],
    untried: dict[str, set[int]],
    distance: dict[str, int],
    max_depth: int,
) -> dict[str, int]:
    """For each known state, how many transitions away the nearest state with untried moves
    (within the depth limit) is, over the transitions seen so far."""
    predecessors: dict[str, list[str]] = {}
    for source, targets in successors.items():
        for target in targets:
            predecessors.setdefault(target, []).append(source)
    found = {key: 0 for key, moves in untried.items() if moves and distance[key] < max_depth}
    pending = deque(found)
    while pending:
        key = pending.popleft()
        for source in predecessors.get(key, ()):
            if source not in found:
                found[source] = found[key] + 1
                pending.append(source)
    return found


def _closest(
    key: str,
    enabled: tuple[int, ...],
    targets_of: dict[tuple[str, int], str],
    to_open: dict[str, int],
) -> list[int]:
    """The enabled moves whose last target is nearest to untried moves (all, if none is)."""
    scored = [(to_open.get(targets_of.get((key, i), ""), _NEVER), i) for i in enabled]
    best = min(score for score, _ in scored)
    if best == _NEVER:
        return list(enabled)
    return [i for score, i in scored if score == best]
