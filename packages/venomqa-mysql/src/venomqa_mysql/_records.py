"""The rows that differ from setup (``changed_records()``), kept up to date from the undo logs.

The state is a signed multiset of row images per table and primary key: each log entry adds its
new image (+1) and takes away its old one (-1). Summed over the entries since setup, what is left
for a key is the row there now (+1) and the row there at setup (-1), and nothing when the two are
equal (an update writing the setup values back, an insert deleted again). Adding entries
commutes, so their order does not matter, and a row's setup image never has to be read from the
table. A table without a primary key names a row by its whole image.

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
from itertools import chain, zip_longest
from typing import Any

from venomqa.ports.store import RecordChange

from venomqa_mysql._catalog import TableInfo

#: A row image: column -> plain value.
Image = dict[str, Any]
#: One log entry: id, old image, new image.
Entry = tuple[int, Image | None, Image | None]
_Slot = tuple[int, tuple[Any, ...]]


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
    """The signed multiset of row images (relative to setup) and the entries applied."""

    def __init__(self, tables: Sequence[TableInfo]) -> None:
        self.tables = list(tables)
        self._slots: dict[_Slot, list[list[Any]]] = {}
        self._journals: list[list[Entry]] = [[] for _ in self.tables]
        self._changes: dict[_Slot, tuple[RecordChange, ...]] = {}
        self._dirty: set[_Slot] = set()
        self._listed: tuple[RecordChange, ...] | None = None

    def apply(self, table: int, entries: Sequence[Entry]) -> None:
        """Add entries of ``table``'s log (ids above every entry of it applied so far)."""
        for entry in entries:
            self._journals[table].append(entry)
            self._add(table, entry, 1)

    def undo_above(self, positions: Sequence[int]) -> None:
        """Take back every applied entry above ``positions[table]`` (a rollback removed them)."""
        for table, journal in enumerate(self._journals):
            while journal and journal[-1][0] > positions[table]:
                self._add(table, journal.pop(), -1)

    def records(self) -> tuple[RecordChange, ...]:
        """Every row whose content differs from setup (the same tuple until something changes)."""
        if self._listed is None:
            for slot in self._dirty:
                pairs = self._slots.get(slot)
                if pairs is None:
                    self._changes.pop(slot, None)
                else:
                    self._changes[slot] = self._slot_records(self.tables[slot[0]], pairs)
            self._dirty.clear()
            self._listed = tuple(chain.from_iterable(self._changes.values()))
        return self._listed

    def _add(self, table: int, entry: Entry, sign: int) -> None:
        _, old, new = entry
        if old is not None:
            self._count(table, old, -sign)
        if new is not None:
            self._count(table, new, sign)
        self._listed = None

    def _count(self, table: int, image: Image, delta: int) -> None:
        keys = self.tables[table].key_columns
        key = tuple(image[k] for k in keys) if keys else tuple(image.values())
        slot = (table, key)
        self._dirty.add(slot)
        pairs = self._slots.get(slot)
        if pairs is None:
            self._slots[slot] = [[image, delta]]
            return
        for index, pair in enumerate(pairs):
            if pair[0] == image:
                pair[1] += delta
                if pair[1] == 0:
                    del pairs[index]
                    if not pairs:
                        del self._slots[slot]
                        if slot not in self._changes:
                            self._dirty.discard(slot)
                return
        pairs.append([image, delta])

    @staticmethod
    def _slot_records(table: TableInfo, pairs: list[list[Any]]) -> tuple[RecordChange, ...]:
        befores: list[Image] = []
        afters: list[Image] = []
        for image, count in pairs:
            (afters if count > 0 else befores).extend([image] * abs(count))
        if table.key_columns:
            pairings = list(zip_longest(befores, afters))
        else:
            pairings = [(b, None) for b in befores] + [(None, a) for a in afters]
        records = []
        for before, after in pairings:
            image = after if after is not None else before
            assert image is not None
            names = table.key_columns or tuple(image)
            records.append(
                RecordChange(
                    collection=table.name,
                    identity=tuple(image[name] for name in names),
                    before=before,
                    after=after,
                    key_fields=table.key_columns,
                )
            )
        return tuple(records)
