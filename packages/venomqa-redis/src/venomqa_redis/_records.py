"""Keys as records: what ``RedisStore.changed_records()`` lists, and how it stays up to date.

The record model (the core's ignore syntax ``COLLECTION.FIELD`` names these):

- One record per key. Its ``collection`` is the key's *family*: the name with the store's
  ``prefix`` removed, up to its first ``:`` (the whole rest when it has none); ``identity`` is
  ``(key name,)`` and ``key_fields`` is ``("@key",)``. Key names (and ``@key``) are ``str``, or
  ``bytes`` when they are not UTF-8; a family that is not UTF-8 reads with backslash escapes.
- Fields: ``@key`` (the full key name), ``@type`` (``string``, ``hash``...), ``@ttl`` (True when
  the key has an expiry, else False; never the expiry itself, a clock value), then the content.
  A hash: each field as its own field (names as text, values as text or bytes). A string
  holding a JSON object: each top-level key as a field, with its parsed JSON value. Any other
  string: ``@value`` (text, or bytes when not UTF-8). A list: ``@value``, its items in order; a set:
  ``@value``, its members sorted by their bytes; a sorted set: ``@value``, ``[member, score]``
  pairs in Redis's order; a stream: ``@value``, ``{"entries": [[id, {field: value}]],
  "groups": [{"name", "last-delivered-id", "pending", "consumers"}]}``; a module type:
  ``@value``, its DUMP bytes.
- Only names starting with ``@`` belong to the store. A hash field or JSON key that starts with
  ``@`` gets one more ``@`` in front (``@id`` reads ``@@id``, ``@@x`` reads ``@@@x``), so the
  names stay distinct and never collide with the store's. A hash field name that is not UTF-8
  reads with backslash escapes. JSON strings whose values include NaN or Infinity are taken as
  plain text (NaN is unequal to itself, so the record could never compare equal).

``before`` is the record at ``setup()`` (None if the key did not exist), ``after`` the record now
(None if it is gone). Keys whose record equals their setup record are not listed (their content
digests are compared first; records are built only when those differ).

What a key held at setup: the shadow keeps every tracked key's DUMP (to restore it) and, for a
hash, list, set, sorted set or stream, its canonical content as read for the digest anyway,
``marshal``-ed (see ``_keyspace``); a string's value is decoded from its DUMP (RDB string
encoding: a length-prefixed raw string, an 8/16/32-bit integer, or LZF-compressed data, then a
2-byte RDB version and an 8-byte CRC64) only when its record is needed, i.e. for changed keys.
Measured on Redis 7.0 (tracemalloc; 50,000 strings: short texts, counters and 130-byte JSON
objects; 50,000 five-field hashes): the shadow takes 29.1 MB without contents; the hashes'
contents add 9.6 MB marshal-ed, 40.4 MB as the Python objects read (hence marshal: 0.6 µs per
hash, under 1% of the 5.4 s setup read). Keeping the strings' decoded values too would add
4.6 MB here, but it grows with the uncompressed values (a 1 MB JSON string has a 145 kB DUMP)
and costs setup time for every string (about 4 µs each on this mix); decoding on demand costs
nothing for untouched keys and, per changed key, 0.8 µs (short text), 1.3 µs (counter), 11 µs
(LZF-compressed 130-byte JSON), 0.3 ms per 10 kB, 30 ms per MB (pure-Python LZF). So strings
are decoded on demand. Non-string DUMPs (listpacks, quicklists, intsets, hash tables, skiplists,
stream listpacks with their consumer groups) are not decoded: their many encodings are far more
code than the memory it would save. A DUMP this module cannot decode (a future RDB format) reads
as ``@value`` = the DUMP bytes.

Cost: ``ChangedRecords.update`` is O(size of the keys updated since its previous call): it reads
nothing from Redis and never looks at an untouched key. The listed tuple is rebuilt (a sort of
the keys that differ from setup) only when a record changed, and returned as is otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from venomqa.ports.store import RecordChange

from venomqa_redis._access import text
from venomqa_redis._keyspace import Entry, digest_of
from venomqa_redis._shadow import Shadow

KEY, TYPE, TTL, VALUE = "@key", "@type", "@ttl", "@value"
KEY_FIELDS = (KEY,)

_RDB_TYPE_STRING = 0
_TRAILER = 10  # 2-byte RDB version + 8-byte CRC64 after the object in a DUMP payload
_ENC_INT8, _ENC_INT16, _ENC_INT32, _ENC_LZF = 0, 1, 2, 3


class DumpFormatError(ValueError):
    """A DUMP payload that is not an RDB string object as this module knows it."""


# -- the record of one key -----------------------------------------------------------------


def family(key: bytes, prefix: bytes) -> str:
    """The key's collection: its name without ``prefix``, up to the first ``:``."""
    rest = key[len(prefix) :] if key.startswith(prefix) else key
    name = rest.split(b":", 1)[0]
    try:
        return name.decode()
    except UnicodeDecodeError:
        return name.decode("utf-8", "backslashreplace")


