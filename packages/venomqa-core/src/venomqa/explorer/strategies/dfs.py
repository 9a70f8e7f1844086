"""Depth-first search: follow one route as deep as ``max_depth`` allows, then backtrack.

Each state is expanded once. A state first met at the depth limit is expanded when it is met
again closer to the root; states below an already expanded state may still be cut by the limit,
so BFS is the complete search within ``max_depth``. Findings are shrunk (``shortest_paths`` is
False).
"""

from __future__ import annotations

from dataclasses import dataclass

from venomqa.explorer.search import Route, Search, State
from venomqa.models.results import StopReason


@dataclass(slots=True)
class _Frame:
    state: State
    route: Route
    next: int = 0


class DepthFirst:
    """Expand the newest state first."""

    name = "dfs"
    shortest_paths = False

    def search(self, search: Search) -> StopReason:
        max_depth = search.max_depth
        expanded: set[str] = set()
        frames: list[_Frame] = []
        if max_depth > 0:
            expanded.add(search.root.key)
            frames.append(_Frame(search.root, search.root.route))
        while frames:
            frame = frames[-1]
            enabled = frame.state.enabled
            if frame.next >= len(enabled):
                frames.pop()
                continue
            index = enabled[frame.next]
            frame.next += 1
            search.progress(len(frames), len(frame.route))
            arrival = search.fire(frame.state, frame.route, index)
            if arrival is None:
                frames.pop()  # the state cannot be reached again
                continue
            child = arrival.state
            if len(arrival.route) < max_depth and child.key not in expanded:
                expanded.add(child.key)
                frames.append(_Frame(child, arrival.route))
        cut = any(
            s.enabled and s.key not in expanded and not s.unreachable
            for s in search.states.values()
        )
        return StopReason.MAX_DEPTH if cut else StopReason.EXHAUSTED
