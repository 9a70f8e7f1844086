"""Objects as records: what ``S3Store.changed_records()`` lists.

One record per object key that differs from setup (by ETag or size): ``collection`` is the key's
*folder*, its name without the store's prefix up to the first ``/`` (the whole rest when it has
none); ``identity`` is ``(key,)``; ``key_fields`` is ``("@key",)``. Fields: ``@key``, ``etag``,
``size``, and for the object now also ``content_type`` and each user metadata entry as
``meta.NAME`` (so ``ignore: [uploads.meta.uploaded-at]`` names one). The setup side has
``@key``, ``etag`` and ``size`` only: what the setup listing shows.

Content type and metadata come from one ``HeadObject`` per key whose listing entry (ETag, size,
LastModified) is new, cached: O(objects that changed since the previous call); the listing
itself is the one the fingerprint takes anyway. LastModified has a resolution of one second, so
an entry can come back with another version behind it (written again with the same bytes, or a
version a rollback removed and the API wrote again within the second): the store calls
``forget`` with the keys each of its listings shows may have changed (see ``_freshness``) and
with the keys a rollback touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from venomqa.ports.store import RecordChange

from venomqa_s3._listing import Current, CurrentListing

KEY_FIELDS = ("@key",)

#: (content type, user metadata) of a key's current version.
Head = tuple[str, dict[str, str]]


def folder(key: str, prefix: str) -> str:
    """The key's collection: its name without ``prefix``, up to the first ``/``."""
    rest = key[len(prefix) :] if key.startswith(prefix) else key
    return rest.split("/", 1)[0]


def _listed(key: str, current: Current) -> dict[str, Any]:
    etag, size, _ = current
    return {"@key": key, "etag": etag.strip('"'), "size": size}


class ObjectRecords:
    """Builds the records of changed objects; remembers each version's head."""

    def __init__(self, prefix: str, baseline: CurrentListing) -> None:
        self.prefix = prefix
        self.baseline = baseline
        self._heads: dict[str, tuple[Current, Head]] = {}

    def forget(self, keys: Iterable[str]) -> None:
        """Drop what is known of these keys' heads."""
        for key in keys:
            self._heads.pop(key, None)

    def changes(self, listing: CurrentListing, head: Callable[[str], Head]) -> list[RecordChange]:
        """The objects whose ETag or size differs from setup, with ``head(key)`` called for
        each version not seen before."""
        found: list[RecordChange] = []
        for key in sorted(listing.keys() | self.baseline.keys()):
            now, then = listing.get(key), self.baseline.get(key)
            if (now and now[:2]) == (then and then[:2]):
                continue
            after: dict[str, Any] | None = None
            if now is not None:
                content_type, metadata = self._head(key, now, head)
                after = {**_listed(key, now), "content_type": content_type}
                after.update({f"meta.{name}": value for name, value in sorted(metadata.items())})
            before = None if then is None else _listed(key, then)
            found.append(RecordChange(folder(key, self.prefix), (key,), before, after, KEY_FIELDS))
        return found

    def _head(self, key: str, current: Current, head: Callable[[str], Head]) -> Head:
        cached = self._heads.get(key)
        if cached is not None and cached[0] == current:
            return cached[1]
        known = head(key)
        self._heads[key] = (current, known)
        return known
