"""S3Store behaviour beyond the contract suite, on a real SeaweedFS server: content type and
metadata restored, never-versioned buckets, crash recovery, tokens, errors and redaction."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from _support_s3 import SeaweedFS, bucket_content
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa.ports import StoragePort, StorePort
from venomqa_s3 import S3Store


def _store(seaweed: SeaweedFS, bucket: str, **options: Any) -> S3Store:
    return S3Store(bucket=bucket, endpoint_url=seaweed.endpoint_url, **options)


def _put(s3: Any, bucket: str, key: str, body: bytes, **extra: Any) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)


def _head(s3: Any, bucket: str, key: str) -> tuple[bytes, str, dict[str, str]]:
    answer = s3.get_object(Bucket=bucket, Key=key)
    return answer["Body"].read(), answer["ContentType"], answer["Metadata"]


def test_never_versioned_bucket_comes_back_with_content_type_and_metadata(
    seaweed: SeaweedFS, s3: Any, bucket: str
) -> None:
    _put(s3, bucket, "doc.json", b'{"v": 1}', ContentType="application/json", Metadata={"a": "1"})
    _put(s3, bucket, "gone.txt", b"bye", ContentType="text/plain")
    before = bucket_content(s3, bucket)
    assert before["versioning"] == "never enabled"
    store = _store(seaweed, bucket)
    store.setup()
    try:
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        token = store.checkpoint()
        fingerprint = store.fingerprint()
        _put(s3, bucket, "doc.json", b"<x/>", ContentType="application/xml", Metadata={"b": "2"})
        s3.delete_object(Bucket=bucket, Key="gone.txt")
        _put(s3, bucket, "new.bin", b"\x00\x01")
        assert store.fingerprint() != fingerprint
        store.rollback(token)
        assert store.fingerprint() == fingerprint
        assert _head(s3, bucket, "doc.json") == (
            b'{"v": 1}',
            "application/json",
            {"a": "1"},
        )
        assert _head(s3, bucket, "gone.txt")[0] == b"bye"
        assert store.get("new.bin") is None
    finally:
        store.teardown()
    after = bucket_content(s3, bucket)
    # S3 cannot go back to "never versioned": the store leaves it Suspended, content identical.
    assert after == {**before, "versioning": "Suspended"}
    assert not store.journal_file.exists()


def test_teardown_without_rollback_removes_the_run_s_versions(
    seaweed: SeaweedFS, s3: Any, bucket: str
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _put(s3, bucket, "k", b"1")
    _put(s3, bucket, "k", b"2")  # history from before the run stays
    before = bucket_content(s3, bucket)
    store = _store(seaweed, bucket)
    store.setup()
    try:
        store.checkpoint()
        _put(s3, bucket, "k", b"3")
        _put(s3, bucket, "other", b"x")
        s3.delete_object(Bucket=bucket, Key="k")
    finally:
        store.teardown()
    assert bucket_content(s3, bucket) == before


def test_next_setup_finishes_a_run_killed_before_teardown(
    seaweed: SeaweedFS, s3: Any, bucket: str
) -> None:
    _put(s3, bucket, "k", b"original")
    before = bucket_content(s3, bucket)
    killed = _store(seaweed, bucket)
    killed.setup()
    _put(s3, bucket, "k", b"changed")
    _put(s3, bucket, "added", b"x")
    assert killed.journal_file.exists()  # no teardown: as if the process was killed here

    store = _store(seaweed, bucket)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        store.setup()
    [note] = seen
    assert note.category is LeftoversRepaired
    assert str(note.message) == (
        f"bucket {bucket!r} at {seaweed.endpoint_url}: an earlier VenomQA run was stopped before "
        "its clean-up; removed 2 object version(s) and delete marker(s) on 2 key(s) and set "
        "versioning to Suspended (the bucket was never versioned, which S3 cannot restore)"
    )
    try:
        assert store.get("k") == b"original"
        assert store.list() == ["k"]
    finally:
        store.teardown()
    assert bucket_content(s3, bucket) == {**before, "versioning": "Suspended"}


def _at_the_start_of_a_second() -> None:
    """Sleep until the clock's second has just begun (so two quick writes share one)."""
    while time.time() % 1 > 0.05:
        time.sleep(0.01)


def test_a_rewrite_within_the_same_second_is_seen_and_rolled_back(
    seaweed: SeaweedFS, s3: Any, bucket: str
) -> None:
    # ETag, size and LastModified (to the second) are all the listing shows: a rewrite with the
    # same bytes in the same second looks like nothing happened.
    store = _store(seaweed, bucket)
    store.setup()
    try:
        root = store.checkpoint()
        _at_the_start_of_a_second()
        _put(s3, bucket, "k", b"same", Metadata={"n": "1"})
        middle = store.checkpoint()
        assert [c.after and c.after["meta.n"] for c in store.changed_records()] == ["1"]
        _put(s3, bucket, "k", b"same", Metadata={"n": "2"})
        first, second = s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]
        assert first["LastModified"] == second["LastModified"]  # the case this test is about
        assert [c.after and c.after["meta.n"] for c in store.changed_records()] == ["2"]
        store.rollback(middle)
        assert _head(s3, bucket, "k")[0::2] == (b"same", {"n": "1"})
        assert [c.after and c.after["meta.n"] for c in store.changed_records()] == ["1"]
        store.rollback(root)
        assert store.get("k") is None
        assert s3.list_object_versions(Bucket=bucket, Prefix="k").get("Versions") is None
    finally:
        store.teardown()


