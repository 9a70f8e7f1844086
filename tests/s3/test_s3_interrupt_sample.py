"""A sample of ``bench/interrupts.py`` on every test run: `venomqa run` on the document API
over a real SeaweedFS, interrupted by SIGINT and SIGTERM at random moments of a whole run; the
bucket (every object version, delete marker, content type, metadata and the versioning status)
must be exactly what it was every time."""

from __future__ import annotations

from pathlib import Path

from _support_s3 import S3_ENV, SeaweedFS
from interrupted_runs import s3_target, sample


def test_random_interrupts_leave_the_bucket_as_it_was(seaweed: SeaweedFS, tmp_path: Path) -> None:
    with s3_target(tmp_path, seaweed.endpoint_url, S3_ENV, depth=3) as target:
        problems = sample(target, runs=6, seed=37)
    assert not problems, "\n".join(problems)
