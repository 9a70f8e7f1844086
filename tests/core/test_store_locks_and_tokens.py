"""Two small pieces every store relies on, checked where a user meets them.

- The live-run lock (``venomqa.stores.live_run``): a run refused because another one holds the
  store is told exactly who holds it (pid, host, start time in UTC), why and what to do; a lock
  some other tool holds is shown in that tool's own words (read as UTF-8 whatever the locale), or
  as "owner unknown" when it wrote none; and a run whose lock file was deleted under it still
  tears down cleanly.
- ``TokenStack`` (``venomqa.stores.kit``), the checkpoint tokens of the built-in and bundled
  adapters: a new stack is usable as it is, ``release`` says whether the token was live (the
  PostgreSQL and Redis stores free savepoints and undo records only then), releasing a token
  that is no longer live is harmless, and a rollback to one gives the contract's message.

The holders are real second processes and the stores real SQLite files.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _support_sqlite import create_db, logical_content
from store_holder import live_store
from venomqa.errors import StoreError
from venomqa.stores import SQLiteStore
from venomqa.stores.kit import TokenStack
from venomqa.stores.live_run import LOCK_SUFFIX

SHOP = """
CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, amount REAL NOT NULL);
INSERT INTO orders(amount) VALUES (10.5), (7.0);
"""

ADVICE = (
    "two runs on one store would undo each other's changes, so this one does not start. "
    "Let that run finish or stop it (Ctrl-C), then start again; if it was killed, its lock "
    "went with it and the next run repairs what it left"
)

#: Another tool holding a store's lock file, with its own description of itself in it.
_FOREIGN_HOLDER = """
import fcntl, sys
handle = open(sys.argv[1], "wb")
fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
handle.write(bytes.fromhex(sys.argv[2]))
handle.flush()
print("HELD", flush=True)
sys.stdin.readline()
"""

#: A second run's setup in a process of its own: the refusal's message, as JSON.
_REFUSED = """
import json, locale, sys
from venomqa.errors import StoreError
from venomqa.stores import SQLiteStore
try:
    SQLiteStore(sys.argv[1]).setup()
except StoreError as exc:
    print(json.dumps([locale.getpreferredencoding(False), exc.detail]))
else:
    print(json.dumps([locale.getpreferredencoding(False), None]))
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return create_db(tmp_path / "shop.db", SHOP)


