"""Helpers for the SQLite store tests: a separate writer process and a file's logical content."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from venomqa.testing import SubprocessWriter


def write_from_other_process(path: Path, *statements: str, foreign_keys: bool = True) -> None:
    """Run SQL statements in a fresh Python process through its own connection, then commit."""
    script = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], timeout=10)\n"
        f"conn.execute('PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}')\n"
        "for sql in sys.argv[2:]:\n"
        "    conn.execute(sql)\n"
        "conn.commit()\n"
        "conn.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), *statements],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def create_db(path: Path, script: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.commit()
    conn.close()
    return path


def logical_content(path: Path) -> dict[str, Any]:
    """Everything a user would call the file's content: schema SQL, every table's rows
    (rowids included, values with their exact types), sqlite_sequence, user_version."""
    conn = sqlite3.connect(path)
    try:
        schema = sorted(
            conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(),
            key=repr,
        )
        tables: dict[str, list[Any]] = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            quoted = '"' + name.replace('"', '""') + '"'
            try:
                rows = conn.execute(f"SELECT rowid, * FROM {quoted}").fetchall()
            except sqlite3.OperationalError:  # WITHOUT ROWID
                rows = conn.execute(f"SELECT * FROM {quoted}").fetchall()
            tables[name] = sorted(
                (tuple((type(v).__name__, v) for v in row) for row in rows), key=repr
            )
        return {
            "schema": schema,
            "tables": tables,
            "user_version": conn.execute("PRAGMA user_version").fetchone()[0],
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
        }
    finally:
        conn.close()


class SQLiteKeyValueWriter(SubprocessWriter):
    """The contract suite's writer: a ``kv(key, value)`` table written by another process."""

    prelude = (
        "import sqlite3\n"
        "conn = sqlite3.connect(options['path'], timeout=10)\n"
        "conn.execute('PRAGMA foreign_keys = ON')\n"
    )
    write_code = (
        "conn.execute('INSERT INTO kv(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value', (key, value))\n"
        "conn.commit()"
    )
    delete_code = "conn.execute('DELETE FROM kv WHERE key = ?', (key,))\nconn.commit()"
    read_all_code = "result = dict(conn.execute('SELECT key, value FROM kv').fetchall())"
    snapshot_code = (
        "result = {\n"
        "    'schema': sorted(map(list, conn.execute("
        "'SELECT type, name, tbl_name, sql FROM sqlite_master'))),\n"
        "    'kv': sorted(map(list, conn.execute('SELECT rowid, key, value FROM kv'))),\n"
        "    'seq': sorted(map(list, conn.execute('SELECT name, seq FROM sqlite_sequence'))),\n"
        "}"
    )
