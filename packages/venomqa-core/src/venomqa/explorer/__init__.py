"""The state-space explorer: ``explore(world, actions, invariants)`` and ``explore_graph``.

States are the fingerprints of every store plus the context; each distinct state is explored
once, invariants are checked in every state, and each violation comes with the path of calls
(requests and responses) that reproduces it. See ``explore`` for strategies and limits.
"""

from venomqa.explorer._api import explore, explore_graph
from venomqa.explorer._options import (
    STOP_EXHAUSTED,
    STOP_MAX_DEPTH,
    STOP_MAX_STATES,
    STOP_MAX_TRANSITIONS,
    STOP_ON_FIRST,
    STOP_STALLED,
    STOP_TIME_BUDGET,
    STRATEGIES,
    ExploreOptions,
)

__all__ = [
    "STOP_EXHAUSTED",
    "STOP_MAX_DEPTH",
    "STOP_MAX_STATES",
    "STOP_MAX_TRANSITIONS",
    "STOP_ON_FIRST",
    "STOP_STALLED",
    "STOP_TIME_BUDGET",
    "STRATEGIES",
    "ExploreOptions",
    "explore",
    "explore_graph",
]
