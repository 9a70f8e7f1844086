"""Ctrl-C at an arbitrary moment of a run: teardown still restores the data and the server's
configuration. A real process interrupts itself with SIGINT while it rolls back in a loop."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

from _support_redis import picture
from conftest import STORE_DB, redis_url

SCRIPT = """
import os, signal, threading, sys
from venomqa_redis import RedisStore
import redis
r = redis.Redis.from_url(sys.argv[1])
store = RedisStore(url=sys.argv[1])
store.setup()
threading.Timer(float(sys.argv[2]), lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    root = store.checkpoint()
    for i in range(1_000_000):
        r.set("counter", i)
        r.hset("cart:1", "apple", i)
        r.delete("greeting")
        store.fingerprint()
        store.rollback(root)
except KeyboardInterrupt:
    print("interrupted")
finally:
    store.teardown()
"""


def test_teardown_after_ctrl_c_restores_everything(store_db: Any) -> None:
    store_db.config_set("notify-keyspace-events", "Kx")
    config = store_db.config_get("notify-keyspace-events")
    for delay in ("0.3", "0.45", "0.6"):
        store_db.set("counter", 7)
        store_db.hset("cart:1", mapping={"apple": 1})
        store_db.set("greeting", "hello", px=60_000)
        before = picture(store_db)
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(SCRIPT), redis_url(STORE_DB), delay],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "interrupted" in done.stdout, done.stderr
        assert picture(store_db) == before
        assert store_db.config_get("notify-keyspace-events") == config
