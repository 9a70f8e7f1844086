"""Copies of a store's database for parallel workers (``venomqa.ports.store.SupportsClone``).

Where a copy goes: another logical database of the same server, one that is *free*: it holds no
key, no connection has it selected (``CLIENT LIST``), and no copy is registered in it. ``COPY
key key DB n REPLACE`` runs on the server, ~2,000 keys per call of a script that walks a SCAN
cursor (``COPY_SCRIPT``), so values, types and expiry times (absolute, so TTLs run on) are
copied without leaving Redis: O(keys in the database), ~0.5 s per 1e5 small keys. A script
refused (ACLs) falls back to pipelined COPYs per SCAN page. ``CLIENT LIST`` is needed.

Which databases are copies: a *registry*, the hash ``venomqa:clones`` in the database
``clone_registry_db`` (default 15), one field per copy (its database number) holding JSON: the
database copied, the label, when and by which process. Nothing is ever written into the original
or into a copy, which holds exactly the original's keys; the registry database is reserved for
VenomQA (an API must not use it) and is never chosen for a copy. Claiming a field is atomic
(HSETNX, or a compare-and-set when a dead run's copy is taken over), so two runs never pick the
same database.

Whether a copy is in use: a copy some connection has selected is in use, whoever holds it (the
worker's store, its API, a ``redis-cli -n``). The process that made the copy keeps one idle
connection on it, named ``venomqa-clone``, until ``drop`` (or until it exits), so a copy is in
use from the moment it is made, before its worker's API or store connect, and stops being in use
when every process of that run is gone, however it died: the server closes the connections of
a dead process. It works across machines, as long as they share the server.

A dropped copy is flushed, then unregistered; the local crash-recovery journal a killed worker's
store left for it (``_journal``) is removed too, or the next store set up on that database would
"repair" a new copy back into the old one.

redis-py is imported lazily (through ``_connection``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from venomqa.errors import StoreError

from venomqa_redis._connection import Server, open_client, server_of
from venomqa_redis._errors import STORE_NAME, driver_errors, is_forbidden
from venomqa_redis._journal import journal_path, remove_journal

#: The default of the store's ``clone_registry_db`` option.
CLONE_REGISTRY_DB = 15
#: The registry hash, in the registry database.
REGISTRY_KEY = b"venomqa:clones"
#: The client name of the connection that keeps a copy in use while its maker runs.
HOLDER_CLIENT = "venomqa-clone"
#: The client name of the short-lived connections that make, find and drop copies.
ADMIN_CLIENT = "venomqa-clone-admin"
#: Keys copied per script call.
COPY_BATCH = 2000
#: Tries of a registry compare-and-set that other runs' changes to the registry interrupt.
_SWAP_ATTEMPTS = 20
#: The number of databases assumed when CONFIG GET databases is refused.
DEFAULT_DATABASES = 16

COPY_SCRIPT = """
local cursor, dest, want = ARGV[1], ARGV[2], tonumber(ARGV[3])
local copied = 0
repeat
  local reply = redis.call('SCAN', cursor, 'COUNT', 1000)
  cursor = reply[1]
  for _, key in ipairs(reply[2]) do
    copied = copied + redis.call('COPY', key, key, 'DB', dest, 'REPLACE')
  end
until cursor == '0' or copied >= want
return {cursor, copied}
"""

#: Connections this process keeps on its copies: (server address, db) -> client.
_HOLDERS: dict[tuple[str, int], Any] = {}


@dataclass(frozen=True)
class Copy:
    """A registry entry: database ``db`` is the copy ``label`` of database ``source``."""

    db: int
    source: int
    label: str
    created: float
    host: str
    pid: int
    claim: str

    def encode(self) -> bytes:
        fields = asdict(self)
        del fields["db"]
        return json.dumps(fields, sort_keys=True).encode()

    @classmethod
    def decode(cls, db: int, raw: bytes) -> Copy | None:
        """The entry, or None for a field that is not one (left alone)."""
        try:
            data = json.loads(raw)
            return cls(
                db,
                int(data["source"]),
                str(data["label"]),
                float(data["created"]),
                str(data["host"]),
                int(data["pid"]),
                str(data["claim"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self, address: str) -> str:
        """``redis://host:port/7 (copy w2 of database 3, made ... by process 41 on box)``."""
        made = datetime.fromtimestamp(self.created, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"redis://{address}/{self.db} (copy {self.label} of database {self.source}, made "
            f"{made} by process {self.pid} on {self.host})"
        )


