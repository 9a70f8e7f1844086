"""Refusing to share a store with another live VenomQA run.

Two runs on one store would undo each other's writes at every rollback, and the second one's
``setup()`` would take the first one's undo log and triggers for a killed run's leftovers and
"repair" them away under it. So a store holds a lock for as long as it is set up, of a kind that
its holder's death releases (a killed run leaves no stale lock behind, and its leftovers are
then repaired as usual): ``FileRunLock`` for stores that are files (a POSIX ``flock`` on a file
beside the store, removed at the end), and for servers whatever the server offers (MySQL's
``GET_LOCK``, PostgreSQL's advisory locks). ``busy_error`` is the message all of them give.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from datetime import UTC, datetime
from typing import IO

from venomqa.errors import StoreError

#: The file beside a file store that its lock is taken on.
LOCK_SUFFIX = ".venomqa.lock"
#: How long a server-side lock is waited for before refusing: a killed run's connection may
#: take a moment to end on the server.
GRACE_S = 2.0


def owner_description() -> str:
    """This process, as another run will be told about it (JSON: pid, host, started)."""
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


def describe_owner(text: str) -> str:
    """``pid 123 on host h, since 2026-12-02T05:00:00+00:00`` from ``owner_description``'s
    JSON, or the text itself when it is something else (a server's own description)."""
    try:
        owner = json.loads(text)
        return f"pid {owner['pid']} on host {owner['host']}, since {owner['started']}"
    except (ValueError, TypeError, KeyError):
        return text.strip() or "owner unknown"


def busy_error(where: str, store: str, owner: str) -> StoreError:
    """Another live run holds ``where``: say who, why VenomQA refuses and what to do."""
    return StoreError(
        f"{where} is in use by another VenomQA run ({owner}); two runs on one store would undo "
        "each other's changes, so this one does not start. Let that run finish or stop it "
        "(Ctrl-C), then start again; if it was killed, its lock went with it and the next run "
        "repairs what it left",
        store=store,
    )


class FileRunLock:
    """An exclusive ``flock`` on ``<path>.venomqa.lock`` while a store on ``path`` is set up.

    The lock goes with the holder's process (or its file object), so a killed run never leaves
    a stale one; the file itself is removed when the lock is released. Where ``fcntl`` does not
    exist (Windows), it does nothing.
    """

    def __init__(self, path: str) -> None:
        self.path = path + LOCK_SUFFIX
        self._file: IO[str] | None = None

    def acquire(self, where: str, store: str) -> None:
        """Take the lock, or raise ``busy_error`` naming the run that holds it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        # errors="replace": another tool holding the file may have written anything in it
        handle = open(self.path, "a+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read()
            handle.close()
            raise busy_error(where, store, describe_owner(owner)) from None
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(owner_description())
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Remove the lock file and let the lock go. Idempotent."""
        handle, self._file = self._file, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still held: no other run can have taken it
        handle.close()
