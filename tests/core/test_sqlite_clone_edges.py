"""The SQLite store's copies for parallel workers at their edges, on real files.

What ``test_sqlite_clone.py`` leaves open: the exact words of every refusal (they are all a user
sees when ``venomqa run --workers N`` cannot start) and that each names the store; a file that is
not a database; an original another run is copying at that moment; a copy a live run uses,
refused by ``clone`` and ``drop_clone`` while ``drop_leftover_clones`` still removes the copies
after it; a database in the working directory (``path: shop.db``) or in a folder that does not
exist; paths with ``?`` and ``#`` (escaped in SQLite's URI); a run that sets the original up
while it is copied; and a writer that holds the file for a few seconds, which the copy waits for.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from _support_sqlite import create_db, logical_content
from store_holder import killed_store, live_store
from test_sqlite_clone import SHOP
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.stores import SQLiteStore, _sqlite_clone


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return create_db(tmp_path / "shop.db", SHOP)


def _refusal(action: Callable[[], object]) -> StoreError:
    """The StoreError ``action()`` raises; it must name the SQLite store."""
    with pytest.raises(StoreError) as info:
        action()
    assert info.value.store == "sqlite"
    assert str(info.value) == f"store 'sqlite': {info.value.detail}"
    return info.value


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("path", "named"),
    [(":memory:", ":memory:"), ("", "a temporary database")],
)
def test_an_in_memory_database_is_refused_in_full_words(path: str, named: str) -> None:
    error = _refusal(lambda: SQLiteStore(path).clone("w2"))
    assert error.detail == (
        f"{named} is an in-memory database, which only its own connection sees: it cannot be "
        "copied for parallel workers (use a database file, or run with one worker)"
    )


def test_a_missing_file_is_refused_with_its_absolute_path_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    error = _refusal(lambda: SQLiteStore("missing.db").clone("w2"))
    assert error.detail == (
        f"database file {tmp_path / 'missing.db'} does not exist, so it cannot be copied "
        "(create it, or fix the store's path)"
    )
    assert _files(tmp_path) == []


def test_a_file_that_is_not_a_database_is_refused_and_nothing_is_made(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("a text file, not a database\n" * 100)
    error = _refusal(lambda: SQLiteStore(str(notes)).clone("w2"))
    assert error.detail == f"cannot read {notes} to copy it: file is not a database"
    assert _files(tmp_path) == ["notes.db"]


_COPYING = """
import sys
from venomqa.stores.live_run import FileRunLock
lock = FileRunLock(sys.argv[1])
lock.acquire(sys.argv[1], "sqlite")
print("HELD", flush=True)
sys.stdin.readline()
lock.release()
"""


def test_an_original_another_run_is_copying_is_refused_naming_the_file(shop: Path) -> None:
    """Another run holds the original's lock while it copies it (no store set up on it, so
    nothing to repair): this copy is refused, naming the original and its holder."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _COPYING, str(shop)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "HELD"
        error = _refusal(lambda: SQLiteStore(str(shop)).clone("w2"))
        assert error.detail.startswith(
            f"{shop} is in use by another VenomQA run (pid {holder.pid} on host "
        )
    finally:
        _, err = holder.communicate("\n", timeout=60)
    assert holder.returncode == 0, err
    assert _files(shop.parent) == ["shop.db"]


def test_a_copy_a_live_run_uses_is_refused_naming_the_copy_and_the_others_are_removed(
    shop: Path,
) -> None:
    store = SQLiteStore(str(shop))
    options = store.clone("w2")
    copy = str(options["path"])
    others = [str(store.clone(label)["path"]) for label in ("w3", "w4")]
    busy = f"the worker copy {copy} is in use by another VenomQA run"
    with live_store(SQLiteStore, dict(options)) as live:
        for refused in (lambda: store.clone("w2"), lambda: store.drop_clone(options)):
            assert _refusal(refused).detail.startswith(f"{busy} (pid {live.pid} on host ")
        # the copy in use comes first in the folder; the ones after it are still removed
        assert store.drop_leftover_clones() == [f"{p} (a copy of {shop})" for p in others]
        assert _files(shop.parent) == [
            "shop.db",
            "shop.venomqa-w2.db",
            "shop.venomqa-w2.db.venomqa.lock",
        ]
    assert store.drop_leftover_clones() == [f"{copy} (a copy of {shop})"]
    assert _files(shop.parent) == ["shop.db"]


