"""An exploration stopped in process by a signal (tests/core/test_interrupt.py sends real
signals to a `venomqa run` process) or by an infrastructure failure: the run stops as
interrupted or aborted, says why, and keeps what it found so far in the error's ``partial``."""

from __future__ import annotations

import signal

import pytest
from venomqa import Action, ExecutionContext, Invariant, World, explore
from venomqa.errors import InfrastructureError, RollbackDriftError, RunInterrupted
from venomqa.models.results import ExplorationResult, StopReason

#: A base URL nothing listens on: these actions never call the API.
NO_API = "http://127.0.0.1:9"


def _first_then(failing: BaseException) -> list[Action]:
    """``first``, then an action that raises ``failing`` in first's state."""

    def first(api: object, ctx: ExecutionContext) -> None:
        ctx["first"] = True

    def fails(api: object, ctx: ExecutionContext) -> None:
        raise failing

    return [
        Action("first", first, requires=lambda ctx: "first" not in ctx),
        Action("fails", fails, requires=lambda ctx: "first" in ctx),
    ]


def _stopped(
    raised: BaseException, expected: type[BaseException], invariants: list[Invariant] | None = None
) -> tuple[BaseException, ExplorationResult]:
    """Explore ``_first_then(raised)``: the error the run ended with (``expected``) and the
    result it holds, what was found until then."""
    with pytest.raises(expected) as caught:
        explore(World(NO_API), _first_then(raised), invariants or [])
    partial = getattr(caught.value, "partial", None)
    assert isinstance(partial, ExplorationResult)
    return caught.value, partial


@pytest.mark.parametrize(
    ("raised", "named"),
    [
        (KeyboardInterrupt(), "SIGINT (Ctrl-C)"),  # Python's own Ctrl-C carries no number
        (RunInterrupted(signal.SIGTERM), "SIGTERM"),  # as venomqa.interrupts raises it
    ],
    ids=["KeyboardInterrupt", "SIGTERM"],
)
def test_a_signal_stops_the_run_as_interrupted_keeping_what_was_found(
    raised: KeyboardInterrupt, named: str
) -> None:
    _, partial = _stopped(raised, RunInterrupted)
    assert partial.stop_reason is StopReason.INTERRUPTED
    assert partial.stop_detail == named
    assert partial.states == 2  # the root and first's state, found before the signal


@pytest.mark.parametrize(
    ("failure", "detail"),
    [
        (InfrastructureError("the queue's broker went away"), "the queue's broker went away"),
        (InfrastructureError(), "InfrastructureError"),  # no message: its type
    ],
    ids=["with a message", "without"],
)
def test_an_infrastructure_failure_aborts_the_run_saying_what_failed(
    failure: InfrastructureError, detail: str
) -> None:
    error, partial = _stopped(failure, InfrastructureError)
    assert error is failure
    assert partial.stop_reason is StopReason.ABORTED
    assert partial.stop_detail == detail
    assert partial.states == 2


def test_a_rollback_that_drifted_is_the_first_finding_of_the_aborted_run() -> None:
    drift = RollbackDriftError("store 'db' is not back at its checkpoint: table items differs")
    never_first = Invariant("never_first", lambda world: "first" not in world.ctx)
    _, partial = _stopped(drift, RollbackDriftError, [never_first])
    assert [v.invariant for v in partial.violations][1:] == ["never_first"]
    assert "table items differs" in partial.violations[0].message


def test_a_signal_before_the_initial_state_was_known_stops_with_nothing_found() -> None:
    def interrupted(world: object) -> bool:
        raise KeyboardInterrupt

    never_run = RuntimeError("never run")
    _, partial = _stopped(never_run, RunInterrupted, [Invariant("checked_first", interrupted)])
    assert partial.stop_reason is StopReason.INTERRUPTED
    assert (partial.states, partial.initial_state) == (0, None)
