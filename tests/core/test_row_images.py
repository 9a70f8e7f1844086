"""``venomqa.stores.row_images.SignedRowImages``: the rows that differ from setup, from the old
and new row images of an undo log, in any order of entries."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from venomqa.stores.row_images import SignedRowImages


@dataclass(frozen=True)
class Table:
    name: str
    key_columns: tuple[str, ...]


ITEMS, LOG = Table("items", ("id",)), Table("log", ())


def test_an_insert_deleted_again_and_an_update_written_back_leave_nothing() -> None:
    rows = SignedRowImages([ITEMS])
    rows.add(0, None, {"id": 1, "n": 1})  # insert
    rows.add(0, {"id": 1, "n": 1}, None)  # delete
    rows.add(0, {"id": 2, "n": 5}, {"id": 2, "n": 6})  # update
    rows.add(0, {"id": 2, "n": 6}, {"id": 2, "n": 5})  # and back
    assert rows.records() == ()


def test_an_update_is_one_record_with_both_images_whatever_the_order_of_entries() -> None:
    entries = [
        ({"id": 7, "n": 1}, {"id": 7, "n": 2}),
        ({"id": 7, "n": 2}, {"id": 7, "n": 3}),
        (None, {"id": 8, "n": 0}),
    ]
    seen = set()
    for order in itertools.permutations(entries):
        rows = SignedRowImages([ITEMS])
        for old, new in order:
            rows.add(0, old, new)
        seen.add(tuple(sorted((r.identity, repr(r.before), repr(r.after)) for r in rows.records())))
    assert seen == {
        (((7,), "{'id': 7, 'n': 1}", "{'id': 7, 'n': 3}"), ((8,), "None", "{'id': 8, 'n': 0}"))
    }


def test_undoing_an_entry_takes_it_back_and_the_listing_follows() -> None:
    rows = SignedRowImages([ITEMS])
    rows.add(0, None, {"id": 1, "n": 1})
    first = rows.records()
    assert rows.records() is first  # cached until something changes
    rows.add(0, None, {"id": 1, "n": 1}, -1)
    assert rows.records() == ()


def test_rows_of_a_table_without_a_key_are_named_by_their_whole_image() -> None:
    rows = SignedRowImages([ITEMS, LOG])
    rows.add(1, None, {"msg": "hi"})
    rows.add(1, None, {"msg": "hi"})
    rows.add(1, {"msg": "old"}, {"msg": "new"})
    records = sorted(rows.records(), key=lambda r: (repr(r.before), repr(r.after)))
    assert [(r.collection, r.identity, r.before, r.after) for r in records] == [
        ("log", ("hi",), None, {"msg": "hi"}),
        ("log", ("hi",), None, {"msg": "hi"}),
        ("log", ("new",), None, {"msg": "new"}),
        ("log", ("old",), {"msg": "old"}, None),
    ]
    assert all(r.key_fields == () for r in records)


def test_unhashable_key_values_are_keyed_through_the_given_freezer() -> None:
    rows = SignedRowImages([Table("docs", ("tags",))], hashable=lambda v: repr(v))
    rows.add(0, None, {"tags": ["a", "b"], "n": 1})
    [record] = rows.records()
    assert record.identity == (["a", "b"],) and record.key_fields == ("tags",)
