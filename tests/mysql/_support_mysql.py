"""Helpers for the MySQL store tests: databases, another process's writes, a full dump and the
contract-suite writer."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pymysql
from venomqa.testing import SubprocessWriter

HERE = Path(__file__).resolve().parent
ADMIN: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def dsn_for(database: str, user: str = "root", password: str = "") -> str:
    auth = f"{user}:{password}" if password else user
    return f"mysql://{auth}@127.0.0.1:3306/{database}"


def database_of(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


@contextmanager
def fresh_database(prefix: str = "vq_mysql") -> Iterator[str]:
    """Create an empty database, yield its DSN, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(**ADMIN, autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
    finally:
        admin.close()
    try:
        yield dsn_for(name)
    finally:
        admin = pymysql.connect(**ADMIN, autocommit=True)
        try:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            admin.close()


def connect(dsn: str) -> Any:
    parts = urlsplit(dsn)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.path.lstrip("/"),
        autocommit=True,
    )


def execute(dsn: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run SQL on a new connection of this process (autocommit); returns rows if any."""
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def write_from_other_process(dsn: str, *statements: str) -> None:
    """Run SQL statements in a fresh Python process through its own connection (autocommit)."""
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from _support_mysql import connect\n"
        "conn = connect(sys.argv[1])\n"
        "with conn.cursor() as cur:\n"
        "    for sql in sys.argv[2:]:\n"
        "        cur.execute(sql)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, dsn, *statements],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


_CATALOG_QUERIES = {
    "tables": "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, CREATE_OPTIONS FROM "
    "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    "columns": "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, COLUMN_DEFAULT, "
    "IS_NULLABLE, EXTRA, COLLATION_NAME, GENERATION_EXPRESSION FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = DATABASE()",
    "indexes": "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM "
    "information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()",
    "constraints": "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME, UPDATE_RULE, "
    "DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = "
    "DATABASE()",
    "triggers": "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, "
    "ACTION_STATEMENT, ACTION_ORDER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = "
    "DATABASE()",
    "routines": "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM "
    "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
    "counters": "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE "
    "TABLE_SCHEMA = DATABASE()",
}


def database_content(dsn: str) -> dict[str, Any]:
    """Everything a user would call the database's content: tables, columns, indexes, keys,
    triggers, routines, AUTO_INCREMENT counters and every row of every table (as repr)."""
    conn = connect(dsn)
    try:
        out: dict[str, Any] = {}
        with conn.cursor() as cur:
            for key, sql in _CATALOG_QUERIES.items():
                cur.execute(sql)
                out[key] = sorted(repr(r) for r in cur.fetchall())
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_TYPE = 'BASE TABLE'"
            )
            for (table,) in cur.fetchall():
                cur.execute(f"SELECT * FROM `{table}`")
                out[f"rows {table}"] = sorted(repr(r) for r in cur.fetchall())
        return out
    finally:
        conn.close()


def content_without_venomqa(dsn: str) -> dict[str, Any]:
    """``database_content``, after checking that no ``_venomqa_*`` object is left in it."""
    content = database_content(dsn)
    assert not any("_venomqa" in line for line in content["tables"] + content["triggers"])
    assert content["routines"] == []
    return content


class MySQLWriter(SubprocessWriter):
    """The contract suite's writer: a key/value table ``kv`` written from another process."""

    prelude = (
        "import sys\n"
        "sys.path.insert(0, options['support_dir'])\n"
        "from _support_mysql import connect\n"
        "conn = connect(options['dsn'])\n"
        "cur = conn.cursor()\n"
    )
    write_code = (
        "cur.execute('INSERT INTO kv (k, v) VALUES (%s, %s) "
        "ON DUPLICATE KEY UPDATE v = VALUES(v)', (key, value))"
    )
    delete_code = "cur.execute('DELETE FROM kv WHERE k = %s', (key,))"
    read_all_code = "cur.execute('SELECT k, v FROM kv')\nresult = dict(cur.fetchall())"
    snapshot_code = (
        "from _support_mysql import database_content\nresult = database_content(options['dsn'])"
    )
