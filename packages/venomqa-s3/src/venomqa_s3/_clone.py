"""Copies of a bucket for parallel workers (``venomqa.ports.store.SupportsClone``).

Where a copy goes: a new bucket ``<bucket>-venomqa-<label>`` in the original's region (label
and bucket lowercased, other characters than ``a-z0-9-`` (``.`` in the bucket) made ``-``; a
name over 63 characters keeps the start of the bucket name, the label and 8 hex digits of a
hash of both: ``copy_name``). It holds the current version of every object under the store's
``prefix`` (what the store covers), under the same keys, copied on the server (``CopyObject``,
16 at a time: content type, user metadata and object tags come along), and gets the
original's versioning status (Enabled or Suspended; none for a never-versioned original).
Cost: one listing plus one request per object, no byte through VenomQA.

Which buckets are copies: the original bucket's *tags* (bucket configuration, not objects: an
API listing or reading the bucket sees nothing) hold one ``venomqa-clone:<label>`` tag per copy,
``<copy bucket> <host>/<pid>/<start>`` (see ``_owner``); the user's own tags are kept. The copy
itself is tagged ``venomqa-clone-of``, ``venomqa-label`` and ``venomqa-owner``, so a person (or
a ListBuckets tool) can tell what it is. The index lives on the original, not in ListBuckets,
because ListBuckets needs ``s3:ListAllMyBuckets`` and some servers (SeaweedFS without
identities) answer it with an empty list; a bucket takes at most 50 tags, so at most 50 minus
the user's copies exist at once. A copy is registered before its bucket is created and
unregistered after it is deleted, so a run killed anywhere in between leaves nothing the index
does not name.

Whether a copy is in use: while the process that made it runs (``_owner``). A copy made on
another host is left alone (with a ``VenomQAWarning`` from ``drop_leftovers``): run ``venomqa
recover`` there, or delete the bucket once that run is over.

A dropped copy is emptied (every version, delete marker and unfinished multipart upload) and
deleted, then unregistered; the crash-recovery journal a killed worker's store left for it is
removed too.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from venomqa.errors import StoreError, StorePermissionError, VenomQAWarning

from venomqa_s3._connection import ADAPTER, Connection, error_code
from venomqa_s3._journal import journal_path, remove_journal
from venomqa_s3._listing import delete_versions
from venomqa_s3._owner import Owner

T = TypeVar("T")

#: The original bucket's tag naming one copy: ``venomqa-clone:<label>``.
INDEX_TAG = "venomqa-clone:"
#: The copy's own tags.
CLONE_OF_TAG, LABEL_TAG, OWNER_TAG = "venomqa-clone-of", "venomqa-label", "venomqa-owner"
#: Objects copied at the same time (the client's connection pool holds 16).
COPY_THREADS = 16
_NOT_FOUND = {"NoSuchBucket", "404", "NotFound"}
#: A bucket without tags, or a server without bucket tagging: no copy registered.
_NO_TAGGING = {*_NOT_FOUND, "NotImplemented", "501"}


def copy_name(bucket: str, label: str) -> str:
    """The bucket of the copy ``label`` of ``bucket``: ``<bucket>-venomqa-<label>``, made a valid
    bucket name (lowercase, ``a-z0-9.-``, at most 63 characters, shortened with a hash)."""
    tag = clean_label(label)
    base = re.sub(r"[^a-z0-9.-]+", "-", bucket.lower()).strip("-.")
    name = f"{base}-venomqa-{tag}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(f"{bucket}\0{label}".encode()).hexdigest()[:8]
    tail = f"-venomqa-{tag[:20].strip('-')}-{digest}"
    return f"{base[: 63 - len(tail)].rstrip('-.')}{tail}"


def clean_label(label: str) -> str:
    """``label`` as it appears in names and tags: lowercase ``a-z0-9-``."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "copy"


@dataclass(frozen=True)
class Registered:
    """An index entry: the copy ``label`` lives in ``bucket``, made by ``owner``."""

    label: str
    bucket: str
    owner: Owner | None

    def describe(self, original: str) -> str:
        maker = self.owner.describe() if self.owner else "an unknown process"
        return f"bucket {self.bucket!r} (copy {self.label} of {original!r}, made by {maker})"