def record_of(key: bytes, entry: Entry) -> dict[str, Any]:
    """The fields of ``key`` as it is in ``entry`` (see the module docstring)."""
    kind = entry.image.type
    fields: dict[str, Any] = {
        KEY: text(key),
        TYPE: kind.decode("utf-8", "backslashreplace"),
        TTL: entry.image.expire_at >= 0,
    }
    if kind == b"string":
        _string_fields(fields, entry.image.dump)
        return fields
    content = entry.canonical_content()
    if content is None:  # a module type: its DUMP is all there is
        fields[VALUE] = entry.image.dump
    elif kind == b"hash":
        for name, value in content:
            fields[_content_name(_name(name))] = text(value)
    elif kind == b"list":
        fields[VALUE] = [text(item) for item in content]
    elif kind == b"set":
        fields[VALUE] = [text(member) for member in content]
    elif kind == b"zset":
        fields[VALUE] = [[text(member), score] for member, score in _score_pairs(content)]
    elif kind == b"stream":
        fields[VALUE] = _stream_value(content)
    else:  # not reached: other types have no canonical content
        fields[VALUE] = entry.image.dump
    return fields


def _string_fields(fields: dict[str, Any], dump: bytes) -> None:
    try:
        raw = string_value(dump)
    except DumpFormatError:  # an RDB format this module does not know: the DUMP, as bytes
        fields[VALUE] = dump
        return
    value = text(raw)
    if isinstance(value, str):
        parsed = _json_object(value)
        if parsed is not None:
            for name, item in parsed.items():
                fields[_content_name(name)] = item
            return
    fields[VALUE] = value


def _json_object(value: str) -> dict[str, Any] | None:
    if not value.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(value, parse_constant=_no_constant)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not plain JSON")


def _content_name(name: str) -> str:
    """Names starting with ``@`` are the store's: a content name starting with one gets another."""
    return "@" + name if name.startswith("@") else name


