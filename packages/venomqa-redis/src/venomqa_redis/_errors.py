"""Translate redis-py errors into VenomQA's StoreError / StorePermissionError, naming the server.

A connection error during ``setup`` (the first contact) is a StoreUnreachableError, one sentence
naming the server; later ones say which operation lost the server.
redis-py is imported lazily, inside the context manager, never at module import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from venomqa.errors import StoreError, StorePermissionError, StoreUnreachableError

STORE_NAME = "redis"
#: The operation name of ``setup()``: a connection error then means the server cannot be reached.
SETUP = "setup"


@contextmanager
def driver_errors(operation: str, where: str) -> Iterator[None]:
    """Re-raise any redis-py error inside the block as a StoreError that says what and where."""
    import redis.exceptions as rex

    try:
        yield
    except rex.NoPermissionError as exc:
        raise StorePermissionError(
            f"{operation} on {where} was refused: {exc}; grant the user the command "
            "(ACL SETUSER ... +@all, or at least +@keyspace +@read +@write +@pubsub +@connection)",
            store=STORE_NAME,
        ) from exc
    except (rex.ConnectionError, rex.TimeoutError) as exc:
        if operation == SETUP:  # the first contact: the server is not there (or refuses us)
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise StoreUnreachableError(
                f"cannot connect to {where}: {detail}", store=STORE_NAME
            ) from exc
        raise StoreError(
            f"{operation} on {where} failed: cannot talk to Redis: {exc}; is the server running "
            "and is the store's url right?",
            store=STORE_NAME,
        ) from exc
    except rex.RedisError as exc:
        raise StoreError(f"{operation} on {where} failed: {exc}", store=STORE_NAME) from exc


def is_forbidden(exc: BaseException) -> bool:
    """Whether ``exc`` says the server refuses a command (ACL, or a renamed/disabled command)."""
    import redis.exceptions as rex

    if isinstance(exc, rex.NoPermissionError):
        return True
    text = str(exc).lower()
    return isinstance(exc, rex.ResponseError) and (
        "unknown command" in text or "noperm" in text or "not allowed" in text
    )
