"""CachePort and QueuePort on a Redis store: what invariants read (and tests seed) directly.

Writes made here go through the store's own connection and are tracked like any other writer's,
so they are rolled back too. A list used as a job queue (RQ keeps job ids in ``rq:queue:NAME``,
Celery in the queue's name) is observed with ``length``/``peek``; name such lists in the store's
``queues`` option and ``observe()`` reports their lengths.
"""

from __future__ import annotations

from typing import Any


def to_key(key: str | bytes) -> bytes:
    """A key as Redis sees it: ``str`` keys are UTF-8 encoded."""
    return key if isinstance(key, bytes) else key.encode()


def text(value: bytes) -> str | bytes:
    """Bytes from Redis as ``str`` when they are UTF-8, unchanged otherwise."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value


def read_value(client: Any, key: bytes) -> Any:
    """A key's value in a Python shape: str, dict, list, set, [(member, score)], or None."""
    kind = client.type(key)
    if kind == b"string":
        raw = client.get(key)
        return None if raw is None else text(raw)
    if kind == b"hash":
        return {text(k): text(v) for k, v in client.hgetall(key).items()}
    if kind == b"list":
        return [text(v) for v in client.lrange(key, 0, -1)]
    if kind == b"set":
        return {text(v) for v in client.smembers(key)}
    if kind == b"zset":
        return [(text(m), s) for m, s in client.zrange(key, 0, -1, withscores=True)]
    if kind == b"stream":
        return [(text(i), {text(k): text(v) for k, v in f.items()}) for i, f in client.xrange(key)]
    return None