def with_db(url: str, db: int) -> str:
    """``url`` naming database ``db`` instead of its own (credentials and options kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "db"]
    path = parts.path
    if parts.scheme == "unix":
        query.append(("db", str(db)))
    else:
        path = f"/{db}"
    rebuilt = urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), parts.fragment))
    if not parts.netloc and url.startswith(f"{parts.scheme}://"):  # unix:///path keeps its //
        rebuilt = f"{parts.scheme}://{rebuilt.removeprefix(parts.scheme + ':')}"
    return rebuilt


class Cloner:
    """Makes, finds and drops the copies of the database ``url`` names (see the module)."""

    def __init__(
        self,
        url: str,
        *,
        registry_db: int,
        dbs: Sequence[int] | None,
        timeout_s: float,
        state_dir: Path,
        prefix: bytes,
    ) -> None:
        self.url = url
        self.source: Server = server_of(url)
        self.registry_db = registry_db
        self.dbs = None if dbs is None else list(dbs)
        self.timeout_s = timeout_s
        self.state_dir = state_dir
        self.prefix = prefix

    @property
    def where(self) -> str:
        return self.source.where

    # -- the three operations --------------------------------------------------------------

    def clone(self, label: str) -> int:
        """Copy the database into a free one (or the one a dead run's copy ``label`` left) and
        return its number; the copy stays in use (held) until ``drop``."""
        self._check_registry_db()
        admin = self._client(self.registry_db, ADMIN_CLIENT)
        try:
            with driver_errors(f"clone ({label})", self.where):
                copy = self._claim(admin, label)
                try:
                    holder = self._hold(copy.db)
                    holder.flushdb()  # empty, or what a dead run's copy held
                    self._copy(copy.db)
                except BaseException:
                    with contextlib.suppress(Exception):  # the error that got here says more
                        self._release(copy.db)
                        self._flush(copy.db)
                        self._unregister(admin, copy)
                    raise
        finally:
            admin.close()
        self._forget_journal(copy.db)
        return copy.db

    def drop(self, url: str) -> None:
        """Remove the copy ``url`` names: flush it, unregister it. Nothing happens when it is
        not registered (dropped already); a database that is no copy of ours is never touched."""
        target = server_of(url)
        if target.address != self.source.address:
            raise StoreError(
                f"{target.where} is not on the server of {self.where}: not a copy of it",
                store=STORE_NAME,
            )
        admin = self._client(self.registry_db, ADMIN_CLIENT)
        try:
            with driver_errors("drop_clone", target.where):
                copy = _registry(admin).get(target.db)
                if copy is None:
                    self._release(target.db)
                    return
                if copy.source != self.source.db:
                    raise StoreError(
                        f"{copy.describe(self.source.address)} is not a copy of {self.where}; "
                        "left alone",
                        store=STORE_NAME,
                    )
                self._release(target.db)
                self._flush(target.db)
                self._unregister(admin, copy)
        finally:
            admin.close()
        self._forget_journal(target.db)

    def drop_leftovers(self) -> list[str]:
        """Drop the copies of this database no connection uses any more; one line per copy.
        Where ``clone`` cannot have made any (the registry database is the store's own or does
        not exist, or it names no copy of this database) it asks nothing more of the server,
        so stores that never had copies need no more rights (``CLIENT LIST``) than before."""
        if self.registry_db == self.source.db:
            return []
        admin = self._client(self.registry_db, ADMIN_CLIENT)
        dropped: list[str] = []
        try:
            with driver_errors("drop_leftover_clones", self.where):
                try:
                    registry = _registry(admin)
                except Exception as exc:
                    if _no_such_db(exc):
                        return []
                    raise
                mine = [c for c in registry.values() if c.source == self.source.db]
                busy = _connections_per_db(admin) if mine else Counter[int]()
                for copy in mine:
                    if busy[copy.db]:
                        continue
                    self._flush(copy.db)
                    if self._unregister(admin, copy):
                        self._forget_journal(copy.db)
                        dropped.append(copy.describe(self.source.address))
        finally:
            admin.close()
        return dropped

    # -- claiming a database ---------------------------------------------------------------

    def _claim(self, admin: Any, label: str) -> Copy:
        """The registry entry of the copy to make, claimed for this process."""
        try:
            registry = _registry(admin)
        except Exception as exc:
            if not _no_such_db(exc):
                raise
            raise StoreError(
                f"cannot copy {self.where}: the server has no database {self.registry_db} to "
                "keep VenomQA's registry of copies in; set the store's `clone_registry_db` to "
                "one no API uses",
                store=STORE_NAME,
            ) from exc
        busy = _connections_per_db(admin)
        fresh = Copy(
            -1,
            self.source.db,
            label,
            time.time(),
            socket.gethostname(),
            os.getpid(),
            uuid.uuid4().hex,
        )
        earlier = [c for c in registry.values() if c.source == self.source.db and c.label == label]
        for old in earlier:
            if busy[old.db]:
                raise StoreError(
                    f"the copy {old.describe(self.source.address)} is in use by a live run "
                    f"({busy[old.db]} connection(s) have it selected); wait for that run to end "
                    "or give this run's copies other labels",
                    store=STORE_NAME,
                )
            taken = _replace(admin, old, Copy(**{**asdict(fresh), "db": old.db}))
            if taken is None:
                raise StoreError(
                    f"the copy {old.describe(self.source.address)} was taken over by another "
                    "run just now",
                    store=STORE_NAME,
                )
            return taken
        keys = _keys_per_db(admin)
        candidates = self._candidates(admin)
        for db in candidates:
            if db in registry or busy[db] or keys[db]:
                continue
            claimed = Copy(**{**asdict(fresh), "db": db})
            if not admin.hsetnx(REGISTRY_KEY, str(db), claimed.encode()):
                continue  # another run claimed it since we read the registry
            if not self._is_empty(db):
                self._unregister(admin, claimed)  # written to since we looked: someone's
                continue
            return claimed
        why = (
            f"every database VenomQA may use ({', '.join(map(str, candidates))}) holds keys, "
            "has a connection or is a copy already"
            if candidates
            else "`clone_dbs` names no database of the server other than the store's own and "
            "the registry's"
        )
        raise StoreError(
            f"no free database for the copy {label} of {self.where}: {why}; empty one, list "
            "usable ones in the store's `clone_dbs` option, or raise `databases` in redis.conf",
            store=STORE_NAME,
        )

    def _candidates(self, admin: Any) -> list[int]:
        """The databases a copy may go to: ``clone_dbs`` (default all) that the server has."""
        count = _database_count(admin)
        numbers: Iterable[int] = range(count) if self.dbs is None else self.dbs
        return [n for n in numbers if n < count and n not in (self.source.db, self.registry_db)]

    def _check_registry_db(self) -> None:
        if self.registry_db == self.source.db:
            raise StoreError(
                f"{self.where} is the database VenomQA keeps its registry of copies in "
                f"(`clone_registry_db: {self.registry_db}`); set `clone_registry_db` to a "
                "database no API uses",
                store=STORE_NAME,
            )

    # -- connections -----------------------------------------------------------------------

    def _client(self, db: int, name: str) -> Any:
        """A client on database ``db`` (connects lazily; the caller closes it)."""
        return open_client(with_db(self.url, db), name=name, timeout_s=self.timeout_s)

    def _is_empty(self, db: int) -> bool:
        client = self._client(db, ADMIN_CLIENT)
        try:
            return not client.dbsize()
        finally:
            client.close()

    def _hold(self, db: int) -> Any:
        """The connection this process keeps on copy ``db`` (opened now if it has none)."""
        key = (self.source.address, db)
        holder = _HOLDERS.get(key)
        if holder is None:
            import redis

            holder = redis.Redis.from_url(
                with_db(self.url, db),
                client_name=HOLDER_CLIENT,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                single_connection_client=True,
            )
            holder.ping()
            _HOLDERS[key] = holder
        return holder

    def _release(self, db: int) -> None:
        holder = _HOLDERS.pop((self.source.address, db), None)
        if holder is not None:
            holder.close()

    def _flush(self, db: int) -> None:
        client = self._client(db, ADMIN_CLIENT)
        try:
            client.flushdb()
        finally:
            client.close()

    def _copy(self, db: int) -> None:
        """COPY every key of the source into ``db`` (a script per batch, else pipelines)."""
        import redis.exceptions as rex

        client = self._client(self.source.db, ADMIN_CLIENT)
        try:
            script = client.register_script(COPY_SCRIPT)
            cursor: Any = b"0"
            while True:
                try:
                    cursor, _ = script(args=[cursor, db, COPY_BATCH])
                except rex.ResponseError as exc:
                    if not is_forbidden(exc):
                        raise
                    _copy_pipelined(client, db)
                    return
                if cursor in (b"0", 0, "0"):
                    return
        finally:
            client.close()

    def _unregister(self, admin: Any, copy: Copy) -> bool:
        """Remove ``copy``'s registry field if it still is ``copy``; whether it was."""
        return _swap(admin, copy.db, copy.encode(), b"")

    def _forget_journal(self, db: int) -> None:
        path = journal_path(self.state_dir, Server(self.source.address, db).where, self.prefix)
        try:
            remove_journal(path)
        except OSError as exc:
            raise StoreError(
                f"cannot remove {path}, the journal a worker's store left for its copy: {exc}",
                store=STORE_NAME,
            ) from exc


def _copy_pipelined(client: Any, db: int) -> None:
    """COPY without scripts: SCAN pages, one pipeline of COPYs per page."""
    batch: list[bytes] = []
    for key in client.scan_iter(count=1000):
        batch.append(key)
        if len(batch) >= COPY_BATCH:
            _copy_keys(client, batch, db)
            batch = []
    if batch:
        _copy_keys(client, batch, db)


def _copy_keys(client: Any, keys: list[bytes], db: int) -> None:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("COPY", key, key, "DB", db, "REPLACE")
    pipe.execute()


def _registry(admin: Any) -> dict[int, Copy]:
    """Every registered copy, by database number."""
    found: dict[int, Copy] = {}
    for field, raw in admin.hgetall(REGISTRY_KEY).items():
        try:
            db = int(field)
        except ValueError:
            continue
        copy = Copy.decode(db, raw)
        if copy is not None:
            found[db] = copy
    return found


def _replace(admin: Any, old: Copy, new: Copy) -> Copy | None:
    """Register ``new`` in place of ``old`` if the field still holds ``old``."""
    return new if _swap(admin, old.db, old.encode(), new.encode()) else None


def _swap(admin: Any, db: int, expected: bytes, value: bytes) -> bool:
    """Set (or with an empty ``value`` remove) field ``db`` of the registry if it still holds
    ``expected``; whether it did. WATCH/MULTI, not a script: servers that refuse scripts work."""
    import redis.exceptions as rex

    for _ in range(_SWAP_ATTEMPTS):
        with admin.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(REGISTRY_KEY)
                if pipe.hget(REGISTRY_KEY, str(db)) != expected:
                    return False
                pipe.multi()
                if value:
                    pipe.hset(REGISTRY_KEY, str(db), value)
                else:
                    pipe.hdel(REGISTRY_KEY, str(db))
                pipe.execute()
                return True
            except rex.WatchError:
                continue  # another field changed meanwhile: read again
    return False


def _connections_per_db(admin: Any) -> Counter[int]:
    """How many connections have each database selected (CLIENT LIST)."""
    busy: Counter[int] = Counter()
    for client in admin.client_list():
        try:
            busy[int(client.get("db", -1))] += 1
        except (TypeError, ValueError):
            continue
    return busy


def _keys_per_db(admin: Any) -> Counter[int]:
    """The key count of every database that has keys (INFO keyspace)."""
    counts: Counter[int] = Counter()
    for name, stats in admin.info("keyspace").items():
        if str(name).startswith("db") and isinstance(stats, dict):
            counts[int(str(name)[2:])] = int(stats.get("keys", 0))
    return counts


def _database_count(admin: Any) -> int:
    import redis.exceptions as rex

    try:
        reply = admin.config_get("databases")
    except rex.ResponseError as exc:
        if is_forbidden(exc):
            return DEFAULT_DATABASES
        raise
    for value in dict(reply).values():
        return int(value)
    return DEFAULT_DATABASES


def _no_such_db(exc: BaseException) -> bool:
    """Whether ``exc`` is the server saying a database number is beyond its ``databases``."""
    import redis.exceptions as rex

    return isinstance(exc, rex.ResponseError) and "out of range" in str(exc).lower()
