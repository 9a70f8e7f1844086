"""The undo log: for each key changed since a checkpoint, the entry it had at that checkpoint.

Positions are absolute (they survive trimming). ``record`` keeps at most one entry per key between
two marks, the first, which is the key's value at the latest checkpoint; ``since(position)``
returns, for every key recorded at or after ``position``, its earliest recorded entry (its value
at that checkpoint), and ``undo_to(position)`` truncates the log there once a rollback has
succeeded (so a rollback cut short by a dropped connection can simply run again). ``original``
keeps the first entry of every key ever changed, so teardown can put the database back as it was
at setup.
"""

from __future__ import annotations

from venomqa_redis._keyspace import Entry


class UndoLog:
    """Prior entries of changed keys (None = the key did not exist), in change order."""

    def __init__(self) -> None:
        self._records: list[tuple[bytes, Entry | None]] = []
        self._base = 0
        self._since_mark: set[bytes] = set()
        self.original: dict[bytes, Entry | None] = {}

    @property
    def top(self) -> int:
        """The position the next record will get."""
        return self._base + len(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def record(self, key: bytes, previous: Entry | None) -> None:
        """Note that ``key`` is about to change from ``previous``."""
        self.original.setdefault(key, previous)
        if key not in self._since_mark:
            self._since_mark.add(key)
            self._records.append((key, previous))

    def mark(self) -> int:
        """Start a new checkpoint interval; returns its position."""
        self._since_mark.clear()
        return self.top

    def since(self, position: int) -> dict[bytes, Entry | None]:
        """Each key changed since ``position`` with its entry there (the log is unchanged)."""
        restore: dict[bytes, Entry | None] = {}
        for key, previous in reversed(self._records[max(position - self._base, 0) :]):
            restore[key] = previous  # walking backwards: the earliest record wins
        return restore

    def undo_to(self, position: int) -> None:
        """Drop the records from ``position`` on: the state is back to what it was there."""
        del self._records[max(position - self._base, 0) :]
        self._since_mark.clear()

    def trim(self, position: int) -> None:
        """Forget records below ``position`` (no live checkpoint needs them)."""
        drop = position - self._base
        if drop > 0:
            del self._records[:drop]
            self._base = position
