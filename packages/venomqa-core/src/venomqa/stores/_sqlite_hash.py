"""An incrementally maintained content hash of every user table, relative to the setup state.

A table's hash is the sum (mod 2**64) of a 64-bit hash of each row *now* (rowid included for
rowid tables) minus the same sum over its rows at ``setup()``. It depends only on the set of rows,
never on the order or history of changes (insert-then-delete gives the original value back), and
it never needs a scan of the table: at setup every table's value is 0 by definition, and each
``refresh`` adds ``hash(new row) - hash(old row)`` for the rows named in the undo-log entries
written since the previous refresh.

Cost: O(rows changed since the previous refresh), independent of the size of the tables.
Fingerprints are therefore comparable within a run, and between runs that start from the same
file content.

The same pass keeps the rows themselves for ``changed_records()``: each changed row's image at
setup (the first old image the log shows for it: before its first change it *was* the setup
image) and its image now. Memory: O(rows changed since setup).
"""

from __future__ import annotations

import enum
import hashlib
import sqlite3
from typing import Literal, TypeAlias

from venomqa.ports.store import RecordChange
from venomqa.stores._sqlite_schema import TableInfo, quote_ident
from venomqa.stores._sqlite_undo import LogEntry, SqlValue, entries_above, max_seq

_MASK = (1 << 64) - 1
_CHUNK = 400


class _Absent(enum.Enum):
    ABSENT = enum.auto()


#: Where a row image would be: the row does not exist (or did not, at setup).
_ABSENT = _Absent.ABSENT
#: A row's values, in ``TableInfo.row_columns`` order (the rowid first for rowid tables).
Image: TypeAlias = tuple[SqlValue, ...]
#: A row's identity in its table: its rowid, or the tuple of its primary-key values.
RowId: TypeAlias = int | tuple[SqlValue, ...] | None
#: (table, row identity).
RowKey: TypeAlias = tuple[str, RowId]
#: A row image, or _ABSENT.
Maybe: TypeAlias = Image | Literal[_Absent.ABSENT]


def row_hash(row: Image) -> int:
    """A 64-bit hash of one row's values (their Python types included), stable across runs."""
    digest = hashlib.blake2b(repr(row).encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


class ContentHashes:
    """Per-table content hashes and changed rows, brought up to date from the undo log on
    ``refresh``. A refresh replaces (never mutates) ``hashes`` and ``rows``, so a copy taken
    before it stays as it was."""

    def __init__(self, seen_seq: int) -> None:
        self.hashes: dict[str, int] = {}
        self.seen_seq = seen_seq
        #: Every row changed since setup: its image now (_ABSENT when deleted).
        self.rows: dict[RowKey, Maybe] = {}
        #: The image at setup of every row in ``rows`` (_ABSENT when it did not exist); shared
        #: by copies: what a row was at setup never changes.
        self.origins: dict[RowKey, Maybe] = {}
        self._records: tuple[dict[RowKey, Maybe], list[RecordChange]] | None = None

    def copy(self) -> ContentHashes:
        twin = ContentHashes(self.seen_seq)
        twin.hashes = self.hashes
        twin.rows = self.rows
        twin.origins = self.origins
        twin._records = self._records
        return twin

    def changed_records(self, tables: dict[str, TableInfo]) -> list[RecordChange]:
        """The rows whose content differs from setup, as RecordChanges (cached until ``rows``
        is replaced; log sequence numbers are reused after a rollback, so they cannot key it)."""
        if self._records is not None and self._records[0] is self.rows:
            return self._records[1]
        changes: list[RecordChange] = []
        for (name, key), image in self.rows.items():
            origin = self.origins[(name, key)]
            if image == origin:
                continue
            table = tables[name]
            identity = key if isinstance(key, tuple) else (key,)
            changes.append(
                RecordChange(
                    collection=name,
                    identity=identity,
                    before=_fields(table, origin),
                    after=_fields(table, image),
                    key_fields=table.key_columns,
                )
            )
        self._records = (self.rows, changes)
        return changes

    def refresh(
        self, conn: sqlite3.Connection, tables: dict[str, TableInfo], width: int
    ) -> dict[str, int]:
        """Bring the hashes up to date; call inside a transaction so the read is consistent."""
        top = max_seq(conn)
        if top == self.seen_seq:
            return self.hashes
        before: dict[str, dict[RowId, Maybe]] = {}
        for entry in entries_above(conn, self.seen_seq, width):
            table = tables[entry[1]]
            for key, image in _pre_state_facts(table, entry):
                before.setdefault(table.name, {}).setdefault(key, image)
        updated = dict(self.hashes)
        rows = dict(self.rows)
        origins = self.origins
        for name, keyed in before.items():
            after = _current_rows(conn, tables[name], list(keyed))
            total = updated.get(name, 0)
            for key, old in keyed.items():
                new = after.get(key, _ABSENT)
                if old is not _ABSENT:
                    total -= row_hash(old)
                if new is not _ABSENT:
                    total += row_hash(new)
                origins.setdefault((name, key), old)
                rows[(name, key)] = new
            updated[name] = total & _MASK
        self.hashes = {name: value for name, value in updated.items() if value}
        self.rows = rows
        self.seen_seq = top
        return self.hashes


def _fields(table: TableInfo, image: Maybe) -> dict[str, SqlValue] | None:
    """A row image as column -> value (rowid tables' images start with the rowid)."""
    if image is _ABSENT:
        return None
    values = image[1:] if table.rowid_name else image
    return dict(zip(table.columns, values, strict=True))


def _pre_state_facts(table: TableInfo, entry: LogEntry) -> list[tuple[RowId, Maybe]]:
    """What one log entry says about rows *before* it: (key, row image or _ABSENT) pairs."""
    op, new_rid, old_rid, values = entry[2], entry[3], entry[4], entry[5:]
    n = len(table.columns)
    image: Image
    old_key: RowId
    new_key: RowId
    if table.rowid_name:
        image = (old_rid, *values[:n])
        old_key = old_rid
        new_key = new_rid
    else:
        image = tuple(values[:n])
        positions = [table.columns.index(c) for c in table.key_columns]
        old_key = tuple(image[p] for p in positions)
        new_key = tuple(values[n : n + len(table.key_columns)])
    if op == "I":
        return [(new_key, _ABSENT)]
    if op == "U":
        return [(old_key, image), (new_key, _ABSENT)]
    return [(old_key, image)]


def _current_rows(
    conn: sqlite3.Connection, table: TableInfo, keys: list[RowId]
) -> dict[RowId, Image]:
    found: dict[RowId, Image] = {}
    select = f"SELECT {', '.join(table.row_columns)} FROM {table.q} WHERE "
    if table.rowid_name:
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            sql = f"{select}{table.rowid_name} IN ({', '.join('?' * len(chunk))})"
            for row in conn.execute(sql, chunk):
                found[row[0]] = row
        return found
    positions = [table.columns.index(c) for c in table.key_columns]
    width = len(table.key_columns)
    per_chunk = max(1, _CHUNK // width)
    cols = ", ".join(quote_ident(c) for c in table.key_columns)
    for start in range(0, len(keys), per_chunk):
        chunk = keys[start : start + per_chunk]
        values = ", ".join("(" + ", ".join("?" * width) + ")" for _ in chunk)
        params = [v for key in chunk if isinstance(key, tuple) for v in key]
        for row in conn.execute(f"{select}({cols}) IN (VALUES {values})", params):
            found[tuple(row[p] for p in positions)] = row
    return found
