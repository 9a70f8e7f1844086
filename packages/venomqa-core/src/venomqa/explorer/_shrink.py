"""Shrinking: make a violating path shorter while the violation still reproduces.

Used for DFS and random walks, whose first path to a violation is rarely the shortest. Chunks
of decreasing size are dropped (halves, quarters, ... single steps) and each candidate is replayed
from the root; single steps are retried until none can go, so the result is 1-minimal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Candidate replays tried per violation at most.
DEFAULT_BUDGET = 200


def shrink_path(
    path: list[int],
    reproduces: Callable[[list[int]], T | None],
    *,
    keep_last: bool = False,
    budget: int = DEFAULT_BUDGET,
) -> tuple[list[int], T | None]:
    """The shortest path found by dropping steps of ``path`` for which ``reproduces`` is not None,
    and what ``reproduces`` returned for it (None when nothing could be dropped)."""
    best = list(path)
    payload: T | None = None
    attempts = 0
    fixed = 1 if keep_last else 0
    size = max(1, (len(best) - fixed) // 2)
    while size >= 1:
        removed_any = False
        start = 0
        while start + size <= len(best) - fixed:
            if attempts >= budget:
                return best, payload
            candidate = best[:start] + best[start + size :]
            attempts += 1
            result = reproduces(candidate)
            if result is not None:
                best, payload, removed_any = candidate, result, True
            else:
                start += 1
        if size == 1 and not removed_any:
            break
        size = max(1, size // 2) if size > 1 else 1
    return best, payload
