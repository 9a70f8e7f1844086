"""Helpers for the Redis store tests: a writer process, and a full picture of a database."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from venomqa.testing import SubprocessWriter

_PRELUDE = "import redis; r = redis.Redis.from_url(options['url'], decode_responses=True)"


class RedisKVWriter(SubprocessWriter):
    """Writes string keys of one database from a fresh Python process (its own connection)."""

    prelude = _PRELUDE
    write_code = "r.set(key, value)"
    delete_code = "r.delete(key)"
    read_all_code = "result = {k: r.get(k) for k in r.scan_iter() if r.type(k) == 'string'}"
    snapshot_code = (
        "result = {"
        "'keys': sorted([k, r.type(k), repr(r.dump(k)), r.pttl(k) > 0] for k in r.scan_iter()),"
        "'config': r.config_get('notify-keyspace-events'),"
        "'channels': sorted(c for c in r.pubsub_channels() if 'venomqa' in c),"
        "'patterns': r.pubsub_numpat()}"
    )


def run_in_other_process(url: str, code: str) -> None:
    """Run redis-py code (``r`` is a client on ``url``) in a fresh Python process."""
    script = f"import sys\n{_PRELUDE}\n{code}\n"
    script = script.replace("options['url']", repr(url))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr


def picture(client: Any) -> dict[bytes, tuple[Any, ...]]:
    """Every key with its type, logical value and whether it has a TTL (history-independent)."""
    result: dict[bytes, tuple[Any, ...]] = {}
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"string":
            value: Any = client.get(key)
        elif kind == b"hash":
            value = sorted(client.hgetall(key).items())
        elif kind == b"list":
            value = client.lrange(key, 0, -1)
        elif kind == b"set":
            value = sorted(client.smembers(key))
        elif kind == b"zset":
            value = client.zrange(key, 0, -1, withscores=True)
        else:
            value = [(i, sorted(f.items())) for i, f in client.xrange(key)]
        result[key] = (kind, value, client.pttl(key) > 0)
    return result


def full_dump(client: Any) -> dict[str, Any]:
    """``picture`` of every key plus the server's notify-keyspace-events setting."""
    return {
        "keys": picture(client),
        "config": client.config_get("notify-keyspace-events")["notify-keyspace-events"],
    }
