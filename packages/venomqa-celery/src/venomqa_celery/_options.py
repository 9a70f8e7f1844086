"""Checking the options both stores take (``queues``, ``settle``, timeouts), with one message
for each mistake whichever store it is given to."""

from __future__ import annotations

from collections.abc import Iterable


def queue_names(queues: Iterable[str]) -> list[str]:
    """``queues`` as a list: at least one name, and not a lone string (which would iterate
    into single letters)."""
    if isinstance(queues, str):
        raise ValueError("queues must be a list of queue names, not a string")
    names = list(queues)
    if not names:
        raise ValueError("queues must name at least one queue")
    return names


def flag(option: str, value: object) -> bool:
    """``value`` when it is a real boolean."""
    if not isinstance(value, bool):
        raise ValueError(f"{option} must be true or false, not {value!r}")
    return value


def seconds(option: str, value: object) -> float:
    """``value`` as a positive number of seconds (a boolean is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{option} must be a positive number of seconds, not {value!r}")
    return float(value)
