"""The state-space explorer: ``explore(world, actions, invariants)`` and ``explore_graph``.

States are abstract (volatile fields such as timestamps and random ids left out, see
``venomqa.state``); each distinct state is explored once, invariants are checked in every state,
and each distinct problem is reported once with the path of calls (requests and responses) that
reproduces it. Search strategies are pluggable (``venomqa.explorer.search``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.explorer.options import BUILTIN_STRATEGY_NAMES, ExploreOptions
from venomqa.lazy import lazy_getattr
from venomqa.models.results import StopReason

if TYPE_CHECKING:
    from venomqa.explorer._api import explore, explore_graph, strategy_named

__getattr__ = lazy_getattr(
    __name__,
    {
        "explore": "venomqa.explorer._api",
        "explore_graph": "venomqa.explorer._api",
        "strategy_named": "venomqa.explorer._api",
    },
)

__all__ = [
    "BUILTIN_STRATEGY_NAMES",
    "ExploreOptions",
    "StopReason",
    "explore",
    "explore_graph",
    "strategy_named",
]
