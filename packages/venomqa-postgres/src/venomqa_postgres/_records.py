"""The rows that differ from setup (``changed_records()``), kept up to date from the undo log.

The state is a signed multiset of row images per table and primary key: each log entry adds its
new image (+1) and takes away its old one (-1). Summed over the entries since setup, what is left
for a key is exactly the row there now (+1) and the row there at setup (-1), and nothing when the
two are equal (an update writing the setup values back, an insert deleted again). Adding entries
commutes, so it does not matter in which order entries are applied, even within one statement
that moves primary keys around (``UPDATE t SET id = id + 1`` with a deferrable key), and the
setup image of a row never has to be read from the table.

Tables without a primary key: a row is named by its whole image, so an update shows as the old
row removed and the new one added, and k identical rows added (removed) show as k records with
the same identity.

Rollback: every applied entry is kept in a journal (in log-id order) until a rollback removes it,
and undoing one applies it with the opposite sign. Cost: O(entries) to apply or undo entries;
listing rebuilds the records of the keys those entries touched and joins them with the others',
O(rows that differ from setup) but only a tuple concatenation for the untouched ones. Memory:
O(log entries since setup), like the log. The listed records are cached until an entry is
applied or undone (never keyed by log ids, which a rollback may hand out again).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, zip_longest
from typing import Any

from venomqa.ports.store import RecordChange

from venomqa_postgres._catalog import TableInfo

#: A row image: column -> plain value, as ``json.loads`` gives it.
Image = dict[str, Any]
#: One log entry as the store reads it: id, table index, old image, new image.
Entry = tuple[int, int, Image | None, Image | None]
_Slot = tuple[int, tuple[Any, ...]]


def freeze(value: Any) -> Any:
    """``value`` made hashable: lists as tuples, dicts as sorted tuples of items."""
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


class ChangedRows:
    """The signed multiset of row images (relative to setup) and the journal of applied entries."""

    def __init__(self, tables: Sequence[TableInfo]) -> None:
        self.tables = list(tables)
        #: (table index, key) -> [image, count] pairs whose count is not 0.
        self._slots: dict[_Slot, list[list[Any]]] = {}
        self._journal: list[Entry] = []
        #: The records of each slot that has any, as last listed; ``_dirty`` slots are stale.
        self._changes: dict[_Slot, tuple[RecordChange, ...]] = {}
        self._dirty: set[_Slot] = set()
        self._listed: tuple[RecordChange, ...] | None = None

    def apply(self, entries: Sequence[Sequence[Any]]) -> None:
        """Add log entries ``[id, tbl, old, new]`` (ids above every entry applied so far)."""
        for raw in entries:
            entry: Entry = (int(raw[0]), int(raw[1]), raw[2], raw[3])
            self._journal.append(entry)
            self._add(entry, 1)

    def undo_above(self, log_id: int) -> int:
        """Take back every applied entry with an id above ``log_id`` (a rollback removed them);
        returns how many."""
        journal = self._journal
        taken = 0
        while journal and journal[-1][0] > log_id:
            self._add(journal.pop(), -1)
            taken += 1
        return taken

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

    def _add(self, entry: Entry, sign: int) -> None:
        _, tbl, old, new = entry
        if old is not None:
            self._count(tbl, old, -sign)
        if new is not None:
            self._count(tbl, new, sign)
        self._listed = None

    def _count(self, tbl: int, image: Image, delta: int) -> None:
        keys = self.tables[tbl].key_columns
        if keys:
            key = tuple(freeze(image[k]) for k in keys)
        else:
            key = tuple(freeze(v) for v in image.values())
        slot = (tbl, key)
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
                        if slot not in self._changes:  # nothing listed, nothing to list
                            self._dirty.discard(slot)
                return
        pairs.append([image, delta])

    @staticmethod
    def _slot_records(table: TableInfo, pairs: list[list[Any]]) -> tuple[RecordChange, ...]:
        """The records of one key (of one image, for a table without a primary key)."""
        befores: list[Image] = []
        afters: list[Image] = []
        for image, count in pairs:
            (afters if count > 0 else befores).extend([image] * abs(count))
        if table.key_columns:  # at most one of each, unless caught mid-way
            pairings = list(zip_longest(befores, afters))
        else:  # each image is its own record
            pairings = [(b, None) for b in befores] + [(None, a) for a in afters]
        records: list[RecordChange] = []
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
