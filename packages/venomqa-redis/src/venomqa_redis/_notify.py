"""Which keys changed: keyspace notifications, read up to a marker so nothing in flight is missed.

The API under test writes through its own connections, so the store learns what it touched from
Redis's keyspace notifications (``notify-keyspace-events``). The store saves the server's
setting and adds the event classes needed (``merged_flags``: ``E`` channels plus every write
class: generic, string, list, set, hash, sorted set, stream, module, expired, evicted), and puts
the saved string back exactly at teardown.

Notifications are asynchronous, so before each read of the changes the store publishes a unique
*marker* on a private channel the same subscriber listens to. Redis runs commands one at a time
and appends each notification to the subscriber's output as the command runs, so once the marker
arrives, the events of every command executed before it have arrived too. The marker is a PUBLISH:
it creates no key.

The subscriber has its own client (named ``venomqa-events``, see ``_connection``); markers go
out through the store's command connection, so a marker only proves something once the server
has *confirmed* the subscriptions (a SUBSCRIBE still in flight, behind a proxy say, would miss a
marker published meanwhile): ``start()`` waits for both confirmations.

If the subscriber connection drops (a burst of writes overflowed its output buffer, ``CLIENT
KILL``, a proxy restarting), redis-py reconnects and subscribes again the next time it is read,
and whatever happened meanwhile is unknown: the reconnect is noticed (a connect callback),
``collect`` waits for the new confirmations and returns None, and the store falls back to a full
diff of the keyspace, so no change is missed.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from venomqa.errors import StoreError

from venomqa_redis._errors import STORE_NAME

#: The server setting that turns keyspace notifications on.
CONFIG_KEY = "notify-keyspace-events"
#: Event classes the store needs: keyevent channels (E) and every class of write, plus expired
#: (x) and evicted (e). ``A`` in a server setting is an alias of ``g$lshzxetd``.
NEEDED_FLAGS = "Eg$lshzxetd"
_ALIAS_A = "g$lshzxetd"
_FLAG_ORDER = "KEg$lshzxetdmn"


def merged_flags(current: str) -> str:
    """The server's flags plus the ones the store needs, in Redis's canonical order."""
    have = set(current.replace("A", _ALIAS_A)) | set(NEEDED_FLAGS)
    ordered = [c for c in _FLAG_ORDER if c in have]
    return "".join(ordered + sorted(have - set(_FLAG_ORDER)))


def covers(current: str) -> bool:
    """Whether the server already sends every event class the store needs."""
    return set(NEEDED_FLAGS) <= set(current.replace("A", _ALIAS_A))


class KeyspaceEvents:
    """A subscriber to one database's keyevent notifications, drained up to a marker.

    ``subscriber`` is the client whose connection subscribes (the store publishes the markers
    through its own command connection).
    """

    def __init__(self, subscriber: Any, db: int, *, timeout_s: float = 10.0) -> None:
        self._subscriber = subscriber
        self._db = db
        self._timeout_s = timeout_s
        self.channel = f"__venomqa_redis_marker__:{uuid.uuid4().hex}".encode()
        self._pattern = f"__keyevent@{db}__:*".encode()
        self._serial = itertools.count(1)
        self._pubsub: Any = None
        self._lost = False
        self._connects = 0
        self._unconfirmed = 0

    def start(self) -> None:
        """Subscribe and wait until the server has confirmed both subscriptions (from then on
        every event and marker reaches the subscriber, whichever connection caused it)."""
        pubsub = self._subscriber.pubsub()  # confirmations are read: they say it is live
        self._pubsub = pubsub
        self._unconfirmed = 2
        pubsub.psubscribe(self._pattern)
        pubsub.subscribe(self.channel)
        pubsub.connection.register_connect_callback(self._on_connect)
        self._connects = 1
        deadline = time.monotonic() + self._timeout_s
        while self._unconfirmed:
            self._next(pubsub, deadline)
        self._lost = False

    def stop(self, *, unsubscribe: bool = True) -> None:
        """Unsubscribe (unless the connection is known to be broken: closing it is enough, and
        does not wait for reconnect attempts) and close the subscriber connection. Idempotent;
        never raises."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        try:
            if pubsub.connection is not None:
                pubsub.connection.deregister_connect_callback(self._on_connect)
            if unsubscribe:
                pubsub.punsubscribe()
                pubsub.unsubscribe()
        except Exception:
            pass
        finally:
            pubsub.close()

    def next_marker(self) -> bytes:
        """A fresh marker payload, to PUBLISH on ``channel`` (usually inside a pipeline)."""
        return str(next(self._serial)).encode()

    def collect(self, marker: bytes) -> set[bytes] | None:
        """Keys named by every event received before ``marker``; None if events may be lost."""
        found = self.collect_between([marker])
        return None if found is None else found[0]

    def collect_between(self, markers: list[bytes]) -> list[set[bytes]] | None:
        """Keys of the events before the first marker, then between each marker and the next.

        The markers must have been published in this order. None if events may have been lost.
        """
        groups: list[set[bytes]] = [set() for _ in markers]
        pubsub = self._pubsub
        if pubsub is None:
            raise StoreError("the keyspace subscriber is not running", store=STORE_NAME)
        deadline = time.monotonic() + self._timeout_s
        index = 0
        while index < len(markers) and not self._lost:
            message = self._next(pubsub, deadline)
            if message is None or self._lost:  # reconnected: the marker may have been missed
                continue
            if message["type"] == "pmessage":
                groups[index].add(message["data"])
            elif message["type"] == "message" and message["data"] == markers[index]:
                index += 1
        if not self._lost:
            return groups
        # Events were lost while disconnected. Before the store falls back to a full diff, wait
        # until the subscriptions are live again, so that the next marker cannot be missed.
        while self._unconfirmed:
            self._next(pubsub, deadline)
        self._lost = False
        return None

    def _next(self, pubsub: Any, deadline: float) -> dict[str, Any] | None:
        """The next message before ``deadline``; None for none yet or a confirmation (counted)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StoreError(
                f"keyspace notifications of db {self._db} stopped arriving (nothing within "
                f"{self._timeout_s:g}s); is something changing notify-keyspace-events or "
                "killing pubsub clients?",
                store=STORE_NAME,
            )
        message: dict[str, Any] | None = pubsub.get_message(timeout=remaining)
        if message is not None and message["type"] in ("subscribe", "psubscribe"):
            self._unconfirmed = max(0, self._unconfirmed - 1)
            return None
        return message

    def _on_connect(self, connection: Any) -> None:
        # redis-py reconnects and resubscribes by itself; whatever happened meanwhile is unknown.
        self._connects += 1
        if self._connects > 1:
            self._lost = True
            self._unconfirmed = 2  # the two subscriptions it has just sent again