def test_nested_tokens_and_invalidation(seaweed: SeaweedFS, s3: Any, bucket: str) -> None:
    store = _store(seaweed, bucket)
    store.setup()
    try:
        outer = store.checkpoint()
        _put(s3, bucket, "a", b"1")
        inner = store.checkpoint()
        _put(s3, bucket, "a", b"2")
        store.rollback(outer)
        with pytest.raises(StoreError, match="invalidated checkpoint token"):
            store.rollback(inner)
        store.rollback(outer)  # still valid
        assert store.list() == []
        released = store.checkpoint()
        store.release(released)
        with pytest.raises(StoreError, match="invalidated"):
            store.rollback(released)
    finally:
        store.teardown()


def test_rollback_of_more_than_one_delete_batch(seaweed: SeaweedFS, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "seed", b"s")
    store = _store(seaweed, bucket, prefix="")
    store.setup()
    try:
        token = store.checkpoint()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: _put(s3, bucket, f"bulk/{i:04d}", b"x"), range(1005)))
        assert store.observe()["objects"] == 1006
        store.rollback(token)
        assert store.list() == ["seed"]
        assert bucket_content(s3, bucket)["keys"] == {"seed": [("null", True, "s", ANY, {})]}
    finally:
        store.teardown()


def test_storage_port(seaweed: SeaweedFS, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "outside", b"o")
    store = _store(seaweed, bucket, prefix="in/")
    assert isinstance(store, StoragePort) and isinstance(store, StorePort)
    store.setup()
    try:
        token = store.checkpoint()
        store.put("in/a.txt", b"A", content_type="text/plain")
        store.put("in/sub/b", b"B")
        assert store.get("in/a.txt") == b"A"
        assert store.get("in/missing") is None
        assert store.list() == ["in/a.txt", "in/sub/b"]
        assert store.list("sub/") == store.list("in/sub/") == ["in/sub/b"]
        store.delete("in/a.txt")
        assert store.list() == ["in/sub/b"]
        observed = store.observe()
        assert observed["objects"] == 1 and observed["prefix"] == "in/"
        store.rollback(token)
        assert store.list() == []
    finally:
        store.teardown()
    assert s3.get_object(Bucket=bucket, Key="outside")["Body"].read() == b"o"


def test_missing_bucket_is_an_actionable_error(seaweed: SeaweedFS) -> None:
    store = _store(seaweed, "no-such-bucket-here")
    with pytest.raises(StoreError, match="does not exist; create it or fix the `bucket` option"):
        store.setup()


def test_explicit_keys_never_show(tmp_path: Path) -> None:
    store = S3Store(
        bucket="some-bucket",
        endpoint_url="http://127.0.0.1:9",  # nothing listens: the error path
        aws_access_key_id="AKIDSECRETID",
        aws_secret_access_key="TOPSECRETKEY",
        aws_session_token="SESSIONSECRET",
        state_dir=str(tmp_path),
        retry_for_s=0.5,
    )
    texts = [repr(store), str(vars(store)), repr(store.connection)]
    with pytest.raises(StoreError) as failure:
        store.setup()
    texts.append(str(failure.value))
    assert "cannot connect to http://127.0.0.1:9" in str(failure.value)
    for text in texts:
        for secret in ("AKIDSECRETID", "TOPSECRETKEY", "SESSIONSECRET"):
            assert secret not in text, text
    assert store.connection.redact("key TOPSECRETKEY id AKIDSECRETID") == "key *** id ***"
    # Listings go through presigned URLs: whatever credentials they carry never show.
    presigned = (
        'URL: "http://h/b?list-type=2&AWSAccessKeyId=CHAINKEY&Signature=abc%3D&Expires=1"; '
        "http://h/b?X-Amz-Credential=K%2F2024&X-Amz-Security-Token=TOKEN&X-Amz-Signature=f00"
    )
    assert store.connection.redact(presigned) == (
        'URL: "http://h/b?list-type=2&AWSAccessKeyId=***&Signature=***&Expires=1"; '
        "http://h/b?X-Amz-Credential=***&X-Amz-Security-Token=***&X-Amz-Signature=***"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bucket": "ab"}, "3-63 characters"),
        ({"bucket": "abc", "aws_access_key_id": "x"}, "give both"),
        ({"bucket": "abc", "addressing_style": "sideways"}, "addressing_style"),
        ({"bucket": "abc", "retry_for_s": -1}, "between 0 and 3600"),
        ({"bucket": "abc", "retry_for_s": "20"}, "number of seconds"),
    ],
)
def test_bad_options_are_value_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        S3Store(**options)


def test_plugin_registers_s3_without_importing_boto3() -> None:
    code = (
        "import sys, venomqa_s3.plugin as p\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'boto3 imported'\n"
        "from venomqa.plugins import adapters\n"
        "print(adapters()['s3'].__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "S3Store"
