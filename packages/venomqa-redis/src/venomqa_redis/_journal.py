"""A small local file that lets a later run undo a run that was killed before its teardown.

The store's shadow (what each tracked key held at setup) and the server's original
``notify-keyspace-events`` live in the VenomQA process; if it is SIGKILLed or the machine loses
power, they are gone with it. So ``setup()`` also writes them here: first, before it changes the
server's configuration, the original ``notify-keyspace-events`` alone; then, once it has read the
tracked keys, their *baseline* too (each key's DUMP and absolute expiry, what setup reads anyway).
``teardown()`` removes the file once the database and the configuration are back. If a run dies in
between, the next ``setup()`` on the same server, database and prefix finds the file and finishes
the teardown (see ``_repair``).

One file per server, database and prefix, in ``state_dir`` (default
``$XDG_CACHE_HOME/venomqa/redis`` or ``~/.cache/venomqa/redis``). It holds no credentials, but it
does hold a copy of the tracked keys' values, so only its owner may read it. It is written to a
temporary file, flushed to disk and renamed into place, so it is either the old or the new file,
whole, even after a power cut.

Format (binary, since DUMP payloads are): the line ``VENOMQA-REDIS-JOURNAL 2``, then chunks of
keys, each its key count n (little-endian uint32) then in columns: n key lengths (uint32), n DUMP
lengths (uint32), n expiries (int64, unix ms or -1), every key, every DUMP; then a count of 0,
one line of JSON (where, prefix, config, when and by which process, the number of keys, or null
before the baseline) and ``END``. Chunks, so that setup appends each script reply's keys while
the server reads the next ones (``JournalWriter``) and only the header and the fsync are left
when the scan ends; columns, so that a chunk is a few calls over lists, not a Python step per
key. Version 1 (per
key ``>IIq``, the key, the DUMP), written by earlier releases, is still read. Writing and reading
cost O(size of the tracked keys).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import time
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_MAGIC = b"VENOMQA-REDIS-JOURNAL 2\n"
_MAGIC_V1 = b"VENOMQA-REDIS-JOURNAL 1\n"
_TRAILER = b"END"
_RECORD = struct.Struct(">IIq")
_LENGTH, _EXPIRY = "I", "q"
_COUNT = struct.Struct("<I")
assert array(_LENGTH).itemsize == 4 and array(_EXPIRY).itemsize == 8


class Baseline(Mapping[bytes, tuple[bytes, int]]):
    """A baseline held as three parallel lists (keys, DUMPs, expiries), as ``write_journal``
    writes it: built from them without a step per key. Looking a key up builds an index once."""

    def __init__(self, keys: Sequence[bytes], dumps: Sequence[bytes], expiries: Sequence[int]):
        if not len(keys) == len(dumps) == len(expiries):
            raise ValueError("a baseline needs as many DUMPs and expiries as keys")
        self.keys_, self.dumps, self.expiries = keys, dumps, expiries
        self._index: dict[bytes, int] | None = None

    @classmethod
    def of(cls, baseline: Mapping[bytes, tuple[bytes, int]]) -> Baseline:
        if isinstance(baseline, Baseline):
            return baseline
        keys = list(baseline)
        values = [baseline[key] for key in keys]
        return cls(keys, [dump for dump, _ in values], [expire_at for _, expire_at in values])

    def __getitem__(self, key: bytes) -> tuple[bytes, int]:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.keys_)}
        i = self._index[key]
        return self.dumps[i], self.expiries[i]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)


class DamagedJournal(ValueError):
    """The journal file exists but cannot be read back (truncated, or not a journal)."""


@dataclass(frozen=True)
class Journal:
    """What teardown needs: the configuration to set back and the keys' setup content.

    ``config`` is the ``notify-keyspace-events`` value to restore (None when the run did not
    change it). ``baseline`` maps each tracked key to its DUMP and absolute expiry (unix ms, -1
    for none), or is None when the run was killed before it had read the keys.
    """

    config: str | None
    baseline: Mapping[bytes, tuple[bytes, int]] | None
    #: When the run that wrote the journal started (unix seconds), and its process id.
    started: float = field(default_factory=time.time)
    pid: int = field(default_factory=os.getpid)


def default_state_dir() -> Path:
    """``$XDG_CACHE_HOME/venomqa/redis``, or ``~/.cache/venomqa/redis``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "venomqa" / "redis"


def journal_path(state_dir: Path, where: str, prefix: bytes) -> Path:
    """The journal file of one server and database (``where``) and one key prefix."""
    name = hashlib.blake2b(where.encode() + b"\0" + prefix, digest_size=10).hexdigest()
    readable = "".join(c if c.isalnum() else "-" for c in where.removeprefix("redis://"))
    return state_dir / f"{readable[:60]}-{name}.journal"


