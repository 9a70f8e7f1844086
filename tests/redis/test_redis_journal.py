"""Crash recovery of the Redis store: a process SIGKILLed after setup leaves its journal; the next
setup() puts every key (values and expiries) and notify-keyspace-events back from it and says
what it repaired with a LeftoversRepaired warning. The journal file itself: atomic, complete or
refused, one per server, database and prefix, no credentials."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from _support_redis import full_dump
from conftest import STORE_DB, redis_url
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa_redis import RedisStore
from venomqa_redis._journal import (
    DamagedJournal,
    Journal,
    journal_path,
    read_journal,
    write_journal,
)

URL = redis_url(STORE_DB)

#: A run that sets up, lets another connection change the database, syncs, and dies by SIGKILL.
KILLED_RUN = """
import os, signal, sys
import redis
from venomqa_redis import RedisStore
url, state_dir, mode = sys.argv[1:4]
r = redis.Redis.from_url(url)
store = RedisStore(url=url, state_dir=state_dir, mode=mode)
store.setup()
token = store.checkpoint()
r.set("counter", 50)
r.set("created", "for a moment")
store.fingerprint()
store.rollback(token)                         # VenomQA's own writes are undone as well
r.set("counter", 99)                          # changed
r.hset("cart:1", "plum", 3)                   # changed
r.delete("greeting")                          # deleted
r.delete("session")                           # deleted, has a TTL
r.set("short", "rewritten")                   # its TTL (gone now) runs out before the repair
r.delete("shorter")                           # deleted, its TTL runs out before the repair
r.set("created", "new", px=60_000)            # created
r.rpush("rq:queue:default", "job-9")          # changed
store.fingerprint()
os.kill(os.getpid(), signal.SIGKILL)
"""


def seed(r: Any, *, short_lived: bool = False) -> None:
    r.set("counter", 10)
    r.set("greeting", "hello")
    r.hset("cart:1", mapping={"apple": 1})
    r.rpush("rq:queue:default", "job-1")
    r.zadd("board", {"ann": 3.5})
    r.set("session", "s1", px=600_000)
    if short_lived:
        r.set("short", "gone soon", px=SHORT_MS)
        r.set("shorter", "gone soon", px=SHORT_MS)


SHORT_MS = 3_000


def killed_run(state_dir: Path, mode: str = "auto") -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_RUN), URL, str(state_dir), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -9, done.stderr


def setup_and_teardown(store: RedisStore) -> list[str]:
    """What a setup repaired (its LeftoversRepaired messages); other warnings are errors."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        store.setup()
        store.teardown()
    assert [w for w in seen if not issubclass(w.category, LeftoversRepaired)] == []
    return [str(w.message) for w in seen]


@pytest.mark.parametrize("mode", ["auto", "scan"])
def test_the_next_setup_repairs_a_killed_run(store_db: Any, tmp_path: Path, mode: str) -> None:
    store_db.config_set("notify-keyspace-events", "Kx")
    seed(store_db, short_lived=True)
    before = full_dump(store_db)
    expiry = store_db.execute_command("PEXPIRETIME", "session")
    store = RedisStore(url=URL, state_dir=str(tmp_path))
    seeded = time.monotonic()

    killed_run(tmp_path, mode)
    journal = read_journal(store.journal_file)
    assert journal is not None and journal.baseline is not None
    assert {b"short", b"shorter"} <= journal.baseline.keys(), "seeded keys expired too early"
    assert full_dump(store_db) != before
    time.sleep(max(0.0, seeded + SHORT_MS / 1000 + 0.2 - time.monotonic()))
    [repaired] = setup_and_teardown(store)
    again = setup_and_teardown(store)

    assert "was stopped before its clean-up" in repaired and URL in repaired
    # counter, cart:1, greeting, session, the queue back; created and the rewritten short
    # deleted (short's TTL would have run out by now); shorter, expired too, not restored
    assert "restored 5 key(s) and deleted 2 key(s)" in repaired
    if mode == "auto":
        assert "set notify-keyspace-events back to 'xK'" in repaired
    else:
        assert "notify-keyspace-events" not in repaired  # a scan run never changes it
    assert again == []
    expired = (b"short", b"shorter")
    expected = {**before, "keys": {k: v for k, v in before["keys"].items() if k not in expired}}
    assert full_dump(store_db) == expected
    assert store_db.execute_command("PEXPIRETIME", "session") == expiry  # the very same expiry
    assert not store.journal_file.exists()


def test_without_the_journal_a_killed_run_leaves_its_changes(store_db: Any, tmp_path: Path) -> None:
    """The control: the repair really comes from the journal."""
    store_db.config_set("notify-keyspace-events", "Kx")
    seed(store_db)
    before = full_dump(store_db)
    killed_run(tmp_path)
    RedisStore(url=URL, state_dir=str(tmp_path)).journal_file.unlink()
    left = full_dump(store_db)

    assert setup_and_teardown(RedisStore(url=URL, state_dir=str(tmp_path))) == []
    assert full_dump(store_db) == left != before


