"""Copies of a bucket for parallel workers (``SupportsClone``), on a real SeaweedFS server.

Other runs (a live one, a killed one) are real Python processes that make copies and set up
stores over them; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from _support_s3 import SeaweedFS, seed_history, version_listing
from _support_s3_docs import venomqa
from venomqa.errors import LeftoversRepaired, StoreError
from venomqa_s3 import S3Store
from venomqa_s3._clone import CLONE_OF_TAG, INDEX_TAG, copy_name
from venomqa_s3._owner import Owner

USER_TAG = {"Key": "team", "Value": "billing"}


def store(seaweed: SeaweedFS, bucket: str, tmp_path: Path, **options: Any) -> S3Store:
    options = {
        "bucket": bucket,
        "endpoint_url": seaweed.endpoint_url,
        "state_dir": str(tmp_path / "state"),
        "retry_for_s": 2,
        **options,
    }
    return S3Store(**options)


def objects(s3: Any, bucket: str) -> dict[str, tuple[bytes, str, dict[str, str]]]:
    """Every current object: its bytes, content type and user metadata."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", ()):
            answer = s3.get_object(Bucket=bucket, Key=entry["Key"])
            found[entry["Key"]] = (
                answer["Body"].read(),
                answer.get("ContentType"),
                answer.get("Metadata", {}),
            )
    return found


def tags(s3: Any, bucket: str) -> dict[str, str]:
    try:
        answer = s3.get_bucket_tagging(Bucket=bucket)
    except s3.exceptions.ClientError:
        return {}
    return {t["Key"]: t["Value"] for t in answer["TagSet"]}


def exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        return False
    return True


def fill(s3: Any, bucket: str) -> None:
    """A past (several versions, a deleted object, Suspended versioning) and current objects
    with content types and metadata, some under ``docs/``."""
    seed_history(s3, bucket, "Suspended")
    s3.put_object(
        Bucket=bucket, Key="docs/a.json", Body=b'{"a": 1}', ContentType="application/json"
    )
    s3.put_object(
        Bucket=bucket, Key="docs/b b+c.txt", Body=b"b" * 3000, Metadata={"author": "carol"}
    )
    s3.put_object(Bucket=bucket, Key="docs/empty", Body=b"")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [USER_TAG]})


#: Another run: make the copy ``label`` and set its store up (or set up a store over given
#: options), print the options, then wait until stdin closes (a live run) or it is killed.
OTHER_RUN = """
import json, sys
from venomqa_s3 import S3Store
options = json.loads(sys.argv[1])
if sys.argv[2] == "clone":
    options = S3Store(**options).clone(sys.argv[3])
copy = S3Store(**options)
copy.setup()
print(json.dumps(options), flush=True)
sys.stdin.read()
copy.teardown()
"""


def other_run(options: dict[str, Any], what: str, label: str = "") -> tuple[Any, dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OTHER_RUN), json.dumps(options), what, label],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=60)
        pytest.fail(f"the other run failed: {process.stderr.read() if process.stderr else ''}")
    return process, json.loads(line)


