"""Done when: a `venomqa run` process exploring the notes API (its own process) on PostgreSQL,
SIGKILLed mid-run, leaves its ``_venomqa`` schema, triggers and rows behind; `venomqa recover`
then says in one line what it repaired (logged changes undone, sequences reset, schema and
triggers removed), the whole database (rows, sequences, schemas, triggers, functions) is as it
was before the run, and a second `venomqa recover` finds nothing left over. The next run repairs
such leftovers too, with one plain ``note:`` line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from _support_postgres import HERE, database_content
from _support_postgres_notes import notes_api
from venomqa.testing.server import ApiProcess


@pytest.fixture
def notes(pg_dsn: str) -> Iterator[tuple[ApiProcess, str]]:
    with notes_api(pg_dsn) as server:
        yield server, pg_dsn


def venomqa_env() -> dict[str, str]:
    """`venomqa` sees this folder's modules (the actions) and this repository's adapters."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "VENOMQA_LOAD_PLUGINS": "postgres"}


def venomqa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venomqa", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=venomqa_env(),
    )


def write_config(folder: Path, url: str, dsn: str, depth: int) -> Path:
    config = folder / "venomqa.yaml"
    config.write_text(
        f"target: {url}\n"
        "actions: [_support_postgres_notes]\n"
        f"stores:\n  db: {{adapter: postgres, dsn: '{dsn}'}}\n"
        f"explore: {{max_depth: {depth}, max_states: 1000000}}\n"
    )
    return config


def logged_changes(dsn: str) -> int:
    """Entries in the undo log now (0 when there is none)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('_venomqa.log') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        counted = conn.execute("SELECT count(*) FROM _venomqa.log").fetchone()
        return int(counted[0]) if counted else 0


def killed_run(config: Path, dsn: str) -> None:
    """`venomqa run`, SIGKILLed once its undo log holds changes (no clean-up at all)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "venomqa", "run", "-c", str(config), "--no-console"],
        cwd=config.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=venomqa_env(),
    )
    try:
        deadline = time.monotonic() + 60
        while logged_changes(dsn) < 3:
            assert process.poll() is None, "the run ended before it was killed"
            assert time.monotonic() < deadline, "the run never wrote"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


def test_recover_repairs_a_killed_run_and_says_what_it_did(
    notes: tuple[ApiProcess, str], tmp_path: Path
) -> None:
    server, dsn = notes
    config = write_config(tmp_path, server.url, dsn, depth=100_000)
    before = database_content(dsn)
    killed_run(config, dsn)
    left = database_content(dsn)
    assert "('_venomqa',)" in left["schemas"], "the killed run left no undo log"

    repaired = venomqa("recover", "-c", str(config), cwd=tmp_path)
    again = venomqa("recover", "-c", str(config), cwd=tmp_path)

    assert repaired.returncode == 0, repaired.stderr
    [line] = repaired.stdout.splitlines()
    assert line.startswith("store 'db' (adapter postgres, dsn "), line
    assert re.search(
        r": repaired: database .*: an earlier VenomQA run was stopped before its clean-up; "
        r"undid its \d+ logged change\(s\), reset \d sequence\(s\) and removed its _venomqa "
        r"schema and the triggers on 3 table\(s\)$",
        line,
    ), line
    assert "Warning" not in repaired.stderr, repaired.stderr
    assert database_content(dsn) == before
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"store 'db' (adapter postgres, dsn {dsn}): nothing left over"


def test_the_next_run_repairs_leftovers_with_one_plain_note(
    notes: tuple[ApiProcess, str], tmp_path: Path
) -> None:
    server, dsn = notes
    config = write_config(tmp_path, server.url, dsn, depth=100_000)
    before = database_content(dsn)
    killed_run(config, dsn)

    write_config(tmp_path, server.url, dsn, depth=2)
    run = venomqa("run", "-c", str(config), "--no-console", cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    notes_printed = [line for line in run.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes_printed) == 1, run.stderr
    assert "stopped before its clean-up; undid its" in notes_printed[0]
    assert "RuntimeWarning" not in run.stderr and "warnings.warn" not in run.stderr
    assert database_content(dsn) == before
