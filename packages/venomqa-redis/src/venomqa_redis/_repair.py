"""Finishing a killed run's teardown: make the tracked keys and the configuration what the
journal (``_journal``) says they were at that run's setup.

``repair_leftovers`` is what ``setup()`` calls first: if the journal file exists it repairs,
removes the file and says what it did with a ``LeftoversRepaired`` warning (the CLI prints it
as one ``note:`` line; ``venomqa recover`` lists it). ``repair`` does the work:

- Every tracked key is read (SCAN + DUMP + PEXPIRETIME, one MULTI per batch) and compared with the
  baseline. A key that is not in the baseline is deleted. A baseline key that is missing or holds
  something else is put back with ``RESTORE ... REPLACE ABSTTL``: its original absolute expiry, so
  it keeps exactly the time to live it would have had. A baseline key whose expiry has passed by
  now is not restored (it would be gone anyway; a key the run created under its name is deleted).
- ``notify-keyspace-events`` is set back to the journal's value.

Keys that hold their baseline content are not written. Cost: O(tracked keys) to read, O(keys to
repair) to write, in MULTI batches. A journal written before the keys were read (a run killed
during its setup) has no baseline: then only the configuration is restored.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from venomqa.errors import LeftoversRepaired, StoreError

from venomqa_redis._errors import STORE_NAME, driver_errors
from venomqa_redis._journal import DamagedJournal, Journal, read_journal, remove_journal
from venomqa_redis._keyspace import BATCH, Image, read_images, scan_keys
from venomqa_redis._notify import CONFIG_KEY

#: One write of the repair: (key, DUMP, absolute expiry) to restore, or (key, None, 0) to delete.
Write = tuple[bytes, bytes | None, int]


@dataclass(frozen=True)
class Repaired:
    """What a repair did: keys restored, keys deleted, the configuration value set back."""

    restored: int
    deleted: int
    config: str | None

    def describe(self) -> str:
        """``restored 3 key(s) and deleted 2 key(s) ...``, for the LeftoversRepaired message."""
        done = f"restored {self.restored} key(s) and deleted {self.deleted} key(s) it left changed"
        if self.config is not None:
            done += f", and set {CONFIG_KEY} back to {self.config!r}"
        return done


def repair_leftovers(client: Any, path: Path, prefix: bytes, scope: str) -> None:
    """If a killed run left its journal at ``path``, repair from it, remove it and warn.

    ``scope`` names the server, database and prefix in messages. StoreError when the journal
    cannot be read (it is left alone) or the repair fails (the journal stays for another try).
    """
    try:
        leftover = read_journal(path)
    except (DamagedJournal, OSError) as exc:
        raise StoreError(
            f"{scope}: cannot read the journal an earlier run left ({exc}); if the database and "
            "its notify-keyspace-events are as they should be, delete the file",
            store=STORE_NAME,
        ) from exc
    if leftover is None:
        return
    with driver_errors(f"repairing an earlier run's leftovers (journal {path})", scope):
        repaired = repair(client, leftover, prefix)
    try:
        remove_journal(path)
    except OSError as exc:
        raise StoreError(f"cannot remove the journal {path}: {exc}", store=STORE_NAME) from exc
    started = datetime.fromtimestamp(leftover.started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    warnings.warn(
        f"{scope}: an earlier VenomQA run (started {started}, process {leftover.pid}) was "
        f"stopped before its clean-up; {repaired.describe()}",
        LeftoversRepaired,
        stacklevel=4,  # the caller of setup()
    )


def repair(client: Any, journal: Journal, prefix: bytes) -> Repaired:
    """Bring the keys under ``prefix`` and the configuration back to ``journal``'s."""
    restored = deleted = 0
    if journal.baseline is not None:
        seconds, micros = client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        current = read_images(client, scan_keys(client, prefix))
        writes = plan(journal.baseline, current, now_ms)
        _apply(client, writes)
        restored = sum(1 for _, dump, _ in writes if dump is not None)
        deleted = len(writes) - restored
    if journal.config is not None:
        client.config_set(CONFIG_KEY, journal.config)
    return Repaired(restored, deleted, journal.config)


def plan(
    baseline: Mapping[bytes, tuple[bytes, int]],
    current: Mapping[bytes, Image | None],
    now_ms: int,
) -> list[Write]:
    """The writes that turn ``current`` into ``baseline`` as of ``now_ms`` (expired keys gone)."""
    writes: list[Write] = [(key, None, 0) for key, image in current.items() if key not in baseline]
    for key, (dump, expire_at) in baseline.items():
        image = current.get(key)
        if 0 <= expire_at <= now_ms:  # its time to live would have run out by now
            if image is not None:
                writes.append((key, None, 0))
        elif image is None or image.dump != dump or image.expire_at != expire_at:
            writes.append((key, dump, expire_at))
    return writes


def _apply(client: Any, writes: list[Write]) -> None:
    for batch in _batches(writes):
        pipe = client.pipeline(transaction=True)
        for key, dump, expire_at in batch:
            if dump is None:
                pipe.delete(key)
            elif expire_at < 0:
                pipe.execute_command("RESTORE", key, 0, dump, "REPLACE")
            else:
                pipe.execute_command("RESTORE", key, expire_at, dump, "REPLACE", "ABSTTL")
        pipe.execute()


def _batches(writes: list[Write]) -> Iterator[list[Write]]:
    for start in range(0, len(writes), BATCH):
        yield writes[start : start + BATCH]
