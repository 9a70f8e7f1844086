"""A small orders API over SQLite that hands its work to background jobs, run as its own
process by the tests:

    python _support_orders_api.py --db orders.db --rq redis://127.0.0.1:6379/15 --queue orders
    python _support_orders_api.py --db orders.db --celery amqp://guest:guest@127.0.0.1:5672//

Jobs are ``_support_jobs`` functions (RQ) or the tasks of ``_support_celery_app`` (Celery).

    POST /orders              -> 201 {id}       (inserts a 'new' order of 10, enqueues pay)
    POST /orders/ID/refund    -> 202 | 404      (enqueues refund)
    POST /orders/ID/ship      -> 202 | 404      (enqueues ship, which always fails)
    POST /orders/ID/ship-retrying -> 202 | 404  (the same, retried twice before it fails)
    POST /orders/ID/cancel    -> 200 | 404 | 409
        Bug: cancelling a paid order marks it cancelled but never refunds the charge; only a
        pay job that ran between the order and its cancellation gets there.
    POST /stall               -> 202            (enqueues a job that sleeps 3 s)
    POST /stall/SECONDS       -> 202            (enqueues a job that sleeps that long)
"""

from __future__ import annotations

import sqlite3
from argparse import Namespace
from collections.abc import Callable
from dataclasses import dataclass

from venomqa.testing.server import HttpError, JsonApi, Reply, Request

api = JsonApi("orders")
api.argument("--db", required=True)
api.argument("--rq", default=None, help="Redis URL of the RQ queues")
api.argument("--queue", default="orders")
api.argument("--celery", default=None, help="Celery broker URL")


@dataclass
class State:
    db: str
    enqueue: Callable[..., None]


@api.setup
def connect(options: Namespace) -> State:
    if options.rq:
        import _support_jobs as jobs
        import redis
        from rq import Queue, Retry

        queue = Queue(options.queue, connection=redis.Redis.from_url(options.rq))

        def enqueue_rq(job: str, *args: object, retries: int = 0) -> None:
            retry = Retry(max=retries) if retries else None
            queue.enqueue(getattr(jobs, job), *args, retry=retry)

        return State(options.db, enqueue_rq)
    from _support_celery_app import make_app

    app = make_app(options.celery)

    def enqueue_celery(job: str, *args: object, retries: int = 0) -> None:
        name = f"orders.{job}_retrying" if retries else f"orders.{job}"
        app.send_task(name, args=args, queue=options.queue)

    return State(options.db, enqueue_celery)


def _db(request: Request) -> sqlite3.Connection:
    assert isinstance(request.state, State)
    return sqlite3.connect(request.state.db, timeout=30, isolation_level=None)


def _order(request: Request) -> tuple[int, str]:
    order_id = int(request.params["order"])
    with _db(request) as db:
        row = db.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise HttpError(404, {"error": "no such order"})
    return order_id, str(row[0])


def _enqueue(request: Request, job: str, *args: object, retries: int = 0) -> None:
    assert isinstance(request.state, State)
    request.state.enqueue(job, *args, retries=retries)


@api.route("POST", r"/orders")
def create(request: Request) -> Reply:
    with _db(request) as db:
        order_id = db.execute("INSERT INTO orders (amount, status) VALUES (10, 'new')").lastrowid
    _enqueue(request, "pay", order_id)
    return 201, {"id": order_id}


@api.route("POST", r"/orders/(?P<order>\d+)/refund")
def refund(request: Request) -> Reply:
    order_id, _ = _order(request)
    _enqueue(request, "refund", order_id)
    return 202, {"id": order_id}


@api.route("POST", r"/orders/(?P<order>\d+)/ship")
def ship(request: Request) -> Reply:
    order_id, _ = _order(request)
    _enqueue(request, "ship", order_id)
    return 202, {"id": order_id}


@api.route("POST", r"/orders/(?P<order>\d+)/ship-retrying")
def ship_retrying(request: Request) -> Reply:
    order_id, _ = _order(request)
    _enqueue(request, "ship", order_id, retries=2)
    return 202, {"id": order_id}


@api.route("POST", r"/orders/(?P<order>\d+)/cancel")
def cancel(request: Request) -> Reply:
    order_id, status = _order(request)
    if status == "cancelled":
        raise HttpError(409, {"error": "already cancelled"})
    with _db(request) as db:
        db.execute("UPDATE orders SET status = 'cancelled' WHERE id = ?", (order_id,))
    return 200, {"id": order_id}


@api.route("POST", r"/stall")
def stall(request: Request) -> Reply:
    _enqueue(request, "stall", 3.0)
    return 202, {}


@api.route("POST", r"/stall/(?P<seconds>\d+)")
def stall_for(request: Request) -> Reply:
    _enqueue(request, "stall", float(request.params["seconds"]))
    return 202, {}


if __name__ == "__main__":
    api.main()
