"""VenomQA stores for APIs that hand work to background workers: ``celery`` and ``rq``.

Both settle their queues after every action (invariants then see the jobs' effects), keep the
jobs that failed as part of their state (``worker_invariants`` reports them with the path that
enqueued them), or, with ``settle: false``, make pending jobs part of the state and roll queues
back, for exploring job orderings.
"""

from venomqa_celery._problems import FAILED, STUCK, WorkerProblem, worker_invariants
from venomqa_celery._queued import run_next_job_actions
from venomqa_celery.celery_store import CeleryStore
from venomqa_celery.rq_store import RQStore

__all__ = [
    "FAILED",
    "STUCK",
    "CeleryStore",
    "RQStore",
    "WorkerProblem",
    "run_next_job_actions",
    "worker_invariants",
]
