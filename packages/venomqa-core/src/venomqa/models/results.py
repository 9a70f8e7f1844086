"""Result types: what a request, an exploration and a journey produced. Plain data, no I/O.

Every type has ``to_dict()`` giving the JSON-ready form the json reporter writes (docs/reports.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from venomqa.json_types import Json, JsonObject
from venomqa.models._read import (
    array,
    integer,
    number,
    obj,
    optional_int,
    optional_text,
    text,
    texts,
)
from venomqa.models.actions import Severity


class FindingKind(StrEnum):
    """What a finding is: a user invariant, or one of the checks VenomQA makes by itself."""

    INVARIANT = "invariant"
    #: A call answered with a 5xx status.
    SERVER_ERROR = "server_error"
    #: An action (or its precondition) raised.
    ACTION_ERROR = "action_error"
    #: A StateGraph node's checker did not hold after an edge into it.
    NODE_CHECK = "node_check"
    #: The same calls from the same state reached states no volatile field explains.
    NONDETERMINISM = "nondeterminism"
    #: A rollback did not restore its checkpoint (``verify_rollback``); the run stops there.
    ROLLBACK_DRIFT = "rollback_drift"


class StopReason(StrEnum):
    """Why an exploration ended."""

    #: Every reachable state (within ``max_depth``) was explored.
    EXHAUSTED = "exhausted"
    #: Everything within ``max_depth`` was explored, but deeper states exist.
    MAX_DEPTH = "max_depth"
    MAX_STATES = "max_states"
    MAX_TRANSITIONS = "max_transitions"
    TIME_BUDGET = "time_budget"
    STOP_ON_FIRST = "stop_on_first"
    #: Random walk only: many walks in a row found nothing new although untried actions remain.
    STALLED = "stalled"
    #: Ctrl-C or a signal ended the run; the result holds what was found until then.
    INTERRUPTED = "interrupted"
    #: The API or a store failed (or a rollback did not restore a state); ``stop_detail`` says
    #: what. The result holds what was found until then.
    ABORTED = "aborted"


KIND_INVARIANT = FindingKind.INVARIANT
KIND_SERVER_ERROR = FindingKind.SERVER_ERROR
KIND_ACTION_ERROR = FindingKind.ACTION_ERROR
KIND_NODE_CHECK = FindingKind.NODE_CHECK
KIND_NONDETERMINISM = FindingKind.NONDETERMINISM


@dataclass(slots=True)
class RequestRecord:
    """One HTTP exchange as the client saw it; secrets are already redacted."""

    method: str
    url: str
    request_body: Json = None
    response_status: int | None = None
    response_body: Json = None
    duration_ms: float = 0.0
    error: str | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> JsonObject:
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": dict(self.request_headers),
                "body": self.request_body,
            },
            "response": {
                "status": self.response_status,
                "headers": dict(self.response_headers),
                "body": self.response_body,
            },
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Json]) -> RequestRecord:
        """The record ``to_dict()`` gave; TypeError when a field has the wrong type."""
        request, response = obj(data.get("request", {})), obj(data.get("response", {}))
        return cls(
            method=text(request.get("method", "GET")),
            url=text(request.get("url", "")),
            request_body=request.get("body"),
            request_headers=_headers(request.get("headers")),
            response_status=optional_int(response.get("status")),
            response_body=response.get("body"),
            response_headers=_headers(response.get("headers")),
            duration_ms=number(data.get("duration_ms")),
            error=optional_text(data.get("error")),
        )


@dataclass(frozen=True)
class TraceFrame:
    """One frame of the traceback of an exception raised by an action or an invariant."""

    file: str
    line: int
    function: str
    #: The source line, stripped ("" when the file cannot be read).
    source: str = ""
    #: True for the user's code; False for a library's (httpx, the standard library, ...).
    user: bool = True

    def to_dict(self) -> JsonObject:
        return {
            "file": self.file,
            "line": self.line,
            "function": self.function,
            "source": self.source,
            "user": self.user,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Json]) -> TraceFrame:
        """The frame ``to_dict()`` gave."""
        return cls(
            file=text(data.get("file", "")),
            line=integer(data.get("line") or 0),
            function=text(data.get("function", "")),
            source=text(data.get("source") or ""),
            user=bool(data.get("user", True)),
        )

    def where(self) -> str:
        """``file:line in function``."""
        return f"{self.file}:{self.line} in {self.function}"


def user_frame(frames: list[TraceFrame]) -> TraceFrame | None:
    """The innermost frame in the user's code (the one to show), or None."""
    return next((frame for frame in reversed(frames) if frame.user), None)


