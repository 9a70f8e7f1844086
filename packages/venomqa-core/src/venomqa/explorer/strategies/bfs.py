"""Breadth-first search: states in order of distance from the root, so every state (and every
finding) is first reached by a shortest path. The complete search within ``max_depth``."""

from __future__ import annotations

from collections import deque

from venomqa.explorer.search import Search, State
from venomqa.models.results import StopReason


class BreadthFirst:
    """Expand states level by level; stop reason ``max_depth`` when deeper states exist."""

    name = "bfs"
    shortest_paths = True

    def search(self, search: Search) -> StopReason:
        max_depth = search.max_depth
        root = search.root
        queue: deque[State] = deque()
        depth_cut = False
        if max_depth > 0:
            queue.append(root)
        else:
            depth_cut = bool(root.enabled)
        while queue:
            state = queue.popleft()
            search.plan(_ahead(state, queue))
            for index in state.enabled:
                search.progress(len(queue), state.depth)
                arrival = search.fire(state, state.route, index)
                if arrival is None:
                    break  # the state cannot be reached again: skip its other moves
                child = arrival.state
                if not arrival.is_new:
                    continue
                if child.depth < max_depth:
                    queue.append(child)
                elif child.enabled:
                    depth_cut = True
        return StopReason.MAX_DEPTH if depth_cut else StopReason.EXHAUSTED


#: Fires announced ahead of the one about to be asked for (parallel workers start them).
LOOKAHEAD = 128


def _ahead(state: State, queue: deque[State]) -> list[tuple[State, int]]:
    """The fires of ``state`` and of the states queued after it, up to ``LOOKAHEAD``."""
    fires = [(state, index) for index in state.enabled]
    for queued in queue:
        if len(fires) >= LOOKAHEAD:
            break
        fires.extend((queued, index) for index in queued.enabled)
    return fires
