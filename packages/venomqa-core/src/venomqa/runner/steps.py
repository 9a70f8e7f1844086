"""Running one journey Step: its deadline, its retries and ``expect_failure``.

Outcome rules (each attempt calls ``step.action(api, ctx, **step.args)``):

- An attempt *fails* when the action raises or returns a response whose status is >= 400.
- ``retries``: an attempt that raised or answered >= 500 is run again, up to ``retries`` more
  times while the deadline allows; the last attempt decides. ``attempts`` counts them all.
- ``expect_failure``: the step passes only if the last attempt failed (raised or answered
  >= 400); a success is then the step's failure.
- ``timeout`` (seconds) bounds the whole step, retries included. With a timeout the action runs
  in a worker thread and the step fails with "timed out after Xs" when the deadline passes,
  whatever ``expect_failure`` says. Limitation: Python cannot stop a thread, so a timed-out action
  keeps running in the background until it returns on its own (its requests may then still reach
  the API, and it may still write the context); give the client a timeout too so it ends.
  A stop signal (Ctrl-C) during a step with a timeout waits for the step to end or time out,
  then stops the journey, so a call in flight is answered before the stores are rolled back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from venomqa.evaluation import call_action
from venomqa.interrupts import INTERRUPTS
from venomqa.models.journey import Step
from venomqa.models.results import RequestRecord, StepResult

if TYPE_CHECKING:
    from venomqa.client import Client
    from venomqa.context import ExecutionContext


@dataclass
class StepOutcome:
    """A StepResult plus the value the last attempt returned (``returned`` is False when the
    action raised or timed out, so there is no value to store)."""

    result: StepResult
    value: object = None
    returned: bool = False


@dataclass
class _Attempt:
    value: object = None
    error: BaseException | None = None
    timed_out: bool = False


def status_of(value: object) -> int | None:
    """The HTTP status of a response-like value (``status_code``), or None for anything else."""
    status = getattr(value, "status_code", None)
    return status if isinstance(status, int) else None


def _call(step: Step, api: Client, ctx: ExecutionContext) -> _Attempt:
    value, error = call_action(step.action, api, ctx, step.args)
    return _Attempt(value=value, error=error)


def _call_with_deadline(step: Step, api: Client, ctx: ExecutionContext, seconds: float) -> _Attempt:
    box: list[_Attempt] = []
    escaped: list[BaseException] = []

    def work() -> None:
        try:
            box.append(_call(step, api, ctx))
        except BaseException as exc:  # API unreachable, Ctrl-C: re-raised in the runner's thread
            escaped.append(exc)

    worker = threading.Thread(target=work, name=f"venomqa-step-{step.name}", daemon=True)
    worker.start()
    # A stop signal waits for the step (its call to the API), as it waits for any call to the
    # API when no thread is involved (venomqa.interrupts): the stores are rolled back after it.
    with INTERRUPTS.critical():
        worker.join(max(seconds, 0.0))
    if escaped:
        raise escaped[0]
    if worker.is_alive() or not box:
        return _Attempt(timed_out=True)
    return box[0]


def _failure_text(attempt: _Attempt) -> str | None:
    """Why an attempt failed, or None when it succeeded."""
    if attempt.error is not None:
        return f"{type(attempt.error).__name__}: {attempt.error}"
    status = status_of(attempt.value)
    if status is not None and status >= 400:
        return f"HTTP {status}"
    return None


def _should_retry(attempt: _Attempt) -> bool:
    if attempt.timed_out:
        return False
    if attempt.error is not None:
        return True
    status = status_of(attempt.value)
    return status is not None and status >= 500


def _records(api: Client, mark: int | None) -> list[RequestRecord]:
    if mark is None:
        return []
    return list(api.records_since(mark))


def execute_step(step: Step, api: Client, ctx: ExecutionContext) -> StepOutcome:
    """Run ``step`` against ``api``/``ctx`` following the module's rules; never raises for a
    failing action. An InfrastructureError (the API or a store unreachable) and Ctrl-C
    propagate, as they do from the explorer (``venomqa.evaluation``)."""
    mark = api.mark() if callable(getattr(api, "mark", None)) else None
    started = time.perf_counter()
    deadline = None if step.timeout is None else started + step.timeout
    attempts = 0
    while True:
        attempts += 1
        if deadline is None:
            attempt = _call(step, api, ctx)
        else:
            attempt = _call_with_deadline(step, api, ctx, deadline - time.perf_counter())
        time_left = deadline is None or deadline - time.perf_counter() > 0
        if attempts > step.retries or not time_left or not _should_retry(attempt):
            break
    duration_ms = (time.perf_counter() - started) * 1000

    failure = _failure_text(attempt)
    error: str | None
    if attempt.timed_out:
        passed, error = False, f"timed out after {step.timeout:g}s (attempt {attempts})"
    elif step.expect_failure:
        passed = failure is not None
        error = None if passed else _unexpected_success(attempt)
    else:
        passed, error = failure is None, failure
    result = StepResult(
        name=step.name,
        passed=passed,
        requests=_records(api, mark),
        error=error,
        attempts=attempts,
        duration_ms=duration_ms,
        expect_failure=step.expect_failure,
    )
    returned = attempt.error is None and not attempt.timed_out
    return StepOutcome(result=result, value=attempt.value, returned=returned)


def _unexpected_success(attempt: _Attempt) -> str:
    status = status_of(attempt.value)
    answer = f"HTTP {status}" if status is not None else f"returned {attempt.value!r:.80}"
    return f"expected the step to fail (raise or answer >= 400) but it succeeded ({answer})"


def skipped_step(step: Step, reason: str) -> StepResult:
    """The result of a step that never ran because an earlier step failed."""
    return StepResult(
        name=step.name,
        passed=False,
        error=f"skipped: {reason}",
        attempts=0,
        expect_failure=step.expect_failure,
    )
