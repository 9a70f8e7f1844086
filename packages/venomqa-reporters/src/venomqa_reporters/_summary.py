"""What every format shows of a run, computed once: coverage, invariant outcomes, step lines.

The reporters differ only in how they draw these; keeping the counting here means the HTML page,
the JUnit file and the Markdown summary can never disagree about what a run found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from venomqa.models import (
    KIND_ACTION_ERROR,
    KIND_INVARIANT,
    KIND_NODE_CHECK,
    KIND_NONDETERMINISM,
    KIND_SERVER_ERROR,
    ExplorationResult,
    RequestRecord,
    RunReport,
    StepRecord,
    Violation,
    user_frame,
)

from venomqa_reporters._redact import Redactor

FIRED = "fired"
NOT_FIRED = "enabled, never fired"
NEVER_ENABLED = "never enabled"

#: Built-in finding kinds, with what a passing check of each means, in report order.
FINDING_KINDS: dict[str, str] = {
    KIND_SERVER_ERROR: "no call answered with a 5xx status",
    KIND_ACTION_ERROR: "no action raised an exception",
    KIND_NODE_CHECK: "every state-graph node's checker held after its edges",
    KIND_NONDETERMINISM: (
        "the same calls from the same state always reached the same state (volatile values aside)"
    ),
}

#: What the learned-values sections say: learning costs calls, pinning skips it.
LEARNED_HINT = "pin them in venomqa.yaml to skip learning"


@dataclass(frozen=True)
class CoverageRow:
    """One action's coverage: how often it fired and whether it was ever enabled."""

    action: str
    fired: int
    status: str


@dataclass
class InvariantOutcome:
    """One invariant and the violations found of it (shortest path first)."""

    name: str
    violations: list[Violation] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class StepLine:
    """A path step as one line: action, method, URL (redacted, no host) and status."""

    number: int
    action: str
    method: str
    url: str
    status: str
    error: str


def coverage(result: ExplorationResult) -> list[CoverageRow]:
    """Every action of the exploration: fired ones first as listed, then never enabled ones."""
    never = set(result.never_enabled)
    rows = []
    for name, count in result.actions.items():
        status = NEVER_ENABLED if name in never else FIRED if count else NOT_FIRED
        rows.append(CoverageRow(name, count, status))
    rows += [CoverageRow(name, 0, NEVER_ENABLED) for name in never if name not in result.actions]
    return rows


def invariant_outcomes(
    invariants: list[str], violations: list[Violation]
) -> list[InvariantOutcome]:
    """One outcome per invariant checked, plus any violated one the list does not name."""
    outcomes = {name: InvariantOutcome(name) for name in invariants}
    for violation in violations:
        if violation.kind != KIND_INVARIANT:
            continue
        outcomes.setdefault(violation.invariant, InvariantOutcome(violation.invariant))
        outcomes[violation.invariant].violations.append(violation)
    for outcome in outcomes.values():
        outcome.violations.sort(key=lambda v: (len(v.path), v.severity.rank))
    return list(outcomes.values())


def checked_kinds(violations: list[Violation]) -> list[str]:
    """The built-in finding kinds a report lists: node checks only where some were found."""
    found = {v.kind for v in violations}
    return [kind for kind in FINDING_KINDS if kind != KIND_NODE_CHECK or kind in found]


def findings_of_kind(violations: list[Violation], kind: str) -> list[Violation]:
    """The built-in findings of ``kind``, shortest path first."""
    found = [v for v in violations if v.kind == kind]
    return sorted(found, key=lambda v: (len(v.path), v.severity.rank))


def last_request(step: StepRecord) -> RequestRecord | None:
    """The request a step's outcome is judged by (its last one), if it made any."""
    return step.requests[-1] if step.requests else None


def step_lines(violation: Violation, redactor: Redactor) -> list[StepLine]:
    """The violation's path as numbered lines (falling back to action names without records)."""
    steps = violation.steps or [StepRecord(action=name) for name in violation.path]
    lines = []
    for number, step in enumerate(steps, 1):
        record = last_request(step)
        if record is None:
            lines.append(StepLine(number, step.action, "", "", "", redactor.text(step.error)))
            continue
        lines.append(
            StepLine(
                number,
                step.action,
                record.method,
                redactor.short_url(record.url),
                status_text(record),
                redactor.text(step.error or record.error),
            )
        )
    return lines


def status_text(record: RequestRecord) -> str:
    """The response status, or what went wrong when there was none."""
    if record.response_status is not None:
        return str(record.response_status)
    return "no response"


def status_class(status: int | None) -> str:
    """A CSS-friendly class for a status: ok (2xx/3xx), client (4xx), server (5xx), none."""
    if status is None:
        return "none"
    if status >= 500:
        return "server"
    if status >= 400:
        return "client"
    return "ok"


def verdict(run: RunReport, redact: Callable[[str], str] = str) -> str:
    """``OK: no violations found.``, ``FAILED: N violations found, M journeys failed.``, or for
    a run that stopped early ``INCOMPLETE (interrupted by SIGTERM): N violations found so far.``
    (the reason passed through ``redact``)."""
    parts = []
    count = len(run.violations)
    if count:
        parts.append(f"{count} violation{'s' if count != 1 else ''} found")
    failed = sum(1 for journey in run.journeys if not journey.passed)
    if failed:
        parts.append(f"{failed} journey{'s' if failed != 1 else ''} failed")
    if run.stopped is not None:
        found = ", ".join(parts) + " so far" if parts else "no violations found so far"
        return f"INCOMPLETE ({redact(run.stopped)}): {found}."
    if run.ok:
        return "OK: no violations found."
    return "FAILED: " + ", ".join(parts) + "."


def total_duration(run: RunReport) -> float:
    """Seconds spent exploring plus running journeys."""
    explored = run.exploration.duration_s if run.exploration else 0.0
    return explored + sum(journey.duration_s for journey in run.journeys)


def path_text(violation: Violation) -> str:
    """``a -> b -> c``, or a note that it held in the initial state."""
    return " -> ".join(violation.path) if violation.path else "(initial state, before any action)"


def seen_text(violation: Violation) -> str:
    """``seen in N states`` when more than one state showed the problem, else empty."""
    return f"seen in {violation.occurrences} states" if violation.occurrences > 1 else ""


def states_count(violations: list[Violation]) -> int:
    """How many states showed these problems (a state showing two of them counts twice)."""
    return sum(v.occurrences for v in violations)


def example_texts(violation: Violation) -> list[str]:
    """The other paths that showed the problem, each as ``a -> b -> c``."""
    return [
        " -> ".join(path) or "(initial state, before any action)" for path in violation.examples
    ]


def restarts_text(result: ExplorationResult) -> str:
    """``restarted N times after learning volatile values``, or empty without restarts."""
    if not result.restarts:
        return ""
    times = "once" if result.restarts == 1 else f"{result.restarts} times"
    return f"restarted {times} after learning volatile values"


def frame_lines(violation: Violation, redactor: Redactor) -> list[str]:
    """Where the user's code raised, innermost last: ``file:line in function`` then the source
    line (indented); the user's innermost frame is marked ``>``. Redacted as free text."""
    if not violation.frames:
        return []
    mine = user_frame(violation.frames)
    lines = []
    for frame in violation.frames:
        mark = ">" if frame is mine else " "
        lines.append(f"{mark} {redactor.text(frame.where())}")
        if frame.source:
            lines.append(f"      {redactor.text(frame.source)}")
    return lines
