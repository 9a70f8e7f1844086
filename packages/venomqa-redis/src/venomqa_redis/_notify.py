"""Which keys changed: keyspace notifications, read up to a marker so nothing in flight is missed.

The API under test writes through its own connections, so the store learns what it touched from
Redis's keyspace notifications (``notify-keyspace-events``). ``KeyspaceEvents.enable()`` saves the
server's setting and adds the event classes needed (``E`` channels plus every write class:
generic, string, list, set, hash, sorted set, stream, module, expired, evicted); ``restore()``
puts the saved string back exactly.

Notifications are asynchronous, so before each read of the changes the store publishes a unique
*marker* on a private channel the same subscriber listens to. Redis runs commands one at a time
and appends each notification to the subscriber's output as the command runs, so once the marker
arrives, the events of every command executed before it have arrived too. The marker is a PUBLISH:
it creates no key.

If the subscriber connection drops (for instance when a burst of writes overflows its output
buffer), events may be lost: ``collect`` then returns None and the store falls back to a full
diff of the keyspace.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from venomqa.errors import StoreError

from venomqa_redis._errors import STORE_NAME

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
    """A subscriber to one database's keyevent notifications, drained up to a marker."""

    def __init__(self, client: Any, db: int, *, timeout_s: float = 10.0) -> None:
        self._client = client
        self._db = db
        self._timeout_s = timeout_s
        self.channel = f"__venomqa_redis_marker__:{uuid.uuid4().hex}".encode()
        self._pattern = f"__keyevent@{db}__:*".encode()
        self._serial = itertools.count(1)
        self._pubsub: Any = None
        self._lost = False
        self._connects = 0

    def start(self) -> None:
        """Subscribe and wait until the subscription is live (a marker made the round trip)."""
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._pubsub = pubsub
        pubsub.psubscribe(self._pattern)
        pubsub.subscribe(self.channel)
        pubsub.connection.register_connect_callback(self._on_connect)
        self._connects = 1
        marker = self.next_marker()
        self._client.publish(self.channel, marker)
        self.collect(marker)
        self._lost = False

    def stop(self) -> None:
        """Unsubscribe and close the subscriber connection. Idempotent; never raises."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        try:
            if pubsub.connection is not None:
                pubsub.connection.deregister_connect_callback(self._on_connect)
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
        while index < len(markers):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreError(
                    f"keyspace notifications of db {self._db} stopped arriving (no marker within "
                    f"{self._timeout_s:g}s); is something changing notify-keyspace-events or "
                    "killing pubsub clients?",
                    store=STORE_NAME,
                )
            message = pubsub.get_message(timeout=remaining)
            if self._lost:  # reconnected meanwhile: the marker may have been published before
                break
            if message is None:
                continue
            if message["type"] == "pmessage":
                groups[index].add(message["data"])
            elif message["type"] == "message" and message["data"] == markers[index]:
                index += 1
        if self._lost:
            self._lost = False
            return None
        return groups

    def _on_connect(self, connection: Any) -> None:
        # redis-py reconnects and resubscribes by itself; whatever happened meanwhile is unknown.
        self._connects += 1
        if self._connects > 1:
            self._lost = True
