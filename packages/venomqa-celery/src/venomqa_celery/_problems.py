"""What went wrong in the workers, kept as part of a queue store's state, and the invariants
that turn it into findings.

A queue store never raises for a job that failed or a queue that did not drain: it records a
``WorkerProblem`` (rolled back with its checkpoints, part of its fingerprint) and the invariants
of ``worker_invariants`` report it, so the finding carries the shortest path of calls that
enqueued the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from venomqa import Invariant, Severity

if TYPE_CHECKING:
    from venomqa import World

#: A job (task) that failed, or retried past its limit.
FAILED = "failed"
#: A queue that was not drained, or a job still running, when settling timed out.
STUCK = "stuck"


@dataclass(frozen=True, slots=True)
class WorkerProblem:
    """One problem a queue store saw: its kind (``failed`` or ``stuck``), the queue, and a
    sentence naming the job (never its random id) and the exception or what was pending."""

    kind: str
    queue: str
    text: str


@runtime_checkable
class ReportsWorkerProblems(Protocol):
    """A store that keeps the problems its workers had (the ``celery`` and ``rq`` stores)."""

    def problems(self) -> list[WorkerProblem]: ...


def _problems_of(world: World, store: str, kind: str) -> list[str]:
    world.settle()
    target = world.stores.get(store)
    if not isinstance(target, ReportsWorkerProblems):
        known = ", ".join(repr(k) for k in world.stores) or "none"
        raise AssertionError(f"store {store!r} is not a celery or rq store (stores: {known})")
    return [p.text for p in target.problems() if p.kind == kind]


def worker_invariants(store: str, severity: Severity = Severity.HIGH) -> list[Invariant]:
    """Two invariants over the queue store ``store`` (its key in the world's stores):
    ``{store}_jobs_succeed`` (no job failed or retried past its limit) and
    ``{store}_queues_settle`` (every queue drained within the store's timeout)."""

    def jobs_succeed(world: World) -> bool:
        failed = _problems_of(world, store, FAILED)
        if failed:
            raise AssertionError("; ".join(failed))
        return True

    def queues_settle(world: World) -> bool:
        stuck = _problems_of(world, store, STUCK)
        if stuck:
            raise AssertionError("; ".join(stuck))
        return True

    return [
        Invariant(
            name=f"{store}_jobs_succeed",
            check=jobs_succeed,
            severity=severity,
            description=f"no background job of store {store!r} failed",
        ),
        Invariant(
            name=f"{store}_queues_settle",
            check=queues_settle,
            severity=severity,
            description=f"the queues of store {store!r} drain and no job stays running",
        ),
    ]
