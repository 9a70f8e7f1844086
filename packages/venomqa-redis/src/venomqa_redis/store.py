"""The Redis store: checkpoint and roll back one logical database that another process writes.

How it works (DESIGN §4):

- ``setup()`` turns on keyspace notifications (saving the server's ``notify-keyspace-events``),
  subscribes to the database's key events on a dedicated connection, and reads every tracked key
  once into a *shadow* (DUMP + expiry + content digest): O(keys in the database), once per run.
- Before each checkpoint, rollback and fingerprint the store *syncs*: it publishes a marker on a
  private channel, reads the key events that arrived before it (see ``_notify``), re-reads just
  those keys, and for each one that changed appends its shadow entry (its value before the
  change) to an undo log before updating the shadow. O(keys changed since the last sync).
- ``checkpoint()`` is a sync plus a position in the undo log and the server's clock.
- ``rollback(token)`` RESTOREs (REPLACE) or DELetes, in one MULTI, just the keys recorded after the
  token: O(keys changed since the checkpoint). Every type goes through DUMP/RESTORE, so counters
  (INCR) come back with their value; a key gets back the remaining time to live it had at the
  checkpoint, and keys without a TTL stay without.
- ``fingerprint()`` is a sum of per-key digests maintained with the shadow: equal for equal
  contents (key names, types, canonical values, TTL or not), whatever the history.
- ``changed_records()`` is a sync plus the keys whose content differs from setup, one record per
  key with its fields (see ``_records`` for the model: collection = key family, ``@key``,
  ``@type``, ``@ttl``, hash fields, JSON strings' keys, ``@value``): O(keys changed since the
  previous call) to bring up to date, from what the sync read anyway (no extra round trip), plus
  O(keys that differ from setup) to list them when one changed; otherwise the same tuple again.
  What a key held at setup comes from the shadow (a string's DUMP is decoded, other types keep
  their canonical content).
- ``teardown()`` rolls the database back to its state at ``setup()``, unsubscribes, and puts
  ``notify-keyspace-events`` back exactly as it was, also after an error or Ctrl-C. The store
  creates no key and uses no other database.

If the server forbids CONFIG (managed Redis, ACLs), the store warns and falls back to a SCAN-based
diff of the tracked keys at each sync: correct, but O(keys in the database) per sync. The same
happens after events may have been lost (the subscriber was disconnected) or when the key count
disagrees with the shadow (FLUSHDB and SWAPDB send no key events). ``mode="scan"`` forces it.

Limits: Redis 7.0 or newer (PEXPIRETIME). The API must be idle while the store checkpoints or
rolls back (the explorer only does so between calls). The shadow holds a copy of the tracked
keys in memory (DUMPs, plus the canonical content of non-string keys); use ``prefix`` to track
part of a large database. Nothing else may change ``notify-keyspace-events`` during a run.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from venomqa.errors import StoreError, StorePermissionError
from venomqa.ports.store import RecordChange
from venomqa.stores.kit import TokenStack, already_set_up, new_serial, not_set_up

from venomqa_redis import _access
from venomqa_redis._errors import STORE_NAME, driver_errors, is_forbidden
from venomqa_redis._keyspace import (
    Entry,
    Image,
    entries_for,
    read_entries,
    read_images,
    scan_keys,
)
from venomqa_redis._notify import KeyspaceEvents, covers, merged_flags
from venomqa_redis._records import ChangedRecords
from venomqa_redis._shadow import Shadow
from venomqa_redis._undo import UndoLog

T = TypeVar("T")

MODES = ("auto", "notify", "scan")
_CONFIG_KEY = "notify-keyspace-events"


@dataclass(frozen=True)
class RedisToken:
    """A checkpoint: a position in the undo log and the server's clock (unix ms) at that moment."""

    serial: int
    position: int
    server_ms: int


