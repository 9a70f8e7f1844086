"""The rows that differ from setup (``changed_records()``), kept up to date from the undo log.

The multiset of row images itself is core's ``venomqa.stores.row_images.SignedRowImages`` (see
there for why it is exact in any order of entries, and for tables without a primary key); this
module feeds it the log entries, values frozen by ``freeze`` (JSON lists and objects become
tuples) for keying.

Rollback: every applied entry is kept in a journal (in log-id order) until a rollback removes it,
and undoing one applies it with the opposite sign. Cost: O(entries) to apply or undo entries;
listing is O(rows that differ from setup), cached until an entry is applied or undone (never
keyed by log ids, which a rollback may hand out again). Memory: O(log entries since setup), like
the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from venomqa.ports.store import RecordChange
from venomqa.stores.row_images import SignedRowImages

from venomqa_postgres._catalog import TableInfo

#: A row image: column -> plain value, as ``json.loads`` gives it.
Image = dict[str, Any]
#: One log entry as the store reads it: id, table index, old image, new image.
Entry = tuple[int, int, Image | None, Image | None]


def freeze(value: Any) -> Any:
    """``value`` made hashable: lists as tuples, dicts as sorted tuples of items."""
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


class ChangedRows:
    """The rows that differ from setup, and the journal of applied entries."""

    def __init__(self, tables: Sequence[TableInfo]) -> None:
        self.tables = list(tables)
        self._images = SignedRowImages(self.tables, freeze)
        self._journal: list[Entry] = []

    def apply(self, entries: Sequence[Sequence[Any]]) -> None:
        """Add log entries ``[id, tbl, old, new]`` (ids above every entry applied so far)."""
        for raw in entries:
            entry: Entry = (int(raw[0]), int(raw[1]), raw[2], raw[3])
            self._journal.append(entry)
            self._images.add(entry[1], entry[2], entry[3])

    def undo_above(self, log_id: int) -> int:
        """Take back every applied entry with an id above ``log_id`` (a rollback removed them);
        returns how many."""
        journal = self._journal
        taken = 0
        while journal and journal[-1][0] > log_id:
            _, tbl, old, new = journal.pop()
            self._images.add(tbl, old, new, -1)
            taken += 1
        return taken

    def records(self) -> tuple[RecordChange, ...]:
        """Every row whose content differs from setup (the same tuple until something changes)."""
        return self._images.records()
