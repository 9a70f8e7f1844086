"""Waiting until background work is done: poll a probe until it reports nothing busy.

Cost: one probe per poll; polls start 1 ms apart and back off to ``max_interval`` (5 ms), so a queue
that drains at once costs one or two probes (a Redis pipeline, an AMQP declare plus a worker
inspect), and a job that runs for ``t`` seconds about ``t / max_interval`` probes.

A stop signal (Ctrl-C, SIGTERM, SIGHUP) that arrives while the world has a store operation in
flight is held by ``venomqa.interrupts`` until the operation ends; a settle is such an operation,
but waiting out a long job would make Ctrl-C wait with it. So the wait also ends, within one
probe, when ``stop_requested()`` says a signal is held; the store then records nothing (the run is
stopping, not stuck) and the held signal stops the run as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from venomqa.interrupts import INTERRUPTS

#: What is still busy, by queue: a short description ("1 waiting: app.pay(3)"); empty = idle.
Busy = Mapping[str, str]


def stop_requested() -> bool:
    """Whether a stop signal is held, waiting for the current store operation to end."""
    return INTERRUPTS.pending is not None


def wait_until_idle(
    probe: Callable[[], Busy],
    timeout: float,
    *,
    quiet: int = 1,
    max_interval: float = 0.005,
    stop: Callable[[], bool] = stop_requested,
) -> Busy:
    """Call ``probe`` until it returns nothing busy ``quiet`` times in a row; returns {} then,
    or what was still busy when ``timeout`` seconds passed or ``stop()`` became true."""
    deadline = time.monotonic() + timeout
    interval = 0.001
    calm = 0
    while True:
        busy = probe()
        if busy:
            calm = 0
        else:
            calm += 1
            if calm >= quiet:
                return {}
        if time.monotonic() >= deadline or stop():
            return busy
        time.sleep(interval)
        interval = min(interval * 2, max_interval)
