"""Reading keys: the raw image needed to restore a key, and a canonical digest of its content.

A key's *image* is what RESTORE needs to put it back (``DUMP`` bytes) plus its absolute expiry
(``PEXPIRETIME``, unix ms, -1 for none). Its *digest* is a 64-bit hash of the key name, its type,
whether it has a TTL, and its content read in a canonical form (hash fields and set members
sorted, list and sorted-set order as Redis defines it). DUMP bytes alone are not canonical: they
depend on each value's internal encoding, which depends on history (a hash that grew and shrank
again stays a hashtable), so equal contents could hash differently.

An entry also keeps that canonical content of a non-string key, ``marshal``-ed (about the size of
its DUMP), for ``changed_records()``: once a key changes, what it held at setup exists nowhere
else. A string's content is decoded from its DUMP when needed instead (see ``_records``).

Reading named keys is one pipelined MULTI per batch of keys (consistent within the batch), plus
one more pipeline for the canonical content of the batch's non-string keys. Cost: O(size of those
keys).

Reading *every* tracked key (setup, SCAN diffs, audits) is ``scan_images``: a server-side Lua
script that advances a SCAN cursor and returns each key's name, type, DUMP and expiry, about 1,000
keys per call (the server is blocked for a few ms per call; ~3 µs per small key in all). The type
comes from the DUMP's first byte (its RDB object type), TYPE only for types that byte does not
name (modules). Where scripts are refused (ACLs, a disabled EVAL) it falls back to SCAN plus the
pipelines above. The calls read ahead: a thread sends the next call as soon as a reply (with its
cursor) arrives, at most ``READ_AHEAD`` replies ahead, so the server's work on one step and
VenomQA's on the previous one overlap instead of adding up (``_read_ahead``).

A string's digest can wait: ``Entry.digest`` is None for strings read at setup, and ``digest_of``
computes it from the DUMP when it is first needed (when the key changes, see ``_shadow``), so
setup does no per-key hashing. ``scan_entries`` even hands the script's replies of strings to the
shadow as they are (no object per key, see ``_shadow``). Other types are digested at once: their
canonical content is read anyway, since once they change what they held at setup exists nowhere
else.
"""

from __future__ import annotations

import hashlib
import marshal
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from typing import Any

BATCH = 500
_GLOB_SPECIAL = b"*?[]\\"


@dataclass(frozen=True, slots=True)
class Image:
    """What a key is now: its type, DUMP payload and absolute expiry (unix ms, -1 = none)."""

    type: bytes
    dump: bytes
    expire_at: int


@dataclass(frozen=True, slots=True)
class Entry:
    """A key's image plus the digest of its content (what the fingerprint sums; see ``digest_of``).

    ``content`` is the ``marshal``-ed canonical content of a hash, list, set, sorted set or
    stream (what ``canonical_content`` returns), None for strings and module types.
    """

    image: Image
    #: None for a string whose digest has not been computed yet (see ``digest_of``).
    digest: int | None
    content: bytes | None = None

    def canonical_content(self) -> Any:
        """The content the digest was computed from (None for strings and module types)."""
        return None if self.content is None else marshal.loads(self.content)

    def same_as(self, image: Image) -> bool:
        return self.image.dump == image.dump and self.image.expire_at == image.expire_at


def match_pattern(prefix: bytes) -> bytes:
    """A SCAN MATCH pattern for every key starting with ``prefix`` (glob characters escaped)."""
    escaped = b"".join(b"\\" + bytes([c]) if c in _GLOB_SPECIAL else bytes([c]) for c in prefix)
    return escaped + b"*"


def scan_keys(client: Any, prefix: bytes) -> Iterator[bytes]:
    """Every key of the database under ``prefix`` (SCAN, so the server is never blocked)."""
    yield from client.scan_iter(match=match_pattern(prefix), count=1000)


