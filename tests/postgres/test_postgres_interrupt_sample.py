"""A sample of ``bench/interrupts.py`` on every test run: `venomqa run` on the blog API over
PostgreSQL (the API writes through its own psycopg pool), interrupted by SIGINT and SIGTERM at
random moments of a whole run; the database (rows, sequences, schemas, triggers, functions) must
be exactly what it was every time."""

from __future__ import annotations

from pathlib import Path

from interrupted_runs import postgres_target, sample


def test_random_interrupts_leave_the_database_as_it_was(
    postgres_available: None, tmp_path: Path
) -> None:
    with postgres_target(tmp_path, depth=6) as target:
        problems = sample(target, runs=8, seed=23)
    assert not problems, "\n".join(problems)
