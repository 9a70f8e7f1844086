"""Verified rollbacks through a real API: the document API (its own process, its own boto3
client) writes a real SeaweedFS bucket while VenomQA checkpoints and rolls back at random, and
every rollback is checked against what the store held at its checkpoint (objects, content
types, user metadata). After the last rollback, before teardown, the bucket is exactly as
before, checked by another client: every version, delete marker and the versioning status."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from _support_s3 import SeaweedFS, seed_history, version_listing
from _support_s3_docs import (
    ACTIONS_NAME,
    DOCS_ACTIONS,
    journals,
    model_bfs,
    start_docs_api,
    violates,
)
from venomqa import Client, World, explore
from venomqa.discovery import Discovered, discover
from venomqa.testing import soak_rollbacks
from venomqa_s3 import S3Store

ROLLBACKS = 1000


class CountingS3Store(S3Store):
    """The real S3 store, counting its rollbacks."""

    rollbacks = 0

    def rollback(self, token: Any) -> None:
        super().rollback(token)
        self.rollbacks += 1


def _world(
    api_url: str, seaweed: SeaweedFS, bucket: str, tmp_path: Path
) -> tuple[World, CountingS3Store]:
    store = CountingS3Store(
        bucket=bucket, endpoint_url=seaweed.endpoint_url, state_dir=str(tmp_path / "state")
    )
    return World(Client(base_url=api_url), stores={"files": store}), store


def _docs_checks(tmp_path: Path) -> Discovered:
    (tmp_path / f"{ACTIONS_NAME}.py").write_text(DOCS_ACTIONS)
    return discover([ACTIONS_NAME], tmp_path)


def test_a_thousand_verified_rollbacks_leave_the_bucket_as_it_was(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    seed_history(s3, bucket, "Enabled")
    before = version_listing(s3, bucket)
    found = _docs_checks(tmp_path)
    with start_docs_api(seaweed.endpoint_url, bucket) as api:
        world, store = _world(api.url, seaweed, bucket, tmp_path)
        world.setup()
        try:
            started = time.monotonic()
            result = soak_rollbacks(world, found.actions, rollbacks=ROLLBACKS, manage_world=False)
            took = time.monotonic() - started
            # Rolled back to the start, not torn down yet: a version the store lost track of
            # would still be here (verify_rollback only compares what the store itself sees).
            assert version_listing(s3, bucket) == before
        finally:
            world.teardown()
    each_ms = took / result.rollbacks * 1000
    print(
        f"\n{result.rollbacks} verified rollbacks in {took:.1f}s ({each_ms:.0f} ms each), "
        f"{result.actions} actions, deepest stack {result.deepest}"
    )
    assert result.rollbacks == ROLLBACKS
    assert store.rollbacks >= ROLLBACKS  # every one verified (plus the session's final one)
    assert result.actions > ROLLBACKS and result.errors == 0 and result.deepest >= 4
    assert version_listing(s3, bucket) == before
    assert not journals(tmp_path)


def test_explore_with_verify_rollback(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    seed_history(s3, bucket, "Suspended")
    before = version_listing(s3, bucket)
    found = _docs_checks(tmp_path)
    with start_docs_api(seaweed.endpoint_url, bucket) as api:
        world, store = _world(api.url, seaweed, bucket, tmp_path)
        result = explore(world, found.actions, found.invariants, max_depth=4, verify_rollback=True)
    model = model_bfs(4)
    assert result.states == len(model) and store.rollbacks > 20
    [violation] = result.violations  # the seeded bug; no rollback_drift, no nondeterminism
    assert violation.kind == "invariant"
    assert list(violation.path) == min((p for s, p in model.items() if violates(s)), key=len)
    assert version_listing(s3, bucket) == before
    assert not journals(tmp_path)
