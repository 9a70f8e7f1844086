"""Which listed objects may be rewritten without the next listing showing it.

A listing entry is (ETag, size, LastModified), and LastModified has a resolution of one second.
So an object rewritten with the same bytes (or deleted and written again) within the second of
its current version looks exactly the same in the next listing, though another version is
current and the store never saw it. That can only happen to an object whose LastModified is the
second the listing was made in: an older object rewritten now gets a newer LastModified.

``fresh_keys`` names those objects, from the server's own clock (the ``Date`` header of the
listing's answer), with a margin for the two clocks S3 may use; the store treats them as changed
at its next observation (it lists their versions and reads their heads again). The cost is
bounded by the objects written in the last seconds, not by the size of the bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

#: How far apart the clocks behind ``Date`` and LastModified may be, in seconds.
MARGIN_S = 1

_SECOND = "%Y-%m-%dT%H:%M:%S"  # LastModified values start like this (UTC), whatever follows


def server_time(date_header: str | None) -> datetime:
    """The time an answer was made, from its ``Date`` header (this machine's clock without)."""
    if date_header:
        try:
            return parsedate_to_datetime(date_header).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)


def fresh_keys(listing: Mapping[str, tuple[str, int, str]], now: datetime) -> set[str]:
    """The keys whose LastModified is within ``MARGIN_S`` seconds of ``now`` (or later)."""
    since = (now - timedelta(seconds=MARGIN_S)).strftime(_SECOND)
    return {key for key, (_, _, modified) in listing.items() if modified[:19] >= since}
