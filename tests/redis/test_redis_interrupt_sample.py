"""A sample of ``bench/interrupts.py`` on every test run: `venomqa run` on the blog API over
Redis (the API is its own process), interrupted by SIGINT and SIGTERM at random moments of a
whole run; every key, value and expiry and the server's notify-keyspace-events must be exactly
what they were every time."""

from __future__ import annotations

from pathlib import Path

from interrupted_runs import redis_target, sample

#: A database no other Redis test uses (they own 12-14).
SAMPLE_DB = 11


def test_random_interrupts_leave_redis_as_it_was(redis_reachable: None, tmp_path: Path) -> None:
    with redis_target(tmp_path, SAMPLE_DB, depth=6) as target:
        problems = sample(target, runs=8, seed=31)
    assert not problems, "\n".join(problems)
