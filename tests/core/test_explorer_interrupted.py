"""A stop signal during an exploration, in process (tests/core/test_interrupt.py sends real
signals to a `venomqa run` process): the run stops as interrupted, names the signal, and keeps
what it found so far in the error's ``partial`` result."""

from __future__ import annotations

import signal

import pytest
from venomqa import Action, ExecutionContext, World, explore
from venomqa.errors import RunInterrupted
from venomqa.models.results import StopReason

#: A base URL nothing listens on: these actions never call the API.
NO_API = "http://127.0.0.1:9"


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
    def first(api: object, ctx: ExecutionContext) -> None:
        ctx["first"] = True

    def stopped(api: object, ctx: ExecutionContext) -> None:
        raise raised

    actions = [
        Action("first", first, requires=lambda ctx: "first" not in ctx),
        Action("stopped", stopped, requires=lambda ctx: "first" in ctx),
    ]
    with pytest.raises(RunInterrupted) as caught:
        explore(World(NO_API), actions)

    partial = caught.value.partial
    assert partial is not None
    assert partial.stop_reason is StopReason.INTERRUPTED
    assert partial.stop_detail == named
    assert partial.states == 2  # the root and first's state, found before the signal
