"""The shadow's compact setup layer (strings kept as the SCAN script's replies, an Entry built only
when a key is read or updated) and the columnar journal it writes: both must answer exactly like
entries loaded one by one, including repeated keys from SCAN, TTLs, updates and deletions; and a
journal of the earlier per-key format must still be read."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from venomqa_redis._journal import (
    Baseline,
    DamagedJournal,
    Journal,
    JournalWriter,
    read_journal,
    write_journal,
)
from venomqa_redis._keyspace import Entry, Image, digest_of, scan_entries, scan_images
from venomqa_redis._shadow import Shadow

Columns = tuple[list[bytes], list[bytes], list[int]]


def reply(*keys: tuple[bytes, bytes, int]) -> Columns:
    """One script call's strings as ``Shadow.load_strings`` takes them."""
    return [k for k, _, _ in keys], [d for _, d, _ in keys], [e for _, _, e in keys]


def string(dump: bytes, expire_at: int = -1) -> Entry:
    return Entry(Image(b"string", dump, expire_at), None)


def loaded(*replies: Columns) -> tuple[Shadow, Shadow]:
    """The same replies in a layered shadow and in one loaded key by key (the reference)."""
    layered, reference = Shadow(), Shadow()
    for r in replies:
        layered.load_strings(*r)
        for key, dump, expire_at in zip(*r, strict=True):
            reference.load(key, string(dump, expire_at))
    layered.baseline()
    reference.baseline()
    return layered, reference


def same(a: Shadow, b: Shadow, keys: list[bytes]) -> None:
    assert len(a) == len(b)
    assert sorted(a.tracked_keys()) == sorted(b.tracked_keys())
    assert a.fingerprint() == b.fingerprint()
    assert a.type_counts() == b.type_counts()
    for key in keys:
        assert a.get(key) == b.get(key)
        assert a.setup_entry(key) == b.setup_entry(key)


def test_the_setup_layer_answers_like_entries_loaded_one_by_one() -> None:
    first = reply((b"a", b"A", -1), (b"b", b"B", 5_000), (b"c", b"C", -1))
    second = reply((b"d", b"D", 1_000), (b"b", b"B2", 6_000))  # SCAN may repeat a key
    layered, reference = loaded(first, second)
    keys = [b"a", b"b", b"c", b"d", b"zz"]
    same(layered, reference, keys)
    assert layered.get(b"b") == string(b"B2", 6_000)
    assert layered.same_image(b"a", Image(b"string", b"A", -1))
    assert not layered.same_image(b"a", Image(b"string", b"A", 7))
    assert not layered.same_image(b"a", None) and layered.same_image(b"zz", None)
    assert layered.expired(5_500) == reference.expired(5_500) == {b"d"}

    for shadow in (layered, reference):
        shadow.put(b"a", string(b"A2"))
        shadow.put(b"c", None)
        shadow.put(b"e", string(b"E", 9_000))
        shadow.put(b"a", string(b"A3"))
    same(layered, reference, [*keys, b"e"])
    assert layered.take_changed() == reference.take_changed() == {b"a", b"c", b"e"}
    assert layered.setup_entry(b"c") == string(b"C")
    assert not layered.same_image(b"c", Image(b"string", b"C", -1))
    assert layered.expired(10_000) == reference.expired(10_000) == {b"b", b"e"}

    layered.put(b"a", string(b"A"))  # back to what it held: the fingerprint is 0 again
    layered.put(b"c", string(b"C"))
    layered.put(b"e", None)
    assert layered.fingerprint() == f"{0:016x}"
    assert digest_of(b"a", layered.get(b"a") or string(b"")) == digest_of(b"a", string(b"A"))


def test_the_journal_round_trips_columns_and_still_reads_version_1(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    columns = Baseline([b"k\x00\xff", b""], [b"\x00dump\n", b""], [1_700_000_000_000, -1])
    write_journal(path, Journal("AKE", columns, started=1.5, pid=3), describe={"where": "x"})
    expected = {b"k\x00\xff": (b"\x00dump\n", 1_700_000_000_000), b"": (b"", -1)}
    assert read_journal(path) == Journal("AKE", expected, started=1.5, pid=3)

    record = struct.Struct(">IIq")
    body = b"".join(record.pack(len(k), len(d), e) + k + d for k, (d, e) in expected.items())
    header = b'{"config": "AKE", "started": 1.5, "pid": 3, "keys": 2}\n'
    path.write_bytes(b"VENOMQA-REDIS-JOURNAL 1\n" + header + body + b"END")
    assert read_journal(path) == Journal("AKE", expected, started=1.5, pid=3)


def test_setup_reads_mixed_keys_into_the_layer_like_the_per_key_form(store_db: Any) -> None:
    pipe = store_db.pipeline(transaction=False)
    for i in range(2_500):  # three script calls, each with strings, TTLs and other types
        pipe.set(f"s:{i}", f"v{i}")
        if i % 7 == 0:
            pipe.set(f"t:{i}", i, px=600_000)
        if i % 11 == 0:
            pipe.hset(f"h:{i}", "f", i)
            pipe.rpush(f"l:{i}", i, i + 1)
            pipe.expire(f"l:{i}", 600)
    pipe.execute()
    images = scan_images(store_db, b"")  # the per-key form of the same script

    shadow = Shadow()
    for key, entry in scan_entries(store_db, b"", shadow.load_strings).items():
        assert entry.image.type != b"string"
        shadow.load(key, entry)
    shadow.baseline()
    assert len(shadow) == len(images) and set(shadow.tracked_keys()) == images.keys()
    for key, image in images.items():
        assert shadow.same_image(key, image)
        entry = shadow.get(key)
        assert entry is not None and entry.image == image
    plain = scan_entries(store_db, b"")  # no layer: every key an Entry
    assert {k: e.image for k, e in plain.items()} == images
    assert shadow.type_counts() == {"hash": 228, "list": 228, "string": 2_500 + 358}


def test_the_journal_writer_appends_chunks_and_abort_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    write_journal(path, Journal("E", None, started=1.0, pid=2), describe={})
    assert read_journal(path) == Journal("E", None, started=1.0, pid=2)

    writer = JournalWriter(path)
    writer.add([b"a", b"b"], [b"A", b"B"], [-1, 5])
    writer.abort()
    assert read_journal(path) == Journal("E", None, started=1.0, pid=2)

    writer = JournalWriter(path)
    writer.add([b"a", b"b"], [b"A", b"B"], [-1, 5])
    writer.add([], [], [])
    writer.add([b"c", b"a"], [b"C", b"A2"], [7, -1])  # SCAN repeated a: the later one counts
    writer.finish(Journal("E", None, started=1.0, pid=2), describe={}, baseline=True)
    baseline = {b"a": (b"A2", -1), b"b": (b"B", 5), b"c": (b"C", 7)}
    assert read_journal(path) == Journal("E", baseline, started=1.0, pid=2)
    data = path.read_bytes()
    path.write_bytes(data[:20] + data[30:])  # a damaged chunk is refused, not half read
    with pytest.raises(DamagedJournal):
        read_journal(path)
