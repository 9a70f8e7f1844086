"""The rows that differ from setup (``changed_records()``), kept up to date from the undo logs.

The multiset of row images itself is core's ``venomqa.stores.row_images.SignedRowImages`` (see
there for why it is exact in any order of entries, and for tables without a primary key).

Rollback: the entries applied are kept per table (each log has its own ids) until a rollback
removes them; undoing one applies it with the opposite sign. Cost: O(entries) to apply or undo,
O(rows that differ from setup) to list (cached until something changes). Values are made plain
(``plain``): DECIMAL as text, dates and times as ISO-8601 text (TIMESTAMPs in UTC), TIME as
text, BLOBs as bytes, SET as text.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from typing import Any

from venomqa.ports.store import RecordChange
from venomqa.stores.row_images import SignedRowImages

from venomqa_mysql._catalog import TableInfo

#: A row image: column -> plain value.
Image = dict[str, Any]
#: One log entry: id, old image, new image.
Entry = tuple[int, Image | None, Image | None]


def plain(value: Any) -> Any:
    """A driver value as a plain, JSON-like one (see the module docstring)."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # TIME columns
        return str(value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, set | frozenset):
        return ",".join(sorted(str(v) for v in value))
    return str(value)


class ChangedRows:
    """The rows that differ from setup, and the entries applied per table."""

    def __init__(self, tables: Sequence[TableInfo]) -> None:
        self.tables = list(tables)
        self._images = SignedRowImages(self.tables)
        self._journals: list[list[Entry]] = [[] for _ in self.tables]

    def apply(self, table: int, entries: Sequence[Entry]) -> None:
        """Add entries of ``table``'s log (ids above every entry of it applied so far)."""
        for entry in entries:
            self._journals[table].append(entry)
            self._images.add(table, entry[1], entry[2])

    def undo_above(self, positions: Sequence[int]) -> None:
        """Take back every applied entry above ``positions[table]`` (a rollback removed them)."""
        for table, journal in enumerate(self._journals):
            while journal and journal[-1][0] > positions[table]:
                _, old, new = journal.pop()
                self._images.add(table, old, new, -1)

    def records(self) -> tuple[RecordChange, ...]:
        """Every row whose content differs from setup (the same tuple until something changes)."""
        return self._images.records()