#: ARGV: cursor, MATCH pattern, COUNT, database number ('' if unknown), form ('' or 'compact').
#: Returns the next cursor, then (key, type, DUMP, expiry) for every key of that SCAN step that
#: still exists; in the compact form (setup's: every element of a reply costs the server, the
#: transfer and the parser), {cursor, keys, DUMPs, extras} where extras is (0-based position,
#: type, expiry) for each key that is not a string or has a TTL. While the database holds no key
#: with a TTL (INFO keyspace: ``expires=0``; with no number, every database), the expiry is -1
#: without a PEXPIRETIME per key (a third of the script's time): a script runs atomically, so
#: that holds for every key of the call.
_SCAN_SCRIPT = """
local kinds = {[0] = 'string', [1] = 'list', [2] = 'set', [3] = 'zset', [4] = 'hash',
  [5] = 'zset', [9] = 'hash', [10] = 'list', [11] = 'set', [12] = 'zset', [13] = 'hash',
  [14] = 'list', [15] = 'stream', [16] = 'hash', [17] = 'zset', [18] = 'list',
  [19] = 'stream', [20] = 'set', [21] = 'stream'}
local info = redis.call('INFO', 'keyspace')
local timed
if ARGV[4] == '' then
  timed = string.find(info, 'expires=[1-9]') ~= nil
else
  timed = string.match(info, 'db' .. ARGV[4] .. ':keys=%d+,expires=0[^%d]') == nil
end
local step = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local out = {step[1]}
local keys, dumps, extras = {}, {}, {}
local compact = ARGV[5] == 'compact'
for _, key in ipairs(step[2]) do
  local dump = redis.call('DUMP', key)
  if dump then
    local kind = kinds[string.byte(dump, 1)] or redis.call('TYPE', key)['ok']
    local expire_at = -1
    if timed then
      expire_at = redis.call('PEXPIRETIME', key)
    end
    if compact then
      keys[#keys + 1] = key
      dumps[#dumps + 1] = dump
      if kind ~= 'string' or expire_at ~= -1 then
        extras[#extras + 1] = #keys - 1
        extras[#extras + 1] = kind
        extras[#extras + 1] = expire_at
      end
    else
      out[#out + 1] = key
      out[#out + 1] = kind
      out[#out + 1] = dump
      out[#out + 1] = expire_at
    end
  end
end
if compact then
  return {step[1], keys, dumps, extras}
end
return out
"""
#: Keys per SCAN step of the script: ~1,000 keys per call, a few ms of server time each.
SCAN_COUNT = 1000


def scan_images(client: Any, prefix: bytes) -> dict[bytes, Image]:
    """The image of every key under ``prefix``: the Lua SCAN script, ~1,000 keys per call; SCAN
    plus MULTI pipelines where the server refuses scripts. O(keys under the prefix)."""
    steps = _script_steps(client, prefix)
    if steps is None:
        images = read_images(client, scan_keys(client, prefix))
        return {key: image for key, image in images.items() if image is not None}
    found: dict[bytes, Image] = {}
    with closing(steps):
        for reply in steps:
            for i in range(1, len(reply), 4):
                found[reply[i]] = Image(_as_bytes(reply[i + 1]), reply[i + 2], int(reply[i + 3]))
    return found


#: Strings as parallel lists: keys, DUMPs, expiries (what ``Shadow.load_strings`` takes).
Strings = Callable[[list[bytes], list[bytes], list[int]], None]


def scan_entries(client: Any, prefix: bytes, strings: Strings | None = None) -> dict[bytes, Entry]:
    """Every key under ``prefix`` as an entry: strings with their digest left to ``digest_of``,
    other types digested from a canonical read (see the module docstring). Given ``strings``,
    the strings read by the SCAN script go to it instead, a script call's at a time, as three
    parallel lists (keys, DUMPs, expiries) taken from the reply without a step per key."""
    steps = _script_steps(client, prefix, compact=True)
    entries: dict[bytes, Entry] = {}
    compound: dict[bytes, Image | None] = {}
    if strings is None:

        def strings(keys: list[bytes], dumps: list[bytes], expiries: list[int]) -> None:
            for key, dump, expire_at in zip(keys, dumps, expiries, strict=True):
                entries[key] = Entry(Image(b"string", dump, expire_at), None)

    try:
        if steps is None:
            _fill_from_pipelines(client, prefix, entries, compound)
        else:
            _split(steps, strings, compound)
    finally:
        if steps is not None:
            steps.close()  # stops the reading thread
    for key, entry in entries_for(client, compound).items():
        assert entry is not None
        entries[key] = entry
    return entries


