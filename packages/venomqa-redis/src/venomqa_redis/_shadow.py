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

Strings read at setup by the SCAN script are kept compact (``load_strings``): the script's own
reply values in three parallel lists (key, DUMP, expiry) and a key -> position map, built with
list and dict calls rather than a Python step per key. An ``Entry`` is built only for a key that is
read (``get``), and a key leaves that setup layer for ``entries`` once it is updated, so untouched
keys cost no object each (setup hands the journal the same lists, see ``_journal``).

Once ``baseline()`` is called (at the end of setup), every update also keeps the key's entry at
setup (``initial``: its entry before its first update; None if it did not exist) and notes the
key in a set that ``take_changed()`` hands over and empties: that is all ``changed_records()``
needs to stay up to date in O(keys updated since its previous call). ``initial`` holds
references to entries the undo log keeps anyway; it grows with the keys changed since setup.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from itertools import count

from venomqa_redis._keyspace import Entry, Image, digest_of

_MASK = (1 << 64) - 1


_STRING = b"string"


class Shadow:
    """key -> Entry for every tracked key that exists."""

    def __init__(self) -> None:
        #: Keys loaded one by one (``load``) or updated since setup; see ``get`` for the rest.
        self.entries: dict[bytes, Entry] = {}
        #: The setup layer (``load_strings``): parallel lists and each key's position in them.
        self._keys: list[bytes] = []
        self._dumps: list[bytes] = []
        self._expiries: list[int] = []
        self._position: dict[bytes, int] = {}
        #: Setup-layer keys updated since (they live in ``entries`` now, or nowhere if deleted).
        self._moved: set[bytes] = set()
        self.total = 0
        #: From ``baseline()`` on: the entry at setup of every key updated since (None = absent).
        self.initial: dict[bytes, Entry | None] = {}
        self._expiries_heap: list[tuple[int, bytes]] = []
        self._changed: set[bytes] = set()
        self._tracking = False

    def __len__(self) -> int:
        return len(self.entries) + len(self._position) - len(self._moved)

    def get(self, key: bytes) -> Entry | None:
        entry = self.entries.get(key)
        if entry is not None or not self._position:
            return entry
        return self._layer_entry(key)

    def _layer_position(self, key: bytes) -> int | None:
        """``key``'s position in the setup layer (None if it is not there or was updated since)."""
        position = self._position.get(key)
        return None if position is None or key in self._moved else position

    def _layer_entry(self, key: bytes) -> Entry | None:
        """``key``'s entry in the setup layer (None if it is not there or was updated since)."""
        position = self._layer_position(key)
        return None if position is None else self._entry_at(position)

    def _entry_at(self, position: int) -> Entry:
        image = Image(_STRING, self._dumps[position], int(self._expiries[position]))
        return Entry(image, None)

    def tracked_keys(self) -> Iterator[bytes]:
        """Every key the shadow holds. O(keys)."""
        yield from self.entries
        moved = self._moved
        yield from (key for key in self._keys if key not in moved)

    def same_image(self, key: bytes, image: Image | None) -> bool:
        """Whether ``key`` holds ``image`` (None: whether it is absent), building no entry."""
        entry = self.entries.get(key)
        if entry is None and self._position:
            position = self._layer_position(key)
            if position is not None:
                return (
                    image is not None
                    and image.dump == self._dumps[position]
                    and image.expire_at == self._expiries[position]
                )
        if entry is None or image is None:
            return entry is None and image is None
        return entry.same_as(image)

    def load(self, key: bytes, entry: Entry) -> None:
        """Add a key read at setup, before ``baseline()``: the setup state is the fingerprint's
        zero, so nothing is added to the hash (and no digest is needed yet). O(1)."""
        self.entries[key] = entry
        if entry.image.expire_at >= 0:
            heapq.heappush(self._expiries_heap, (entry.image.expire_at, key))

    def load_strings(self, keys: list[bytes], dumps: list[bytes], expiries: list[int]) -> None:
        """Add string keys read at setup (parallel lists: keys, DUMPs, expiries), before
        ``baseline()``. O(keys), in ``list`` and ``dict`` calls: no
        Python step per key but for keys with a TTL."""
        start = len(self._keys)
        self._keys += keys
        self._dumps += dumps
        self._expiries += expiries
        self._position.update(zip(keys, count(start)))
        if len(self._position) != len(self._keys):  # SCAN may return a key twice
            self._drop_repeats()
        if expiries.count(-1) != len(expiries):
            timed = [(e, key) for key, e in zip(keys, expiries, strict=True) if e >= 0]
            self._expiries_heap += timed
            heapq.heapify(self._expiries_heap)

    def _drop_repeats(self) -> None:
        """Keep each setup-layer key once, at its latest position (rare: O(layer))."""
        keep = sorted(self._position.values())
        self._keys = [self._keys[i] for i in keep]
        self._dumps = [self._dumps[i] for i in keep]
        self._expiries = [self._expiries[i] for i in keep]
        self._position = dict(zip(self._keys, count()))

    def put(self, key: bytes, entry: Entry | None) -> None:
        """Replace ``key``'s entry (None removes it) and update the content hash."""
        old = self.entries.pop(key, None)
        if old is None and (position := self._layer_position(key)) is not None:
            old = self._entry_at(position)
            self._moved.add(key)
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
                heapq.heappush(self._expiries_heap, (entry.image.expire_at, key))

    def baseline(self) -> None:
        """The shadow now holds the setup state: from here on, remember what each key was."""
        self.initial = {}
        self._changed = set()
        self._tracking = True
        self.total = 0

    def setup_entry(self, key: bytes) -> Entry | None:
        """``key``'s entry at setup (None if it did not exist then)."""
        return self.initial[key] if key in self.initial else self.get(key)

    def take_changed(self) -> set[bytes]:
        """The keys updated since the previous call (or since ``baseline()``)."""
        changed, self._changed = self._changed, set()
        return changed

    def expired(self, now_ms: int) -> set[bytes]:
        """Keys whose expiry is before ``now_ms`` (Redis may not have reclaimed them yet)."""
        due: set[bytes] = set()
        while self._expiries_heap and self._expiries_heap[0][0] < now_ms:
            expire_at, key = heapq.heappop(self._expiries_heap)
            entry = self.get(key)
            if entry is not None and entry.image.expire_at == expire_at:
                due.add(key)
        return due

    def fingerprint(self) -> str:
        return f"{self.total:016x}"

    def type_counts(self) -> dict[str, int]:
        counts = Counter(e.image.type.decode(errors="replace") for e in self.entries.values())
        layer = len(self._position) - len(self._moved)
        if layer:
            counts["string"] += layer
        return dict(sorted(counts.items()))
