"""``venomqa.stores.row_images.SignedRowImages`` (the changed rows of the PostgreSQL and MySQL
stores) at its edges: before any entry, identical rows of a table without a primary key, a row
whose count passes through zero, and the cost promised per image. Found by mutation testing
(docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

from test_row_images import ITEMS, LOG
from venomqa.stores.row_images import SignedRowImages


def test_a_fresh_multiset_lists_no_records_like_one_whose_changes_cancelled() -> None:
    """The explorer fingerprints a state by its records: setup must look like a state whose
    writes were all undone."""
    fresh = SignedRowImages([ITEMS])
    assert fresh.records() == ()
    cancelled = SignedRowImages([ITEMS])
    cancelled.add(0, None, {"id": 1, "n": 1})
    cancelled.add(0, {"id": 1, "n": 1}, None)
    assert fresh.records() == cancelled.records() == ()


def test_deleting_one_of_two_identical_keyless_rows_leaves_the_other_listed() -> None:
    rows = SignedRowImages([LOG])
    rows.add(0, None, {"msg": "hi"})
    rows.add(0, None, {"msg": "hi"})
    rows.add(0, {"msg": "hi"}, None)
    assert [(r.identity, r.before, r.after) for r in rows.records()] == [
        (("hi",), None, {"msg": "hi"})
    ]


def test_a_row_inserted_deleted_and_inserted_again_is_listed_once() -> None:
    rows = SignedRowImages([ITEMS])
    rows.add(0, None, {"id": 1, "n": 1})
    rows.add(0, {"id": 1, "n": 1}, None)
    assert rows.records() == ()
    rows.add(0, None, {"id": 1, "n": 1})
    assert [(r.identity, r.before, r.after) for r in rows.records()] == [
        ((1,), None, {"id": 1, "n": 1})
    ]


class CountingImage(dict[str, Any]):
    """A row image that counts how often it is compared with another."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingImage.comparisons += 1
        return super().__eq__(other)


def test_distinct_rows_of_a_keyless_table_are_never_compared_with_each_other() -> None:
    """O(1) per image: a keyless row is keyed by its values, so inserting n different rows
    costs n steps, not n * n comparisons."""
    rows = SignedRowImages([LOG])
    CountingImage.comparisons = 0
    for n in range(500):
        rows.add(0, None, CountingImage(msg=f"line {n}"))
    assert CountingImage.comparisons == 0
    assert len(rows.records()) == 500
