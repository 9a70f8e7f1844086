"""The Redis store: checkpoint and roll back one logical database that another process writes.

How it works (the store contract: docs/plugins.md, "A store"):

- ``setup()`` turns on keyspace notifications (saving the server's ``notify-keyspace-events``),
  subscribes to the database's key events on a dedicated connection, and reads every tracked key
  once into a *shadow* (DUMP + expiry; a content digest for non-strings): O(keys in the
  database), once per run, through a server-side script returning ~1,000 keys per call
  (``_keyspace.scan_images``; ~0.3 s per 1e5 small strings).
- Before each checkpoint, rollback and fingerprint the store *syncs*: it publishes a marker on a
  private channel, reads the key events that arrived before it (see ``_notify``), re-reads just
  those keys, and for each one that changed appends its shadow entry (its value before the
  change) to an undo log before updating the shadow. O(keys changed since the last sync).
- ``checkpoint()`` is a sync plus a position in the undo log and the server's clock.
- ``rollback(token)`` RESTOREs (REPLACE) or DELetes, in one MULTI, just the keys recorded after the
  token: O(keys changed since the checkpoint). Every type goes through DUMP/RESTORE, so counters
  (INCR) come back with their value; a key gets back the remaining time to live it had at the
  checkpoint, and keys without a TTL stay without.
- ``fingerprint()`` is a sum of per-key digests maintained with the shadow, relative to setup
  (``_shadow``: a key is digested only once it changes): equal for equal contents (key names,
  types, canonical values, TTL or not), whatever the history; 0 for the setup state.
- ``changed_records()`` is a sync plus the keys whose content differs from setup, one record per
  key with its fields (see ``_records`` for the model: collection = key family, ``@key``,
  ``@type``, ``@ttl``, hash fields, JSON strings' keys, ``@value``): O(keys changed since the
  previous call) to bring up to date, from what the sync read anyway (no extra round trip), plus
  O(keys that differ from setup) to list them when one changed; otherwise the same tuple again.
  What a key held at setup comes from the shadow (a string's DUMP is decoded, other types keep
  their canonical content).
- ``teardown()`` rolls the database back to its state at ``setup()``, unsubscribes, and puts
  ``notify-keyspace-events`` back exactly as it was, also after an error or Ctrl-C. The store
  creates no key and uses no other database (except copies for parallel workers, made only by
  ``clone()``: see ``_clone``).

A run killed before its teardown (SIGKILL, a power cut) leaves a journal on disk (``_journal``:
the original ``notify-keyspace-events`` and the keys' setup content, written at setup); the next
``setup()`` on the same server, database and prefix (or ``venomqa recover``) first puts the keys
and the configuration back from it and says so with a ``LeftoversRepaired`` warning
(``_repair``). The store's connections are named ``venomqa`` and ``venomqa-events`` and reconnect
by themselves when dropped (``_connection``); events lost meanwhile trigger the full diff below.

If the server forbids CONFIG (managed Redis, ACLs), the store warns (``VenomQAWarning``) and falls
back to a SCAN-based diff of the tracked keys at each sync: correct, but O(keys in the database)
per sync. The same happens after events may have been lost (the subscriber was disconnected) or
when the key count disagrees with the shadow (FLUSHDB and SWAPDB send no key events).
``mode="scan"`` forces it.

Limits: Redis 7.0 or newer (PEXPIRETIME). The API must be idle while the store checkpoints or
rolls back (the explorer only does so between calls). The shadow holds a copy of the tracked
keys in memory (DUMPs, plus the canonical content of non-string keys); use ``prefix`` to track
part of a large database. Nothing else may change ``notify-keyspace-events`` during a run.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from venomqa.errors import StoreError, StorePermissionError, VenomQAWarning
from venomqa.ports.store import RecordChange
from venomqa.stores.kit import TokenStack, already_set_up, new_serial, not_set_up

from venomqa_redis import _access
from venomqa_redis._clone import CLONE_REGISTRY_DB, Cloner, with_db
from venomqa_redis._connection import (
    COMMAND_CLIENT,
    EVENTS_CLIENT,
    Server,
    dropped_quickly,
    open_client,
    server_of,
)
from venomqa_redis._errors import SETUP, STORE_NAME, driver_errors, is_forbidden
from venomqa_redis._journal import (
    Journal,
    JournalWriter,
    default_state_dir,
    journal_path,
    remove_journal,
    write_journal,
)
from venomqa_redis._keyspace import (
    Entry,
    Image,
    digest_of,
    entries_for,
    read_entries,
    scan_entries,
    scan_images,
)
from venomqa_redis._notify import CONFIG_KEY, KeyspaceEvents, covers, merged_flags
from venomqa_redis._records import ChangedRecords
from venomqa_redis._repair import repair_leftovers
from venomqa_redis._shadow import Shadow
from venomqa_redis._undo import UndoLog

T = TypeVar("T")

MODES = ("auto", "notify", "scan")


@dataclass(frozen=True)
class RedisToken:
    """A checkpoint: a position in the undo log and the server's clock (unix ms) at that moment."""

    serial: int
    position: int
    server_ms: int