@pytest.mark.parametrize("given", ["the original", "not a string", "a copy's name elsewhere"])
def test_drop_clone_refuses_what_is_not_a_copy_and_says_what_a_copy_is_named(
    shop: Path, given: str
) -> None:
    target = {
        "the original": str(shop),
        "not a string": None,
        "a copy's name elsewhere": str(shop.parent / "other" / "shop.venomqa-w2.db"),
    }[given]
    error = _refusal(lambda: SQLiteStore(str(shop)).drop_clone({"path": target}))
    assert error.detail == (
        f"{target!r} is not a worker copy of {shop} (named like "
        f"{shop.with_name('shop.venomqa-w2.db')}), so it is not removed"
    )
    assert shop.exists()


def test_copies_of_a_database_in_the_working_directory_are_found_and_removed(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(shop.parent)
    store = SQLiteStore("shop.db")
    assert store.clone("w2") == {"path": "shop.venomqa-w2.db"}
    assert store.drop_leftover_clones() == ["shop.venomqa-w2.db (a copy of shop.db)"]
    assert _files(shop.parent) == ["shop.db"]


def test_a_database_in_a_folder_that_does_not_exist_has_no_leftover_copies(
    tmp_path: Path,
) -> None:
    assert SQLiteStore(str(tmp_path / "gone" / "shop.db")).drop_leftover_clones() == []


@pytest.mark.parametrize(
    ("folder", "name", "copy_name"),
    [
        ("plain", "shop.db?#1", "shop.venomqa-w2.db?#1"),
        ("we?ird#dir", "shop.db", "shop.venomqa-w2.db"),
    ],
)
def test_a_database_whose_path_has_question_marks_and_hashes_is_copied_and_dropped(
    tmp_path: Path, folder: str, name: str, copy_name: str
) -> None:
    (tmp_path / folder).mkdir()
    original = create_db(tmp_path / folder / name, SHOP)
    store = SQLiteStore(str(original))
    options = store.clone("w2")
    copy = tmp_path / folder / copy_name
    assert options == {"path": str(copy)}
    assert logical_content(copy) == logical_content(original)
    store.drop_clone(options)
    assert _files(tmp_path / folder) == [name]
    assert _files(tmp_path) == [folder]


def test_a_database_whose_name_holds_a_percent_escape_is_that_file_not_the_one_it_spells(
    tmp_path: Path,
) -> None:
    """SQLite decodes ``%20`` in a URI: ``a%20b.db`` must not open ``a b.db`` beside it."""
    mine = create_db(tmp_path / "a%20b.db", SHOP)
    create_db(tmp_path / "a b.db", "CREATE TABLE other (x);")
    store = SQLiteStore(str(mine))
    store.setup()
    assert "other" not in store.observe() and "customers" in store.observe()
    store.teardown()
    options = store.clone("w2")
    assert options == {"path": str(tmp_path / "a%20b.venomqa-w2.db")}
    assert logical_content(tmp_path / "a%20b.venomqa-w2.db") == logical_content(mine)
    store.drop_clone(options)
    assert _files(tmp_path) == ["a b.db", "a%20b.db"]


def test_a_run_setting_the_original_up_while_it_is_copied_fails_the_copy(shop: Path) -> None:
    """The original's leftovers are repaired and then, before its lock is taken, another run
    sets it up and is killed: the snapshot holds that run's machinery, so it is not a copy of the
    user's data; it is refused and removed."""
    store = SQLiteStore(str(shop))
    killed_store(SQLiteStore, {"path": str(shop)})

    def repair_then_another_run() -> None:
        store.setup()
        store.teardown()
        killed_store(SQLiteStore, {"path": str(shop)})

    copy = shop.with_name("shop.venomqa-w2.db")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeftoversRepaired)
        error = _refusal(
            lambda: _sqlite_clone.clone(str(shop), "w2", "sqlite", repair=repair_then_another_run)
        )
    assert error.detail == f"copying {shop} to {copy} failed: a VenomQA run set it up meanwhile"
    assert _files(shop.parent) == ["shop.db"]


_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO notes VALUES ('written while copying')")
print("LOCKED", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
conn.close()
"""


@pytest.mark.slow
def test_a_writer_holding_the_file_for_seconds_is_waited_for(shop: Path) -> None:
    """The user's API holds a write transaction for 7 s (longer than sqlite3's default busy
    timeout of 5 s, shorter than the 10 s the copy waits): the copy waits and has its write."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(shop), "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "LOCKED"
        options = SQLiteStore(str(shop)).clone("w2")
    finally:
        _, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    copy = Path(str(options["path"]))
    assert logical_content(copy) == logical_content(shop)
    notes = logical_content(copy)["tables"]["notes"]
    assert (("int", 2), ("str", "written while copying!")) in notes
