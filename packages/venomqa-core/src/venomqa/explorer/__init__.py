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
    from venomqa.explorer._parallel import Exploration, LocalHost, Runner, WorkerHost
    from venomqa.explorer._work import Fired, FireTask, Judged, Reproduced, WorldRunner

__getattr__ = lazy_getattr(
    __name__,
    {
        "explore": "venomqa.explorer._api",
        "explore_graph": "venomqa.explorer._api",
        "strategy_named": "venomqa.explorer._api",
        "Exploration": "venomqa.explorer._parallel",
        "LocalHost": "venomqa.explorer._parallel",
        "Runner": "venomqa.explorer._parallel",
        "WorkerHost": "venomqa.explorer._parallel",
        "Fired": "venomqa.explorer._work",
        "FireTask": "venomqa.explorer._work",
        "Judged": "venomqa.explorer._work",
        "Reproduced": "venomqa.explorer._work",
        "WorldRunner": "venomqa.explorer._work",
    },
)

__all__ = [
    "BUILTIN_STRATEGY_NAMES",
    "Exploration",
    "ExploreOptions",
    "FireTask",
    "Fired",
    "Judged",
    "LocalHost",
    "Reproduced",
    "Runner",
    "StopReason",
    "WorkerHost",
    "WorldRunner",
    "explore",
    "explore_graph",
    "strategy_named",
]
