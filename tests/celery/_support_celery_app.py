"""The Celery app of the orders API's tasks: ``orders.pay`` etc. run ``_support_jobs``.

The worker is started as ``celery -A _support_celery_app worker -Q orders -P solo`` with the
broker in ``$CELERY_BROKER``; the API builds its own app with ``make_app(broker)``.
"""

from __future__ import annotations

import os

import _support_jobs as jobs
from celery import Celery


def make_app(broker: str) -> Celery:
    """An app on ``broker`` with the orders tasks registered (no result backend)."""
    app = Celery("orders", broker=broker, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = True
    app.conf.worker_hijack_root_logger = False
    if broker.startswith("amqp"):
        # each publish waits for RabbitMQ's confirm (the message is in its queue), so a test
        # reads the queue only after the API's call put its message there; without it the
        # store's settle: false waits for the depths to hold still, a heuristic under load
        app.conf.broker_transport_options = {"confirm_publish": True}
    for job in (jobs.pay, jobs.refund, jobs.ship, jobs.stall):
        app.task(name=f"orders.{job.__name__}")(job)
    app.task(
        name="orders.ship_retrying",
        autoretry_for=(RuntimeError,),
        max_retries=2,
        default_retry_delay=0,
    )(jobs.ship)
    return app


app = make_app(os.environ.get("CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//"))
