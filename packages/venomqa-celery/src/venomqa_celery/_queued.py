"""The queue stores set up with ``settle: false`` in this process, and the ``run_next_job``
actions a user's actions module makes for them (the CLI builds the stores of venomqa.yaml, so
the module cannot hold them)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Protocol

from venomqa import Action
from venomqa.errors import UsageError


class RunsJobs(Protocol):
    """A queue store that can run the oldest job of one of its queues here."""

    name: str
    queues: list[str]

    def run_next_job(self, queue: str) -> str | None: ...


#: Stores set up with ``settle: false``, in setup order (removed at teardown).
QUEUED: list[RunsJobs] = []


def run_next_job_actions(queues: Iterable[str]) -> list[Action]:
    """An action per queue, ``run_next_job_<queue>``: it runs the oldest job of that queue
    through the ``rq`` or ``celery`` store with ``settle: false`` set up for it."""
    return [
        Action(
            name=f"run_next_job_{name}",
            fn=partial(_run_next, name),
            description=f"run the oldest job of queue {name!r}",
        )
        for name in queues
    ]


def _run_next(queue: str, api: object, ctx: object) -> str | None:
    stores = [store for store in QUEUED if queue in store.queues]
    if len(stores) != 1:
        problem = "no store" if not stores else f"{len(stores)} stores"
        raise UsageError(
            f"run_next_job_{queue}: {problem} with settle: false and queue {queue!r} "
            "set up (exactly one is needed)"
        )
    return stores[0].run_next_job(queue)
