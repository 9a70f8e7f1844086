"""The shadow: the store's copy of every tracked key's entry, with an incremental content hash.

It is filled once at setup (a SCAN of the tracked keys) and from then on only updated for keys
that changed, so it always holds what each key was *before* its next change: that is where undo
records come from, since a write by another process is only known after it happened.

The fingerprint is the sum (mod 2**64) of every entry's digest *minus* the sum of the digests of
the entries loaded at setup (``load``), maintained on each update: it costs nothing to read and
depends only on the set of (key, content) pairs, never on history (it is 0 for the setup state).
Being relative to setup, it needs no digest of a key that never changes: a string loaded at setup
is digested (from its DUMP, ``digest_of``) only when it is first replaced.
A heap of expiry times finds keys whose TTL ran out but that Redis has not reclaimed yet.

Once ``baseline()`` is called (at the end of setup), every update also keeps the key's entry at
setup (``initial``: its entry before its first update; None if it did not exist) and notes the
key in a set that ``take_changed()`` hands over and empties: that is all ``changed_records()``
needs to stay up to date in O(keys updated since its previous call). ``initial`` holds
references to entries the undo log keeps anyway; it grows with the keys changed since setup.
"""

from __future__ import annotations

import heapq
from collections import Counter

from venomqa_redis._keyspace import Entry, digest_of

_MASK = (1 << 64) - 1


class Shadow:
    """key -> Entry for every tracked key that exists."""

    def __init__(self) -> None:
        self.entries: dict[bytes, Entry] = {}
        self.total = 0
        #: From ``baseline()`` on: the entry at setup of every key updated since (None = absent).
        self.initial: dict[bytes, Entry | None] = {}
        self._expiries: list[tuple[int, bytes]] = []
        self._changed: set[bytes] = set()
        self._tracking = False

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: bytes) -> Entry | None:
        return self.entries.get(key)

    def load(self, key: bytes, entry: Entry) -> None:
        """Add a key read at setup, before ``baseline()``: the setup state is the fingerprint's
        zero, so nothing is added to the hash (and no digest is needed yet). O(1)."""
        self.entries[key] = entry
        if entry.image.expire_at >= 0:
            heapq.heappush(self._expiries, (entry.image.expire_at, key))

    def put(self, key: bytes, entry: Entry | None) -> None:
        """Replace ``key``'s entry (None removes it) and update the content hash."""
        old = self.entries.pop(key, None)
        if self._tracking:
            if key not in self.initial:
                self.initial[key] = old
            self._changed.add(key)
        if old is not None:
            self.total = (self.total - digest_of(key, old)) & _MASK
        if entry is not None:
            self.entries[key] = entry
            self.total = (self.total + digest_of(key, entry)) & _MASK
            if entry.image.expire_at >= 0:
                heapq.heappush(self._expiries, (entry.image.expire_at, key))

    def baseline(self) -> None:
        """The shadow now holds the setup state: from here on, remember what each key was."""
        self.initial = {}
        self._changed = set()
        self._tracking = True
        self.total = 0

    def setup_entry(self, key: bytes) -> Entry | None:
        """``key``'s entry at setup (None if it did not exist then)."""
        return self.initial[key] if key in self.initial else self.entries.get(key)

    def take_changed(self) -> set[bytes]:
        """The keys updated since the previous call (or since ``baseline()``)."""
        changed, self._changed = self._changed, set()
        return changed

    def expired(self, now_ms: int) -> set[bytes]:
        """Keys whose expiry is before ``now_ms`` (Redis may not have reclaimed them yet)."""
        due: set[bytes] = set()
        while self._expiries and self._expiries[0][0] < now_ms:
            expire_at, key = heapq.heappop(self._expiries)
            entry = self.entries.get(key)
            if entry is not None and entry.image.expire_at == expire_at:
                due.add(key)
        return due

    def fingerprint(self) -> str:
        return f"{self.total:016x}"

    def type_counts(self) -> dict[str, int]:
        counts = Counter(e.image.type.decode(errors="replace") for e in self.entries.values())
        return dict(sorted(counts.items()))
