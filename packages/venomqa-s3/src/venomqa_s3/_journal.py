"""A small local file that lets a later run undo a run that was killed before its teardown.

``setup()`` writes, before it changes anything in the bucket, the bucket's original versioning
state and the ids of every version under the prefix (the baseline); ``teardown()`` removes the
file once the bucket is back as it was. If a run dies in between (SIGKILL, power loss), the next
``setup()`` on the same endpoint, bucket and prefix finds the file and finishes the teardown.

The file lives in ``state_dir`` (default ``$XDG_CACHE_HOME/venomqa/s3`` or ``~/.cache/venomqa/s3``)
and holds no credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Journal:
    """What teardown needs: the original versioning status and the baseline version ids."""

    versioning: str | None  # "Enabled", "Suspended", or None for a never-versioned bucket
    baseline: dict[str, frozenset[str]]


def default_state_dir() -> Path:
    """``$XDG_CACHE_HOME/venomqa/s3``, or ``~/.cache/venomqa/s3``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "venomqa" / "s3"


def journal_path(state_dir: Path, endpoint_url: str | None, bucket: str, prefix: str) -> Path:
    """The journal file of one endpoint, bucket and prefix."""
    name = hashlib.blake2b(
        f"{endpoint_url or 'aws'}\0{bucket}\0{prefix}".encode(), digest_size=10
    ).hexdigest()
    return state_dir / f"{bucket[:40]}-{name}.json"


def write_journal(path: Path, journal: Journal, *, describe: Mapping[str, str | None]) -> None:
    """Write ``journal`` atomically (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        **describe,
        "versioning": journal.versioning,
        "baseline": {key: sorted(ids) for key, ids in journal.baseline.items()},
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(temporary, path)


def read_journal(path: Path) -> Journal | None:
    """The journal in ``path``, or None when there is none."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    baseline = {str(k): frozenset(map(str, v)) for k, v in payload["baseline"].items()}
    return Journal(payload.get("versioning"), baseline)


def remove_journal(path: Path) -> None:
    """Delete the journal file (nothing happens when it is already gone)."""
    path.unlink(missing_ok=True)