class RedisStore:
    """Checkpoint/rollback of one Redis logical database (DESIGN §4), also across processes.

    Options (the ``venomqa.yaml`` keys): ``url`` (``redis://[user:pass@]host:port/db``),
    ``prefix`` (track only keys starting with it; default every key), ``mode`` (``auto``:
    keyspace notifications, or a SCAN diff if CONFIG is forbidden; ``notify``: notifications or
    fail; ``scan``: always the SCAN diff), ``queues`` (list keys whose lengths ``observe()``
    reports). Also a CachePort (``get``/``set``/``delete``/``keys``) and a QueuePort
    (``length``/``peek``) for invariants.
    """

    name = STORE_NAME

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "",
        mode: str = "auto",
        queues: Iterable[str] = (),
        timeout_s: float = 10.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if isinstance(queues, str):
            raise ValueError("queues must be a list of key names, not a string")
        self.url = url
        self.prefix = prefix
        self.mode = mode
        self.queues = list(queues)
        self.timeout_s = timeout_s
        self._prefix = _access.to_key(prefix)
        self._client: Any = None
        self._where = "redis"
        self._events: KeyspaceEvents | None = None
        self._saved_config: str | None = None
        self._shadow = Shadow()
        self._undo = UndoLog()
        self._records = ChangedRecords(self._prefix)
        self._tokens = TokenStack(STORE_NAME, RedisToken)
        self._pending: set[bytes] = set()
        self._full_diff_needed = False
        self._suspect = False
        self._setup_ms = 0
        self.tracking = "none"

    # -- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        """Enable key events (or fall back to SCAN diffs) and read the tracked keys once."""
        if self._client is not None:
            raise already_set_up(self._where, STORE_NAME)
        import redis

        try:
            client = redis.Redis.from_url(
                self.url, socket_timeout=self.timeout_s, socket_connect_timeout=self.timeout_s
            )
        except ValueError as exc:
            raise StoreError(f"invalid url {self.url!r}: {exc}", store=STORE_NAME) from exc
        kwargs = client.connection_pool.connection_kwargs
        self._db = int(kwargs.get("db", 0))
        self._where = f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{self._db}"
        self._client = client
        self._shadow, self._undo, self._pending = Shadow(), UndoLog(), set()
        self._tokens.reset()
        self._records = ChangedRecords(self._prefix)
        self._full_diff_needed = self._suspect = False
        try:
            with driver_errors("setup", self._where):
                client.ping()
                self._check_version()
                self._start_tracking()
                entries = read_entries(client, scan_keys(client, self._prefix))
                for key, entry in entries.items():
                    self._shadow.put(key, entry)
                self._shadow.baseline()
                self._setup_ms = self._server_ms()
        except BaseException:
            self._shutdown()
            raise

    def teardown(self) -> None:
        """Put the database back as it was at setup and restore the server's configuration."""
        if self._client is None:
            return
        try:
            with driver_errors("teardown", self._where):
                if self._suspect:  # interrupted mid-command: start from clean connections
                    self._client.connection_pool.disconnect()
                    self._full_diff_needed = True
                    if self._events is not None:
                        self._events.stop()
                        self._events.start()
                self._sync()
                plan = {
                    key: entry
                    for key, entry in self._undo.original.items()
                    if not _same(self._shadow.get(key), entry)
                }
                self._write_back(plan, self._setup_ms)
        finally:
            self._shutdown()

    # -- contract --------------------------------------------------------------------------

    def checkpoint(self) -> RedisToken:
        """Remember the current state: O(keys changed since the last sync)."""
        now_ms = self._guard("checkpoint", self._sync)
        token = self._tokens.push(RedisToken(new_serial(), self._undo.mark(), now_ms))
        return token

    def rollback(self, token: Any) -> None:
        """Restore every key changed since ``token``; tokens taken after it become invalid."""
        self._require()
        token = self._tokens.require(token)

        def run() -> None:
            if self._events is None or self._full_diff_needed:
                self._sync()
                self._write_back(self._plan(token), token.server_ms)
            else:
                self._rollback_in_one_trip(token)

        self._guard("rollback", run)
        self._tokens.rolled_back_to(token)

    def release(self, token: Any) -> None:
        """Forget ``token``; undo records no live token needs are dropped."""
        if self._tokens.release(token):
            oldest = min((t.position for t in self._tokens), default=self._undo.top)
            self._undo.trim(oldest)

    def fingerprint(self) -> str:
        """16 hex digits, equal for equal contents of the tracked keys (TTL presence included)."""
        self._guard("fingerprint", self._sync)
        return self._shadow.fingerprint()

    def changed_records(self) -> Sequence[RecordChange]:
        """The tracked keys whose content differs from setup, one record per key (``_records``
        describes the fields): O(keys changed since the previous call), then cached."""

        def current() -> Sequence[RecordChange]:
            self._sync()
            return self._records.update(self._shadow)

        return self._guard("changed_records", current)

    def observe(self) -> dict[str, Any]:
        """Key count, keys per type, how changes are tracked, and the configured queues' lengths."""
        client = self._require()

        def summary() -> dict[str, Any]:
            self._sync()
            result: dict[str, Any] = {
                "keys": len(self._shadow),
                "types": self._shadow.type_counts(),
                "tracking": self.tracking,
            }
            if self.prefix:
                result["prefix"] = self.prefix
            if self.queues:
                result["queues"] = {q: int(client.llen(_access.to_key(q))) for q in self.queues}
            return result

        return self._guard("observe", summary)

    # -- CachePort and QueuePort -----------------------------------------------------------

    def get(self, key: str) -> Any:
        """The key's value (str, dict, list, set, [(member, score)]...), or None if absent."""
        client = self._require()
        return self._guard(f"get {key!r}", lambda: _access.read_value(client, _access.to_key(key)))

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """SET a string value (str, bytes or number), with an optional TTL in seconds."""
        client = self._require()
        px = None if ttl is None else max(1, int(ttl * 1000))
        self._guard(f"set {key!r}", lambda: client.set(_access.to_key(key), value, px=px))

    def delete(self, key: str) -> None:
        """Delete the key (nothing happens if it does not exist)."""
        client = self._require()
        self._guard(f"delete {key!r}", lambda: client.delete(_access.to_key(key)))

    def keys(self, pattern: str = "*") -> list[str]:
        """Names of the keys matching the glob ``pattern`` (SCAN, not KEYS), sorted."""
        client = self._require()

        def scan() -> list[str]:
            found = client.scan_iter(match=_access.to_key(pattern), count=1000)
            return sorted({str(_access.text(k)) for k in found})

        return self._guard(f"keys {pattern!r}", scan)

    def length(self, queue: str) -> int:
        """How many items wait in the list ``queue``."""
        client = self._require()
        return int(self._guard(f"length of {queue!r}", lambda: client.llen(_access.to_key(queue))))

    def peek(self, queue: str, count: int = 10) -> list[Any]:
        """The first ``count`` items of the list ``queue`` (the head, LRANGE 0 count-1)."""
        client = self._require()

        def read() -> list[Any]:
            return [_access.text(v) for v in client.lrange(_access.to_key(queue), 0, count - 1)]

        return self._guard(f"peek into {queue!r}", read)

    # -- internals -------------------------------------------------------------------------

    def _require(self) -> Any:
        if self._client is None:
            raise not_set_up(self._where, STORE_NAME)
        return self._client

    def _guard(self, operation: str, fn: Callable[[], T]) -> T:
        self._require()
        try:
            with driver_errors(operation, self._where):
                return fn()
        except BaseException:
            self._suspect = True  # the connection or the shadow may be half-updated
            self._full_diff_needed = True
            raise

    def _check_version(self) -> None:
        version = str(self._client.info("server").get("redis_version", "0"))
        major = int(version.split(".")[0] or 0)
        if major < 7:
            raise StoreError(
                f"{self._where} runs Redis {version}; the redis store needs 7.0 or newer "
                "(for PEXPIRETIME)",
                store=STORE_NAME,
            )

    def _start_tracking(self) -> None:
        if self.mode == "scan":
            self.tracking = "scan"
            return
        import redis.exceptions as rex

        try:
            current = _config_value(self._client.config_get(_CONFIG_KEY))
            if not covers(current):
                self._client.config_set(_CONFIG_KEY, merged_flags(current))
                self._saved_config = current
        except rex.ResponseError as exc:
            if not is_forbidden(exc):
                raise
            problem = (
                f"{self._where} refuses CONFIG GET/SET {_CONFIG_KEY} ({exc}), which the redis "
                "store needs to learn which keys another process changed"
            )
            if self.mode == "notify":
                raise StorePermissionError(
                    f"{problem}; allow CONFIG for this user, set {_CONFIG_KEY} to at least "
                    "'Eg$lshzxetd' yourself and keep mode 'notify', or use mode 'scan'",
                    store=STORE_NAME,
                ) from exc
            warnings.warn(
                f"{problem}; falling back to a SCAN diff of the tracked keys at every "
                "checkpoint, rollback and fingerprint: correct, but slow on large databases "
                "(narrow it with the 'prefix' option)",
                RuntimeWarning,
                stacklevel=4,
            )
            self.tracking = "scan"
            return
        self._events = KeyspaceEvents(self._client, self._db, timeout_s=self.timeout_s)
        self._events.start()
        self.tracking = "notify"

    def _shutdown(self) -> None:
        """Stop listening, restore the configuration, close connections. Raises only at the end."""
        client, self._client = self._client, None
        events, self._events = self._events, None
        saved, self._saved_config = self._saved_config, None
        self._pending = set()
        self._tokens.reset()
        if events is not None:
            events.stop()
        try:
            if saved is not None and client is not None:
                with driver_errors(f"restoring {_CONFIG_KEY}", self._where):
                    try:
                        client.config_set(_CONFIG_KEY, saved)
                    except Exception:
                        client.connection_pool.disconnect()  # a fresh connection, then retry
                        client.config_set(_CONFIG_KEY, saved)
        finally:
            if client is not None:
                client.close()

    def _server_ms(self) -> int:
        seconds, micros = self._client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def _sync(self) -> int:
        """Bring the shadow (and undo log) up to date with the server; returns its clock (ms)."""
        client = self._require()
        events = self._events
        pipe = client.pipeline(transaction=False)
        marker = b""
        if events is not None:
            marker = events.next_marker()
            pipe.publish(events.channel, marker)
        pipe.time()
        pipe.dbsize()
        replies = pipe.execute()
        seconds, micros = replies[-2]
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        dbsize = int(replies[-1])
        changed = events.collect(marker) if events is not None else None
        if changed is None or self._full_diff_needed:
            self._full_diff()
            return now_ms
        changed |= self._pending
        self._pending = set()
        keys = {k for k in changed if k.startswith(self._prefix)} | self._shadow.expired(now_ms)
        if keys:
            self._apply(read_entries(client, keys))
        if (
            not self._prefix
            and dbsize != len(self._shadow)
            and client.dbsize() != len(self._shadow)
        ):
            self._full_diff()  # FLUSHDB/SWAPDB send no key events
        return now_ms

    def _full_diff(self) -> None:
        """Compare every tracked key with the shadow: O(keys in the database)."""
        client = self._client
        images: dict[bytes, Image | None] = read_images(client, scan_keys(client, self._prefix))
        for key in self._shadow.entries:
            images.setdefault(key, None)
        changed = {
            k: img for k, img in images.items() if not _image_matches(self._shadow.get(k), img)
        }
        self._apply(entries_for(client, changed))
        self._pending = set()
        self._full_diff_needed = False

    def _apply(self, entries: dict[bytes, Entry | None]) -> None:
        for key, entry in entries.items():
            old = self._shadow.get(key)
            if _same(old, entry):
                continue
            self._undo.record(key, old)
            self._shadow.put(key, entry)

    def _plan(self, token: RedisToken) -> dict[bytes, Entry | None]:
        """The entry each key changed since ``token`` had there (the log is truncated to it)."""
        restore = self._undo.undo_to(token.position)
        return {k: e for k, e in restore.items() if not _same(self._shadow.get(k), e)}

    def _rollback_in_one_trip(self, token: RedisToken) -> None:
        """The common case: one MULTI that marks, restores and marks again.

        Events before the first marker are changes not synced yet; if any touched a key outside
        the plan (or events were lost, or the key count is off), a second, slower pass fixes it.
        """
        events = self._events
        assert events is not None
        plan = self._plan(token)
        before, after = events.next_marker(), events.next_marker()
        pipe = self._client.pipeline(transaction=True)
        pipe.publish(events.channel, before)
        pipe.time()
        expiring = self._queue_restores(pipe, plan, token.server_ms)
        pipe.publish(events.channel, after)
        pipe.dbsize()
        replies = pipe.execute()
        seconds, micros = replies[1]
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        self._absorb_restores(plan, expiring, replies[2 + len(plan) : -2])
        seen = events.collect_between([before, after])
        dbsize = int(replies[-1])
        if seen is None or (not self._prefix and dbsize != len(self._shadow)):
            self._full_diff()  # records what the branch did beyond the plan, then undo it too
            self._write_back(self._plan(token), token.server_ms)
            return
        unsynced = {k for k in seen[0] if k.startswith(self._prefix)} - plan.keys()
        unsynced |= self._shadow.expired(now_ms) - plan.keys()
        # Not in the log since the token, so the shadow still holds their value at the token.
        self._write_back({k: self._shadow.get(k) for k in unsynced}, token.server_ms)

    def _write_back(self, plan: dict[bytes, Entry | None], server_ms: int) -> None:
        """RESTORE/DEL ``plan`` in one MULTI; TTLs get their remaining time as of ``server_ms``."""
        if not plan:
            return
        pipe = self._client.pipeline(transaction=True)
        expiring = self._queue_restores(pipe, plan, server_ms)
        events = self._events
        marker = b""
        if events is not None:
            marker = events.next_marker()
            pipe.publish(events.channel, marker)
        replies = pipe.execute()
        self._absorb_restores(plan, expiring, replies[len(plan) :])
        if events is not None:
            seen = events.collect(marker)
            if seen is None:
                self._full_diff_needed = True
            else:
                self._pending |= seen - plan.keys()

    @staticmethod
    def _queue_restores(pipe: Any, plan: dict[bytes, Entry | None], server_ms: int) -> list[bytes]:
        """Queue one RESTORE or DEL per key, then PEXPIRETIME of each key given a TTL."""
        expiring: list[bytes] = []
        for key, entry in plan.items():
            if entry is None:
                pipe.delete(key)
                continue
            expire_at = entry.image.expire_at
            remaining = 0 if expire_at < 0 else expire_at - server_ms
            if expire_at >= 0 and remaining <= 0:  # its time had run out at the checkpoint
                pipe.delete(key)
                continue
            pipe.execute_command("RESTORE", key, remaining, entry.image.dump, "REPLACE")
            if remaining > 0:
                expiring.append(key)
        for key in expiring:
            pipe.execute_command("PEXPIRETIME", key)
        return expiring

    def _absorb_restores(
        self, plan: dict[bytes, Entry | None], expiring: list[bytes], replies: list[Any]
    ) -> None:
        """Update the shadow to what ``_queue_restores`` wrote (replies: the PEXPIRETIMEs...)."""
        new_expiry = dict(zip(expiring, replies[: len(expiring)], strict=True))
        for key, entry in plan.items():
            if entry is not None and key in new_expiry:
                image = Image(entry.image.type, entry.image.dump, int(new_expiry[key]))
                self._shadow.put(key, Entry(image, entry.digest, entry.content))
            elif entry is not None and entry.image.expire_at < 0:
                self._shadow.put(key, entry)
            else:  # deleted, or its time had run out at the checkpoint
                self._shadow.put(key, None)


def _same(a: Entry | None, b: Entry | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.same_as(b.image)


def _image_matches(entry: Entry | None, image: Image | None) -> bool:
    if entry is None or image is None:
        return entry is None and image is None
    return entry.same_as(image)


def _config_value(reply: Any) -> str:
    for key, value in dict(reply).items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name == _CONFIG_KEY:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""
