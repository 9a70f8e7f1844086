"""The S3 store: checkpoint and roll back a bucket (or a prefix of it) that another process writes.

The API under test writes through its own client, so the store cannot see writes as they happen.
It relies on S3 versioning instead, which keeps every overwritten or deleted object:

- ``setup()`` records the bucket's versioning status and the id of every version and delete
  marker under the prefix (the *baseline*, also written to a local journal, see ``_journal``),
  then enables versioning. From then on every write the API makes adds a version or a delete
  marker; nothing is lost.
- ``checkpoint()`` lists the current objects (one paginated ``ListObjectsV2``: 2 requests for
  2,000 objects) and compares the listing with the previous one; only for the keys whose ETag,
  size or modification time changed does it list that key's versions. The token keeps, per key,
  the versions created since setup. No object is read or copied.
- ``rollback(token)`` does the same and permanently deletes every version and delete marker
  created after the token (batched ``DeleteObjects``). The version that was current at the token
  becomes current again, byte for byte with its content type and user metadata, and the versions
  the branch caused are gone. Cost: one listing plus O(objects the branch changed).
- ``fingerprint()`` hashes the current keys, ETags and sizes of one listing; content type and
  user metadata are not part of it (rewriting an object with the same bytes keeps the value).
- ``changed_records()`` lists the objects that differ from setup, with their content type and
  user metadata (see ``_records``): one listing plus a HEAD per object version not seen before.
- ``teardown()`` deletes every version created since setup and restores the versioning status.
  S3 cannot return a bucket to "never versioned": such a bucket is left *Suspended*, with exactly
  its original objects and versions (new writes then behave as in an unversioned bucket, with
  version id ``null``). A run killed before teardown is finished by the next ``setup()``.

Limits: one store per bucket at a time (versioning is a bucket-wide setting); versions the API
itself deletes by id cannot be brought back; objects outside ``prefix`` are never touched. A
rewrite with the same bytes within the timestamp resolution of the listing (a second on some
servers) is not seen by the listing: rolling back leaves that object's bytes right but may keep
the rewrite's content type or metadata (teardown still removes the version).
"""

from __future__ import annotations

import builtins
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from venomqa.errors import StoreError
from venomqa.ports.store import RecordChange
from venomqa.stores.kit import TokenStack, already_set_up, new_serial, not_set_up

from venomqa_s3._connection import ADAPTER, Connection, error_code
from venomqa_s3._journal import (
    Journal,
    default_state_dir,
    journal_path,
    read_journal,
    remove_journal,
    write_journal,
)
from venomqa_s3._listing import (
    CurrentListing,
    Lister,
    delete_versions,
    fingerprint,
    key_versions,
    list_current,
    list_versions,
)
from venomqa_s3._records import Head, ObjectRecords

log = logging.getLogger("venomqa_s3")


@dataclass(frozen=True)
class S3Token:
    """A checkpoint of an S3Store: the listing, and per key the versions created since setup."""

    serial: int
    listing: CurrentListing
    created: dict[str, frozenset[str]]


