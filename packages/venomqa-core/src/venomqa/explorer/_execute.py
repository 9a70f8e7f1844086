"""Running one move against the world and recording what it sent and received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from venomqa.errors import InfrastructureError
from venomqa.explorer._moves import Move
from venomqa.models.results import StepRecord
from venomqa.world import World


@dataclass(slots=True)
class Executed:
    """The outcome of one move: its step record (requests, error) and what it returned."""

    step: StepRecord
    response: Any
    error_type: str | None = None


def describe_exception(exc: BaseException) -> str:
    """``TypeName: message`` (or just the type name when the message is empty)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def execute(world: World, move: Move) -> Executed:
    """Run ``move`` once. An exception from the action is recorded, not raised, unless it is an
    InfrastructureError (API or store unreachable) or not an Exception at all (Ctrl-C)."""
    api = world.api
    mark = api.mark()
    try:
        response = move.run(api, world.ctx)
    except InfrastructureError:
        raise
    except Exception as exc:
        error = describe_exception(exc)
        step = StepRecord(action=move.name, requests=api.records_since(mark), error=error)
        return Executed(step=step, response=None, error_type=type(exc).__name__)
    return Executed(
        step=StepRecord(action=move.name, requests=api.records_since(mark)), response=response
    )


def server_error_status(executed: Executed) -> int | None:
    """The first 5xx status the move's requests (or its returned response) got, if any."""
    for record in executed.step.requests:
        status = record.response_status
        if status is not None and status >= 500:
            return status
    status = getattr(executed.response, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return status
    return None
