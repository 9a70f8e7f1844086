"""Helpers for the demo and end-to-end tests: find processes by command line, dump SQLite files."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path


def processes_mentioning(text: str) -> list[int]:
    """Ids of live processes whose command line contains ``text`` (Linux /proc; [] elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (entry / "status").read_text()
        except OSError:
            continue
        if text in cmdline and "State:\tZ" not in status:
            found.append(int(entry.name))
    return found


def sqlite_dump(path: Path | str) -> list[str]:
    """Every statement that rebuilds the file (schema, rows, sqlite_sequence), in order."""
    with closing(sqlite3.connect(path)) as conn:
        return list(conn.iterdump())
