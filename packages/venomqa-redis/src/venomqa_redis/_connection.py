"""VenomQA's own Redis connections: where a url points, and clients that reconnect by themselves.

The store keeps two kinds of connection to the server, each with a client name (``CLIENT
SETNAME``, sent again on every reconnect) so that ``CLIENT LIST`` shows them: ``venomqa``, the
command connection (reads, RESTOREs, markers, CONFIG), and ``venomqa-events``, the subscriber to
keyspace notifications.

Either may be closed under the store (``CLIENT KILL``, a proxy or load balancer restarting, a
server's idle timeout). redis-py then reconnects and sends the command or the whole ``MULTI``
again, with a short backoff, up to ``RECONNECTS`` times (about two seconds in all) before the
connection error reaches the store, which reports it naming the server. Only connection errors
are retried, never timeouts or error replies. Sending again is safe for every command the store
sends: reads, ``RESTORE ... REPLACE``, ``DEL``, ``CONFIG SET`` and the markers it publishes (a
repeated marker is ignored) give the same result twice, and a ``MULTI`` that was cut off either
ran whole or not at all. What the subscriber missed while it was away is ``_notify``'s concern.

redis-py leaves two narrow gaps: a pooled connection found dead is replaced outside its retries,
and a subscriber reconnects inside its failure handler, so a drop at that very moment escapes.
The retry policy here counts a failed reconnect as one more failed attempt; for the rest, the
store runs an operation once more when a lost connection reached it sooner than the retries could
have been used up (``dropped_quickly``), which each of its operations allows (see ``store``).

redis-py is imported lazily, inside the functions.
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass
from typing import Any

#: The client name of the store's command connection.
COMMAND_CLIENT = "venomqa"
#: The client name of the store's keyspace-notification subscriber.
EVENTS_CLIENT = "venomqa-events"
#: How many times a command is sent again after its connection dropped.
RECONNECTS = 7
#: Backoff between two attempts: 50 ms doubling up to 500 ms (2.25 s over all attempts).
_BACKOFF_BASE_S, _BACKOFF_CAP_S = 0.025, 0.5
#: The time the backoff alone takes before a lost connection reaches the store.
RETRY_BUDGET_S = sum(min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**n) for n in range(1, RECONNECTS + 1))


@dataclass(frozen=True)
class Server:
    """Where a url points: ``host:port`` (or ``unix:PATH``) and a database, no credentials."""

    address: str
    db: int

    @property
    def where(self) -> str:
        """The server as messages name it: ``redis://127.0.0.1:6379/0``."""
        return f"redis://{self.address}/{self.db}"


def server_of(url: str) -> Server:
    """The server and database ``url`` names; raises ValueError for a malformed url."""
    import redis

    kwargs = redis.ConnectionPool.from_url(url).connection_kwargs
    db = int(kwargs.get("db", 0) or 0)
    if kwargs.get("path"):
        return Server(f"unix:{kwargs['path']}", db)
    return Server(f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}", db)


def open_client(url: str, *, name: str, timeout_s: float) -> Any:
    """A redis-py client on ``url`` whose connections are named ``name`` and reconnect (see the
    module docstring). Connects lazily; raises ValueError for a malformed url."""
    import redis
    from redis.backoff import ExponentialBackoff

    dropped = (redis.exceptions.ConnectionError,)
    backoff = ExponentialBackoff(cap=_BACKOFF_CAP_S, base=_BACKOFF_BASE_S)
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        client_name=name,
        retry=_retry_class()(backoff, RECONNECTS, dropped),
        retry_on_error=list(dropped),
    )


def dropped_quickly(exc: BaseException, started: float) -> bool:
    """Whether ``exc`` (raised, or the cause of what was raised) is a lost connection that came
    sooner after ``started`` (a ``time.monotonic()``) than the client's retries take: one of the
    gaps above, worth one more try, rather than a server that stays away."""
    import redis

    lost = exc if isinstance(exc, redis.exceptions.ConnectionError) else exc.__cause__
    quick = time.monotonic() - started < RETRY_BUDGET_S
    return isinstance(lost, redis.exceptions.ConnectionError) and quick


@functools.cache
def _retry_class() -> type:
    import redis
    from redis.retry import Retry

    dropped = redis.exceptions.ConnectionError

    class ReconnectingRetry(Retry):
        """redis-py's Retry, except that a reconnect failing inside the failure handler (where
        PubSub reconnects) counts as one more failed attempt instead of escaping the retries."""

        def call_with_retry(self, do: Any, fail: Any, *args: Any, **kwargs: Any) -> Any:
            def tolerant(*details: Any) -> None:
                with contextlib.suppress(dropped):
                    fail(*details)

            return super().call_with_retry(do, tolerant, *args, **kwargs)

    return ReconnectingRetry
