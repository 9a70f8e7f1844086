"""Putting a bucket (or prefix) back as setup found it, and saying what that took.

``teardown()`` does this at the end of a run; the next ``setup()`` (or ``venomqa recover``) does
it for a run that was killed before its teardown, from the journal. Both delete every version
and delete marker that is not in the journal's baseline and restore the versioning status.
"""

from __future__ import annotations

from dataclasses import dataclass

from venomqa_s3._connection import Connection
from venomqa_s3._journal import Journal
from venomqa_s3._listing import Lister, delete_versions, list_versions


@dataclass(frozen=True)
class Restored:
    """What a restore did: versions and delete markers removed, on how many keys, the
    versioning status it restored to (the journal's; None for a never-versioned bucket), and
    whether versioning had to be changed for that."""

    removed: int
    keys: int
    versioning: str | None
    versioning_restored: bool

    def summary(self) -> str:
        """One line: what was removed and what became of versioning."""
        text = (
            f"removed {self.removed} object version(s) and delete marker(s) on {self.keys} key(s)"
        )
        if self.versioning == "Enabled":
            return f"{text}; versioning stays Enabled, as it was"
        if not self.versioning_restored:
            return f"{text}; versioning was already Suspended"
        if self.versioning == "Suspended":
            return f"{text} and set versioning back to Suspended"
        return (
            f"{text} and set versioning to Suspended (the bucket was never versioned, which "
            "S3 cannot restore)"
        )


def restore_bucket(
    connection: Connection, lister: Lister, bucket: str, prefix: str, journal: Journal
) -> Restored:
    """Delete the versions created since ``journal``'s baseline and restore versioning.

    Raises StoreError when S3 fails (after waiting out a brief outage); every step is safe to
    run again.
    """
    client = connection.client()
    now = connection.call(
        "list the bucket's versions", lambda: list_versions(lister, bucket, prefix)
    )
    doomed = [
        (key, version)
        for key, ids in now.items()
        for version in sorted(ids - journal.baseline.get(key, frozenset()))
    ]
    if doomed:
        connection.call(
            f"delete {len(doomed)} version(s)", lambda: delete_versions(client, bucket, doomed)
        )
    suspend = False
    if journal.versioning != "Enabled":
        status = connection.call(
            "read the bucket's versioning status",
            lambda: client.get_bucket_versioning(Bucket=bucket).get("Status"),
        )
        suspend = status == "Enabled"
    if suspend:
        connection.call(
            "set versioning to Suspended",
            lambda: client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
            ),
        )
    return Restored(len(doomed), len({key for key, _ in doomed}), journal.versioning, suspend)
