"""RedisStore.changed_records() against a real Redis: one record per key, each type's fields,
JSON strings split into fields, setup images of keys changed later, TTL flags, rollbacks to
nested tokens, FLUSHDB, ``mode: scan``, ``prefix``, caching and cost. Writes come through other
connections (and another process), as an API's would."""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _support_redis import run_in_other_process
from conftest import STORE_DB, redis_url
from venomqa.ports.store import RecordChange
from venomqa_redis import RedisStore
from venomqa_redis._records import string_value

URL = redis_url(STORE_DB)


def rec(key: str | bytes, kind: str, ttl: bool = False, /, **fields: Any) -> dict[str, Any]:
    """A record as the store lists it: the store's fields, then the content."""
    return {"@key": key, "@type": kind, "@ttl": ttl, **fields}


def listed(store: RedisStore) -> dict[Any, RecordChange]:
    """The changed records by key name; every one really differs from setup."""
    changes = store.changed_records()
    by_key = {c.identity[0]: c for c in changes}
    assert len(by_key) == len(changes), "one record per key"
    for change in changes:
        assert change.before != change.after, f"listed although unchanged: {change}"
        assert change.key_fields == ("@key",)
        assert change.identity == ((change.after or change.before or {})["@key"],)
    return by_key


def images(store: RedisStore) -> dict[Any, tuple[Any, Any]]:
    """The changed records as (before, after) by key name."""
    return {key: (c.before, c.after) for key, c in listed(store).items()}


@pytest.fixture(params=["auto", "scan"])
def mode(request: Any) -> str:
    """Each test runs with keyspace notifications and with the SCAN-diff fallback."""
    return str(request.param)


@pytest.fixture
def make_store(store_db: Any, mode: str) -> Iterator[Any]:
    """Builds set-up stores (on database 14) and tears them all down afterwards."""
    made: list[RedisStore] = []

    def make(**options: Any) -> RedisStore:
        store = RedisStore(url=URL, mode=mode, **options)
        store.setup()
        made.append(store)
        return store

    yield make
    for store in made:
        store.teardown()


def test_each_type_maps_to_fields_written_by_another_process(make_store: Any) -> None:
    store = make_store()
    assert store.changed_records() == ()
    run_in_other_process(
        URL,
        "r.set('greeting', 'hello'); r.set('counter', 42); r.set('big', 'x' * 100)\n"
        "r.set('raw', b'\\xff\\x00'); r.set('neg', -70000)\n"
        "r.hset('user:1', mapping={'name': 'ada', 'age': 36, '@id': 'u1', '@@x': 'y'})\n"
        "r.rpush('jobs', 'b', 'a', 'b'); r.sadd('tags', 'z', 'a', 'm')\n"
        "r.zadd('board', {'ann': 3.5, 'bob': 1})\n"
        "r.xadd('events', {'kind': 'created', 'by': 'ada'}, id='1-1')\n"
        "r.xgroup_create('events', 'workers', id='0')",
    )
    changes = listed(store)
    assert {c.collection for c in changes.values()} == {
        "greeting", "counter", "big", "raw", "neg", "user", "jobs", "tags", "board", "events"
    }  # fmt: skip
    assert all(c.before is None for c in changes.values())
    after = {key: c.after for key, c in changes.items()}
    assert after == {
        "greeting": rec("greeting", "string", **{"@value": "hello"}),
        "counter": rec("counter", "string", **{"@value": "42"}),
        "big": rec("big", "string", **{"@value": "x" * 100}),  # LZF-compressed in its DUMP
        "raw": rec("raw", "string", **{"@value": b"\xff\x00"}),
        "neg": rec("neg", "string", **{"@value": "-70000"}),
        "user:1": rec("user:1", "hash", name="ada", age="36", **{"@@id": "u1", "@@@x": "y"}),
        "jobs": rec("jobs", "list", **{"@value": ["b", "a", "b"]}),
        "tags": rec("tags", "set", **{"@value": ["a", "m", "z"]}),
        "board": rec("board", "zset", **{"@value": [["bob", 1.0], ["ann", 3.5]]}),
        "events": rec(
            "events",
            "stream",
            **{
                "@value": {
                    "entries": [["1-1", {"by": "ada", "kind": "created"}]],
                    "groups": [
                        {
                            "name": "workers",
                            "last-delivered-id": "0-0",
                            "pending": 0,
                            "consumers": 0,
                        }
                    ],
                }
            },
        ),
    }
    json.dumps([c.after for c in changes.values() if c.collection != "raw"])  # plain JSON values