def _name(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def _score_pairs(content: Sequence[Any]) -> list[tuple[bytes, float]]:
    """(member, score) pairs from a ZRANGE WITHSCORES reply: RESP3 pairs or RESP2 flat items."""
    if content and isinstance(content[0], list | tuple):
        return [(member, _score(score)) for member, score in content]
    items = list(content)
    return [(m, _score(s)) for m, s in zip(items[0::2], items[1::2], strict=True)]


def _score(value: Any) -> float:
    score = float(value)
    return score if not math.isnan(score) else 0.0  # a score is never NaN; keep records equal


def _stream_value(content: Any) -> dict[str, Any]:
    entries, groups = content
    return {
        "entries": [[text(entry_id), _entry_fields(values)] for entry_id, values in entries],
        "groups": [
            {
                "name": _plain_text(name),
                "last-delivered-id": _plain_text(last),
                "pending": _plain_text(pending),
                "consumers": _plain_text(consumers),
            }
            for name, last, pending, consumers in groups
        ],
    }


def _entry_fields(values: Sequence[Any]) -> dict[str, Any]:
    """A stream entry's fields: sorted (field, value) pairs, or RESP2's flat list."""
    if values and not isinstance(values[0], list | tuple):
        values = list(zip(values[0::2], values[1::2], strict=True))
    return {_name(name): text(value) for name, value in values}


def _plain_text(value: Any) -> Any:
    return text(value) if isinstance(value, bytes) else value


# -- decoding a string's DUMP --------------------------------------------------------------


def string_value(dump: bytes) -> bytes:
    """The value of a string key from its DUMP payload (RDB string encoding).

    Raises DumpFormatError if the payload is not a string object as RDB 9-11 (Redis 7) write it.
    """
    if len(dump) < 1 + _TRAILER or dump[0] != _RDB_TYPE_STRING:
        raise DumpFormatError("not a string DUMP payload")
    end = len(dump) - _TRAILER
    try:
        value, position = _rdb_string(dump, 1)
    except IndexError as exc:
        raise DumpFormatError("truncated string DUMP payload") from exc
    if position != end:
        raise DumpFormatError("unexpected bytes after the string in a DUMP payload")
    return value


def _rdb_length(data: bytes, position: int) -> tuple[int, bool, int]:
    """An RDB length at ``position``: (value, is a special encoding, next position)."""
    first = data[position]
    kind = first >> 6
    if kind == 0:
        return first & 0x3F, False, position + 1
    if kind == 1:
        return ((first & 0x3F) << 8) | data[position + 1], False, position + 2
    if kind == 3:
        return first & 0x3F, True, position + 1
    if first == 0x80:
        return int.from_bytes(data[position + 1 : position + 5], "big"), False, position + 5
    if first == 0x81:
        return int.from_bytes(data[position + 1 : position + 9], "big"), False, position + 9
    raise DumpFormatError(f"unknown RDB length encoding {first:#x}")


def _rdb_string(data: bytes, position: int) -> tuple[bytes, int]:
    length, special, position = _rdb_length(data, position)
    if not special:
        if position + length > len(data):
            raise DumpFormatError("truncated string DUMP payload")
        return data[position : position + length], position + length
    if length in (_ENC_INT8, _ENC_INT16, _ENC_INT32):
        width = 1 << length
        raw = data[position : position + width]
        if len(raw) != width:
            raise DumpFormatError("truncated integer in a DUMP payload")
        return str(int.from_bytes(raw, "little", signed=True)).encode(), position + width
    if length == _ENC_LZF:
        packed, _, position = _rdb_length(data, position)
        size, _, position = _rdb_length(data, position)
        compressed = data[position : position + packed]
        if len(compressed) != packed:
            raise DumpFormatError("truncated LZF data in a DUMP payload")
        return lzf_decompress(compressed, size), position + packed
    raise DumpFormatError(f"unknown RDB string encoding {length}")


def lzf_decompress(data: bytes, size: int) -> bytes:
    """LZF (liblzf, as Redis writes it) decompressed; ``size`` is the expected length."""
    out = bytearray()
    position, end = 0, len(data)
    while position < end:
        control = data[position]
        position += 1
        if control < 32:  # a literal run of control + 1 bytes
            run = control + 1
            if position + run > end:
                raise DumpFormatError("truncated LZF literal")
            out += data[position : position + run]
            position += run
            continue
        length = control >> 5  # a back reference
        if length == 7:
            length += data[position]
            position += 1
        if position >= end:
            raise DumpFormatError("truncated LZF back reference")
        start = len(out) - ((control & 0x1F) << 8) - data[position] - 1
        position += 1
        if start < 0:
            raise DumpFormatError("LZF back reference before the start")
        length += 2
        while length > 0:  # an overlapping reference repeats what it copies
            chunk = out[start : start + length]
            out += chunk
            start += len(chunk)
            length -= len(chunk)
    if len(out) != size:
        raise DumpFormatError(f"LZF data gives {len(out)} bytes, not {size}")
    return bytes(out)


# -- keeping the list up to date -----------------------------------------------------------


class ChangedRecords:
    """The keys whose record differs from setup, maintained from the shadow's updates."""

    def __init__(self, prefix: bytes) -> None:
        self._prefix = prefix
        self._records: dict[bytes, RecordChange] = {}
        #: The entry each key's record was last computed from (an identity check skips work).
        self._basis: dict[bytes, Entry | None] = {}
        #: Records at setup, computed once per key: they never change.
        self._setup_records: dict[bytes, dict[str, Any] | None] = {}
        self._listed: tuple[RecordChange, ...] | None = ()

    def update(self, shadow: Shadow) -> tuple[RecordChange, ...]:
        """The changed records, brought up to date with the keys the shadow updated since the
        previous call: O(size of those keys); the same tuple while nothing changed."""
        for key in shadow.take_changed():
            now = shadow.get(key)
            if key in self._basis and self._basis[key] is now:
                continue
            self._basis[key] = now
            change = self._change(key, shadow.setup_entry(key), now)
            old = self._records.get(key)
            if change is None:
                if old is not None:
                    del self._records[key]
                    self._listed = None
            elif change != old:
                self._records[key] = change
                self._listed = None
        if self._listed is None:
            self._listed = tuple(self._records[key] for key in sorted(self._records))
        return self._listed

    def _change(self, key: bytes, setup: Entry | None, now: Entry | None) -> RecordChange | None:
        if setup is None and now is None:
            return None
        if setup is not None and now is not None and digest_of(key, setup) == digest_of(key, now):
            return None  # the same name, type, TTL flag and content as at setup
        before = self._setup_record(key, setup)
        after = None if now is None else record_of(key, now)
        if before == after:  # equal content in another encoding (a string "12" vs 12)
            return None
        return RecordChange(
            collection=family(key, self._prefix),
            identity=(text(key),),
            before=before,
            after=after,
            key_fields=KEY_FIELDS,
        )

    def _setup_record(self, key: bytes, setup: Entry | None) -> Mapping[str, Any] | None:
        if key not in self._setup_records:
            self._setup_records[key] = None if setup is None else record_of(key, setup)
        return self._setup_records[key]