def killed(process: Any) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_the_copy_holds_every_current_object_with_its_metadata(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    before = version_listing(s3, bucket)
    original = store(seaweed, bucket, tmp_path)

    options = original.clone("w2")

    name = options["bucket"]
    assert name == f"{bucket}-venomqa-w2"
    assert options == {**original._options(), "bucket": name}
    assert objects(s3, name) == objects(s3, bucket)  # bytes, content type, metadata
    assert sorted(objects(s3, name)) == [
        "docs/a.json",
        "docs/b b+c.txt",
        "docs/empty",
        "other/readme",
        "trash/old",
    ]
    copy = version_listing(s3, name)
    assert copy["versioning"] == "Suspended" and not copy["delete_markers"]
    assert len(copy["versions"]) == 5  # the current versions only
    assert version_listing(s3, bucket) == before  # no object of the original changed
    assert tags(s3, name)[CLONE_OF_TAG] == bucket
    assert tags(s3, bucket)[INDEX_TAG + "w2"].startswith(f"{name} ")
    assert tags(s3, bucket)["team"] == "billing"  # the user's own tag is kept
    original.drop_clone(options)


def test_a_store_with_a_prefix_copies_what_it_covers(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    original = store(seaweed, bucket, tmp_path, prefix="docs/")

    options = original.clone("w3")

    assert options["prefix"] == "docs/"
    assert objects(s3, options["bucket"]) == {
        key: value for key, value in objects(s3, bucket).items() if key.startswith("docs/")
    }
    assert s3.get_bucket_versioning(Bucket=options["bucket"])["Status"] == "Enabled"
    original.drop_clone(options)


def test_a_store_over_the_copy_works_and_leaves_the_original_alone(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    before = version_listing(s3, bucket)
    original = store(seaweed, bucket, tmp_path)
    options = original.clone("w2")
    name = options["bucket"]
    copied = objects(s3, name)
    worker = S3Store(**options)

    worker.setup()
    try:
        start = worker.checkpoint()
        s3.put_object(Bucket=name, Key="docs/a.json", Body=b"changed")
        s3.delete_object(Bucket=name, Key="docs/empty")
        s3.put_object(Bucket=name, Key="docs/new", Body=b"new")
        changed = worker.fingerprint()
        assert version_listing(s3, bucket) == before
        worker.rollback(start)
        assert objects(s3, name) == copied
        assert worker.fingerprint() != changed
    finally:
        worker.teardown()
    assert objects(s3, name) == copied
    assert version_listing(s3, bucket) == before
    original.drop_clone(options)


def test_a_never_versioned_bucket_gives_a_never_versioned_copy(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", ContentType="text/plain")
    original = store(seaweed, bucket, tmp_path)

    options = original.clone("w2")

    assert "Status" not in s3.get_bucket_versioning(Bucket=options["bucket"])
    assert objects(s3, options["bucket"]) == objects(s3, bucket)
    original.drop_clone(options)


def test_drop_clone_deletes_the_copy_and_its_entry(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    original = store(seaweed, bucket, tmp_path)
    options = original.clone("w2")
    worker = S3Store(**options)
    worker.setup()
    s3.put_object(Bucket=options["bucket"], Key="docs/more", Body=b"x")  # versions, markers
    s3.delete_object(Bucket=options["bucket"], Key="docs/a.json")
    worker.teardown()

    original.drop_clone(options)
    original.drop_clone(options)  # gone already: nothing happens

    assert not exists(s3, options["bucket"])
    assert tags(s3, bucket) == {"team": "billing"}


def test_a_copy_left_by_a_killed_run_is_dropped_as_a_leftover(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    original = store(seaweed, bucket, tmp_path)
    process, options = other_run(original._options(), "clone", "w2")
    killed(process)  # no clean-up: the copy, its entry and its store's journal stay
    assert exists(s3, options["bucket"])
    assert list((tmp_path / "state").iterdir())

    [line] = original.drop_leftover_clones()

    name = options["bucket"]
    host = Owner.this_process().host
    assert (
        line == f"bucket {name!r} (copy w2 of {bucket!r}, made by process {process.pid} on {host})"
    )
    assert not exists(s3, name)
    assert tags(s3, bucket) == {"team": "billing"}
    assert list((tmp_path / "state").iterdir()) == []
    assert original.drop_leftover_clones() == []


def test_a_copy_a_live_run_uses_is_left_alone_and_cannot_be_made_again(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    original = store(seaweed, bucket, tmp_path)
    process, options = other_run(original._options(), "clone", "w2")
    try:
        assert original.drop_leftover_clones() == []
        with pytest.raises(StoreError) as raised:
            original.clone("w2")
        message = str(raised.value)
        assert f"bucket '{options['bucket']}' (copy w2 of '{bucket}', made by process " in message
        assert "in use by a live run" in message
        assert objects(s3, options["bucket"]) == objects(s3, bucket)
        other = original.clone("w3")  # another label is fine
        original.drop_clone(other)
    finally:
        process.communicate("", timeout=60)
    assert process.returncode == 0, process.stderr
    assert len(original.drop_leftover_clones()) == 1  # that run is over now
    assert not exists(s3, options["bucket"])


def test_a_copy_of_the_same_name_left_by_a_dead_run_is_replaced(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    original = store(seaweed, bucket, tmp_path)
    process, left = other_run(original._options(), "clone", "w2")
    killed(process)
    s3.put_object(Bucket=left["bucket"], Key="docs/made-by-the-dead-run", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="docs/empty")

    options = original.clone("w2")

    assert options == left
    assert objects(s3, options["bucket"]) == objects(s3, bucket)
    assert tags(s3, bucket)[INDEX_TAG + "w2"].endswith(Owner.this_process().encode())
    original.drop_clone(options)


def test_a_bucket_of_that_name_that_is_no_copy_is_left_alone(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    name = f"{bucket}-venomqa-w2"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="precious", Body=b"x")
    original = store(seaweed, bucket, tmp_path)
    try:
        with pytest.raises(StoreError, match=f"the bucket '{name}' exists and is no VenomQA copy"):
            original.clone("w2")
        with pytest.raises(StoreError, match="is no VenomQA copy"):
            original.drop_clone({"bucket": name})
        assert s3.get_object(Bucket=name, Key="precious")["Body"].read() == b"x"
    finally:
        s3.delete_object(Bucket=name, Key="precious")
        s3.delete_bucket(Bucket=name)


def test_venomqa_recover_removes_a_killed_runs_copies(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    original = store(seaweed, bucket, tmp_path)
    process, options = other_run(original._options(), "clone", "w4")
    killed(process)
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        "target: http://127.0.0.1:9\n"
        "stores:\n"
        f"  files: {{adapter: s3, bucket: {bucket}, endpoint_url: '{seaweed.endpoint_url}',\n"
        f"          state_dir: '{tmp_path / 'state'}'}}\n"
    )

    recovered = venomqa("recover", "-c", str(config), cwd=tmp_path)

    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    [line] = recovered.stdout.splitlines()
    assert f": repaired: removed the worker copy bucket '{options['bucket']}' (copy w4 of " in line
    assert not exists(s3, options["bucket"])
    assert tags(s3, bucket) == {"team": "billing"}


@pytest.mark.parametrize(
    ("bucket", "label", "name"),
    [
        ("uploads", "w2", "uploads-venomqa-w2"),
        ("my.uploads", "Worker_3", "my.uploads-venomqa-worker-3"),
        ("b" * 50, "w12", None),
        ("a" * 63, "w2", None),
        ("x" * 40, "a-very-long-label-for-one-worker-indeed", None),
    ],
)
def test_copy_names_are_valid_bucket_names(bucket: str, label: str, name: str | None) -> None:
    made = copy_name(bucket, label)
    if name is not None:
        assert made == name
    assert 3 <= len(made) <= 63 and made == made.lower() and "_" not in made
    assert "-venomqa-" in made and made[0].isalnum() and made[-1].isalnum()
    assert copy_name(bucket, label) == made  # stable
    assert copy_name(bucket, label + "x") != made


def test_the_maker_of_a_copy_is_alive_while_its_process_runs() -> None:
    me = Owner.this_process()
    assert me.alive() is True
    assert Owner.decode(me.encode()) == me
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Owner(me.host, int(done.stdout), me.started).alive() is False
    assert Owner(me.host, os.getpid(), me.started + 1).alive() is False  # a recycled id
    assert Owner("elsewhere", os.getpid(), me.started).alive() is None


def test_what_a_killed_run_left_in_the_original_is_repaired_before_copying(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    fill(s3, bucket)
    before = objects(s3, bucket)
    original = store(seaweed, bucket, tmp_path)
    process, _ = other_run(original._options(), "open")
    s3.put_object(Bucket=bucket, Key="docs/written-during-the-killed-run", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="docs/a.json")
    killed(process)

    with pytest.warns(LeftoversRepaired, match="stopped before its clean-up"):
        options = original.clone("w2")

    assert objects(s3, options["bucket"]) == before == objects(s3, bucket)
    original.drop_clone(options)