def test_json_object_strings_are_split_into_fields(make_store: Any, store_db: Any) -> None:
    store = make_store()
    document = {
        "id": 7, "name": "ada", "score": 2.5, "ok": True, "none": None, "tags": ["a", "b"],
        "address": {"city": "Paris", "zip": "75001"}, "@type": "user", "@@key": "x",
    }  # fmt: skip
    store_db.set("doc:1", json.dumps(document))
    store_db.set("doc:2", '  {"a": 1}  ')
    store_db.set("doc:3", json.dumps({"text": "long " * 40}))  # LZF-compressed in its DUMP
    for key, value in [("arr", "[1, 2]"), ("nan", '{"x": NaN}'), ("bad", "{not json"),
                       ("num", "12.5"), ("empty", "")]:  # fmt: skip
        store_db.set(key, value)
    after = {key: c.after for key, c in listed(store).items()}
    assert after["doc:1"] == rec(
        "doc:1", "string", id=7, name="ada", score=2.5, ok=True, none=None, tags=["a", "b"],
        address={"city": "Paris", "zip": "75001"}, **{"@@type": "user", "@@@key": "x"},
    )  # fmt: skip
    assert after["doc:2"] == rec("doc:2", "string", a=1)
    assert after["doc:3"] == rec("doc:3", "string", text="long " * 40)
    for key, value in [("arr", "[1, 2]"), ("nan", '{"x": NaN}'), ("bad", "{not json"),
                       ("num", "12.5"), ("empty", "")]:  # fmt: skip
        assert after[key] == rec(key, "string", **{"@value": value})


def seed(r: Any) -> None:
    """Keys there before setup, in the encodings Redis picks for them."""
    r.set("greeting", "hello")
    r.set("counter", 10)  # int-encoded
    r.set("profile:1", json.dumps({"name": "ada", "bio": "wrote the first program " * 3}))  # LZF
    r.hset("user:1", mapping={"name": "ada", "created_at": "2020-01-01T00:00:00Z"})  # listpack
    r.hset("user:big", mapping={f"f{i}": i for i in range(300)})  # hashtable
    r.rpush("jobs", *[f"job-{i}" for i in range(200)])  # quicklist
    r.sadd("ids", 3, 1, 2)  # intset
    r.sadd("tags", "b", "a")
    r.zadd("board", {"ann": 3.5, "bob": 1})
    r.xadd("events", {"kind": "created"}, id="1-1")
    r.set("session:abc", "s1", px=60_000)


SETUP_IMAGES = {
    "greeting": rec("greeting", "string", **{"@value": "hello"}),
    "counter": rec("counter", "string", **{"@value": "10"}),
    "profile:1": rec("profile:1", "string", name="ada", bio="wrote the first program " * 3),
    "user:1": rec("user:1", "hash", name="ada", created_at="2020-01-01T00:00:00Z"),
    "user:big": rec("user:big", "hash", **{f"f{i}": str(i) for i in range(300)}),
    "jobs": rec("jobs", "list", **{"@value": [f"job-{i}" for i in range(200)]}),
    "ids": rec("ids", "set", **{"@value": ["1", "2", "3"]}),
    "tags": rec("tags", "set", **{"@value": ["a", "b"]}),
    "board": rec("board", "zset", **{"@value": [["bob", 1.0], ["ann", 3.5]]}),
    "events": rec(
        "events", "stream", **{"@value": {"entries": [["1-1", {"kind": "created"}]], "groups": []}}
    ),
    "session:abc": rec("session:abc", "string", True, **{"@value": "s1"}),
}


def change_everything(r: Any) -> None:
    r.set("greeting", "bye")
    r.incr("counter")
    r.set("profile:1", json.dumps({"name": "ada", "bio": "short"}))
    r.hset("user:1", "name", "bea")
    r.hdel("user:big", "f0")
    r.lpop("jobs")
    r.sadd("ids", 4)
    r.srem("tags", "a")
    r.zincrby("board", 5, "bob")
    r.xadd("events", {"kind": "paid"}, id="2-1")
    r.delete("session:abc")


def test_setup_content_of_keys_changed_later_is_the_before_image(
    store_db: Any, make_store: Any
) -> None:
    seed(store_db)
    store = make_store()
    assert store.changed_records() == ()
    change_everything(store_db)
    changes = images(store)
    assert set(changes) == set(SETUP_IMAGES)
    assert {key: before for key, (before, _) in changes.items()} == SETUP_IMAGES
    after = {key: a for key, (_, a) in changes.items()}
    assert after["session:abc"] is None
    assert after["counter"] == rec("counter", "string", **{"@value": "11"})
    assert after["profile:1"] == rec("profile:1", "string", name="ada", bio="short")
    assert after["user:1"] == rec("user:1", "hash", name="bea", created_at="2020-01-01T00:00:00Z")
    assert after["ids"] == rec("ids", "set", **{"@value": ["1", "2", "3", "4"]})
    assert after["board"] == rec("board", "zset", **{"@value": [["ann", 3.5], ["bob", 6.0]]})


