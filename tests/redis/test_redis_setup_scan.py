"""Setup's whole-database read: the server-side SCAN script (types from the DUMP's first byte),
its fallback where scripts are refused, its calls read ahead by a thread that stops with the
reader, and the fingerprint relative to setup (strings are digested only once they change)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from _support_redis import picture
from conftest import STORE_DB, redis_url
from venomqa_redis import RedisStore
from venomqa_redis._keyspace import (
    _read_ahead,
    _script_steps,
    read_images,
    scan_entries,
    scan_images,
    scan_keys,
)

URL = redis_url(STORE_DB)


def seed_every_encoding(r: Any) -> None:
    """Every type in its small (listpack/intset) and its large (hashtable/skiplist...) encoding."""
    r.set("s:int", 12)
    r.set("s:text", "hello")
    r.set("s:long", "x" * 5000)
    r.set("s:ttl", "soon", px=60_000)
    r.hset("h:small", mapping={"a": 1})
    r.hset("h:big", mapping={f"f{i}": "v" * 80 for i in range(300)})
    r.rpush("l:small", "a", "b")
    r.rpush("l:big", *[f"item-{i}" * 20 for i in range(600)])
    r.sadd("set:int", 1, 2, 3)
    r.sadd("set:text", "a", "b")
    r.sadd("set:big", *[f"member-{i}" for i in range(600)])
    r.zadd("z:small", {"ann": 1})
    r.zadd("z:big", {f"m{i}": i for i in range(300)})
    r.xadd("x:stream", {"kind": "created"}, id="1-1")
    r.xgroup_create("x:stream", "workers", id="0")


def test_the_script_reads_what_type_dump_and_pexpiretime_read(store_db: Any) -> None:
    seed_every_encoding(store_db)
    for i in range(2500):  # several SCAN steps
        store_db.set(f"bulk:{i}", i)

    scanned = scan_images(store_db, b"")
    piped = read_images(store_db, scan_keys(store_db, b""))

    assert scanned == piped
    assert {store_db.type(k) for k in scanned if not k.startswith(b"bulk:")} == {
        b"string", b"hash", b"list", b"set", b"zset", b"stream"
    }  # fmt: skip
    assert scan_images(store_db, b"h:").keys() == {b"h:small", b"h:big"}
    entries = scan_entries(store_db, b"")
    assert entries[b"s:text"].digest is None  # digested when it first changes
    assert entries[b"h:big"].digest is not None  # canonical content read at setup


def test_setup_falls_back_to_pipelines_where_scripts_are_refused(store_db: Any) -> None:
    user, password = f"venomqa-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    store_db.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"],
        commands=["+@all", "-@scripting"],
    )  # fmt: skip
    seed_every_encoding(store_db)
    url = f"redis://{user}:{password}@127.0.0.1:6379/{STORE_DB}"
    try:
        store = RedisStore(url=url)
        store.setup()
        try:
            before, fingerprint = picture(store_db), store.fingerprint()
            token = store.checkpoint()
            store_db.hset("h:big", "f1", "changed")
            store_db.delete("s:text")
            assert store.fingerprint() != fingerprint
            store.rollback(token)
            assert picture(store_db) == before and store.fingerprint() == fingerprint
            assert len(store.audit()) == len(before)
        finally:
            store.teardown()
    finally:
        store_db.acl_deluser(user)


def test_the_fingerprint_is_relative_to_setup_and_history_free(store_db: Any) -> None:
    seed_every_encoding(store_db)
    store = RedisStore(url=URL)
    store.setup()
    try:
        at_setup = store.fingerprint()
        assert at_setup == "0" * 16
        store_db.set("s:text", "changed")
        store_db.hset("h:small", "b", 2)
        changed = store.fingerprint()
        assert changed != at_setup
        store_db.set("s:text", "hello")  # back to the setup content by hand, not by rollback
        store_db.hdel("h:small", "b")
        assert store.fingerprint() == at_setup
        store_db.set("s:text", "changed")
        store_db.hset("h:small", "b", 2)
        assert store.fingerprint() == changed
    finally:
        store.teardown()


def _scan_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "venomqa-redis-scan"]


def test_the_script_calls_read_ahead_and_stop_when_the_reader_stops(store_db: Any) -> None:
    pipe = store_db.pipeline(transaction=False)
    for i in range(20_000):  # ~20 script calls, more than READ_AHEAD
        pipe.set(f"bulk:{i}", i)
    pipe.execute()

    steps = _script_steps(store_db, b"")
    assert steps is not None
    first = next(steps)
    second = next(steps)  # the thread is reading ahead now
    assert _scan_threads()
    steps.close()  # the caller stops early: the thread ends after its call in flight
    assert not _scan_threads()
    assert first[0] != second[0]  # each reply carries the next cursor

    every = _script_steps(store_db, b"")
    assert every is not None
    keys = {reply[i] for reply in every for i in range(1, len(reply), 4)}
    assert len(keys) == 20_000  # all of them, once the cursor came back to 0
    assert not _scan_threads()


def test_an_error_in_a_call_read_ahead_is_raised_to_the_reader() -> None:
    calls = []

    def call(cursor: Any) -> list[Any]:
        calls.append(cursor)
        if len(calls) == 2:
            raise ConnectionError("dropped")
        return [cursor + 1]

    steps = _read_ahead([1], call)
    assert next(steps) == [1]
    assert next(steps) == [2]
    with pytest.raises(ConnectionError, match="dropped"):
        next(steps)
    assert not _scan_threads()
