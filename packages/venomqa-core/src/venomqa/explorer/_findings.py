"""Findings: each distinct problem once, with its shortest path and how often it was seen.

A finding is what the engine notices in one state (an invariant that fails there, a 5xx, an
action that raised, ...). Findings are grouped into one Violation per distinct problem:

- an invariant: one entry, whatever the state;
- a server error: per action, status and *signature* of the response body (its JSON shape, or
  its text with numbers and ids masked), so two different 500s of one action stay two entries;
- an action error: per action, exception type and signature of its message;
- a node check: per edge and node; nondeterminism: per signature of the difference.

The first path of a group is kept (under BFS it is a shortest one; other strategies shrink it);
``occurrences`` counts the distinct states that showed the problem and ``examples`` keeps paths
to a few of the other states. Observers hear about each group once, when it is first found. The
final list is sorted worst severity first, then shortest path, then discovery order.

The module also builds the findings (``invariant_finding`` ...), each with a ``recheck`` that
tells whether a replayed shorter path still shows the same problem (used when shrinking).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from venomqa.errors import InfrastructureError, RollbackDriftError
from venomqa.evaluation import (
    Executed,
    Failure,
    Raised,
    describe_exception,
    invariant_failure,
    node_check_failure,
    server_error_status,
)
from venomqa.explorer._moves import Move
from venomqa.json_types import Json
from venomqa.models.actions import Invariant, Severity
from venomqa.models.graph import NodeChecker
from venomqa.models.results import (
    FindingKind,
    RequestRecord,
    StepRecord,
    TraceFrame,
    Violation,
)
from venomqa.ports.reporter import notify
from venomqa.state.normal import random_tokens
from venomqa.world import World

#: Re-check a finding after replaying a candidate path: the message when it still holds.
Recheck = Callable[[World, Executed | None], str | None]

#: Other example paths kept per distinct problem.
EXAMPLES = 3
_DIGITS = re.compile(r"\d+")
_SIGNATURE_LIMIT = 160


@dataclass(slots=True)
class Finding:
    """A problem as seen in one state, before grouping and shrinking."""

    kind: FindingKind
    name: str
    severity: Severity
    message: str
    group: Hashable
    recheck: Recheck
    #: The move the finding is about; a shrunk path must still end with it.
    final_move: int | None = None
    #: Where the user's code raised, when it did (``venomqa.tracebacks``).
    frames: list[TraceFrame] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    violation: Violation
    states: set[str] = field(default_factory=set)


class Findings:
    """The distinct problems of one exploration, in discovery order."""

    def __init__(self, observers: Sequence[object]) -> None:
        self._observers = list(observers)
        self._groups: dict[Hashable, _Group] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def improves(self, finding: Finding, length: int) -> bool:
        """Whether a path of ``length`` to ``finding`` would be its group's first or shortest."""
        group = self._groups.get(finding.group)
        return group is None or length < len(group.violation.path)

    def record(
        self, finding: Finding, state: str, steps: Sequence[StepRecord], message: str
    ) -> bool:
        """Count ``finding`` in ``state`` reached by ``steps``; True when its group is new (it
        is then announced to observers)."""
        group = self._groups.get(finding.group)
        path = [step.action for step in steps]
        if group is None:
            violation = Violation(
                invariant=finding.name,
                severity=finding.severity,
                path=path,
                steps=list(steps),
                message=message,
                kind=finding.kind,
                state=state,
                occurrences=1,
                frames=list(finding.frames),
            )
            self._groups[finding.group] = _Group(violation, {state})
            notify(self._observers, "on_violation", violation)
            return True
        violation = group.violation
        another_state = state not in group.states
        if another_state:
            group.states.add(state)
            violation.occurrences = len(group.states)
        if len(path) < len(violation.path):  # a shorter way to the same problem
            if violation.path not in violation.examples:
                violation.examples.insert(0, violation.path)
                del violation.examples[EXAMPLES:]
            violation.path, violation.steps, violation.message = path, list(steps), message
            violation.state = state
            violation.frames = list(finding.frames) or violation.frames
        elif (  # an example shows the problem somewhere else, not the same state again
            another_state
            and len(violation.examples) < EXAMPLES
            and path != violation.path
            and path not in violation.examples
        ):
            violation.examples.append(path)
        return False

    def begin_pass(self) -> None:
        """The search starts over (a volatile field was learned): keep every problem and its
        shortest path, count occurrences afresh."""
        for group in self._groups.values():
            group.states.clear()
            group.violation.occurrences = 0

    def sorted(self) -> list[Violation]:
        """Worst severity first, then shortest path, then the order they were found."""
        violations = [g.violation for g in self._groups.values()]
        for violation in violations:
            violation.occurrences = max(violation.occurrences, 1)
        return sorted(violations, key=lambda v: (v.severity.rank, len(v.path)))


# -- signatures -------------------------------------------------------------------------------


def text_signature(text: str) -> str:
    """``text`` with ids and numbers masked, so the same error about other rows matches."""
    for token in random_tokens(text):
        text = text.replace(token, "*")
    return _DIGITS.sub("#", text)[:_SIGNATURE_LIMIT]


def body_signature(body: Json | bytes) -> str:
    """The shape of a response body: JSON keys and value kinds, or its masked text."""
    if isinstance(body, str | bytes):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            parsed: Json = json.loads(text)
        except ValueError:
            return text_signature(text.strip())
        return _shape(parsed)[:_SIGNATURE_LIMIT]
    return _shape(body)[:_SIGNATURE_LIMIT]


