"""The rows that differ from setup, as a signed multiset of row images: for SQL stores whose
undo log holds old and new row images (venomqa-postgres, venomqa-mysql use it).

Each log entry adds its new image (+1) and takes away its old one (-1), per table and primary
key. Summed over the entries since setup, what is left for a key is exactly the row there now
(+1) and the row there at setup (-1), and nothing when the two are equal (an update writing the
setup values back, an insert deleted again). Adding entries commutes, so the order they are
applied in does not matter (even within one statement that moves primary keys around), and a
row's setup image never has to be read from the table. Undoing an entry (a rollback removed it)
adds it with the opposite sign.

A table without a primary key names a row by its whole image: an update shows as the old row
removed and the new one added, and k identical rows added (removed) as k records with the same
identity.

Cost: O(1) per image added; ``records()`` rebuilds the records of the keys touched since the
previous call and joins them with the others' (a tuple concatenation for the untouched ones),
and returns the same tuple until something changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import chain, zip_longest
from typing import Protocol

from venomqa.ports.store import FieldValue, RecordChange

#: A row image: column -> plain value.
Image = Mapping[str, FieldValue]
_Slot = tuple[int, tuple[Hashable, ...]]


class TableShape(Protocol):
    """What the multiset needs to know of a table: its name and primary-key columns (empty
    when it has none)."""

    @property
    def name(self) -> str: ...

    @property
    def key_columns(self) -> tuple[str, ...]: ...


def _as_is(value: FieldValue) -> Hashable:
    """``value`` unchanged: for drivers whose values are hashable already."""
    return value  # lists and dicts need a ``hashable`` that freezes them


class SignedRowImages:
    """The signed multiset of row images of ``tables`` (indexed as given), relative to setup.

    ``hashable`` turns a column value into a hashable one for keying (e.g. JSON lists and
    objects into tuples); the images themselves are kept as given.
    """

    def __init__(
        self, tables: Sequence[TableShape], hashable: Callable[[FieldValue], Hashable] = _as_is
    ) -> None:
        self.tables = list(tables)
        self._hashable = hashable
        #: (table index, key) -> [image, count] pairs whose count is not 0.
        self._slots: dict[_Slot, list[list[object]]] = {}
        #: The records of each slot that has any, as last listed; ``_dirty`` slots are stale.
        self._changes: dict[_Slot, tuple[RecordChange, ...]] = {}
        self._dirty: set[_Slot] = set()
        self._listed: tuple[RecordChange, ...] | None = None

    def add(self, table: int, old: Image | None, new: Image | None, sign: int = 1) -> None:
        """Apply one log entry of ``table`` (``sign`` -1 takes it back): ``new`` counts
        ``sign``, ``old`` counts ``-sign``."""
        if old is not None:
            self._count(table, old, -sign)
        if new is not None:
            self._count(table, new, sign)
        self._listed = None

    def records(self) -> tuple[RecordChange, ...]:
        """Every row whose content differs from setup (the same tuple until something changes)."""
        if self._listed is None:
            for slot in self._dirty:
                pairs = self._slots.get(slot)
                if pairs is None:
                    self._changes.pop(slot, None)
                else:
                    self._changes[slot] = _slot_records(self.tables[slot[0]], pairs)
            self._dirty.clear()
            self._listed = tuple(chain.from_iterable(self._changes.values()))
        return self._listed

    def _count(self, table: int, image: Image, delta: int) -> None:
        keys = self.tables[table].key_columns
        values = (image[k] for k in keys) if keys else image.values()
        slot = (table, tuple(self._hashable(v) for v in values))
        self._dirty.add(slot)
        pairs = self._slots.get(slot)
        if pairs is None:
            self._slots[slot] = [[image, delta]]
            return
        for index, pair in enumerate(pairs):
            if pair[0] == image:
                count = pair[1]
                assert isinstance(count, int)
                pair[1] = count + delta
                if pair[1] == 0:
                    del pairs[index]
                    if not pairs:
                        del self._slots[slot]
                        if slot not in self._changes:  # nothing listed, nothing to list
                            self._dirty.discard(slot)
                return
        pairs.append([image, delta])


def _slot_records(table: TableShape, pairs: list[list[object]]) -> tuple[RecordChange, ...]:
    """The records of one key (of one image, for a table without a primary key)."""
    befores: list[Image] = []
    afters: list[Image] = []
    for image, count in pairs:
        assert isinstance(image, Mapping) and isinstance(count, int)
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