@contextmanager
def foreign_lock(path: Path, description: str | bytes) -> Iterator[None]:
    """``path``'s lock file held by another process that wrote ``description`` in it (a text
    in UTF-8, bytes as they are)."""
    lock_file = str(path) + LOCK_SUFFIX
    written = description.encode() if isinstance(description, str) else description
    holder = subprocess.Popen(
        [sys.executable, "-c", _FOREIGN_HOLDER, lock_file, written.hex()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        line = holder.stdout.readline()
        assert line.strip() == "HELD", line + holder.communicate(timeout=30)[1]
        yield
    finally:
        if holder.poll() is None:
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.communicate(timeout=30)


def refusal(path: Path) -> str:
    """The message a second store on ``path`` is refused with."""
    with pytest.raises(StoreError) as refused:
        SQLiteStore(str(path)).setup()
    assert refused.value.store == "sqlite"
    return refused.value.detail


def test_a_refused_run_is_told_who_holds_the_store_since_when_and_what_to_do(
    shop: Path,
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    with live_store(SQLiteStore, {"path": str(shop)}) as live:
        after = datetime.now(UTC)
        message = refusal(shop)
    owner = re.fullmatch(
        rf"{re.escape(str(shop))} is in use by another VenomQA run "
        rf"\(pid {live.pid} on host {re.escape(socket.gethostname())}, since (\S+)\); "
        + re.escape(ADVICE),
        message,
    )
    assert owner is not None, message
    started = datetime.fromisoformat(owner.group(1))
    assert started.utcoffset() == timedelta(0), f"{owner.group(1)} is not a time in UTC"
    assert before <= started <= after
    assert not Path(str(shop) + LOCK_SUFFIX).exists()  # the holder's teardown removed it


def test_a_lock_held_without_a_description_is_refused_as_owner_unknown(shop: Path) -> None:
    with foreign_lock(shop, ""):
        message = refusal(shop)
    assert message == f"{shop} is in use by another VenomQA run (owner unknown); {ADVICE}"


def test_a_lock_another_tool_holds_is_refused_in_that_tools_own_words(shop: Path) -> None:
    with foreign_lock(shop, "  nightly backup (cron job 42)\n"):
        message = refusal(shop)
    assert message == (
        f"{shop} is in use by another VenomQA run (nightly backup (cron job 42)); {ADVICE}"
    )
    store = SQLiteStore(str(shop))  # free again once the tool let go
    store.setup()
    store.teardown()


def test_a_holders_words_that_are_not_utf_8_are_shown_with_replacement_characters(
    shop: Path,
) -> None:
    with foreign_lock(shop, "sauvegarde \u00e9t\u00e9".encode("latin-1")):
        message = refusal(shop)
    assert message == (
        f"{shop} is in use by another VenomQA run (sauvegarde \ufffdt\ufffd); {ADVICE}"
    )


def test_the_holders_words_are_read_as_utf_8_also_in_a_process_with_an_ascii_locale(
    shop: Path,
) -> None:
    ascii_locale = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    with foreign_lock(shop, "sauvegarde de nuit — ne pas toucher"):
        done = subprocess.run(
            [sys.executable, "-c", _REFUSED, str(shop)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **ascii_locale, "VENOMQA_LOAD_PLUGINS": ""},
            check=False,
        )
    assert done.returncode == 0, done.stderr
    _, message = json.loads(done.stdout)
    assert message == (
        f"{shop} is in use by another VenomQA run (sauvegarde de nuit — ne pas toucher); {ADVICE}"
    )


def test_a_run_whose_lock_file_was_deleted_under_it_still_tears_down_and_restores(
    shop: Path,
) -> None:
    before = logical_content(shop)
    store = SQLiteStore(str(shop))
    store.setup()
    conn = sqlite3.connect(shop)
    conn.execute("INSERT INTO orders(amount) VALUES (99.0)")
    conn.commit()
    conn.close()
    Path(str(shop) + LOCK_SUFFIX).unlink()  # someone "cleaned up" a lock that looked stale
    store.teardown()
    assert logical_content(shop) == before
    assert not Path(str(shop) + LOCK_SUFFIX).exists()
    again = SQLiteStore(str(shop))
    again.setup()
    again.teardown()


@dataclass(frozen=True)
class FolderToken:
    """A token as an adapter author writes one: a serial number and the adapter's own state."""

    serial: int
    files: tuple[str, ...] = ()


def test_a_new_token_stack_is_empty_and_takes_tokens_without_a_reset() -> None:
    tokens = TokenStack("folder", FolderToken)
    assert len(tokens) == 0
    assert list(tokens) == []
    first = tokens.push(FolderToken(1))
    second = tokens.push(FolderToken(2, ("a.txt",)))
    assert list(tokens) == [first, second]  # oldest first
    assert tokens.require(second) is second


def test_token_stack_release_says_whether_the_token_was_live() -> None:
    tokens = TokenStack("folder", FolderToken)
    first, second = tokens.push(FolderToken(1)), tokens.push(FolderToken(2))
    assert tokens.release(second) is True
    assert list(tokens) == [first]
    assert tokens.release(second) is False  # released already: nothing more to free
    assert tokens.release(FolderToken(3)) is False  # never pushed
    assert tokens.release("not a token") is False
    assert list(tokens) == [first]
    assert tokens.release(first) is True
    assert len(tokens) == 0


def test_rolling_back_past_a_token_invalidates_it_with_the_contracts_message(shop: Path) -> None:
    store = SQLiteStore(str(shop))
    store.setup()
    try:
        outer = store.checkpoint()
        inner = store.checkpoint()
        store.rollback(outer)
        with pytest.raises(StoreError) as invalid:
            store.rollback(inner)
        assert invalid.value.detail == (
            f"rollback to an unknown or invalidated checkpoint token {inner!r} "
            "(tokens taken after the one rolled back to, or released ones, are invalid)"
        )
    finally:
        store.teardown()


def test_releasing_a_token_that_is_no_longer_live_is_harmless(shop: Path) -> None:
    before = logical_content(shop)
    store = SQLiteStore(str(shop))
    store.setup()
    try:
        outer = store.checkpoint()
        inner = store.checkpoint()
        store.rollback(outer)
        store.release(inner)  # invalidated by the rollback
        store.release(outer)
        store.release(outer)  # twice
        with pytest.raises(StoreError, match="invalidated checkpoint token"):
            store.rollback(outer)
        after_release = store.checkpoint()
        conn = sqlite3.connect(shop)
        conn.execute("DELETE FROM orders")
        conn.commit()
        conn.close()
        store.rollback(after_release)
    finally:
        store.teardown()
    assert logical_content(shop) == before