class RedisStore:
    """Checkpoint/rollback of one Redis logical database, also across processes.

    Options (the ``venomqa.yaml`` keys): ``url`` (``redis://[user:pass@]host:port/db``),
    ``prefix`` (track only keys starting with it; default every key), ``mode`` (``auto``:
    keyspace notifications, or a SCAN diff if CONFIG is forbidden; ``notify``: notifications or
    fail; ``scan``: always the SCAN diff), ``queues`` (list keys whose lengths ``observe()``
    reports), ``state_dir`` (where the crash-recovery journal is kept while a run is set up;
    default ``~/.cache/venomqa/redis``), ``clone_registry_db`` and ``clone_dbs`` (for parallel
    workers' copies: the database reserved for VenomQA's registry of copies, default 15, and the
    databases copies may go to, default any free one; see ``_clone``). Also a CachePort
    (``get``/``set``/``delete``/``keys``) and a QueuePort (``length``/``peek``) for invariants.
    """

    name = STORE_NAME

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "",
        mode: str = "auto",
        queues: Iterable[str] = (),
        timeout_s: float = 10.0,
        state_dir: str | None = None,
        clone_registry_db: int = CLONE_REGISTRY_DB,
        clone_dbs: Iterable[int] | None = None,
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
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.clone_registry_db, self.clone_dbs = _clone_options(clone_registry_db, clone_dbs)
        self._prefix = _access.to_key(prefix)
        self._client: Any = None
        self._events_client: Any = None
        self._where = "redis"
        self._db = 0
        self._journal_path = Path()
        self._journal_owned = False
        self._started = 0.0
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

    @property
    def journal_file(self) -> Path:
        """Where this store's crash-recovery journal lives while a run is set up."""
        return journal_path(self.state_dir, self._server().where, self._prefix)

    def setup(self) -> None:
        """Repair what a killed run left (see ``_repair``), enable key events (or fall back to
        SCAN diffs), read the tracked keys once and journal them. A connection dropped in one of
        redis-py's gaps (see ``_connection``) makes it start over once."""
        if self._client is not None:
            raise already_set_up(self._where, STORE_NAME)
        started = time.monotonic()
        try:
            self._set_up()
        except BaseException as exc:
            if not dropped_quickly(exc, started):
                raise
            self._set_up()

    def _set_up(self) -> None:
        """One attempt at ``setup()``; everything it did is undone if it fails."""
        server = self._server()
        self._db, self._where = server.db, server.where
        self._journal_path = journal_path(self.state_dir, server.where, self._prefix)
        self._journal_owned = False
        self._started = time.time()
        client = open_client(self.url, name=COMMAND_CLIENT, timeout_s=self.timeout_s)
        self._client = client
        self._shadow, self._undo, self._pending = Shadow(), UndoLog(), set()
        self._tokens.reset()
        self._records = ChangedRecords(self._prefix)
        self._full_diff_needed = self._suspect = False
        try:
            with driver_errors(SETUP, self._where):
                client.ping()
                self._check_version()
                repair_leftovers(self._client, self._journal_path, self._prefix, self._scope)
                self._start_tracking()
                self._read_and_journal(client)
        except BaseException:
            self._shutdown(forget_journal=True)
            raise

    def teardown(self) -> None:
        """Put the database back as it was at setup, restore the server's configuration and
        remove the journal. If it fails, the journal stays and the next ``setup()`` finishes."""
        if self._client is None:
            return
        owned, path = self._journal_owned, self._journal_path
        try:
            try:
                self._guard("teardown", self._restore_setup_state)
            except BaseException:
                self._shutdown(forget_journal=False)  # _guard marked the connections suspect
                raise
            self._shutdown(forget_journal=True)
        except StoreError as exc:
            if not owned:
                raise
            raise StoreError(
                f"{exc.detail}; the next setup() of this store (or `venomqa recover`) finishes "
                f"the clean-up from its journal {path}",
                store=STORE_NAME,
            ) from exc

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
            self._undo.undo_to(token.position)  # only now: a run cut short can run again

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

    def audit(self) -> dict[str, str]:
        """Every tracked key read afresh from the server (SCAN, then DUMP or a canonical read
        per key) and digested, by key: independent of the shadow (for ``verify_rollback``, see
        ``venomqa.ports.store.SupportsAudit``). O(keys tracked)."""
        client = self._require()

        def read() -> dict[str, str]:
            entries = scan_entries(client, self._prefix)
            return {
                f"key {key.decode('utf-8', 'backslashreplace')}": f"{digest_of(key, entry):016x}"
                for key, entry in entries.items()
            }

        return self._guard("audit", read)

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

    # -- copies for parallel workers (SupportsClone) ----------------------------------------

    def clone(self, label: str) -> dict[str, Any]:
        """Copy the database into a free database of the same server (see ``_clone``) and
        return this store's options with the url naming the copy. Called on a store that is
        not set up; what a killed run left in the database is repaired first (as ``setup()``
        would), so the copy starts from the data this store will."""
        if self._client is not None:
            raise StoreError(f"clone of {self._where}: the store is set up", store=STORE_NAME)
        server = self._server()
        where = server.where
        client = open_client(self.url, name=COMMAND_CLIENT, timeout_s=self.timeout_s)
        try:
            with driver_errors(SETUP, where):
                client.ping()
                path = journal_path(self.state_dir, where, self._prefix)
                scope = f"{where} (prefix {self.prefix!r})" if self.prefix else where
                repair_leftovers(client, path, self._prefix, scope)
        finally:
            client.close()
        db = self._cloner().clone(label)
        return {**self._options(), "url": with_db(self.url, db)}

    def drop_clone(self, options: Mapping[str, Any]) -> None:
        """Remove the copy made with ``options`` (flushed and unregistered)."""
        url = options.get("url")
        if not isinstance(url, str):
            raise StoreError(f"drop_clone: no url in {sorted(options)}", store=STORE_NAME)
        self._cloner().drop(url)

    def drop_leftover_clones(self) -> list[str]:
        """Remove the copies of this database that killed runs left (no connection uses them);
        one line per copy removed."""
        return self._cloner().drop_leftovers()

    def _cloner(self) -> Cloner:
        try:
            return Cloner(
                self.url,
                registry_db=self.clone_registry_db,
                dbs=self.clone_dbs,
                timeout_s=self.timeout_s,
                state_dir=self.state_dir,
                prefix=self._prefix,
            )
        except ValueError as exc:
            raise StoreError(f"invalid url {self.url!r}: {exc}", store=STORE_NAME) from exc

    def _options(self) -> dict[str, Any]:
        """The constructor options of this store."""
        return {
            "url": self.url,
            "prefix": self.prefix,
            "mode": self.mode,
            "queues": list(self.queues),
            "timeout_s": self.timeout_s,
            "state_dir": str(self.state_dir),
            "clone_registry_db": self.clone_registry_db,
            "clone_dbs": self.clone_dbs,
        }

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

    def _server(self) -> Server:
        try:
            return server_of(self.url)
        except ValueError as exc:
            raise StoreError(f"invalid url {self.url!r}: {exc}", store=STORE_NAME) from exc

    def _restore_setup_state(self) -> None:
        """Teardown's work: every key the run changed back to its setup entry."""
        if self._suspect:  # interrupted mid-command: start from clean connections
            self._client.connection_pool.disconnect()
            self._full_diff_needed = True
            if self._events is not None:
                self._events.stop(unsubscribe=False)
                self._events.start()
            self._suspect = False
        self._sync()
        plan = {
            key: entry
            for key, entry in self._undo.original.items()
            if not _same(self._shadow.get(key), entry)
        }
        self._write_back(plan, self._setup_ms)

    def _read_and_journal(self, client: Any) -> None:
        """Read every tracked key into the shadow and journal them as the setup state: each
        script reply's strings are appended to the journal while the server reads the next
        ones, so only the header and the fsync remain once the scan ends."""
        shadow = self._shadow
        writer = self._journal_writer()
        try:

            def strings(keys: list[bytes], dumps: list[bytes], expiries: list[int]) -> None:
                shadow.load_strings(keys, dumps, expiries)
                writer.add(keys, dumps, expiries)

            others = scan_entries(client, self._prefix, strings)
            for key, entry in others.items():
                shadow.load(key, entry)
            writer.add(
                list(others),
                [e.image.dump for e in others.values()],
                [e.image.expire_at for e in others.values()],
            )
            shadow.baseline()
            self._setup_ms = self._server_ms()
            journal = Journal(self._saved_config, None, started=self._started)
            writer.finish(journal, describe=self._journal_description(), baseline=True)
        except OSError as exc:
            writer.abort()
            raise self._journal_error(exc) from exc
        except BaseException:
            writer.abort()
            raise
        self._journal_owned = True

    def _journal_writer(self) -> JournalWriter:
        try:
            return JournalWriter(self._journal_path)
        except OSError as exc:
            raise self._journal_error(exc) from exc

    def _journal_description(self) -> dict[str, str]:
        return {"where": self._where, "prefix": self._prefix.decode(errors="backslashreplace")}

    def _journal_error(self, exc: OSError) -> StoreError:
        return StoreError(
            f"cannot write the crash-recovery journal {self._journal_path}: {exc}; give the "
            "store a writable state_dir",
            store=STORE_NAME,
        )

    def _write_journal(self) -> None:
        """Journal the configuration to restore, before any key is read (no baseline yet)."""
        journal = Journal(self._saved_config, None, started=self._started)
        try:
            write_journal(self._journal_path, journal, describe=self._journal_description())
        except OSError as exc:
            raise self._journal_error(exc) from exc
        self._journal_owned = True

    def _forget(self, path: Path) -> None:
        try:
            remove_journal(path)
        except OSError as exc:
            raise StoreError(f"cannot remove the journal {path}: {exc}", store=STORE_NAME) from exc

    @property
    def _scope(self) -> str:
        return f"{self._where} (prefix {self.prefix!r})" if self.prefix else self._where

    def _require(self) -> Any:
        if self._client is None:
            raise not_set_up(self._where, STORE_NAME)
        return self._client

    def _guard(self, operation: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` translating driver errors; run it once more after a quick drop."""
        client = self._require()
        started = time.monotonic()
        for attempt in (1, 2):
            try:
                with driver_errors(operation, self._where):
                    return fn()
            except BaseException as exc:
                self._suspect = True  # the connection or the shadow may be half-updated
                self._full_diff_needed = True
                if attempt == 2 or not dropped_quickly(exc, started):
                    raise
                client.connection_pool.disconnect()
        raise AssertionError("unreachable")

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
            current = _config_value(self._client.config_get(CONFIG_KEY))
            if not covers(current):
                self._saved_config = current
                self._write_journal()  # a crash from here on is repairable
                self._client.config_set(CONFIG_KEY, merged_flags(current))
        except rex.ResponseError as exc:
            if not is_forbidden(exc):
                raise
            if self._saved_config is not None:  # GET allowed, SET refused: nothing changed
                self._saved_config = None
                self._forget(self._journal_path)
                self._journal_owned = False
            problem = (
                f"{self._where} refuses CONFIG GET/SET {CONFIG_KEY} ({exc}), which the redis "
                "store needs to learn which keys another process changed"
            )
            if self.mode == "notify":
                raise StorePermissionError(
                    f"{problem}; allow CONFIG for this user, set {CONFIG_KEY} to at least "
                    "'Eg$lshzxetd' yourself and keep mode 'notify', or use mode 'scan'",
                    store=STORE_NAME,
                ) from exc
            warnings.warn(
                f"{problem}; falling back to a SCAN diff of the tracked keys at every "
                "checkpoint, rollback and fingerprint: correct, but slow on large databases "
                "(narrow it with the 'prefix' option)",
                VenomQAWarning,
                stacklevel=4,
            )
            self.tracking = "scan"
            return
        self._events_client = open_client(self.url, name=EVENTS_CLIENT, timeout_s=self.timeout_s)
        self._events = KeyspaceEvents(self._events_client, self._db, timeout_s=self.timeout_s)
        self._events.start()
        self.tracking = "notify"

    def _shutdown(self, *, forget_journal: bool) -> None:
        """Stop listening, restore the configuration, remove the journal (``forget_journal``,
        once the configuration is back), close connections. Raises only at the end."""
        client, self._client = self._client, None
        events_client, self._events_client = self._events_client, None
        events, self._events = self._events, None
        saved, self._saved_config = self._saved_config, None
        owned, self._journal_owned = self._journal_owned, False
        self._pending = set()
        self._tokens.reset()
        if events is not None:
            events.stop(unsubscribe=not self._suspect)
        try:
            if saved is not None and client is not None:
                with driver_errors(f"restoring {CONFIG_KEY}", self._where):
                    _config_set_again_if_stale(client, saved)
            if forget_journal and owned:
                self._forget(self._journal_path)
        finally:
            for each in (client, events_client):
                if each is not None:
                    each.close()

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
        images: dict[bytes, Image | None] = dict(scan_images(client, self._prefix))
        for key in self._shadow.tracked_keys():
            images.setdefault(key, None)
        same = self._shadow.same_image
        changed = {k: img for k, img in images.items() if not same(k, img)}
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
        """The entry each key changed since ``token`` had there, where it differs now."""
        restore = self._undo.since(token.position)
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


def _clone_options(registry_db: Any, dbs: Iterable[int] | None) -> tuple[int, list[int] | None]:
    """The checked ``clone_registry_db`` and ``clone_dbs`` options."""
    if isinstance(registry_db, bool) or not isinstance(registry_db, int) or registry_db < 0:
        raise ValueError(f"clone_registry_db must be a database number, not {registry_db!r}")
    if dbs is None:
        return registry_db, None
    numbers = list(dbs) if not isinstance(dbs, str | int) else None
    if numbers is None or any(
        isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in numbers
    ):
        raise ValueError(f"clone_dbs must be a list of database numbers, not {dbs!r}")
    return registry_db, numbers


def _same(a: Entry | None, b: Entry | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.same_as(b.image)


def _config_set_again_if_stale(client: Any, value: str) -> None:
    """CONFIG SET notify-keyspace-events; once more on fresh connections if the first attempt
    failed otherwise than by a server that stays away (an interrupted command can leave a stale
    reply on a pooled connection; a drop can hit one of redis-py's gaps)."""
    import redis.exceptions as rex

    started = time.monotonic()
    try:
        client.config_set(CONFIG_KEY, value)
    except Exception as exc:
        if isinstance(exc, rex.ConnectionError) and not dropped_quickly(exc, started):
            raise
        client.connection_pool.disconnect()
        client.config_set(CONFIG_KEY, value)


def _config_value(reply: Any) -> str:
    for key, value in dict(reply).items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name == CONFIG_KEY:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""
