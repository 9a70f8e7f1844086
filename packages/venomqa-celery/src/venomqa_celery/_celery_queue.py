"""A Celery queue's pending messages as data: read them in order, put them back, take one.

Neither AMQP nor kombu's Redis transport can peek, so ``read`` takes every message (unacked),
publishes identical copies in the same order and then acks the originals: the queue ends as it
was, with the same bodies, headers and properties (the task ids included). ``restore`` purges a
queue and publishes recorded messages in order. Both cost O(messages in the queue); nothing
else may consume the queue meanwhile (with ``settle: false`` no worker runs).

On AMQP a queue exists only once someone declared it (Celery's producer does so on its first
publish, a worker when it starts): each function raises ``QueueMissing`` for a queue the broker
does not know, and AMQP has closed the channel then. kombu's Redis transport has no such state
(an absent list is an empty queue).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: Message properties copied when a message is published again.
_PROPERTIES = ("correlation_id", "reply_to", "priority", "expiration", "message_id", "type")


@dataclass(frozen=True)
class Pending:
    """One message of a queue, enough to publish it again unchanged."""

    body: bytes
    content_type: str
    content_encoding: str
    headers: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """``task(args)`` as Celery's message headers name it (not its id)."""
        task = str(self.headers.get("task", "?"))
        args = str(self.headers.get("argsrepr", "()"))
        kwargs = str(self.headers.get("kwargsrepr", "{}"))
        return f"{task}{args}" + ("" if kwargs in ("{}", "") else f" {kwargs}")


class QueueMissing(LookupError):
    """The broker has no queue of this name (AMQP: not declared yet, or deleted). The channel
    the question was asked on is closed."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.queue = name


@contextmanager
def _declared(name: str) -> Iterator[None]:
    """Turns AMQP's 404 for queue ``name`` into ``QueueMissing``."""
    from amqp.exceptions import NotFound

    try:
        yield
    except NotFound as exc:
        raise QueueMissing(name) from exc


def _queue(channel: Any, name: str) -> Any:
    from kombu import entity

    queue_class: Any = entity.Queue  # kombu is untyped
    return queue_class(name, no_declare=True)(channel)


def _pending(message: Any) -> Pending:
    properties = {k: message.properties[k] for k in _PROPERTIES if message.properties.get(k)}
    delivery_mode = message.properties.get("delivery_mode")
    if delivery_mode:
        properties["delivery_mode"] = delivery_mode
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return Pending(
        body=body,
        content_type=str(message.content_type),
        content_encoding=str(message.content_encoding),
        headers=dict(message.headers or {}),
        properties=properties,
    )


def publish(channel: Any, name: str, messages: list[Pending]) -> None:
    """Publish ``messages`` to queue ``name`` (through the default exchange), in order."""
    from kombu import entity, messaging

    producer_class: Any = messaging.Producer  # kombu is untyped
    exchange_class: Any = entity.Exchange
    producer = producer_class(channel, exchange=exchange_class(""), auto_declare=False)
    for message in messages:
        producer.publish(
            message.body,
            routing_key=name,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            headers=message.headers,
            retry=False,
            **message.properties,
        )


def read(channel: Any, name: str) -> list[Pending]:
    """The messages waiting in queue ``name``, oldest first; the queue is left as it was."""
    queue = _queue(channel, name)
    taken = []
    with _declared(name):  # the first get fails if it does: nothing is taken then
        while (message := queue.get(no_ack=False, accept=None)) is not None:
            taken.append(message)
    pending = [_pending(message) for message in taken]
    publish(channel, name, pending)
    for message in taken:
        message.ack()
    return pending


def restore(channel: Any, name: str, messages: list[Pending]) -> None:
    """Make queue ``name`` hold exactly ``messages``, in order."""
    with _declared(name):
        _queue(channel, name).purge()
    publish(channel, name, messages)


def take(channel: Any, name: str) -> tuple[Pending, Any] | None:
    """The oldest message of queue ``name`` and its decoded body, acked (gone), or None."""
    with _declared(name):
        message = _queue(channel, name).get(no_ack=False, accept=None)
    if message is None:
        return None
    decoded = message.decode()
    message.ack()
    return _pending(message), decoded