def _shape(value: Json) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_shape(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + (_shape(value[0]) if value else "") + "]"
    if isinstance(value, str):
        return repr(text_signature(value)[:40])
    if isinstance(value, bool) or value is None:
        return repr(value)
    return "#"


# -- building findings --------------------------------------------------------------------------


def invariant_finding(inv: Invariant, failure: Failure) -> Finding:
    """``inv`` does not hold."""
    return Finding(
        kind=FindingKind.INVARIANT,
        name=inv.name,
        severity=inv.severity,
        message=failure.message,
        group=(FindingKind.INVARIANT, inv.name),
        recheck=lambda world, _last: invariant_failure(inv, world),
        frames=failure.frames,
    )


def action_error_finding(move: Move, index: int, executed: Executed) -> Finding:
    """Move ``index`` raised."""
    name, error_type = move.name, executed.error_type

    def recheck(_world: World, last: Executed | None) -> str | None:
        if last is None or last.error_type != error_type:
            return None
        return f"action {name!r} raised {last.step.error}"

    return Finding(
        kind=FindingKind.ACTION_ERROR,
        name="action_error",
        severity=Severity.HIGH,
        message=f"action {name!r} raised {executed.step.error}",
        group=(FindingKind.ACTION_ERROR, name, text_signature(executed.step.error or "")),
        recheck=recheck,
        final_move=index,
        frames=executed.frames,
    )


def server_error_finding(move: Move, index: int, executed: Executed, status: int) -> Finding:
    """Move ``index`` got a 5xx answer."""
    name = move.name

    def failing(last: Executed) -> RequestRecord | None:
        return next((r for r in last.step.requests if (r.response_status or 0) >= 500), None)

    def describe(last: Executed) -> str:
        record = failing(last)
        where = f" from {record.method} {record.url}" if record is not None else ""
        return f"action {name!r} got HTTP {status}{where}"

    record = failing(executed)
    signature = body_signature(record.response_body if record is not None else None)

    def recheck(_world: World, last: Executed | None) -> str | None:
        if last is None or server_error_status(last) != status:
            return None
        again = failing(last)
        if body_signature(again.response_body if again is not None else None) != signature:
            return None
        return describe(last)

    return Finding(
        kind=FindingKind.SERVER_ERROR,
        name="server_error",
        severity=Severity.HIGH,
        message=describe(executed),
        group=(FindingKind.SERVER_ERROR, name, status, signature),
        recheck=recheck,
        final_move=index,
    )


def node_check_finding(
    edge: str, node: str, checker: NodeChecker | None, message: str, index: int | None
) -> Finding:
    """After ``edge`` the graph node's checker did not hold."""

    def recheck(world: World, _last: Executed | None) -> str | None:
        if checker is None:
            return None
        detail = node_check_failure(checker, node, world)
        return None if detail is None else f"after {edge}: {detail}"

    return Finding(
        kind=FindingKind.NODE_CHECK,
        name="node_check",
        severity=Severity.HIGH,
        message=f"after {edge}: {message}",
        group=(FindingKind.NODE_CHECK, edge, node),
        recheck=recheck,
        final_move=index,
    )


def precondition_finding(move: Move, raised: Raised) -> Finding:
    """The precondition of ``move`` raised."""
    error_type = raised.type_name
    message = f"precondition of action {move.name!r} raised {raised.description}"

    def recheck(world: World, _last: Executed | None) -> str | None:
        try:
            move.enabled(world.ctx, move.from_node)
        except InfrastructureError:
            raise
        except Exception as again:
            if type(again).__name__ == error_type:
                return f"precondition of action {move.name!r} raised {describe_exception(again)}"
        return None

    return Finding(
        kind=FindingKind.ACTION_ERROR,
        name="action_error",
        severity=Severity.HIGH,
        message=message,
        group=(FindingKind.ACTION_ERROR, move.name, "precondition", text_signature(message)),
        recheck=recheck,
        frames=list(raised.frames),
    )


#: Where the docs explain state VenomQA does not roll back.
STORES_DOC = "docs/configuration.md, 'Stores, and APIs that keep state in memory'"


def nondeterminism_hint(stores_declared: bool) -> str:
    """What to do about a nondeterminism finding, for a run with or without stores."""
    if not stores_declared:
        return (
            "no store is declared under `stores:`, so nothing is rolled back between branches: "
            f"declare the stores the API keeps its state in (see {STORES_DOC})"
        )
    return (
        "if the API keeps state VenomQA does not roll back (its own memory, or a store not "
        f"declared under `stores:`), declare it (see {STORES_DOC})"
    )


def nondeterminism_finding(
    what: str, differences: Sequence[str], *, stores_declared: bool = True
) -> Finding:
    """Running ``what`` (an action, or a path) twice from one state gave states no volatile
    field explains. Grouped by the difference alone: a path replayed later shows the same
    nondeterministic action's difference, wherever in the path that action is. The message
    ends with what to do (``nondeterminism_hint``)."""
    detail = "; ".join(differences) or "the states differ"
    hint = nondeterminism_hint(stores_declared)
    return Finding(
        kind=FindingKind.NONDETERMINISM,
        name="nondeterminism",
        severity=Severity.MEDIUM,
        message=f"{what} reached different states on two runs: {detail}. Hint: {hint}",
        group=(FindingKind.NONDETERMINISM, text_signature(detail)),
        recheck=lambda _world, _last: None,
    )


def rollback_drift_violation(error: RollbackDriftError) -> Violation:
    """A rollback that did not restore its checkpoint (``verify_rollback``): the adapter, or
    something writing to the store outside the API's calls, is at fault; the run stops."""
    return Violation(
        invariant="rollback_drift",
        severity=Severity.CRITICAL,
        path=[],
        message=str(error),
        kind=FindingKind.ROLLBACK_DRIFT,
    )