class JournalWriter:
    """Writes a journal as its baseline arrives: ``add`` appends a chunk of keys to a temporary
    file (setup calls it for each script reply while the server works on the next one), and
    ``finish`` writes the header, flushes it to disk and renames it into place. ``abort`` (or an
    error) leaves the file in place untouched."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self._temporary = path, path.with_suffix(".tmp")
        fd = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # values
        self._out = os.fdopen(fd, "wb")
        self._out.write(_MAGIC)
        self._keys = 0

    def add(self, keys: Sequence[bytes], dumps: Sequence[bytes], expiries: Sequence[int]) -> None:
        """Append one chunk: parallel lists of keys, DUMPs and expiries. O(their size)."""
        if not len(keys) == len(dumps) == len(expiries):
            raise ValueError("a chunk needs as many DUMPs and expiries as keys")
        if not keys:
            return
        self._out.write(
            b"".join(
                (
                    _COUNT.pack(len(keys)),
                    _little(array(_LENGTH, map(len, keys))).tobytes(),
                    _little(array(_LENGTH, map(len, dumps))).tobytes(),
                    _little(array(_EXPIRY, expiries)).tobytes(),
                    *keys,
                    *dumps,
                )
            )
        )
        self._keys += len(keys)

    def finish(self, journal: Journal, *, describe: Mapping[str, str], baseline: bool) -> None:
        """Write the header (``journal``'s config, start and pid; the chunks are its baseline
        when ``baseline``, else there is none) and put the file in place, durably."""
        if not baseline and self._keys:
            raise ValueError("a journal without a baseline cannot hold keys")
        header = {
            **describe,
            "config": journal.config,
            "started": journal.started,
            "pid": journal.pid,
            "keys": self._keys if baseline else None,
        }
        out = self._out
        out.write(_COUNT.pack(0) + json.dumps(header).encode() + b"\n" + _TRAILER)
        out.flush()
        os.fsync(out.fileno())
        out.close()
        os.replace(self._temporary, self.path)
        _sync_directory(self.path.parent)

    def abort(self) -> None:
        """Drop the temporary file (the journal in place, if any, stays as it was)."""
        self._out.close()
        self._temporary.unlink(missing_ok=True)


def write_journal(path: Path, journal: Journal, *, describe: Mapping[str, str]) -> None:
    """Write ``journal`` atomically and durably (a temporary file, fsynced, renamed into place)."""
    writer = JournalWriter(path)
    try:
        if journal.baseline is not None:
            columns = Baseline.of(journal.baseline)
            writer.add(columns.keys_, columns.dumps, columns.expiries)
        writer.finish(journal, describe=describe, baseline=journal.baseline is not None)
    except BaseException:
        writer.abort()
        raise


def read_journal(path: Path) -> Journal | None:
    """The journal in ``path``, or None when there is none; DamagedJournal if unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    version = 2 if data.startswith(_MAGIC) else 1 if data.startswith(_MAGIC_V1) else None
    if version is None or not data.endswith(_TRAILER):
        raise DamagedJournal(f"{path} is not a complete VenomQA Redis journal")
    try:
        if version == 2:
            header, baseline = _chunks(memoryview(data), len(_MAGIC))
        else:
            end = data.index(b"\n", len(_MAGIC))
            header = json.loads(data[len(_MAGIC) : end])
            count = header["keys"]
            baseline = None if count is None else _records(memoryview(data), end + 1, int(count))
        config = header["config"]
        return Journal(
            None if config is None else str(config),
            baseline,
            started=float(header.get("started", 0.0)),
            pid=int(header.get("pid", 0)),
        )
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise DamagedJournal(f"{path} is damaged: {exc}") from exc


def remove_journal(path: Path) -> None:
    """Delete the journal file, durably (nothing happens when it is already gone)."""
    if path.exists():
        path.unlink(missing_ok=True)
        _sync_directory(path.parent)


def _records(data: memoryview, offset: int, count: int) -> dict[bytes, tuple[bytes, int]]:
    baseline: dict[bytes, tuple[bytes, int]] = {}
    for _ in range(count):
        key_len, dump_len, expire_at = _RECORD.unpack_from(data, offset)
        offset += _RECORD.size
        key = bytes(data[offset : offset + key_len])
        offset += key_len
        baseline[key] = (bytes(data[offset : offset + dump_len]), expire_at)
        offset += dump_len
    if offset != len(data) - len(_TRAILER):
        raise ValueError(f"expected {count} keys, the records end at byte {offset}")
    return baseline


def _chunks(
    data: memoryview, offset: int
) -> tuple[dict[str, Any], dict[bytes, tuple[bytes, int]] | None]:
    """Version 2: chunks until an empty one, then the header line; the header and baseline."""
    baseline: dict[bytes, tuple[bytes, int]] = {}
    records = 0
    while True:
        (count,) = _COUNT.unpack_from(data, offset)
        offset += _COUNT.size
        if count == 0:
            break
        offset = _chunk(data, offset, count, baseline)
        records += count
    end = len(data) - len(_TRAILER) - 1
    if bytes(data[end : end + 1]) != b"\n":
        raise ValueError("the header line does not end before the trailer")
    header = json.loads(bytes(data[offset:end]))
    if not isinstance(header, dict):
        raise ValueError("the header is not an object")
    if header["keys"] is None:
        if records:
            raise ValueError("keys recorded in a journal without a baseline")
        return header, None
    if int(header["keys"]) != records:
        raise ValueError(f"expected {header['keys']} keys, found {records}")
    return header, baseline


def _chunk(
    data: memoryview, offset: int, count: int, baseline: dict[bytes, tuple[bytes, int]]
) -> int:
    """Read one chunk of ``count`` keys into ``baseline``; the offset after it."""
    key_lengths, dump_lengths = array(_LENGTH), array(_LENGTH)
    expiries = array(_EXPIRY)
    for column in (key_lengths, dump_lengths, expiries):
        size = column.itemsize * count
        if offset + size > len(data):
            raise ValueError(f"expected {count} keys, the file ends in their lengths")
        column.frombytes(data[offset : offset + size])
        _little(column)
        offset += size
    keys = []
    for length in key_lengths:
        keys.append(bytes(data[offset : offset + length]))
        offset += length
    for key, length, expire_at in zip(keys, dump_lengths, expiries, strict=True):
        baseline[key] = (bytes(data[offset : offset + length]), expire_at)
        offset += length
    if offset > len(data):
        raise ValueError(f"expected {count} keys, the file ends in their records")
    return offset


def _little(column: array) -> array:  # type: ignore[type-arg]
    """``column`` in little-endian byte order (swapped in place on a big-endian machine)."""
    if sys.byteorder == "big":
        column.byteswap()
    return column


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