@dataclass(slots=True)
class StepRecord:
    """One action of a path, with the requests it made (usually one) and any error it raised."""

    action: str
    requests: list[RequestRecord] = field(default_factory=list)
    error: str | None = None
    #: What the action changed, short and without values (``+orders#1``, ``ctx +order_id``);
    #: empty when unknown (see ``venomqa.state.changes``).
    changed: list[str] = field(default_factory=list)

    def to_dict(self) -> JsonObject:
        last = self.requests[-1].to_dict() if self.requests else None
        return {
            "action": self.action,
            "request": last["request"] if last else None,
            "response": last["response"] if last else None,
            "error": self.error,
            "requests": [r.to_dict() for r in self.requests],
            "changed": list(self.changed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Json]) -> StepRecord:
        """The step ``to_dict()`` gave (or an older report's single ``request``/``response``)."""
        requests = [RequestRecord.from_dict(obj(r)) for r in array(data.get("requests"))]
        if not requests and data.get("request"):
            requests = [RequestRecord.from_dict(data)]
        return cls(
            action=text(data["action"]),
            requests=requests,
            error=optional_text(data.get("error")),
            changed=texts(data.get("changed")),
        )


@dataclass
class Violation:
    """A distinct problem: an invariant that failed (or a built-in finding) with the shortest
    path of actions found to reproduce it, how many states showed it, and a few other paths."""

    invariant: str
    severity: Severity
    path: list[str]
    steps: list[StepRecord] = field(default_factory=list)
    message: str = ""
    kind: FindingKind = FindingKind.INVARIANT
    state: str | None = None
    #: Distinct states in which the problem was seen (1 for a journey's violation).
    occurrences: int = 1
    #: Up to a few other paths (action names) that showed it too.
    examples: list[list[str]] = field(default_factory=list)
    #: When an action, precondition or invariant raised: the last frames of its traceback
    #: (innermost last; ``user_frame`` picks the user's).
    frames: list[TraceFrame] = field(default_factory=list)

    def to_dict(self) -> JsonObject:
        return {
            "invariant": self.invariant,
            "severity": self.severity.value,
            "kind": str(self.kind),
            "message": self.message,
            "path": list(self.path),
            "steps": [s.to_dict() for s in self.steps],
            "state": self.state,
            "occurrences": self.occurrences,
            "examples": [list(p) for p in self.examples],
            "frames": [f.to_dict() for f in self.frames],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Json]) -> Violation:
        """The violation ``to_dict()`` gave (as a JSON report holds it); KeyError, TypeError or
        ValueError when it is malformed."""
        return cls(
            invariant=text(data["invariant"]),
            severity=Severity(data.get("severity", "high")),
            path=texts(data.get("path")),
            steps=[StepRecord.from_dict(obj(s)) for s in array(data.get("steps"))],
            message=text(data.get("message", "")),
            kind=_finding_kind(data.get("kind")),
            state=optional_text(data.get("state")),
            occurrences=integer(data.get("occurrences") or 1),
            examples=[texts(p) for p in array(data.get("examples"))],
            frames=[TraceFrame.from_dict(obj(f)) for f in array(data.get("frames"))],
        )


def _headers(value: Json) -> dict[str, str]:
    """Headers as a report holds them (null or missing: none)."""
    return {name: text(header) for name, header in obj(value or {}).items()}


