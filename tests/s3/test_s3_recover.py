"""A `venomqa run` SIGKILLed mid-run leaves object versions and versioning Enabled in the
bucket, and its journal; `venomqa recover` puts the bucket back exactly (every version with its
bytes and metadata, every delete marker, the versioning status) and says so in one line, and a
second `venomqa recover` finds nothing left over. Real SeaweedFS, real API process."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from _support_s3 import SeaweedFS, seed_history, version_listing
from _support_s3_docs import (
    journals,
    start_docs_api,
    venomqa,
    venomqa_command,
    venomqa_env,
    write_docs_project,
)


def _versions(s3: Any, bucket: str) -> int:
    answer = s3.list_object_versions(Bucket=bucket)
    return len(answer.get("Versions", [])) + len(answer.get("DeleteMarkers", []))


def test_recover_after_a_sigkilled_run_restores_every_version(
    seaweed: SeaweedFS, s3: Any, bucket: str, tmp_path: Path
) -> None:
    seed_history(s3, bucket, "Suspended")
    before = version_listing(s3, bucket)
    versions_before = _versions(s3, bucket)
    with start_docs_api(seaweed.endpoint_url, bucket) as api:
        config = write_docs_project(
            tmp_path,
            api.url,
            seaweed.endpoint_url,
            bucket,
            explore="{strategy: bfs, max_depth: 100, max_states: 100000}",
        )
        run = subprocess.Popen(
            venomqa_command("run", "-c", str(config)),
            cwd=tmp_path,
            env=venomqa_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _versions(s3, bucket) < versions_before + 6:
                time.sleep(0.05)  # until the run has made several versions of its own
        finally:
            run.send_signal(signal.SIGKILL)  # no clean-up at all
            run.wait(timeout=30)
    left = version_listing(s3, bucket)
    assert left != before, "the run was killed before it changed anything"
    assert left["versioning"] == "Enabled"
    assert journals(tmp_path), "the killed run left no journal"

    repaired = venomqa("recover", "-c", str(config), cwd=tmp_path)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    [line] = repaired.stdout.splitlines()
    where = f"bucket {bucket!r} at {seaweed.endpoint_url}"
    assert line.startswith("store 'files' (adapter s3, ") and ": repaired: " in line, line
    assert f"{where}: an earlier VenomQA run was stopped before its clean-up; removed " in line
    assert line.endswith(" and set versioning back to Suspended"), line
    assert not repaired.stderr.strip(), repaired.stderr  # no warning, no traceback
    assert version_listing(s3, bucket) == before
    assert not journals(tmp_path)

    again = venomqa("recover", "-c", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    [line] = again.stdout.splitlines()
    assert line.endswith(": nothing left over"), line
    assert version_listing(s3, bucket) == before
