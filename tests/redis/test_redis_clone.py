"""Copies of a Redis database for parallel workers (``SupportsClone``), on a real server.

The source is database 14 (``store_db``, flushed, under the Redis tests' lock); copies go to
databases 6-8 only (``clone_dbs``) and the registry of copies lives in database 9
(``clone_registry_db``): this module owns and flushes 6-9. Other processes (a live run, a killed
one) are real Python processes with their own connections.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from _support_redis import picture
from conftest import REDIS_HOST, REDIS_PORT, STORE_DB, _client, redis_url
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa_redis import RedisStore
from venomqa_redis._clone import HOLDER_CLIENT, REGISTRY_KEY, with_db

T = TypeVar("T")

URL = redis_url(STORE_DB)
REGISTRY_DB, COPY_DBS = 9, [6, 7, 8]


@pytest.fixture
def copies(store_db: Any) -> Iterator[None]:
    """Databases 6-9 empty before and after (the lock is held)."""
    for db in [*COPY_DBS, REGISTRY_DB]:
        on(db, lambda c: c.flushdb())
    try:
        yield
    finally:
        for db in [*COPY_DBS, REGISTRY_DB]:
            on(db, lambda c: c.flushdb())


def on(db: int, read: Callable[[Any], T]) -> T:
    """``read(client)`` on database ``db`` through a connection closed right after: a copy
    some connection has selected is in use, so the tests keep none open."""
    client = _client(db)
    try:
        return read(client)
    finally:
        client.close()


def size(db: int) -> int:
    return int(on(db, lambda c: c.dbsize()))


def registry() -> dict[bytes, bytes]:
    return dict(on(REGISTRY_DB, lambda c: c.hgetall(REGISTRY_KEY)))


def store(tmp_path: Path, **options: Any) -> RedisStore:
    options = {
        "url": URL,
        "clone_registry_db": REGISTRY_DB,
        "clone_dbs": COPY_DBS,
        "state_dir": str(tmp_path / "state"),
        **options,
    }
    return RedisStore(**options)


def fill(client: Any) -> None:
    """One key of every type, some with a time to live."""
    client.set("order:1", '{"total": 30}')
    client.set("session:abc", "carol", px=600_000)
    client.incr("ids:order", 41)
    client.hset("user:7", mapping={"name": "carol", "plan": "pro"})
    client.expire("user:7", 900)
    client.rpush("queue:mail", "a", "b", "a")
    client.sadd("tags", "x", "y")
    client.zadd("scores", {"carol": 3, "dave": 1.5})
    client.xadd("events", {"kind": "created"}, id="1-1")


def ttls(client: Any) -> dict[bytes, int]:
    return {key: client.pttl(key) for key in client.scan_iter()}


def db_of(options: dict[str, Any]) -> int:
    return int(str(options["url"]).rsplit("/", 1)[1])


def holders() -> list[dict[str, Any]]:
    return [c for c in on(REGISTRY_DB, lambda c: c.client_list()) if c["name"] == HOLDER_CLIENT]


#: Another process: ``clone(label)`` (or only open ``options``), set the copy's store up, print
#: the options, then wait for stdin to close (a live run) or to be killed.
OTHER_RUN = """
import json, sys
from venomqa_redis import RedisStore
options = json.loads(sys.argv[1])
if sys.argv[2] == "clone":
    options = RedisStore(**options).clone(sys.argv[3])
