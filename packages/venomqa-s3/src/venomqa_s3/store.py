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
  version id ``null``). A run killed before teardown is finished by the next ``setup()`` (or
  ``venomqa recover``), which says what it repaired with a ``LeftoversRepaired`` warning.

One listing serves a whole explorer step: when the world says nothing can have written since its
previous call (``unchanged_since_last_call``: no action ran and no request went out), the next
checkpoint, rollback, fingerprint or changed_records reuses the store's last listing instead of
listing again; the store's own writes (rollback, put, delete) and any failure forget it. So the
view, the checkpoint and the next rollback of a state cost one listing, not three. A listing still
reads every page, but parses only the pages that differ from the previous listing's (``_listing``),
so in VenomQA's process a step costs O(pages the API changed); S3 still sends them all.

Every listing the store makes (fingerprint, records, checkpoint) is compared with the one before:
a key whose entry changed between two listings, or that may have been rewritten without its entry
changing (written in the second the previous listing was made: see ``_freshness``), has its
versions listed again at the next checkpoint or rollback, and its cached head is dropped.

S3 that stops answering for a moment (a restart, throttling, 5xx) is waited out: every request
is retried for up to ``retry_for_s`` seconds per outage (see ``_patience``), and a
``VenomQAWarning`` says how long it lasted. A server that stays away stops the run with a
StoreError naming the endpoint and bucket; the journal stays, and ``venomqa recover`` (or the
next run) removes what the run left once the server is back.

``clone(label)`` copies the bucket (the objects under the prefix) into another bucket for a
parallel worker, ``drop_clone`` and ``drop_leftover_clones`` remove such copies: see ``_clone``.

Limits: one store per bucket at a time (versioning is a bucket-wide setting); versions the API
itself deletes by id cannot be brought back (a version listing without a version seen before is
asked again for ``retry_for_s``, then reported); objects outside ``prefix`` are never touched.
Seeing same-second rewrites relies on the clocks behind ``Date`` and LastModified being within a
second of each other.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.ports.store import RecordChange
from venomqa.stores.kit import TokenStack, already_set_up, new_serial, not_set_up

from venomqa_s3._clone import Cloner
from venomqa_s3._connection import ADAPTER, CHECK_BUCKET, RETRY_FOR_S, Connection, error_code
from venomqa_s3._freshness import fresh_keys, server_time
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
from venomqa_s3._patience import S3Contradicts
from venomqa_s3._records import Head, ObjectRecords
from venomqa_s3._restore import Restored, restore_bucket

log = logging.getLogger("venomqa_s3")


@dataclass(frozen=True)
class S3Token:
    """A checkpoint of an S3Store: the listing, and per key the versions created since setup."""

    serial: int
    listing: CurrentListing
    created: dict[str, frozenset[str]]


