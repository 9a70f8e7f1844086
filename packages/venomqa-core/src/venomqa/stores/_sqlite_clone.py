"""Copies of a SQLite file for parallel workers (``SupportsClone`` of the SQLite store).

A worker's copy of ``shop.db`` is ``shop.venomqa-w2.db`` beside it. It is made with SQLite's
online backup API from a read-only connection to the original, so it is one consistent snapshot
even while the file is in WAL mode with committed pages still in its ``-wal`` file (a file copy
would miss them); the copy keeps the original's journal mode. Cost: O(size of the file), one
pass over its pages (see the package README for figures).

Every copy is guarded by the same lock as a store on it (``FileRunLock`` on
``<copy>.venomqa.lock``): it is held while the copy is made or removed, and a store set up on
the copy holds it for its whole run, so a copy a live run uses is never replaced or removed.
The original's lock is held while it is read, so no run writes it meanwhile; a killed run's
leftovers in the original (undo log, triggers) are repaired first, by the store's own setup and
teardown, so copies hold the user's data only.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote

from venomqa.errors import StoreError
from venomqa.json_types import Json
from venomqa.stores.copies import LABEL, check_label
from venomqa.stores.live_run import FileRunLock

#: The files SQLite keeps beside a database file while it is in use.
_SIDECARS = ("-wal", "-shm", "-journal")
_MEMORY = re.compile(r"^$|^:memory:$|^file::memory:|[?&]mode=memory(&|$)")


def copy_path(path: str, label: str) -> str:
    """``<stem>.venomqa-<label><suffix>`` beside ``path`` (relative when ``path`` is)."""
    folder, base = os.path.split(path)
    stem, suffix = os.path.splitext(base)
    return os.path.join(folder, f"{stem}.venomqa-{check_label(label)}{suffix}")


def _copy_pattern(path: str) -> re.Pattern[str]:
    """Matches the base names of ``path``'s copies (never their lock or sidecar files)."""
    stem, suffix = os.path.splitext(os.path.basename(path))
    return re.compile(re.escape(stem) + r"\.venomqa-(" + LABEL.pattern + ")" + re.escape(suffix))


def clone(path: str, label: str, store: str, repair: Callable[[], None]) -> dict[str, Json]:
    """Copy the file at ``path`` to its copy for ``label``, replacing a dead run's copy of
    that name; the options of a store on the copy. ``repair`` sets the original's store up and
    tears it down, repairing what a killed run left in it."""
    if _MEMORY.search(path):
        raise StoreError(
            f"{path or 'a temporary database'} is an in-memory database, which only its own "
            "connection sees: it cannot be copied for parallel workers (use a database file, "
            "or run with one worker)",
            store=store,
        )
    if not os.path.isfile(path):
        raise StoreError(
            f"database file {os.path.abspath(path)} does not exist, so it cannot be copied "
            "(create it, or fix the store's path)",
            store=store,
        )
    target = copy_path(path, label)
    if _holds_leftovers(path, store):
        repair()
    original, copy = FileRunLock(path), FileRunLock(target)
    original.acquire(path, store)
    try:
        copy.acquire(f"the worker copy {target}", store)
        try:
            _remove_files(target)
            _backup(path, target, store)
        finally:
            copy.release()
    finally:
        original.release()
    return {"path": target}


def drop(path: str, options: Mapping[str, Json], store: str) -> None:
    """Remove the copy at ``options["path"]``; a StoreError when it is not one of ``path``'s
    copies (nothing else is ever deleted) or a live run uses it. Nothing to do when it is gone."""
    target = options.get("path")
    if not isinstance(target, str) or not _is_copy(path, target):
        raise StoreError(
            f"{target!r} is not a worker copy of {path} (named like {copy_path(path, 'w2')}), "
            "so it is not removed",
            store=store,
        )
    if not os.path.exists(target):
        return
    lock = FileRunLock(target)
    lock.acquire(f"the worker copy {target}", store)
    try:
        _remove_files(target)
    finally:
        lock.release()


def drop_leftovers(path: str, store: str) -> list[str]:
    """Remove every copy of ``path`` no live run uses; one line per copy removed."""
    folder = os.path.dirname(path) or "."
    pattern = _copy_pattern(path)
    removed: list[str] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(os.listdir(folder)):
            if not pattern.fullmatch(entry):
                continue
            target = os.path.join(os.path.dirname(path), entry)
            lock = FileRunLock(target)
            try:
                lock.acquire(target, store)
            except StoreError:  # a live run uses it
                continue
            try:
                _remove_files(target)
            finally:
                lock.release()
            removed.append(f"{target} (a copy of {path})")
    return removed


def _is_copy(path: str, target: str) -> bool:
    same_folder = os.path.abspath(os.path.dirname(target)) == os.path.abspath(os.path.dirname(path))
    return same_folder and _copy_pattern(path).fullmatch(os.path.basename(target)) is not None


def _holds_leftovers(path: str, store: str) -> bool:
    """Whether the file holds what a run left (VenomQA's undo log, triggers or meta table)."""
    try:
        with contextlib.closing(_open(path, "ro")) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE substr(name, 1, 9) = '_venomqa_' LIMIT 1"
            ).fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {path} to copy it: {exc}", store=store) from exc
    return found is not None


def _backup(path: str, target: str, store: str) -> None:
    """One consistent snapshot of ``path`` written to ``target`` (the backup API)."""
    try:
        with (
            contextlib.closing(_open(path, "ro")) as source,
            contextlib.closing(_open(target, "rwc")) as copy,
        ):
            source.backup(copy)
            if copy.execute(
                "SELECT 1 FROM sqlite_master WHERE substr(name, 1, 9) = '_venomqa_' LIMIT 1"
            ).fetchone():  # a run set the original up after the repair: start again
                raise sqlite3.OperationalError("a VenomQA run set it up meanwhile")
    except sqlite3.Error as exc:
        _remove_files(target)
        raise StoreError(f"copying {path} to {target} failed: {exc}", store=store) from exc


def _open(path: str, mode: str) -> sqlite3.Connection:
    return sqlite3.connect(database_uri(path, mode), uri=True, timeout=10, isolation_level=None)


def database_uri(path: str, mode: str) -> str:
    """The ``file:`` URI opening the database file ``path`` in ``mode`` (``ro``, ``rw``,
    ``rwc``): the absolute path percent-encoded, since SQLite decodes ``%HH`` in a URI and
    ends the path at ``?`` or ``#`` (a file named ``a%20b.db`` is not ``a b.db``)."""
    return f"file:{quote(os.path.abspath(path), safe='/')}?mode={mode}"


def _remove_files(target: str) -> None:
    """Remove ``target`` and the files SQLite keeps beside it (a stale ``-wal`` left beside a
    new copy would be replayed into it)."""
    for name in (target, *(target + s for s in _SIDECARS)):
        with contextlib.suppress(FileNotFoundError):
            Path(name).unlink()