copy = RedisStore(**options)
copy.setup()
print(json.dumps(options), flush=True)
sys.stdin.read()
copy.teardown()
"""


def other_run(tmp_path: Path, what: str, value: str = "") -> tuple[subprocess.Popen[str], Any]:
    """Start ``OTHER_RUN``; the process and the options it printed once set up."""
    options = {"url": URL, "clone_registry_db": REGISTRY_DB, "clone_dbs": COPY_DBS}
    options["state_dir"] = str(tmp_path / "state")
    if what == "open":
        options = json.loads(value)
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OTHER_RUN), json.dumps(options), what, value],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=30)
        pytest.fail(f"the other run failed: {process.stderr.read() if process.stderr else ''}")
    return process, json.loads(line)


def killed(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_the_copy_holds_every_key_value_and_ttl_and_nothing_else(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    fill(store_db)
    before, before_ttls = picture(store_db), ttls(store_db)
    original = store(tmp_path)

    options = original.clone("w2")

    assert options == {**original._options(), "url": redis_url(db_of(options))}
    assert db_of(options) in COPY_DBS
    assert on(db_of(options), picture) == before  # every type, value and whether it has a TTL
    for key, ttl in on(
        db_of(options), ttls
    ).items():  # the same remaining time (COPY keeps the expiry)
        assert (ttl == -1) == (before_ttls[key] == -1), key
        assert abs(ttl - before_ttls[key]) < 5_000, key
    assert picture(store_db) == before  # the original is untouched and holds nothing new
    [entry] = registry().items()
    assert int(entry[0]) == db_of(options)
    assert json.loads(entry[1])["label"] == "w2" and json.loads(entry[1])["source"] == STORE_DB
    assert [h["db"] for h in holders()] == [str(db_of(options))]  # kept in use while we run
    original.drop_clone(options)


def test_a_copy_of_many_keys_takes_several_batches(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    pipe = store_db.pipeline(transaction=False)
    for n in range(9_000):
        pipe.set(f"item:{n}", n, px=None if n % 3 else 600_000)
    pipe.execute()
    original = store(tmp_path)

    options = original.clone("w2")

    assert size(db_of(options)) == 9_000
    item, ttl, none = on(
        db_of(options), lambda c: (c.get("item:8999"), c.pttl("item:3"), c.pttl("item:4"))
    )
    assert item == b"8999" and ttl > 0 > none
    original.drop_clone(options)


def test_a_store_over_the_copy_works_and_leaves_the_original_alone(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    fill(store_db)
    before = picture(store_db)
    original = store(tmp_path)
    options = original.clone("w2")
    worker = RedisStore(**options)

    worker.setup()
    try:
        start = worker.checkpoint()
        on(db_of(options), lambda c: (c.set("order:2", "new"), c.incr("ids:order")))
        on(db_of(options), lambda c: c.delete("user:7"))
        changed = worker.fingerprint()
        assert picture(store_db) == before  # the copy's writes stay in the copy
        worker.rollback(start)
        assert on(db_of(options), picture) == before
        assert worker.fingerprint() != changed
    finally:
        worker.teardown()
    assert on(db_of(options), picture) == before == picture(store_db)
    original.drop_clone(options)


def test_drop_clone_empties_and_unregisters_the_copy(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    fill(store_db)
    original = store(tmp_path)
    options = original.clone("w2")

    original.drop_clone(options)
    original.drop_clone(options)  # dropped already: nothing happens

    assert size(db_of(options)) == 0
    assert size(REGISTRY_DB) == 0  # the registry went with its last entry
    assert holders() == []
    assert store_db.dbsize() == 8


def test_copies_for_several_workers_go_to_different_databases(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    store_db.set("a", "1")
    original = store(tmp_path)

    made = [original.clone(label) for label in ("w2", "w3", "w4")]

    assert sorted(db_of(o) for o in made) == COPY_DBS
    with pytest.raises(StoreError, match=r"no free database for the copy w5 of .*/14"):
        original.clone("w5")
    for options in made:
        original.drop_clone(options)
    assert all(size(db) == 0 for db in COPY_DBS)


def test_a_database_with_keys_or_a_connection_is_never_taken(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    store_db.set("a", "1")
    on(6, lambda c: c.set("someone", "else"))
    connected = _client(7)  # a connection with database 7 selected
    original = store(tmp_path)

    try:
        options = original.clone("w2")
    finally:
        connected.close()

    assert db_of(options) == 8
    assert on(6, lambda c: c.get("someone")) == b"else"
    original.drop_clone(options)


def test_the_registry_database_cannot_be_the_stores_own(tmp_path: Path, copies: None) -> None:
    with pytest.raises(StoreError, match=r"clone_registry_db: 14"):
        store(tmp_path, clone_registry_db=STORE_DB).clone("w2")


def test_a_copy_left_by_a_killed_run_is_dropped_as_a_leftover(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    fill(store_db)
    process, options = other_run(tmp_path, "clone", "w2")
    killed(process)  # no clean-up at all: the copy and its store's journal stay
    assert size(db_of(options)) == 8
    assert list((tmp_path / "state").iterdir())  # the worker store's journal

    dropped = store(tmp_path).drop_leftover_clones()

    [line] = dropped
    assert line.startswith(f"redis://{REDIS_HOST}:{REDIS_PORT}/{db_of(options)} (copy w2 of ")
    assert f"process {process.pid}" in line
    assert size(db_of(options)) == 0 and size(REGISTRY_DB) == 0
    assert list((tmp_path / "state").iterdir()) == []
    assert store(tmp_path).drop_leftover_clones() == []
    assert store_db.dbsize() == 8


def test_a_copy_a_live_run_uses_is_left_alone_and_cannot_be_made_again(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    fill(store_db)
    maker, options = other_run(tmp_path, "clone", "w2")
    maker.communicate("", timeout=30)  # made it, set it up, tore it down, exited: not dropped
    user, _ = other_run(tmp_path, "open", json.dumps(options))  # a live run's store on it
    try:
        assert store(tmp_path).drop_leftover_clones() == []
        assert size(db_of(options)) == 8
        with pytest.raises(StoreError) as raised:
            store(tmp_path).clone("w2")
        message = str(raised.value)
        assert f"{REDIS_HOST}:{REDIS_PORT}/{db_of(options)} (copy w2 of database 14" in message
        assert "in use by a live run" in message
    finally:
        user.communicate("", timeout=30)
    assert user.returncode == 0, user.stderr
    assert len(store(tmp_path).drop_leftover_clones()) == 1  # that run is over now


def test_a_copy_of_the_same_name_left_by_a_dead_run_is_replaced(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    store_db.set("old", "1")
    process, left = other_run(tmp_path, "clone", "w2")
    killed(process)
    store_db.delete("old")
    store_db.set("new", "2")
    original = store(tmp_path)

    options = original.clone("w2")

    assert options == left  # the same database, taken over
    assert on(db_of(options), picture) == picture(store_db)
    [raw] = registry().values()
    assert json.loads(raw)["pid"] == os.getpid()
    original.drop_clone(options)


def test_venomqa_recover_removes_a_killed_runs_copies(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    fill(store_db)
    process, options = other_run(tmp_path, "clone", "w3")
    killed(process)
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        "target: http://127.0.0.1:9\n"
        "stores:\n"
        f"  cache: {{adapter: redis, url: '{URL}', state_dir: '{tmp_path / 'state'}',\n"
        f"          clone_registry_db: {REGISTRY_DB}, clone_dbs: {COPY_DBS}}}\n"
    )

    recovered = subprocess.run(
        [sys.executable, "-m", "venomqa", "recover", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "redis"},
    )

    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    [line] = recovered.stdout.splitlines()
    assert line.startswith(
        f"store 'cache' (adapter redis, url {URL}): repaired: removed the worker copy "
        f"redis://{REDIS_HOST}:{REDIS_PORT}/{db_of(options)} (copy w3 of database 14"
    ), line
    assert size(db_of(options)) == 0
    assert store_db.dbsize() == 8


@pytest.mark.parametrize(
    ("url", "copy"),
    [
        ("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/7"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/7"),
        ("redis://u:p%40w@h:1/0?socket_timeout=2&db=4", "redis://u:p%40w@h:1/7?socket_timeout=2"),
        ("rediss://:pw@h:6380/2", "rediss://:pw@h:6380/7"),
        ("unix:///tmp/redis.sock?db=3", "unix:///tmp/redis.sock?db=7"),
    ],
)
def test_the_copys_url_names_its_database(url: str, copy: str) -> None:
    assert with_db(url, 7) == copy


@pytest.mark.parametrize(
    "bad", [{"clone_registry_db": -1}, {"clone_dbs": "6"}, {"clone_dbs": [True]}]
)
def test_clone_options_are_checked(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="clone_"):
        RedisStore(url=URL, **bad)


def test_what_a_killed_run_left_in_the_original_is_repaired_before_copying(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    fill(store_db)
    before = picture(store_db)
    original = store(tmp_path)
    process, _ = other_run(tmp_path, "open", json.dumps(original._options()))
    store_db.set("written:during:the:killed:run", "x")
    store_db.delete("order:1")
    killed(process)

    with pytest.warns(LeftoversRepaired, match="stopped before its clean-up"):
        options = original.clone("w2")

    assert on(db_of(options), picture) == before == picture(store_db)
    original.drop_clone(options)


def test_databases_the_server_does_not_have_are_never_claimed(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    store_db.set("a", "1")
    with pytest.raises(StoreError, match=r"`clone_dbs` names no database of the server"):
        store(tmp_path, clone_dbs=[16, 99]).clone("w2")
    assert size(REGISTRY_DB) == 0


def test_a_server_that_refuses_scripts_still_gets_copies(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    fill(store_db)
    before = picture(store_db)
    user, password = f"venomqa-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    store_db.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"],
        commands=["+@all", "-@scripting"],
    )  # fmt: skip
    url = f"redis://{user}:{password}@{REDIS_HOST}:{REDIS_PORT}/{STORE_DB}"
    try:
        original = store(tmp_path, url=url)
        options = original.clone("w2")
        assert options["url"] == f"redis://{user}:{password}@{REDIS_HOST}:{REDIS_PORT}/6"
        assert on(6, picture) == before
        original.drop_clone(options)
        assert size(6) == 0 and size(REGISTRY_DB) == 0
    finally:
        store_db.acl_deluser(user)


def test_a_registry_database_the_server_lacks_means_no_copies(
    store_db: Any, copies: None, tmp_path: Path
) -> None:
    original = store(tmp_path, clone_registry_db=99)
    assert original.drop_leftover_clones() == []
    with pytest.raises(StoreError, match=r"the server has no database 99 .* `clone_registry_db`"):
        original.clone("w2")
    assert store(tmp_path, clone_registry_db=STORE_DB).drop_leftover_clones() == []
