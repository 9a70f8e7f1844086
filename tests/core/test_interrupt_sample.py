"""A sample of ``bench/interrupts.py`` on every test run: `venomqa run` on the blog API over
SQLite, interrupted by SIGINT and SIGTERM at random moments of a whole run (setup, exploration,
clean-up); the file must be byte-for-byte what it was, every time."""

from __future__ import annotations

from pathlib import Path

from interrupted_runs import sample, sqlite_target


def test_random_interrupts_leave_the_sqlite_file_as_it_was(tmp_path: Path) -> None:
    with sqlite_target(tmp_path, depth=6) as target:
        problems = sample(target, runs=8, seed=11)
    assert not problems, "\n".join(problems)
