"""Helpers for the PostgreSQL store tests: databases, another process's writes, a full dump,
the contract-suite writer and the shop server process."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from venomqa.testing import SubprocessWriter

HERE = Path(__file__).resolve().parent
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def dsn_for(database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{database}"


@contextmanager
def fresh_database(prefix: str = "vq_pg") -> Iterator[str]:
    """Create an empty database, yield its DSN, drop it (and its connections) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield dsn_for(name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def execute(dsn: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run SQL on a new connection of this process and commit; returns rows if any."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


def write_from_other_process(dsn: str, *statements: str) -> None:
    """Run SQL statements in a fresh Python process through its own connection; commit."""
    script = (
        "import sys, psycopg\n"
        "with psycopg.connect(sys.argv[1]) as conn:\n"
        "    for sql in sys.argv[2:]:\n"
        "        conn.execute(sql)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, dsn, *statements],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


_DUMP_SCRIPT = """
import json, sys, psycopg
print(json.dumps(database_content(sys.argv[1])))
"""

_CATALOG_QUERIES = {
    "schemas": "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
    "AND nspname <> 'information_schema'",
    "columns": "SELECT table_schema, table_name, column_name, ordinal_position, data_type, "
    "column_default, is_nullable, is_identity, identity_generation, is_generated, "
    "generation_expression FROM information_schema.columns "
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
    "FROM pg_constraint WHERE connamespace::regnamespace::text NOT IN "
    "('pg_catalog', 'information_schema')",
    "indexes": "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), tgenabled "
    "FROM pg_trigger WHERE NOT tgisinternal",
    "functions": "SELECT n.nspname, p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
    "sequences": "SELECT schemaname, sequencename, last_value, start_value, increment_by "
    "FROM pg_sequences",
}


def database_content(dsn: str) -> dict[str, Any]:
    """Everything a user would call the database's content: schemas, columns, constraints,
    indexes, triggers, functions, every row of every table (as text), every sequence's
    last_value and is_called."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        out: dict[str, Any] = {}
        for key, sql in _CATALOG_QUERIES.items():
            out[key] = sorted(repr(r) for r in conn.execute(sql).fetchall())
        tables = conn.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
            "FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for (table,) in tables:
            rows = conn.execute(f"SELECT t::text FROM {table} t").fetchall()
            out[f"rows {table}"] = sorted(r[0] for r in rows)
        seqs = conn.execute(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
        ).fetchall()
        for (seq,) in seqs:
            out[f"seq {seq}"] = list(
                conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone() or ()
            )
        return out


class PostgresWriter(SubprocessWriter):
    """The contract suite's writer: a key/value table ``kv`` written from another process."""

    prelude = (
        "import sys, psycopg\n"
        "sys.path.insert(0, options['support_dir'])\n"
        "conn = psycopg.connect(options['dsn'], autocommit=True)\n"
    )
    write_code = (
        "conn.execute('INSERT INTO kv (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value', (key, value))"
    )
    delete_code = "conn.execute('DELETE FROM kv WHERE key = %s', (key,))"
    read_all_code = "result = dict(conn.execute('SELECT key, value FROM kv').fetchall())"
    snapshot_code = (
        "from _support_postgres import database_content\nresult = database_content(options['dsn'])"
    )


class ShopServer:
    """The shop API (``_support_postgres_server.py``) running as a separate process."""

    def __init__(self, dsn: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "_support_postgres_server.py"), "--dsn", dsn],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        assert self.process.stdout is not None
        out = self.process.stdout
        reader = threading.Thread(target=lambda: lines.append(out.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not lines or not lines[0].startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"shop server did not start: {lines!r}")
        self.url = "http://" + lines[0].split(" ", 1)[1].strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> ShopServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