def test_writing_back_the_setup_content_unlists_the_key(store_db: Any, make_store: Any) -> None:
    seed(store_db)
    store = make_store()
    store_db.incr("counter")
    store_db.hset("user:1", "name", "bea")
    store_db.set("new", "x")
    store_db.srem("tags", "a")
    assert set(listed(store)) == {"counter", "user:1", "new", "tags"}
    store_db.decr("counter")
    store_db.hset("user:1", "name", "ada")
    store_db.delete("new")
    store_db.sadd("tags", "a")
    assert store.changed_records() == ()
    # The same content in another internal encoding: hashtable -> still the same record.
    store_db.hset("user:1", mapping={f"tmp{i}": i for i in range(300)})
    store_db.hdel("user:1", *[f"tmp{i}" for i in range(300)])
    assert store.changed_records() == ()


def test_ttl_is_a_flag_never_a_clock_value(store_db: Any, make_store: Any) -> None:
    store_db.set("plain", "p")
    store_db.set("session", "s", px=60_000)
    store_db.set("fleeting", "f", px=600)
    store = make_store()
    store_db.pexpire("session", 90_000)  # a new expiry time, still a TTL: unchanged
    assert store.changed_records() == ()
    store_db.expire("plain", 100)
    store_db.set("short", "x", px=300)
    changes = images(store)
    assert changes["plain"] == (rec("plain", "string", **{"@value": "p"}),
                                rec("plain", "string", True, **{"@value": "p"}))  # fmt: skip
    assert changes["short"] == (None, rec("short", "string", True, **{"@value": "x"}))
    store_db.persist("plain")
    store_db.persist("session")
    time.sleep(0.8)  # 'fleeting' (there at setup) and 'short' (new) expire
    changes = images(store)
    assert set(changes) == {"session", "fleeting"}
    assert changes["session"][1] == rec("session", "string", **{"@value": "s"})
    assert changes["fleeting"] == (rec("fleeting", "string", True, **{"@value": "f"}), None)


def test_records_follow_rollbacks_to_nested_tokens(store_db: Any, make_store: Any) -> None:
    seed(store_db)
    store = make_store()
    outer = store.checkpoint()
    run_in_other_process(URL, "r.hset('user:1', 'name', 'bea'); r.set('user:2', 'x')")
    at_inner = images(store)
    inner = store.checkpoint()
    change_everything(store_db)
    store_db.hset("user:1", "name", "cy")
    store_db.delete("user:2")
    store_db.set("cart:9", "{}")
    assert len(images(store)) == len(SETUP_IMAGES) + 1
    store.rollback(inner)
    assert images(store) == at_inner
    store.rollback(outer)
    assert store.changed_records() == ()
    # After the revert, other keys change: each is listed with its setup image.
    store_db.incr("counter")
    store_db.hset("user:1", "name", "dee")
    changes = images(store)
    assert changes == {
        "counter": (SETUP_IMAGES["counter"], rec("counter", "string", **{"@value": "11"})),
        "user:1": (SETUP_IMAGES["user:1"], {**SETUP_IMAGES["user:1"], "name": "dee"}),
    }
    store.rollback(outer)  # the token stays valid
    assert store.changed_records() == ()


def test_flushdb_is_noticed(store_db: Any, make_store: Any) -> None:
    seed(store_db)
    store = make_store()
    token = store.checkpoint()
    store_db.flushdb()  # no key events: noticed through the key count (or the SCAN diff)
    store_db.set("other", "1")
    changes = images(store)
    assert set(changes) == {*SETUP_IMAGES, "other"}
    assert all(after is None for key, (_, after) in changes.items() if key != "other")
    assert changes["user:big"][0] == SETUP_IMAGES["user:big"]
    store.rollback(token)
    assert store.changed_records() == ()
    store_db.flushdb()  # right before a rollback: its own key count notices it
    store.rollback(token)
    assert store.changed_records() == ()
    assert store_db.hget("user:1", "name") == b"ada" and store_db.dbsize() == len(SETUP_IMAGES)


