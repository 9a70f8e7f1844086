"""A listing of the current objects parses only the pages that changed since the previous one:
a page equal byte for byte to one seen in the previous listing is taken as it was, and the
listing is always the one boto3's own paginator reads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import venomqa_s3._listing as listing_module
from venomqa_s3._listing import Lister, list_current

OBJECTS = 2_100  # three pages of at most 1,000


def _reference(s3: Any, bucket: str) -> dict[str, tuple[str, int, str]]:
    """The current objects as boto3's paginator reads them."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            modified = entry["LastModified"].strftime("%Y-%m-%dT%H:%M:%S")
            found[entry["Key"]] = (entry["ETag"], entry["Size"], modified)
    return found


def _comparable(listing: dict[str, tuple[str, int, str]]) -> dict[str, tuple[str, int, str]]:
    """LastModified to the second, as the paginator's datetime gives it."""
    return {key: (etag, size, modified[:19]) for key, (etag, size, modified) in listing.items()}


def test_only_the_pages_that_changed_are_parsed(
    s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"k/{i:05}", Body=b"x"),
                      range(OBJECTS)))  # fmt: skip
    parsed: list[int] = []
    real = listing_module._current_page

    def counted(page: Any) -> Any:
        parsed.append(1)
        return real(page)

    monkeypatch.setattr(listing_module, "_current_page", counted)
    lister = Lister(s3)

    first, _ = list_current(lister, bucket, "")
    assert len(parsed) == 3
    assert _comparable(first) == _reference(s3, bucket)

    again, _ = list_current(lister, bucket, "")
    assert again == first
    assert len(parsed) == 3, "an unchanged bucket's pages were parsed again"

    s3.put_object(Bucket=bucket, Key=f"k/{OBJECTS - 1:05}", Body=b"rewritten")  # the last page
    s3.delete_object(Bucket=bucket, Key="k/02050")
    after, _ = list_current(lister, bucket, "")
    assert len(parsed) == 4  # the first two pages are the same bytes as before
    assert _comparable(after) == _reference(s3, bucket)
    assert "k/02050" not in after
    assert after[f"k/{OBJECTS - 1:05}"][0] != first[f"k/{OBJECTS - 1:05}"][0]

    s3.put_object(Bucket=bucket, Key="k/00000", Body=b"rewritten")  # the first page
    changed, _ = list_current(lister, bucket, "")
    assert _comparable(changed) == _reference(s3, bucket)
    assert changed["k/00000"][0] != first["k/00000"][0]
    assert 5 <= len(parsed) <= 7