def _fill_from_pipelines(
    client: Any, prefix: bytes, entries: dict[bytes, Entry], compound: dict[bytes, Image | None]
) -> None:
    """Sort a pipelined read (where scripts are refused) into strings and the rest."""
    for key, image in scan_images(client, prefix).items():
        if image.type == b"string":
            entries[key] = Entry(image, None)
        else:
            compound[key] = image


def _split(
    steps: Iterator[list[Any]], strings: Strings, compound: dict[bytes, Image | None]
) -> None:
    """Hand the strings of each compact script reply to ``strings``, the rest to ``compound``.
    Only the keys the reply lists as extras (other types, TTLs) take a Python step each."""
    string = b"string"
    for _, keys, dumps, extras in steps:
        expiries = [-1] * len(keys)
        others: set[int] = set()
        for j in range(0, len(extras), 3):
            i, kind, expire_at = int(extras[j]), _as_bytes(extras[j + 1]), int(extras[j + 2])
            if kind == string:
                expiries[i] = expire_at
            else:
                compound[keys[i]] = Image(kind, dumps[i], expire_at)
                others.add(i)
        if others:
            kept = [i for i in range(len(keys)) if i not in others]
            keys = [keys[i] for i in kept]
            dumps = [dumps[i] for i in kept]
            expiries = [expiries[i] for i in kept]
        strings(keys, dumps, expiries)


def _script_steps(
    client: Any, prefix: bytes, *, compact: bool = False
) -> Generator[list[Any], None, None] | None:
    """Every reply of the SCAN script over ``prefix`` (``compact``: in its compact form), read
    ahead (see ``_read_ahead``); None if the server refuses scripts. Close the generator when
    done with it."""
    import redis.exceptions as rex

    from venomqa_redis._errors import is_forbidden

    script = client.register_script(_SCAN_SCRIPT)
    pattern = match_pattern(prefix)
    db = _database(client)
    form = "compact" if compact else ""
    try:
        first = script(args=[b"0", pattern, SCAN_COUNT, db, form])
    except rex.ResponseError as exc:
        if not is_forbidden(exc):
            raise
        return None
    return _read_ahead(first, lambda cursor: script(args=[cursor, pattern, SCAN_COUNT, db, form]))


def _database(client: Any) -> str:
    """The number of the database ``client`` works in, '' if it cannot tell."""
    try:
        db = client.get_connection_kwargs().get("db", 0)
    except AttributeError:
        return ""
    return str(db) if isinstance(db, int) or str(db).isdigit() else ""


#: Script replies fetched ahead of the caller at most (each ~1,000 keys).
READ_AHEAD = 4
#: How long closing the generator waits for the reading thread's call in flight to end.
_JOIN_TIMEOUT_S = 30.0
_END = object()


