"""Plain data models: actions, invariants, journeys, state graphs and results. No I/O here."""

from venomqa.models.actions import Action, Invariant, Severity, action, invariant
from venomqa.models.graph import Edge, StateGraph, StateNode
from venomqa.models.journey import Branch, Checkpoint, Journey, Path, Step
from venomqa.models.results import (
    KIND_ACTION_ERROR,
    KIND_INVARIANT,
    KIND_NODE_CHECK,
    KIND_SERVER_ERROR,
    ExplorationResult,
    JourneyResult,
    PathResult,
    Progress,
    RequestRecord,
    RunReport,
    StateEdge,
    StepRecord,
    StepResult,
    Violation,
)

__all__ = [
    "KIND_ACTION_ERROR",
    "KIND_INVARIANT",
    "KIND_NODE_CHECK",
    "KIND_SERVER_ERROR",
    "Action",
    "Branch",
    "Checkpoint",
    "Edge",
    "ExplorationResult",
    "Invariant",
    "Journey",
    "JourneyResult",
    "Path",
    "PathResult",
    "Progress",
    "RequestRecord",
    "RunReport",
    "Severity",
    "StateEdge",
    "StateGraph",
    "StateNode",
    "Step",
    "StepRecord",
    "StepResult",
    "Violation",
    "action",
    "invariant",
]
