"""``settle: false``: the rq store's pending jobs are state. Its fingerprint follows the queue's
content (not the jobs' random ids), and a rollback puts the queue back exactly as it was at
the checkpoint, job records included, deleting jobs enqueued since; teardown leaves Redis as
found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import QUEUE, RQ_URL
from venomqa_celery import RQStore

pytestmark = [pytest.mark.other_distributions]


def _picture(client: Any) -> dict[bytes, Any]:
    """Every key with its content (lists in order, hashes whole, sorted sets with scores)."""
    out: dict[bytes, Any] = {}
    for key in sorted(client.keys("*")):
        kind = client.type(key)
        if kind == b"list":
            out[key] = client.lrange(key, 0, -1)
        elif kind == b"hash":
            out[key] = client.hgetall(key)
        elif kind == b"zset":
            out[key] = client.zrange(key, 0, -1, withscores=True)
        elif kind == b"set":
            out[key] = client.smembers(key)
        else:
            out[key] = kind
    return out


def test_rollback_restores_the_queue_in_order_and_forgets_later_jobs(
    rq_redis: Any, orders_db: Path
) -> None:
    import _support_jobs as jobs
    from rq import Queue

    queue = Queue(QUEUE, connection=rq_redis)
    queue.enqueue(jobs.pay, 1)  # there before the run: must survive it untouched
    found = _picture(rq_redis)
    store = RQStore(url=RQ_URL, queues=[QUEUE], settle=False)
    store.setup()
    try:
        start = store.fingerprint()
        queue.enqueue(jobs.refund, 2)
        queue.enqueue(jobs.pay, 3)
        assert store.peek(QUEUE) == [
            "_support_jobs.pay(1)",
            "_support_jobs.refund(2)",
            "_support_jobs.pay(3)",
        ]
        token = store.checkpoint()
        at_checkpoint = (_picture(rq_redis), store.fingerprint())
        assert at_checkpoint[1] != start

        assert store.run_next_job(QUEUE) == "_support_jobs.pay(1)"
        queue.enqueue(jobs.ship, 4)
        assert store.length(QUEUE) == 3
        assert store.fingerprint() != at_checkpoint[1]

        store.rollback(token)
        assert (_picture(rq_redis), store.fingerprint()) == at_checkpoint
        # the same jobs again, in the same order: the explorer sees the same state
        store.run_next_job(QUEUE)
        store.rollback(token)
        assert (_picture(rq_redis), store.fingerprint()) == at_checkpoint
    finally:
        store.teardown()
    assert _picture(rq_redis) == found