class S3Store:
    """Checkpoint/rollback of one S3 bucket or prefix, also across processes.

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
        retry_for_s: float = RETRY_FOR_S,
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
        if isinstance(retry_for_s, bool) or not isinstance(retry_for_s, int | float):
            raise ValueError(f"`retry_for_s` must be a number of seconds, not {retry_for_s!r}")
        if not 0 <= retry_for_s <= 3600:
            raise ValueError(f"`retry_for_s` must be between 0 and 3600 seconds, not {retry_for_s}")
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
            retry_for_s=float(retry_for_s),
        )
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self._journal: Journal | None = None
        self._tokens = TokenStack(ADAPTER, S3Token)
        self._lister: Lister | None = None
        # The last listing seen, and per key the versions created since setup as of that listing.
        self._seen: CurrentListing = {}
        self._created: dict[str, frozenset[str]] = {}
        # The last listing of any kind and the server's time then, the keys in it that may be
        # rewritten unseen, and the keys that (may have) changed between two listings since the
        # last checkpoint or rollback.
        self._last: CurrentListing = {}
        self._last_time = server_time(None)
        self._fresh: set[str] = set()
        self._dirty: set[str] = set()
        self._records = ObjectRecords(prefix, {})
        # Whether ``_last`` is a listing nothing the store did has made stale, and whether the
        # world said nothing else wrote since (both needed to reuse it, once).
        self._last_current = False
        self._unchanged = False

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
        """Finish an earlier run's teardown if it never ran, record the baseline and the
        versioning status, then enable versioning."""
        if self._journal is not None:
            raise already_set_up(self._where, ADAPTER)
        client = self.connection.client()
        self.connection.call(CHECK_BUCKET, lambda: client.head_bucket(Bucket=self.bucket))
        self._repair_leftovers()
        status = self.connection.call(
            "read the bucket's versioning status",
            lambda: client.get_bucket_versioning(Bucket=self.bucket).get("Status"),
        )
        baseline = self.connection.call(
            "list the bucket's versions",
            lambda: list_versions(self._listing_api(), self.bucket, self.prefix),
        )
        self._reset_observations()
        seen = self._list("list the bucket's objects")
        self._dirty = set()  # the baseline: nothing changed yet (fresh keys stay suspects)
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
                # Undo at once if S3 lets us (the journal goes); else the journal stays and
                # the next setup or `venomqa recover` does it.
                with contextlib.suppress(StoreError):
                    self._restore(journal, "undoing the failed setup")
                raise
        self._journal, self._seen, self._created = journal, seen, {}
        self._records = ObjectRecords(self.prefix, dict(seen))
        self._tokens.reset()

    def teardown(self) -> None:
        """Remove every version created since setup and restore the versioning status.

        Idempotent. If it fails, the journal stays and the next ``setup()`` finishes the job.
        """
        journal, self._journal = self._journal, None
        self._reset_observations()
        self._tokens.reset()
        if journal is not None:
            self._restore(journal, "")  # the caller says it was the teardown

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
        self._last_current = False  # the deletes below change the bucket
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
        self._records.forget(key for key, _ in doomed)
        try:
            self._delete(doomed, "rollback")
        except BaseException:
            # Unsure what is left: the next observation lists every key's versions, and does
            # not expect the doomed ones any more.
            gone = set(doomed)
            self._seen = {}
            self._created = {
                key: kept
                for key, ids in created.items()
                if (kept := frozenset(v for v in ids if (key, v) not in gone))
            }
            raise
        self._seen, self._created = token.listing, dict(token.created)
        self._last, self._dirty = token.listing, set()
        self._fresh = fresh_keys(token.listing, self._last_time)
        self._tokens.rolled_back_to(token)

    def release(self, token: Any) -> None:
        """Forget ``token``; it can no longer be rolled back to."""
        self._tokens.release(token)

    def unchanged_since_last_call(self) -> None:
        """The world's notice that nothing wrote since its previous call: the next checkpoint,
        rollback, fingerprint or changed_records may reuse the last listing (``venomqa.ports.
        store.SupportsUnchangedNotice``)."""
        self._unchanged = True

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
        client = self.connection.client()
        answer = self.connection.patience.call(
            lambda: client.head_object(Bucket=self.bucket, Key=key)
        )
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

    # -- copies for parallel workers (SupportsClone) ----------------------------------------

    def clone(self, label: str) -> dict[str, Any]:
        """Copy the objects under the prefix into the bucket ``<bucket>-venomqa-<label>`` (see
        ``_clone``) and return this store's options with that bucket. Called on a store that is
        not set up; what a killed run left in the bucket is repaired first (as ``setup()``
        would), so the copy starts from the objects this store will."""
        if self._journal is not None:
            raise StoreError(f"clone of {self._where}: the store is set up", store=ADAPTER)
        client = self.connection.client()
        self.connection.call(CHECK_BUCKET, lambda: client.head_bucket(Bucket=self.bucket))
        self._repair_leftovers()
        name = self._cloner().clone(label)
        return {**self._options(), "bucket": name}

    def drop_clone(self, options: Mapping[str, Any]) -> None:
        """Empty and delete the copy made with ``options``, and unregister it."""
        name = options.get("bucket")
        if not isinstance(name, str):
            raise StoreError(f"drop_clone: no bucket in {sorted(options)}", store=ADAPTER)
        self._cloner().drop(name)

    def drop_leftover_clones(self) -> builtins.list[str]:
        """Remove the copies whose run has ended (killed before its clean-up); one line each."""
        return self._cloner().drop_leftovers()

    def _cloner(self) -> Cloner:
        return Cloner(self.connection, self.prefix, self.state_dir)

    def _options(self) -> dict[str, Any]:
        """The constructor options of this store."""
        connection = self.connection
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "endpoint_url": connection.endpoint_url,
            "region_name": connection.region_name,
            "aws_access_key_id": connection.aws_access_key_id,
            "aws_secret_access_key": connection.aws_secret_access_key,
            "aws_session_token": connection.aws_session_token,
            "addressing_style": connection.addressing_style,
            "state_dir": str(self.state_dir),
            "retry_for_s": connection.retry_for_s,
        }

    # -- StoragePort -----------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """The current content of ``key``, or None when it does not exist."""
        client = self.connection.client()

        def read() -> bytes | None:
            try:
                answer = client.get_object(Bucket=self.bucket, Key=key)
            except Exception as exc:
                if error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
                    return None
                raise
            data: bytes = answer["Body"].read()
            return data

        return self.connection.call(f"get key {key!r}", read)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write ``data`` to ``key`` (a new version while the store is set up)."""
        extra = {"ContentType": content_type} if content_type else {}
        client = self.connection.client()
        self._last_current = False
        self.connection.call(
            f"put key {key!r}",
            lambda: client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra),
        )

    def delete(self, key: str) -> None:
        """Delete ``key`` (a delete marker while the store is set up)."""
        client = self.connection.client()
        self._last_current = False
        self.connection.call(
            f"delete key {key!r}", lambda: client.delete_object(Bucket=self.bucket, Key=key)
        )

    def list(self, prefix: str = "") -> list[str]:
        """The current keys starting with the store's prefix and then ``prefix``, sorted."""
        full = prefix if prefix.startswith(self.prefix) else self.prefix + prefix
        client = self.connection.client()

        def keys() -> builtins.list[str]:
            found: builtins.list[str] = []
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                found.extend(entry["Key"] for entry in page.get("Contents", ()))
            return sorted(found)

        return self.connection.call(f"list keys under {full!r}", keys)

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
        """The current listing; notes the keys that (may have) changed since the previous one.
        The previous listing itself when the world said nothing wrote since and the store did
        not write either (see the module docstring)."""
        unchanged, self._unchanged = self._unchanged, False
        if unchanged and self._last_current:
            return self._last
        self._last_current = False  # until this listing is complete and noted
        listing, now = self.connection.call(
            operation, lambda: list_current(self._listing_api(), self.bucket, self.prefix)
        )
        last = self._last
        suspects = {k for k in listing.keys() | last.keys() if listing.get(k) != last.get(k)}
        suspects |= self._fresh
        self._dirty |= suspects
        self._records.forget(suspects)
        self._last, self._last_time, self._fresh = listing, now, fresh_keys(listing, now)
        self._last_current = True
        return listing

    def _reset_observations(self) -> None:
        self._last_current = self._unchanged = False
        self._seen, self._created, self._last = {}, {}, {}
        self._fresh, self._dirty = set(), set()

    def _observe(self, operation: str) -> tuple[CurrentListing, dict[str, frozenset[str]]]:
        """The current listing and, per key, the versions created since setup.

        Only the keys whose listing entry changed since the last observation (or between two
        listings since) have their versions listed (a few at a time, in parallel).
        """
        journal = self._require()
        listing = self._list(operation)
        seen = self._seen
        changed = sorted(
            self._dirty | {k for k in listing.keys() | seen.keys() if listing.get(k) != seen.get(k)}
        )
        created = dict(self._created)
        lister, patience = self._listing_api(), self.connection.patience

        def ask(key: str) -> frozenset[str]:
            ids = key_versions(lister, self.bucket, key)
            missing = created.get(key, frozenset()) - ids
            if missing:  # only a rollback removes versions, and it updates `created`
                raise S3Contradicts(f"key {key!r} lacks {len(missing)} version(s) it listed before")
            return ids

        def versions(key: str) -> tuple[str, frozenset[str]]:
            ids = patience.call(lambda: ask(key))
            return key, ids - journal.baseline.get(key, frozenset())

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
        self._seen, self._created, self._dirty = listing, created, set()
        return listing, created

    def _delete(self, versions: builtins.list[tuple[str, str]], operation: str) -> None:
        if versions:
            client = self.connection.client()
            self.connection.call(
                f"{operation}: delete {len(versions)} version(s)",
                lambda: delete_versions(client, self.bucket, versions),
            )

    def _set_versioning(self, status: str) -> None:
        client = self.connection.client()
        self.connection.call(
            f"set versioning to {status}",
            lambda: client.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": status}
            ),
        )

    def _repair_leftovers(self) -> None:
        """Finish the teardown of an earlier run that never ran it, and say what that took."""
        leftover = read_journal(self.journal_file)
        if leftover is None:
            return
        restored = self._restore(leftover, "finishing the teardown of an earlier run")
        warnings.warn(
            f"{self._where}: an earlier VenomQA run was stopped before its clean-up; "
            f"{restored.summary()}",
            LeftoversRepaired,
            stacklevel=3,
        )

    def _restore(self, journal: Journal, doing: str) -> Restored:
        """Put the bucket back as ``journal`` recorded it, then remove the journal; a failure
        is a StoreError that starts with ``doing`` (when given) and names the journal."""
        try:
            restored = restore_bucket(
                self.connection, self._listing_api(), self.bucket, self.prefix, journal
            )
        except StoreError as exc:
            failed = f"{doing} failed: " if doing else ""
            raise StoreError(
                f"{failed}{exc.detail}; the next setup() of this store, or `venomqa recover` "
                f"with the same configuration, finishes it (journal {self.journal_file})",
                store=ADAPTER,
            ) from exc
        remove_journal(self.journal_file)
        if journal.versioning is None and restored.versioning_restored:
            log.info(
                "%s was never versioned; S3 cannot undo that, so versioning is left "
                "Suspended (its objects are exactly as before the run)",
                self._where,
            )
        return restored


__all__ = ["S3Store", "S3Token"]
