"""A small local file that lets a later run undo a queue store's run that was killed before its
teardown (SIGKILL, a power cut, a crashed CI runner).

What a store's teardown undoes lives in the VenomQA process: the workers whose task events the
``celery`` store turned on, the job ids an ``rq`` store found at setup (every other job in its
queues and registries is the run's), the queues' content at setup with ``settle: false``. So
``setup()`` writes it here before it changes anything (and again when what it changed is known),
and ``teardown()`` removes the file once everything is back. If the run dies in between, the
next ``setup()`` of a store on the same broker and queues (or ``venomqa recover``) finds the file
and finishes the teardown, then says so with a ``LeftoversRepaired`` warning.

The file is JSON (bytes as base64), one per adapter, broker and queues, in ``state_dir``
(default ``$XDG_CACHE_HOME/venomqa/<adapter>`` or ``~/.cache/venomqa/<adapter>``). It holds no
password, but with ``settle: false`` it holds the queued messages, so only its owner may read
it. It is written to a temporary file, flushed to disk and renamed into place: it is the old or
the new file, whole. While a store is set up it holds an ``flock`` beside the file
(``venomqa.stores.live_run.FileRunLock``), so a second live run on the same queues is refused
instead of "repairing" the first one's journal; the lock goes with a killed process.
Cost: O(what the journal holds) per write, a few writes per run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.stores.live_run import FileRunLock

#: The first key of every journal file (a file without it is not one of ours).
MAGIC = "venomqa-queue-journal"
VERSION = 1


def default_state_dir(adapter: str) -> Path:
    """``$XDG_CACHE_HOME/venomqa/<adapter>``, or ``~/.cache/venomqa/<adapter>``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "venomqa" / adapter


def journal_path(state_dir: Path, adapter: str, where: str, queues: Iterable[str]) -> Path:
    """The journal file of one adapter, broker (``where``, password hidden) and set of queues."""
    names = ",".join(sorted(queues))
    digest = hashlib.blake2b(f"{adapter}\0{where}\0{names}".encode(), digest_size=10).hexdigest()
    readable = "".join(c if c.isalnum() else "-" for c in names)[:40]
    return state_dir / f"{adapter}-{readable}-{digest}.json"


def encode(data: bytes) -> str:
    """``data`` as base64 text (for bodies and hash fields in the JSON)."""
    return base64.b64encode(data).decode("ascii")


def decode(text: str) -> bytes:
    """The bytes ``encode`` turned into ``text``."""
    return base64.b64decode(text.encode("ascii"))


def write_journal(path: Path, content: Mapping[str, Any]) -> None:
    """Write ``content`` (plus who wrote it, when) atomically and durably, readable by its owner
    only."""
    payload = {"magic": MAGIC, "version": VERSION, "pid": os.getpid(), "written": time.time()}
    payload.update(content)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(payload, out, default=str)  # a header of another type is kept as text
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    _sync_directory(path.parent)


def read_journal(path: Path, store: str) -> dict[str, Any] | None:
    """The journal in ``path``, or None when there is none; a StoreError saying what to do when
    the file cannot be read back."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unreadable(path, store, str(exc)) from exc
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise _unreadable(path, store, f"not JSON ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("magic") != MAGIC:
        raise _unreadable(path, store, "not a VenomQA queue journal")
    if payload.get("version") != VERSION:
        raise _unreadable(path, store, f"journal version {payload.get('version')!r}")
    return payload


def remove_journal(path: Path) -> None:
    """Delete the journal file, durably (nothing happens when it is already gone)."""
    if path.exists():
        path.unlink(missing_ok=True)
        _sync_directory(path.parent)


def describe_run(journal: Mapping[str, Any]) -> str:
    """``an earlier VenomQA run (started ..., process N)``, for repair messages."""
    started = datetime.fromtimestamp(float(journal.get("started", 0.0)), UTC)
    when = started.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"an earlier VenomQA run (started {when}, process {journal.get('pid', '?')})"


class RunJournal:
    """The journal of one set-up store: the lock beside it while the store is set up, the file,
    and the repair of what a killed run left.

    ``open`` (first in ``setup()``) takes the lock and, when a killed run left its journal,
    calls ``repair(journal)`` (which returns a sentence saying what it did), removes the file
    and warns with ``LeftoversRepaired``. ``write`` records what this run is about to change;
    ``close`` (last in ``teardown()``) removes the file, unless ``keep`` (something could not
    be undone yet: the next setup or ``venomqa recover`` finishes), and lets the lock go.
    """

    def __init__(self, path: Path, store: str, where: str) -> None:
        self.path = path
        self.store = store
        self.where = where
        self.started = time.time()
        self._lock = FileRunLock(str(path))

    def open(self, repair: Callable[[dict[str, Any]], str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire(self.where, self.store)
        try:
            leftover = read_journal(self.path, self.store)
            if leftover is not None:
                done = repair(leftover)
                remove_journal(self.path)
                warnings.warn(
                    f"{self.store} store on {self.where}: {describe_run(leftover)} was stopped "
                    f"before its clean-up; {done}",
                    LeftoversRepaired,
                    stacklevel=4,  # the caller of setup()
                )
        except BaseException:
            self._lock.release()
            raise

    def write(self, content: Mapping[str, Any]) -> None:
        write_journal(self.path, {"where": self.where, "started": self.started, **content})

    def close(self, *, keep: bool = False) -> None:
        try:
            if not keep:
                remove_journal(self.path)
        finally:
            self._lock.release()


def _unreadable(path: Path, store: str, why: str) -> StoreError:
    return StoreError(
        f"cannot read the journal an earlier run left at {path} ({why}); if the queues and "
        "workers are as they should be, delete the file",
        store=store,
    )


def _sync_directory(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