#: A run killed during setup, after it changed notify-keyspace-events, before it read the keys.
KILLED_SETUP = """
import os, signal, sys
import venomqa_redis.store
from venomqa_redis import RedisStore
url, state_dir = sys.argv[1:3]

def die(*args):
    os.kill(os.getpid(), signal.SIGKILL)

venomqa_redis.store.scan_entries = die
RedisStore(url=url, state_dir=state_dir).setup()
"""


def test_a_run_killed_during_setup_has_only_the_configuration_to_restore(
    store_db: Any, tmp_path: Path
) -> None:
    """Before it changes the configuration, setup journals the original value."""
    store_db.config_set("notify-keyspace-events", "Kl")
    seed(store_db)
    before = full_dump(store_db)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_SETUP), URL, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -9, done.stderr
    assert full_dump(store_db)["config"] != "lK"
    store_db.set("written", "by the API")  # not the killed run's doing: stays
    store = RedisStore(url=URL, state_dir=str(tmp_path))

    [repaired] = setup_and_teardown(store)

    assert "restored 0 key(s) and deleted 0 key(s)" in repaired
    assert "set notify-keyspace-events back to 'lK'" in repaired
    expected = {**before, "keys": {**before["keys"], b"written": (b"string", b"by the API", False)}}
    assert full_dump(store_db) == expected


def test_setup_journals_before_it_changes_anything_and_teardown_removes_it(
    store_db: Any, tmp_path: Path
) -> None:
    store_db.config_set("notify-keyspace-events", "Kx")
    seed(store_db)
    store = RedisStore(url=URL, state_dir=str(tmp_path), prefix="cart:")
    store.setup()
    try:
        journal = read_journal(store.journal_file)
        assert journal is not None and journal.config == "xK"
        assert journal.baseline is not None and set(journal.baseline) == {b"cart:1"}
        assert journal.baseline[b"cart:1"] == (store_db.dump("cart:1"), -1)
        assert os.stat(store.journal_file).st_mode & 0o077 == 0  # it holds values
    finally:
        store.teardown()
    assert not store.journal_file.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_journal_stops_setup_and_changes_nothing(store_db: Any, tmp_path: Path) -> None:
    seed(store_db)
    before = full_dump(store_db)
    store = RedisStore(url=URL, state_dir=str(tmp_path))
    write_journal(store.journal_file, Journal("", {b"counter": (b"junk", -1)}), describe={})
    store.journal_file.write_bytes(store.journal_file.read_bytes()[:-10])  # cut short

    with pytest.raises(StoreError, match=r"cannot read the journal.*delete the file"):
        store.setup()
    assert full_dump(store_db) == before
    assert store.journal_file.exists()


def test_journal_files_round_trip_and_are_one_per_server_db_and_prefix(tmp_path: Path) -> None:
    baseline = {b"k\x00\xff": (b"\x00dump\n", 1_700_000_000_000), b"": (b"", -1)}
    path = tmp_path / "j.journal"
    write_journal(path, Journal("AKE", baseline, started=12.5, pid=7), describe={"where": "x"})
    assert read_journal(path) == Journal("AKE", baseline, started=12.5, pid=7)
    assert read_journal(tmp_path / "missing") is None
    path.write_bytes(path.read_bytes().replace(b'"keys": 2', b'"keys": 3'))
    with pytest.raises(DamagedJournal):
        read_journal(path)

    paths = {
        journal_path(tmp_path, "redis://127.0.0.1:6379/0", b""),
        journal_path(tmp_path, "redis://127.0.0.1:6379/1", b""),
        journal_path(tmp_path, "redis://127.0.0.1:6380/0", b""),
        journal_path(tmp_path, "redis://127.0.0.1:6379/0", b"app:"),
    }
    assert len(paths) == 4
    store = RedisStore(url="redis://user:s3cret@127.0.0.1:6379/3", state_dir=str(tmp_path))
    assert store.journal_file == journal_path(tmp_path, "redis://127.0.0.1:6379/3", b"")
    assert "s3cret" not in str(store.journal_file)


def test_the_journal_holds_no_credentials(store_db: Any, tmp_path: Path) -> None:
    user, password = "venomqa-journal-test", "pw-9f2c7e1d"
    store_db.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"],
        commands=["+@all"],
    )  # fmt: skip
    try:
        store = RedisStore(
            url=f"redis://{user}:{password}@127.0.0.1:6379/{STORE_DB}", state_dir=str(tmp_path)
        )
        store.setup()
        try:
            assert password.encode() not in store.journal_file.read_bytes()
        finally:
            store.teardown()
    finally:
        store_db.acl_deluser(user)
