"""Done when: `venomqa run` explores an API server process that keeps its state in an S3 bucket,
finds exactly the states an independent model predicts (exact dedup), reports the seeded
violation with its shortest path, and leaves the bucket as it was before the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support_s3 import SeaweedFS, bucket_content
from _support_s3_docs import DOCS_ACTIONS, model_bfs, start_docs_api, violates
from venomqa.testing.server import ApiProcess

MAX_DEPTH = 4


def test_model_is_sane() -> None:
    states = model_bfs(MAX_DEPTH)
    shortest = min((p for s, p in states.items() if violates(s)), key=len)
    assert shortest == ["upload_a", "delete_a", "upload_b", "restore_a"]


# --- The real thing ----------------------------------------------------------------------------


@pytest.fixture
def docs_api(seaweed: SeaweedFS, bucket: str) -> Iterator[ApiProcess]:
    with start_docs_api(seaweed.endpoint_url, bucket) as api:
        yield api


def _seed(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="other/readme", Body=b"keep me", ContentType="text/markdown")


def test_venomqa_run_explores_a_separate_api_on_s3(
    seaweed: SeaweedFS, s3: Any, bucket: str, docs_api: ApiProcess, tmp_path: Path
) -> None:
    _seed(s3, bucket)
    before = bucket_content(s3, bucket)
    (tmp_path / "docs_checks.py").write_text(DOCS_ACTIONS)
    config = tmp_path / "venomqa.yaml"
    config.write_text(
        f"target: {docs_api.url}\n"
        "actions: [docs_checks]\n"
        "stores:\n"
        f"  files: {{adapter: s3, bucket: {bucket}, endpoint_url: '{seaweed.endpoint_url}',"
        f" state_dir: '{tmp_path / 'state'}'}}\n"
        f"explore: {{strategy: bfs, max_depth: {MAX_DEPTH}}}\n"
    )
    out = tmp_path / "report.json"
    env = {**os.environ, "VENOMQA_LOAD_PLUGINS": "s3"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "venomqa.cli.main",
            "run",
            "-c",
            str(config),
            "--report",
            f"json:{out}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text())
    model = model_bfs(MAX_DEPTH)
    assert report["states"] == len(model)
    [shortest] = [v for v in report["violations"] if v["invariant"] == "quota_respected"]
    expected = min((p for s, p in model.items() if violates(s)), key=len)
    assert shortest["path"] == expected
    assert [step["response"]["status"] for step in shortest["steps"]] == [201, 200, 201, 200]
    assert not [v for v in report["violations"] if v["kind"] != "invariant"]  # no 5xx, no raise
    # Uploads carry a timestamp and a random request id as metadata: learned, not configured.
    learned = {v["spec"] for v in report["exploration"]["volatile"] if not v["declared"]}
    assert {"docs.meta.uploaded-at", "docs.meta.request-id"} <= learned, learned
    assert not {spec for spec in learned if not spec.split(".", 1)[1].startswith("meta.")}

    # The bucket holds exactly what it held (every version, content type and metadata); it was
    # never versioned, which S3 cannot restore, so it is left with versioning Suspended.
    assert bucket_content(s3, bucket) == {**before, "versioning": "Suspended"}
    assert not list((tmp_path / "state").glob("*.json"))  # the journal is gone


def test_explore_from_python_on_an_enabled_bucket(
    seaweed: SeaweedFS, s3: Any, bucket: str, docs_api: ApiProcess, tmp_path: Path
) -> None:
    from venomqa import Client, World, explore
    from venomqa.discovery import discover
    from venomqa_s3 import S3Store

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _seed(s3, bucket)
    s3.put_object(Bucket=bucket, Key="other/readme", Body=b"keep me too")  # some history
    before = bucket_content(s3, bucket)
    (tmp_path / "docs_checks.py").write_text(DOCS_ACTIONS)
    found = discover(["docs_checks"], tmp_path)
    store = S3Store(
        bucket=bucket, endpoint_url=seaweed.endpoint_url, state_dir=str(tmp_path / "state")
    )
    world = World(Client(base_url=docs_api.url), stores={"files": store})
    result = explore(world, found.actions, found.invariants, max_depth=MAX_DEPTH)
    assert result.states == len(model_bfs(MAX_DEPTH))
    [violation] = result.violations  # one entry for the one broken invariant
    expected = min((p for s, p in model_bfs(MAX_DEPTH).items() if violates(s)), key=len)
    assert len(violation.path) == len(expected) == 4
    assert bucket_content(s3, bucket) == before  # Enabled before, Enabled after, same versions


SLOW_ACTIONS = """
import time

from venomqa import action


@action
def upload_then_delete(api, ctx):
    ctx["n"] = ctx.get("n", 0) + 1
    response = api.put(f"/docs/d{ctx['n']}", content="x")
    api.delete(f"/docs/d{ctx['n']}")
    time.sleep(0.05)
    return response
"""


def _key_count(s3: Any, bucket: str) -> int:
    """How many keys have versions now: one listing, no reads of versions that a rollback in
    progress may be deleting."""
    listing = s3.list_object_versions(Bucket=bucket)
    entries = listing.get("Versions", []) + listing.get("DeleteMarkers", [])
    return len({entry["Key"] for entry in entries})


def test_sigint_mid_run_leaves_the_bucket_as_before(
    seaweed: SeaweedFS, s3: Any, bucket: str, docs_api: ApiProcess, tmp_path: Path
) -> None:
    _seed(s3, bucket)
    before = bucket_content(s3, bucket)
    (tmp_path / "slow_checks.py").write_text(SLOW_ACTIONS)
    (tmp_path / "venomqa.yaml").write_text(
        f"target: {docs_api.url}\n"
        "actions: [slow_checks]\n"
        "stores:\n"
        f"  files: {{adapter: s3, bucket: {bucket}, endpoint_url: '{seaweed.endpoint_url}',"
        f" state_dir: '{tmp_path / 'state'}'}}\n"
        "explore: {max_depth: 500, max_states: 100000}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "venomqa", "run", "-c", str(tmp_path / "venomqa.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VENOMQA_LOAD_PLUGINS": "s3"},
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _key_count(s3, bucket) < 4:
        time.sleep(0.1)  # wait until the run has written trash objects
    assert _key_count(s3, bucket) >= 4, "the run never wrote to the bucket"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert bucket_content(s3, bucket) == {**before, "versioning": "Suspended"}
    assert not list((tmp_path / "state").glob("*.json"))