def _read_ahead(
    first: list[Any], call: Callable[[Any], list[Any]]
) -> Generator[list[Any], None, None]:
    """``first``, then the replies of ``call(cursor)`` for each next cursor until it is 0.

    A thread makes the calls, each as soon as the previous reply arrived and fewer than
    ``READ_AHEAD`` wait to be taken, so the server works on the next step while the caller
    handles this one. An error in a call is raised here, in the caller's thread. Closing the
    generator (or an error in the caller) stops the thread after its call in flight."""
    yield first
    if _is_last(first[0]):
        return
    replies: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def fetch(cursor: Any) -> None:
        try:
            while not stop.is_set():
                reply = call(cursor)
                replies.put(reply)
                cursor = reply[0]
                if _is_last(cursor):
                    replies.put(_END)
                    return
        except BaseException as exc:  # handed to the caller, whatever it is
            replies.put(exc)

    thread = threading.Thread(
        target=fetch, args=(first[0],), name="venomqa-redis-scan", daemon=True
    )
    thread.start()
    try:
        while (item := replies.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        deadline = time.monotonic() + _JOIN_TIMEOUT_S
        while thread.is_alive() and time.monotonic() < deadline:
            with suppress(queue.Empty):  # unblock a put on a full queue
                replies.get_nowait()
            thread.join(timeout=0.01)


def _is_last(cursor: Any) -> bool:
    return cursor in (b"0", "0", 0)


def digest_of(key: bytes, entry: Entry) -> int:
    """The entry's digest: the one it carries, else (a string read at setup) from its DUMP."""
    if entry.digest is not None:
        return entry.digest
    return digest(key, entry.image.type, entry.image.expire_at >= 0, entry.image.dump)


def read_images(client: Any, keys: Iterable[bytes]) -> dict[bytes, Image | None]:
    """The image of each key (None where it does not exist), one MULTI per batch."""
    found: dict[bytes, Image | None] = {}
    for batch in _batches(keys):
        pipe = client.pipeline(transaction=True)
        for key in batch:
            pipe.type(key)
            pipe.dump(key)
            pipe.execute_command("PEXPIRETIME", key)
        replies = pipe.execute()
        for index, key in enumerate(batch):
            kind, dump, expire_at = replies[3 * index : 3 * index + 3]
            found[key] = None if dump is None else Image(_as_bytes(kind), dump, int(expire_at))
    return found


def read_entries(client: Any, keys: Iterable[bytes]) -> dict[bytes, Entry | None]:
    """The image and content digest of each key (None where it does not exist)."""
    return entries_for(client, read_images(client, keys))


def entries_for(client: Any, images: dict[bytes, Image | None]) -> dict[bytes, Entry | None]:
    """Digest already-read images: strings from their DUMP, other types from a canonical read."""
    entries: dict[bytes, Entry | None] = {}
    compound = [key for key, image in images.items() if image and image.type != b"string"]
    contents = _canonical_contents(client, compound, images)
    for key, image in images.items():
        if image is None:
            entries[key] = None
            continue
        has_ttl = image.expire_at >= 0
        content = contents.get(key)
        if content is None:  # strings (and module types): digested from their DUMP
            entries[key] = Entry(image, digest(key, image.type, has_ttl, image.dump))
        else:
            kept = marshal.dumps(content)
            entries[key] = Entry(image, digest(key, image.type, has_ttl, content), kept)
    return entries


def digest(key: bytes, kind: bytes, has_ttl: bool, content: Any) -> int:
    """A 64-bit hash of one key's name, type, TTL flag and canonical content, stable across runs."""
    text = repr((key, kind, has_ttl, content)).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _canonical_contents(
    client: Any, keys: list[bytes], images: dict[bytes, Image | None]
) -> dict[bytes, Any]:
    contents: dict[bytes, Any] = {}
    for batch in _batches(keys):
        pipe = client.pipeline(transaction=True)
        plan: list[tuple[bytes, bytes]] = []
        for key in batch:
            image = images[key]
            assert image is not None
            kind = image.type
            if kind == b"hash":
                pipe.execute_command("HGETALL", key)
            elif kind == b"list":
                pipe.execute_command("LRANGE", key, 0, -1)
            elif kind == b"set":
                pipe.execute_command("SMEMBERS", key)
            elif kind == b"zset":
                pipe.execute_command("ZRANGE", key, 0, -1, "WITHSCORES")
            elif kind == b"stream":
                pipe.execute_command("XRANGE", key, "-", "+")
                pipe.execute_command("XINFO", "GROUPS", key)
            else:  # a module type: its DUMP is the best we have
                continue
            plan.append((key, kind))
        replies = iter(pipe.execute() if plan else [])
        for key, kind in plan:
            reply = next(replies)
            if kind == b"stream":
                contents[key] = (_plain(reply), _groups(next(replies)))
            elif kind in (b"hash", b"set"):
                contents[key] = sorted(_flat_pairs(reply) if kind == b"hash" else reply)
            else:
                contents[key] = _plain(reply)
    return contents


def _flat_pairs(reply: Any) -> list[tuple[Any, Any]]:
    if isinstance(reply, dict):
        return list(reply.items())
    items = list(reply)
    return list(zip(items[0::2], items[1::2], strict=True))


def _groups(reply: Any) -> list[Any]:
    groups = []
    for group in reply or []:
        info = group if isinstance(group, dict) else dict(_flat_pairs(group))
        groups.append(
            tuple(
                _plain(info.get(k, info.get(k.encode())))
                for k in ("name", "last-delivered-id", "pending", "consumers")
            )
        )
    return sorted(groups, key=repr)


def _plain(value: Any) -> Any:
    """Nested replies as tuples/sorted pairs, so their repr is stable."""
    if isinstance(value, dict):
        return tuple(sorted((_plain(k), _plain(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _batches(keys: Iterable[bytes]) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for key in keys:
        batch.append(key)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