def test_prefix_is_left_out_of_the_collection(store_db: Any, make_store: Any) -> None:
    store_db.hset("app:user:1", mapping={"name": "ada"})
    store_db.set("other:1", "untracked")
    store = make_store(prefix="app:")
    store_db.hset("app:user:1", "name", "bea")
    store_db.set("app:session:abc", json.dumps({"user": "app:user:1"}))
    store_db.set("app:plain", "p")
    store_db.set("other:1", "changed")
    store_db.set("other:2", "new")
    changes = listed(store)
    assert {key: c.collection for key, c in changes.items()} == {
        "app:user:1": "user", "app:session:abc": "session", "app:plain": "plain"
    }  # fmt: skip
    assert changes["app:user:1"].before == rec("app:user:1", "hash", name="ada")
    assert changes["app:session:abc"].after == rec("app:session:abc", "string", user="app:user:1")


def test_keys_and_fields_that_are_not_utf8(store_db: Any, make_store: Any) -> None:
    store = make_store()
    store_db.hset(b"bin:\xff", mapping={b"\xfe": b"\xfd", "ok": "fine"})
    change = listed(store)[b"bin:\xff"]
    assert change.collection == "bin" and change.identity == (b"bin:\xff",)
    assert change.after == rec(b"bin:\xff", "hash", ok="fine", **{"\\xfe": b"\xfd"})
    store_db.set(b"\xff\xfe", "v")
    assert listed(store)[b"\xff\xfe"].collection == "\\xff\\xfe"


def test_the_list_is_a_snapshot_cached_until_something_changes(
    store_db: Any, make_store: Any
) -> None:
    seed(store_db)
    store = make_store()
    store_db.hset("user:1", "name", "bea")
    first = store.changed_records()
    kept = copy.deepcopy(first)
    assert store.changed_records() is first
    store_db.hset("user:1", "name", "cy")
    store_db.set("new", "x")
    second = store.changed_records()
    assert second is not first and len(second) == 2
    assert first == kept  # what was handed out before is never changed
    assert store.changed_records() is second
    store.fingerprint()  # a sync by another method: nothing changed, the same tuple
    assert store.changed_records() is second


def _dump_calls(r: Any) -> int:
    stats = r.info("commandstats")
    return int(stats.get("cmdstat_dump", {}).get("calls", 0))


def test_untouched_keys_are_never_read_again(store_db: Any) -> None:
    """Listing and bringing up to date cost O(keys changed), not O(keys)."""
    pipe = store_db.pipeline(transaction=False)
    for i in range(3000):
        pipe.hset(f"user:{i}", mapping={"name": f"u{i}"})
        pipe.set(f"page:{i}", json.dumps({"n": i, "text": "lorem ipsum " * 5}))
    pipe.execute()
    store = RedisStore(url=URL)
    store.setup()
    try:
        for i in range(5):
            store_db.hset(f"user:{i}", "name", "changed")
        before = _dump_calls(store_db)
        assert len(store.changed_records()) == 5
        assert _dump_calls(store_db) - before == 5  # the changed keys, read once by the sync
        before = _dump_calls(store_db)
        store_db.set("page:7", "{}")
        assert len(store.changed_records()) == 6
        assert store.changed_records()[-1].identity == ("user:4",)  # sorted by key name
        assert _dump_calls(store_db) - before == 1
    finally:
        store.teardown()


def test_string_dumps_decode_to_their_values(store_db: Any) -> None:
    """The DUMP decoder against the server: raw, int-encoded and LZF-compressed strings."""
    rnd = random.Random(7)
    values = [str(i).encode() for i in (0, -1, 127, -128, 128, 32767, -32768, 2**31 - 1, -(2**31),
                                        2**31, 2**63 - 1, 10**20)]  # fmt: skip
    values += [b"007", b"-0", b"+5", b"1e3", b""]
    for size in (1, 20, 21, 63, 64, 16383, 16384, 70_000):
        values.append(b"a" * size)
        values.append(bytes(rnd.randrange(256) for _ in range(min(size, 4000))))
        values.append((b"abcabcabd" * (size // 9 + 1))[:size])
    for _ in range(300):
        alphabet = bytes(rnd.sample(range(256), rnd.randrange(1, 12)))
        values.append(bytes(rnd.choice(alphabet) for _ in range(rnd.choice([30, 300, 3000]))))
    pipe = store_db.pipeline(transaction=False)
    for index, value in enumerate(values):
        pipe.set(f"v{index}", value)
        pipe.dump(f"v{index}")
    dumps = pipe.execute()[1::2]
    assert sum(1 for d in dumps if d[1] == 0xC3) > 100  # many are LZF-compressed
    assert [string_value(d) for d in dumps] == values