def _finding_kind(value: Json) -> FindingKind:
    if not isinstance(value, str):
        return FindingKind.INVARIANT
    try:
        return FindingKind(value or FindingKind.INVARIANT)
    except ValueError:
        return FindingKind.INVARIANT


@dataclass(frozen=True)
class VolatileFieldInfo:
    """A field or context key left out of the state: where to declare it, and why it is."""

    where: str  # "stores.db.ignore" or "context.ignore"
    spec: str  # "posts.created_at", or a context key
    reason: str
    declared: bool = False

    def to_dict(self) -> JsonObject:
        return {
            "where": self.where,
            "spec": self.spec,
            "reason": self.reason,
            "declared": self.declared,
        }


def pin_lines(fields: list[VolatileFieldInfo]) -> list[str]:
    """venomqa.yaml lines declaring ``fields``, e.g. ``stores.db.ignore: [posts.id, ...]``."""
    grouped: dict[str, list[str]] = {}
    for info in fields:
        grouped.setdefault(info.where, []).append(info.spec)
    return [f"{where}: [{', '.join(specs)}]" for where, specs in grouped.items()]


@dataclass(slots=True)
class StateEdge:
    """One explored transition between two distinct states, for the state-graph picture."""

    source: str
    action: str
    target: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "action": self.action, "target": self.target}


@dataclass(frozen=True, slots=True)
class StateOrigin:
    """How a state was first reached: the action, and what it changed from the state before."""

    action: str
    changed: tuple[str, ...] = ()

    def to_dict(self) -> JsonObject:
        return {"action": self.action, "changed": list(self.changed)}


@dataclass
class ExplorationResult:
    """What an exploration found: states, transitions, coverage, violations and timings."""

    states: int = 0
    transitions: int = 0
    violations: list[Violation] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)
    never_enabled: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    strategy: str = "bfs"
    stop_reason: str = StopReason.EXHAUSTED
    max_depth_reached: int = 0
    initial_state: str | None = None
    state_edges: list[StateEdge] = field(default_factory=list)
    invariants: list[str] = field(default_factory=list)
    #: Each store's ``observe()`` summary at the start, by store name.
    observations: dict[str, Json] = field(default_factory=dict)
    target: str | None = None
    #: Every action call made: transitions, replays to reach states, calibration runs.
    calls: int = 0
    #: Times the search started over because a volatile field was learned mid-run.
    restarts: int = 0
    #: Fields and context keys left out of the state: declared, then learned.
    volatile: list[VolatileFieldInfo] = field(default_factory=list)
    #: Why the run stopped early, when it was interrupted or aborted.
    stop_detail: str | None = None
    #: Per state key (but the initial state): the action that first reached it and what it
    #: changed, to label states by.
    origins: dict[str, StateOrigin] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """False when the run was interrupted or aborted (the findings are those found so far)."""
        return self.stop_reason not in (StopReason.INTERRUPTED, StopReason.ABORTED)

    @property
    def ok(self) -> bool:
        """True when nothing was violated."""
        return not self.violations

    @property
    def learned(self) -> list[VolatileFieldInfo]:
        """The volatile fields found while exploring (not declared)."""
        return [info for info in self.volatile if not info.declared]

    def learned_pin_lines(self) -> list[str]:
        """venomqa.yaml lines pinning what was learned: every setting that learned something,
        with all it holds (declared entries too), so each line can replace the file's."""
        settings = {info.where for info in self.learned}
        return pin_lines([info for info in self.volatile if info.where in settings])

    def to_dict(self) -> JsonObject:
        return {
            "kind": "exploration",
            "target": self.target,
            "strategy": self.strategy,
            "stop_reason": self.stop_reason,
            "stop_detail": self.stop_detail,
            "complete": self.complete,
            "states": self.states,
            "transitions": self.transitions,
            "max_depth_reached": self.max_depth_reached,
            "duration_s": round(self.duration_s, 6),
            "actions": dict(self.actions),
            "never_enabled": list(self.never_enabled),
            "invariants": list(self.invariants),
            "violations": [v.to_dict() for v in self.violations],
            "initial_state": self.initial_state,
            "state_edges": [{**e.to_dict()} for e in self.state_edges],
            "observations": self.observations,
            "calls": self.calls,
            "restarts": self.restarts,
            "volatile": [v.to_dict() for v in self.volatile],
            "pin": [*pin_lines(self.volatile)],
            "origins": {key: origin.to_dict() for key, origin in self.origins.items()},
        }