class Cloner:
    """Makes, finds and drops the copies of one store's bucket and prefix (see the module)."""

    def __init__(self, connection: Connection, prefix: str, state_dir: Path) -> None:
        self.connection = connection
        self.bucket = connection.bucket
        self.prefix = prefix
        self.state_dir = state_dir

    # -- the three operations --------------------------------------------------------------

    def clone(self, label: str) -> str:
        """Copy the bucket's objects under the prefix into the bucket of the copy ``label`` (a
        dead run's copy of that name is replaced) and return its name."""
        tag, name = clean_label(label), copy_name(self.bucket, label)
        earlier = self._index().get(tag)
        if earlier is not None:
            self._require_dead(earlier)
            self._remove(earlier.bucket)
        elif self._exists(name):
            raise StoreError(
                f"cannot copy {self.connection.where} for worker {label}: the bucket {name!r} "
                f"exists and is no VenomQA copy of it (the tags of {self.bucket!r} do not name "
                "it); delete or rename that bucket",
                store=ADAPTER,
            )
        owner = Owner.this_process()
        self._register(tag, f"{name} {owner.encode()}")
        try:
            self._make(name, tag, owner)
        except BaseException:
            with contextlib.suppress(Exception):  # the error that got here says more
                self._remove(name)
                self._unregister(tag)
            raise
        self._forget_journal(name)
        return name

    def drop(self, name: str) -> None:
        """Empty and delete the copy in bucket ``name`` and unregister it; nothing happens when it
        is gone already. A bucket that is no copy of this one is left alone (StoreError)."""
        entries = [e for e in self._index().values() if e.bucket == name]
        if not entries and self._exists(name) and self._tags(name).get(CLONE_OF_TAG) != self.bucket:
            raise StoreError(
                f"bucket {name!r} is no VenomQA copy of {self.connection.where}; left alone",
                store=ADAPTER,
            )
        self._remove(name)
        for entry in entries:
            self._unregister(entry.label)
        self._forget_journal(name)

    def drop_leftovers(self) -> list[str]:
        """Drop the copies whose maker has ended; one line per copy dropped. Credentials that
        may not read the bucket's tags (or a server without bucket tagging) cannot have made
        copies either: then there is nothing to drop, and ``venomqa recover`` needs no more
        rights than before."""
        try:
            index = self._index()
        except StorePermissionError:
            return []
        dropped: list[str] = []
        for entry in index.values():
            alive = entry.owner.alive() if entry.owner else False
            if alive is None:
                warnings.warn(
                    f"{entry.describe(self.bucket)} was left alone: it was made on another "
                    "host, where VenomQA cannot tell whether that run still goes on; run "
                    "`venomqa recover` there, or delete the bucket once that run is over",
                    VenomQAWarning,
                    stacklevel=3,
                )
                continue
            if alive:
                continue
            self._remove(entry.bucket)
            self._unregister(entry.label)
            self._forget_journal(entry.bucket)
            dropped.append(entry.describe(self.bucket))
        return dropped

    # -- making a copy ---------------------------------------------------------------------

    def _make(self, name: str, tag: str, owner: Owner) -> None:
        client = self.connection.client()
        versioning = self._call(
            "read the bucket's versioning status",
            lambda: client.get_bucket_versioning(Bucket=self.bucket).get("Status"),
        )
        location = self._location()
        extra = {"CreateBucketConfiguration": {"LocationConstraint": location}} if location else {}
        self._call(
            f"create the bucket {name!r}", lambda: client.create_bucket(Bucket=name, **extra)
        )
        tags = {CLONE_OF_TAG: self.bucket, LABEL_TAG: tag, OWNER_TAG: owner.encode()}
        self._call(
            f"tag the bucket {name!r}",
            lambda: client.put_bucket_tagging(Bucket=name, Tagging=_tagging(tags)),
        )
        keys = self._call("list the bucket's objects", self._keys)
        patience = self.connection.patience

        def copy(key: str) -> None:
            source = {"Bucket": self.bucket, "Key": key}
            patience.call(lambda: client.copy_object(Bucket=name, Key=key, CopySource=source))

        copying = self.connection.errors(f"copy {len(keys)} object(s) into {name!r}")
        with copying, ThreadPoolExecutor(COPY_THREADS) as pool:
            list(pool.map(copy, keys))
        if versioning in ("Enabled", "Suspended"):
            self._call(
                f"set the versioning of {name!r} to {versioning}",
                lambda: client.put_bucket_versioning(
                    Bucket=name, VersioningConfiguration={"Status": versioning}
                ),
            )

    def _keys(self) -> list[str]:
        client = self.connection.client()
        keys: list[str] = []
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            keys.extend(entry["Key"] for entry in page.get("Contents", ()))
        return keys

    def _location(self) -> str | None:
        """The original's region as CreateBucket wants it (None for us-east-1)."""
        client = self.connection.client()
        try:
            location = client.get_bucket_location(Bucket=self.bucket).get("LocationConstraint")
        except Exception:  # not offered by every S3-compatible server: the client's region
            location = self.connection.region_name
        return None if location in (None, "", "us-east-1") else str(location)

    def _require_dead(self, entry: Registered) -> None:
        alive = entry.owner.alive() if entry.owner else False
        if alive is False:
            return
        why = (
            "in use by a live run"
            if alive
            else "made on another host, where VenomQA cannot tell whether its run still goes on"
        )
        raise StoreError(
            f"the copy {entry.describe(self.bucket)} is {why}; wait for that run to end (or "
            "run `venomqa recover` where it ran), or give this run's copies other labels",
            store=ADAPTER,
        )

    # -- removing a copy -------------------------------------------------------------------

    def _remove(self, name: str) -> None:
        """Empty and delete bucket ``name`` (nothing happens when it does not exist)."""
        client = self.connection.client()

        def remove() -> None:
            try:
                uploads = client.list_multipart_uploads(Bucket=name).get("Uploads") or []
            except Exception as exc:
                if error_code(exc) in _NOT_FOUND:
                    return
                uploads = []  # not offered by every server: DeleteBucket says if one is left
            for upload in uploads:
                client.abort_multipart_upload(
                    Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            versions: list[tuple[str, str]] = []
            for page in client.get_paginator("list_object_versions").paginate(Bucket=name):
                for entry in (*page.get("Versions", ()), *page.get("DeleteMarkers", ())):
                    versions.append((entry["Key"], entry.get("VersionId") or "null"))
            delete_versions(client, name, versions)
            try:
                client.delete_bucket(Bucket=name)
            except Exception as exc:
                if error_code(exc) not in _NOT_FOUND:
                    raise

        self._call(f"delete the copy {name!r}", remove)

    def _forget_journal(self, name: str) -> None:
        path = journal_path(self.state_dir, self.connection.endpoint_url, name, self.prefix)
        try:
            remove_journal(path)
        except OSError as exc:
            raise StoreError(
                f"cannot remove {path}, the journal a worker's store left for its copy: {exc}",
                store=ADAPTER,
            ) from exc

    # -- the index (the original's tags) ---------------------------------------------------

    def _index(self) -> dict[str, Registered]:
        """The registered copies, by label."""
        found: dict[str, Registered] = {}
        for key, value in self._tags(self.bucket).items():
            if key.startswith(INDEX_TAG):
                name, _, owner = value.partition(" ")
                label = key.removeprefix(INDEX_TAG)
                found[label] = Registered(label, name, Owner.decode(owner))
        return found

    def _register(self, tag: str, value: str) -> None:
        tags = self._tags(self.bucket)
        tags[INDEX_TAG + tag] = value
        self._put_tags(tags)

    def _unregister(self, tag: str) -> None:
        tags = self._tags(self.bucket)
        if tags.pop(INDEX_TAG + tag, None) is not None:
            self._put_tags(tags)

    def _put_tags(self, tags: dict[str, str]) -> None:
        client = self.connection.client()
        if tags:
            self._call(
                "record the worker copies in the bucket's tags",
                lambda: client.put_bucket_tagging(Bucket=self.bucket, Tagging=_tagging(tags)),
            )
        else:
            self._call(
                "remove the worker copies from the bucket's tags",
                lambda: client.delete_bucket_tagging(Bucket=self.bucket),
            )

    def _tags(self, bucket: str) -> dict[str, str]:
        """The tags of ``bucket`` (none when it has none or does not exist)."""
        client = self.connection.client()

        def read() -> dict[str, str]:
            try:
                answer = client.get_bucket_tagging(Bucket=bucket)
            except Exception as exc:
                if error_code(exc) in {"NoSuchTagSet", "NoSuchTagSetError", *_NO_TAGGING}:
                    return {}
                raise
            return {str(t["Key"]): str(t["Value"]) for t in answer.get("TagSet", ())}

        return self._call(f"read the tags of {bucket!r}", read)

    def _exists(self, name: str) -> bool:
        client = self.connection.client()

        def head() -> bool:
            try:
                client.head_bucket(Bucket=name)
            except Exception as exc:
                if error_code(exc) in _NOT_FOUND:
                    return False
                raise
            return True

        return self._call(f"look for the bucket {name!r}", head)

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        return self.connection.call(operation, fn)


def _tagging(tags: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