class S3Store:
    """Checkpoint/rollback of one S3 bucket or prefix (DESIGN §4), also across processes.

    Also a StoragePort (``get``, ``put``, ``delete``, ``list``) for invariants; its keys are the
    bucket's full object keys.
    """

    name = ADAPTER

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        addressing_style: str | None = None,
        state_dir: str | None = None,
    ) -> None:
        if not isinstance(bucket, str) or not 3 <= len(bucket) <= 63:
            raise ValueError(
                f"`bucket` must be an S3 bucket name of 3-63 characters, not {bucket!r}"
            )
        if not isinstance(prefix, str):
            raise ValueError(f"`prefix` must be a string, not {type(prefix).__name__}")
        if bool(aws_access_key_id) != bool(aws_secret_access_key):
            raise ValueError(
                "give both `aws_access_key_id` and `aws_secret_access_key`, or neither "
                "(to use boto3's usual chain: environment, config files, instance role)"
            )
        if addressing_style not in (None, "auto", "path", "virtual"):
            raise ValueError(
                f"`addressing_style` must be auto, path or virtual, not {addressing_style!r}"
            )
        self.bucket = bucket
        self.prefix = prefix
        self.connection = Connection(
            bucket=bucket,
            endpoint_url=endpoint_url,
            region_name=region_name,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            addressing_style=addressing_style,
        )
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self._journal: Journal | None = None
        self._tokens = TokenStack(ADAPTER, S3Token)
        self._lister: Lister | None = None
        # The last listing seen, and per key the versions created since setup as of that listing.
        self._seen: CurrentListing = {}
        self._created: dict[str, frozenset[str]] = {}
        self._records = ObjectRecords(prefix, {})

    def __repr__(self) -> str:
        credentials = "explicit (hidden)" if self.connection.aws_access_key_id else "boto3 chain"
        return (
            f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r}, "
            f"endpoint_url={self.connection.endpoint_url!r}, credentials={credentials})"
        )

    @property
    def journal_file(self) -> Path:
        """Where this store's crash-recovery journal lives while a run is set up."""
        return journal_path(self.state_dir, self.connection.endpoint_url, self.bucket, self.prefix)

    # -- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        """Record the baseline and the versioning status, then enable versioning."""
        if self._journal is not None:
            raise already_set_up(self._where, ADAPTER)
        client = self.connection.client()
        with self.connection.errors("check the bucket"):
            client.head_bucket(Bucket=self.bucket)
        leftover = read_journal(self.journal_file)
        if leftover is not None:
            warnings.warn(
                f"{self._where}: an earlier VenomQA run did not tear down; removing the versions "
                f"it created and restoring the versioning status (journal {self.journal_file})",
                RuntimeWarning,
                stacklevel=2,
            )
            self._restore(leftover)
        with self.connection.errors("read the bucket's versioning status"):
            status = client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        with self.connection.errors("list the bucket's versions"):
            baseline = list_versions(self._listing_api(), self.bucket, self.prefix)
            seen = list_current(self._listing_api(), self.bucket, self.prefix)
        journal = Journal(status, baseline)
        write_journal(
            self.journal_file,
            journal,
            describe={
                "endpoint_url": self.connection.endpoint_url,
                "bucket": self.bucket,
                "prefix": self.prefix,
            },
        )
        if status != "Enabled":
            try:
                self._set_versioning("Enabled")
            except BaseException:
                remove_journal(self.journal_file)
                raise
        self._journal, self._seen, self._created = journal, seen, {}
        self._records = ObjectRecords(self.prefix, dict(seen))
        self._tokens.reset()

    def teardown(self) -> None:
        """Remove every version created since setup and restore the versioning status.

        Idempotent. If it fails, the journal stays and the next ``setup()`` finishes the job.
        """
        journal, self._journal = self._journal, None
        self._seen, self._created = {}, {}
        self._tokens.reset()
        if journal is not None:
            self._restore(journal)

    # -- contract --------------------------------------------------------------------------

    def checkpoint(self) -> S3Token:
        """Remember, per key, which versions exist now (one listing, no object copied)."""
        listing, created = self._observe("checkpoint")
        return self._tokens.push(S3Token(new_serial(), listing, dict(created)))

    def rollback(self, token: Any) -> None:
        """Delete every version and delete marker created after ``token``.

        Tokens taken after ``token`` become invalid; ``token`` itself stays valid.
        """
        self._require()
        token = self._tokens.require(token)
        _, created = self._observe("rollback")
        doomed: list[tuple[str, str]] = []
        for key, ids in created.items():
            doomed.extend((key, version) for version in ids - token.created.get(key, frozenset()))
        for key, ids in token.created.items():
            lost = ids - created.get(key, frozenset())
            if lost:
                raise StoreError(
                    f"rollback of {self._where}: {len(lost)} version(s) of key {key!r} that "
                    "existed at the checkpoint were deleted by version id (not by VenomQA), so "
                    "the object cannot be restored; the API under test must not delete object "
                    "versions",
                    store=ADAPTER,
                )
        try:
            self._delete(doomed, "rollback")
        except BaseException:
            self._seen = {}  # unsure what is left: the next observation lists every key's versions
            raise
        self._seen, self._created = token.listing, dict(token.created)
        self._tokens.rolled_back_to(token)

    def release(self, token: Any) -> None:
        """Forget ``token``; it can no longer be rolled back to."""
        self._tokens.release(token)

    def fingerprint(self) -> str:
        """16 hex digits, equal for equal sets of current keys, ETags and sizes (one listing)."""
        self._require()
        return fingerprint(self._list("fingerprint"))

    def changed_records(self) -> builtins.list[RecordChange]:
        """The objects whose content differs from setup (``SupportsRecords``, see ``_records``).
        One listing, plus a HEAD per object version not seen before."""
        self._require()
        listing = self._list("changed_records")
        with self.connection.errors("changed_records: read changed objects' metadata"):
            return self._records.changes(listing, self._head)

    def _head(self, key: str) -> Head:
        answer = self.connection.client().head_object(Bucket=self.bucket, Key=key)
        return str(answer.get("ContentType", "")), dict(answer.get("Metadata") or {})

    def observe(self) -> dict[str, Any]:
        """Object count, total bytes and the first keys under the prefix."""
        self._require()
        listing = self._list("observe")
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "objects": len(listing),
            "bytes": sum(size for _, size, _ in listing.values()),
            "keys": sorted(listing)[:10],
        }

    # -- StoragePort -----------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """The current content of ``key``, or None when it does not exist."""
        client = self.connection.client()
        try:
            answer = client.get_object(Bucket=self.bucket, Key=key)
            data: bytes = answer["Body"].read()
            return data
        except Exception as exc:
            if error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise self.connection.translate(f"get key {key!r}", exc) from exc

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write ``data`` to ``key`` (a new version while the store is set up)."""
        extra = {"ContentType": content_type} if content_type else {}
        with self.connection.errors(f"put key {key!r}"):
            self.connection.client().put_object(Bucket=self.bucket, Key=key, Body=data, **extra)

    def delete(self, key: str) -> None:
        """Delete ``key`` (a delete marker while the store is set up)."""
        with self.connection.errors(f"delete key {key!r}"):
            self.connection.client().delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str = "") -> list[str]:
        """The current keys starting with the store's prefix and then ``prefix``, sorted."""
        full = prefix if prefix.startswith(self.prefix) else self.prefix + prefix
        keys: list[str] = []
        with self.connection.errors(f"list keys under {full!r}"):
            paginator = self.connection.client().get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(entry["Key"] for entry in page.get("Contents", ()))
        return sorted(keys)

    # -- internals -------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        scope = f" prefix {self.prefix!r}" if self.prefix else ""
        return self.connection.where + scope

    def _require(self) -> Journal:
        if self._journal is None:
            raise not_set_up(self._where, ADAPTER)
        return self._journal

    def _listing_api(self) -> Lister:
        if self._lister is None:
            self._lister = Lister(self.connection.client())
        return self._lister

    def _list(self, operation: str) -> CurrentListing:
        with self.connection.errors(operation):
            return list_current(self._listing_api(), self.bucket, self.prefix)

    def _observe(self, operation: str) -> tuple[CurrentListing, dict[str, frozenset[str]]]:
        """The current listing and, per key, the versions created since setup.

        Only the keys whose listing entry changed since the last observation have their
        versions listed (a few at a time, in parallel).
        """
        journal = self._require()
        listing = self._list(operation)
        seen = self._seen
        changed = [k for k in listing.keys() | seen.keys() if listing.get(k) != seen.get(k)]
        created = dict(self._created)
        lister = self._listing_api()

        def versions(key: str) -> tuple[str, frozenset[str]]:
            return key, key_versions(lister, self.bucket, key) - journal.baseline.get(
                key, frozenset()
            )

        with self.connection.errors(f"{operation}: list the versions of changed keys"):
            if len(changed) == 1:
                found = [versions(changed[0])]
            else:
                with ThreadPoolExecutor(min(8, max(1, len(changed)))) as pool:
                    found = list(pool.map(versions, changed))
        for key, ids in found:
            if ids:
                created[key] = ids
            else:
                created.pop(key, None)
        self._seen, self._created = listing, created
        return listing, created

    def _delete(self, versions: builtins.list[tuple[str, str]], operation: str) -> None:
        if versions:
            with self.connection.errors(f"{operation}: delete {len(versions)} version(s)"):
                delete_versions(self.connection.client(), self.bucket, versions)

    def _set_versioning(self, status: str) -> None:
        with self.connection.errors(f"set versioning to {status}"):
            self.connection.client().put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": status}
            )

    def _restore(self, journal: Journal) -> None:
        """Delete the versions created since ``journal``'s baseline, restore versioning."""
        try:
            with self.connection.errors("teardown: list the bucket's versions"):
                now = list_versions(self._listing_api(), self.bucket, self.prefix)
            doomed = [
                (key, version)
                for key, ids in now.items()
                for version in ids - journal.baseline.get(key, frozenset())
            ]
            self._delete(doomed, "teardown")
            if journal.versioning != "Enabled":
                self._set_versioning("Suspended")
                if journal.versioning is None:
                    log.info(
                        "%s was never versioned; S3 cannot undo that, so versioning is left "
                        "Suspended (its objects are exactly as before the run)",
                        self._where,
                    )
        except StoreError as exc:
            raise StoreError(
                f"teardown failed: {exc}; the next setup() of this store finishes it "
                f"(journal {self.journal_file})",
                store=ADAPTER,
            ) from exc
        remove_journal(self.journal_file)


__all__ = ["S3Store", "S3Token"]