@dataclass
class StepResult:
    """How one journey step went: passed or not, its requests, error and timing."""

    name: str
    passed: bool
    requests: list[RequestRecord] = field(default_factory=list)
    error: str | None = None
    attempts: int = 1
    duration_ms: float = 0.0
    expect_failure: bool = False

    def to_dict(self) -> JsonObject:
        return {
            "name": self.name,
            "passed": self.passed,
            "error": self.error,
            "attempts": self.attempts,
            "duration_ms": round(self.duration_ms, 3),
            "expect_failure": self.expect_failure,
            "requests": [r.to_dict() for r in self.requests],
        }


@dataclass
class PathResult:
    """One branch path of a journey: the steps it ran from its checkpoint."""

    name: str
    checkpoint: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(step.passed for step in self.steps)

    def to_dict(self) -> JsonObject:
        return {
            "name": self.name,
            "checkpoint": self.checkpoint,
            "passed": self.passed,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass
class JourneyResult:
    """A journey's outcome: its main-line steps, each branch path, and invariant violations."""

    name: str
    steps: list[StepResult] = field(default_factory=list)
    paths: list[PathResult] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return (
            all(s.passed for s in self.steps)
            and all(p.passed for p in self.paths)
            and not self.violations
        )

    def to_dict(self) -> JsonObject:
        return {
            "kind": "journey",
            "name": self.name,
            "passed": self.passed,
            "duration_s": round(self.duration_s, 6),
            "steps": [s.to_dict() for s in self.steps],
            "paths": [p.to_dict() for p in self.paths],
            "violations": [v.to_dict() for v in self.violations],
        }


@dataclass
class Progress:
    """A live snapshot of an exploration, handed to observers while it runs."""

    states: int
    transitions: int
    violations: int
    depth: int
    elapsed_s: float
    frontier: int = 0


@dataclass
class RunReport:
    """Everything one `venomqa run` produced: the exploration (if any) and journey results."""

    exploration: ExplorationResult | None = None
    journeys: list[JourneyResult] = field(default_factory=list)
    target: str | None = None
    #: Why the run ended early (``interrupted by SIGTERM``, ``aborted: ...``); None when it ran
    #: to its end. The findings are then those found until it stopped.
    stopped: str | None = None

    @property
    def complete(self) -> bool:
        """False when the run was interrupted or aborted before its end."""
        return self.stopped is None

    @property
    def violations(self) -> list[Violation]:
        """Every violation, the exploration's first then each journey's."""
        found = list(self.exploration.violations) if self.exploration else []
        for journey in self.journeys:
            found.extend(journey.violations)
        return found

    @property
    def ok(self) -> bool:
        """True when nothing was violated and every journey passed."""
        return not self.violations and all(j.passed for j in self.journeys)

    def to_dict(self) -> JsonObject:
        """The JSON report (docs/reports.md): exploration fields at the top level, journeys
        beside."""
        exploration = self.exploration.to_dict() if self.exploration else {}
        data: JsonObject = {
            "venomqa_report": 1,
            "target": self.target,
            "ok": self.ok,
            "complete": self.complete,
            "stopped": self.stopped,
            "violations": [v.to_dict() for v in self.violations],
            "states": exploration.get("states", 0),
            "transitions": exploration.get("transitions", 0),
            "actions": exploration.get("actions", {}),
            "duration_s": round(
                (self.exploration.duration_s if self.exploration else 0.0)
                + sum(j.duration_s for j in self.journeys),
                6,
            ),
            "exploration": exploration or None,
            "journeys": [j.to_dict() for j in self.journeys],
        }
        return data
