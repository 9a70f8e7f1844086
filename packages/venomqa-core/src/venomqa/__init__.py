"""VenomQA: stateful API testing. Write actions and invariants; VenomQA explores every reachable
sequence of calls, checks every invariant in every state, and rolls the API's stores back between
branches.

    from venomqa import action, invariant, Severity, explore, World

Heavy parts (the HTTP client, the explorer) are imported on first use so the CLI starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.context import ExecutionContext
from venomqa.lazy import lazy_getattr
from venomqa.models import (
    Action,
    Branch,
    Checkpoint,
    Edge,
    ExplorationResult,
    Invariant,
    Journey,
    JourneyResult,
    Path,
    RequestRecord,
    RunReport,
    Severity,
    StateGraph,
    StateNode,
    Step,
    Violation,
    action,
    invariant,
)
from venomqa.plugins.markers import hookimpl

if TYPE_CHECKING:
    from venomqa.client import CircuitBreaker, Client, RetryPolicy
    from venomqa.explorer import explore, explore_graph
    from venomqa.runner import JourneyRunner, run_journey
    from venomqa.world import World

__version__ = "1.0.0"

_LAZY = {
    "Client": "venomqa.client",
    "RetryPolicy": "venomqa.client",
    "CircuitBreaker": "venomqa.client",
    "explore": "venomqa.explorer",
    "explore_graph": "venomqa.explorer",
    "JourneyRunner": "venomqa.runner",
    "run_journey": "venomqa.runner",
    "World": "venomqa.world",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = [
    "Action",
    "Branch",
    "Checkpoint",
    "CircuitBreaker",
    "Client",
    "Edge",
    "ExecutionContext",
    "ExplorationResult",
    "Invariant",
    "Journey",
    "JourneyResult",
    "JourneyRunner",
    "Path",
    "RequestRecord",
    "RetryPolicy",
    "RunReport",
    "Severity",
    "StateGraph",
    "StateNode",
    "Step",
    "Violation",
    "World",
    "__version__",
    "action",
    "explore",
    "explore_graph",
    "hookimpl",
    "invariant",
    "run_journey",
]
