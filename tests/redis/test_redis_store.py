"""RedisStore against a real Redis: every type, TTLs, counters, fingerprints, configuration,
fallbacks, CachePort/QueuePort. Writes come through a separate connection, as an API's would."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from _support_redis import picture
from conftest import STORE_DB, redis_url
from venomqa.errors import StoreError, StorePermissionError, VenomQAWarning
from venomqa_redis import RedisStore

URL = redis_url(STORE_DB)


def seed(r: Any) -> None:
    r.set("counter", 10)
    r.set("greeting", "hello")
    r.hset("cart:1", mapping={"apple": 1, "pear": 2})
    r.rpush("rq:queue:default", "job-1", "job-2")
    r.sadd("tags", "a", "b")
    r.zadd("board", {"ann": 3.5, "bob": 1})
    r.xadd("events", {"kind": "created"}, id="1-1")
    r.set("session", "s1", px=60_000)


def mutate_everything(r: Any) -> None:
    r.incr("counter")
    r.append("greeting", " world")
    r.hset("cart:1", "plum", 3)
    r.hdel("cart:1", "apple")
    r.lpop("rq:queue:default")
    r.rpush("rq:queue:default", "job-3")
    r.srem("tags", "a")
    r.zincrby("board", 2, "bob")
    r.xadd("events", {"kind": "paid"}, id="2-1")
    r.xgroup_create("events", "workers", id="0")
    r.delete("session")
    r.set("created", "new", px=30_000)
    r.rename("greeting", "renamed")


@pytest.fixture
def store(store_db: Any) -> Any:
    seed(store_db)
    s = RedisStore(url=URL, queues=["rq:queue:default"])
    s.setup()
    yield s
    s.teardown()


def test_rollback_restores_every_type_nested(store: RedisStore, store_db: Any) -> None:
    at_outer, fp_outer = picture(store_db), store.fingerprint()
    outer = store.checkpoint()
    mutate_everything(store_db)
    at_inner, fp_inner = picture(store_db), store.fingerprint()
    inner = store.checkpoint()
    store_db.flushdb()  # no key events: noticed through the key count
    store_db.set("other", 1)
    store.rollback(inner)
    assert picture(store_db) == at_inner and store.fingerprint() == fp_inner
    store.rollback(outer)
    assert picture(store_db) == at_outer and store.fingerprint() == fp_outer
    mutate_everything(store_db)
    store.rollback(outer)  # the token stays valid
    assert picture(store_db) == at_outer


def test_counter_repeats_after_rollback(store: RedisStore, store_db: Any) -> None:
    token = store.checkpoint()
    first = store_db.incr("orders:next")
    store.rollback(token)
    assert store_db.incr("orders:next") == first == 1
    store.rollback(token)
    assert store_db.incr("counter") == 11


def test_ttls_get_their_remaining_time_back(store: RedisStore, store_db: Any) -> None:
    store_db.set("short", "x", px=400)
    at_checkpoint = store_db.pttl("session")
    token = store.checkpoint()
    time.sleep(0.6)  # 'short' expires during the branch; 'session' loses 600 ms
    store_db.set("session", "changed")  # and loses its TTL
    store_db.set("greeting", "bye", px=5_000)  # gains one
    assert store_db.exists("short") == 0
    store.rollback(token)
    assert at_checkpoint - 100 <= store_db.pttl("session") <= at_checkpoint
    assert store_db.pttl("greeting") == -1 and store_db.get("greeting") == b"hello"
    assert 0 < store_db.pttl("short") <= 400


def test_fingerprint_is_canonical_whatever_the_history(store: RedisStore, store_db: Any) -> None:
    base = store.fingerprint()
    token = store.checkpoint()
    store_db.hset("h", mapping={f"f{i}": i for i in range(300)})  # becomes a hashtable
    store_db.hdel("h", *[f"f{i}" for i in range(2, 300)])
    store_db.lpush("l", "b")
    store_db.lpush("l", "a")
    store_db.sadd("s", *range(1000))
    store_db.srem("s", *range(2, 1000))
    grown = store.fingerprint()
    store.rollback(token)
    assert store.fingerprint() == base
    store_db.hset("h", mapping={"f1": 1, "f0": 0})
    store_db.rpush("l", "a", "b")
    store_db.sadd("s", 1, 0)
    assert store.fingerprint() == grown
    store_db.expire("h", 100)
    assert store.fingerprint() != grown  # a TTL is part of the state


def test_teardown_restores_setup_state_and_configuration(store_db: Any) -> None:
    store_db.config_set("notify-keyspace-events", "Kl")
    expected_config = store_db.config_get("notify-keyspace-events")
    seed(store_db)
    before = picture(store_db)
    s = RedisStore(url=URL)
    s.setup()
    assert set("Eg$lshzxetd") <= set(
        store_db.config_get("notify-keyspace-events")["notify-keyspace-events"].replace(
            "A", "g$lshzxetd"
        )
    )
    s.checkpoint()
    mutate_everything(store_db)
    s.fingerprint()
    store_db.set("late", "written after the last sync")
    s.teardown()
    assert picture(store_db) == before
    assert store_db.config_get("notify-keyspace-events") == expected_config
    assert [c for c in store_db.pubsub_channels() if b"venomqa" in c] == []


def test_prefix_tracks_only_its_keys(store_db: Any) -> None:
    seed(store_db)
    s = RedisStore(url=URL, prefix="cart:")
    s.setup()
    try:
        assert s.observe()["keys"] == 1
        token = s.checkpoint()
        store_db.hset("cart:1", "kiwi", 9)
        store_db.set("cart:2", "x")
        store_db.set("untracked", "stays")
        s.rollback(token)
        assert store_db.hget("cart:1", "kiwi") is None and not store_db.exists("cart:2")
        assert store_db.get("untracked") == b"stays"
    finally:
        s.teardown()


def test_cache_and_queue_ports(store: RedisStore, store_db: Any) -> None:
    token = store.checkpoint()
    store.set("seeded", "v", ttl=30)
    assert store.get("seeded") == "v" and 0 < store_db.pttl("seeded") <= 30_000
    assert store.get("cart:1") == {"apple": "1", "pear": "2"}
    assert store.get("missing") is None
    assert store.keys("cart:*") == ["cart:1"]
    assert store.length("rq:queue:default") == 2
    assert store.peek("rq:queue:default", 1) == ["job-1"]
    store_db.rpush("rq:queue:default", "job-9")
    summary = store.observe()
    assert summary["queues"] == {"rq:queue:default": 3} and summary["tracking"] == "notify"
    store.delete("greeting")
    store.rollback(token)
    assert store.get("seeded") is None and store.get("greeting") == "hello"
    assert store.length("rq:queue:default") == 2


def test_forbidden_config_falls_back_to_scan_diffs(store_db: Any) -> None:
    user, password = f"venomqa-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    store_db.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"],
        commands=["+@all", "-config"],
    )  # fmt: skip
    url = f"redis://{user}:{password}@127.0.0.1:6379/{STORE_DB}"
    try:
        seed(store_db)
        with pytest.raises(StorePermissionError, match="CONFIG"):
            RedisStore(url=url, mode="notify").setup()
        s = RedisStore(url=url)
        with pytest.warns(VenomQAWarning, match="SCAN diff"):
            s.setup()
        try:
            assert s.observe()["tracking"] == "scan"
            before, fp = picture(store_db), s.fingerprint()
            token = s.checkpoint()
            mutate_everything(store_db)
            assert s.fingerprint() != fp
            s.rollback(token)
            assert picture(store_db) == before and s.fingerprint() == fp
        finally:
            s.teardown()
    finally:
        store_db.acl_deluser(user)


def test_errors_say_what_and_where(store_db: Any) -> None:
    with pytest.raises(ValueError, match="mode"):
        RedisStore(url=URL, mode="fast")
    with pytest.raises(StoreError, match=r"cannot connect to redis://127\.0\.0\.1:1/0: .*refused"):
        RedisStore(url="redis://127.0.0.1:1/0", timeout_s=1).setup()
    s = RedisStore(url=URL)
    with pytest.raises(StoreError, match="not set up"):
        s.checkpoint()
    s.setup()
    try:
        token = s.checkpoint()
        inner = s.checkpoint()
        s.rollback(token)
        with pytest.raises(StoreError, match="invalidated"):
            s.rollback(inner)
    finally:
        s.teardown()


def test_plugin_import_does_not_import_redis() -> None:
    code = "import sys, venomqa_redis.plugin; print('redis' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
