"""VenomQA's connection to the server: parsing the dsn, connecting (PyMySQL), session settings.

``mysql://user:password@host:port/database`` (also ``mariadb://``; query options
``unix_socket``, ``charset``, ``connect_timeout``). The session VenomQA replays in has foreign-key
checks off, UTC as its time zone (TIMESTAMPs copied exactly), ``NO_AUTO_VALUE_ON_ZERO`` (a
restored id 0 stays 0), 10 s lock timeouts, multi-statements on (one round trip for a barrier
plus a read or a rollback) and, on MySQL 8, live ``information_schema`` statistics (the
AUTO_INCREMENT counters VenomQA reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

#: The server's lock timeouts for VenomQA's session, in seconds.
LOCK_TIMEOUT_S = 10
_CONNECT_TIMEOUT_S = 10
_SCHEMES = ("mysql", "mariadb", "mysql+pymysql")


@dataclass(frozen=True)
class Target:
    """Where to connect, as the dsn says."""

    host: str
    port: int
    user: str
    password: str
    database: str
    options: dict[str, str]


def parse_dsn(dsn: str) -> Target:
    """The parts of ``dsn``; ValueError saying what is wrong with it."""
    parts = urlsplit(dsn)
    if parts.scheme not in _SCHEMES:
        raise ValueError(
            f"option 'dsn' must be a URL like mysql://user:password@127.0.0.1:3306/dbname, "
            f"not one with scheme {parts.scheme!r}"
        )
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ValueError(
            "option 'dsn' must name a database: mysql://user:password@host:3306/DBNAME"
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"unix_socket", "charset", "connect_timeout"}
    if unknown:
        raise ValueError(
            f"option 'dsn' has unknown query parameter(s) {', '.join(sorted(unknown))}; "
            "known: unix_socket, charset, connect_timeout"
        )
    return Target(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=database,
        options=query,
    )


def connect(target: Target) -> Any:
    """A new autocommit connection with VenomQA's session settings."""
    import pymysql
    from pymysql.constants import CLIENT

    conn = pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=target.database,
        unix_socket=target.options.get("unix_socket"),
        charset=target.options.get("charset", "utf8mb4"),
        connect_timeout=int(target.options.get("connect_timeout", _CONNECT_TIMEOUT_S)),
        autocommit=True,
        client_flag=CLIENT.MULTI_STATEMENTS,
        program_name="venomqa",
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SET SESSION foreign_key_checks = 0, time_zone = '+00:00', "
                "sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', "
                f"lock_wait_timeout = {LOCK_TIMEOUT_S}, "
                f"innodb_lock_wait_timeout = {LOCK_TIMEOUT_S}, @venomqa_replay = NULL"
            )
            cur.execute("SELECT VERSION()")
            version = str(cur.fetchone()[0])
            if "mariadb" not in version.lower() and int(version.split(".")[0]) >= 8:
                cur.execute("SET SESSION information_schema_stats_expiry = 0")
    except BaseException:
        conn.close()
        raise
    return conn


def run(conn: Any, sql: str, params: Any = None) -> list[list[tuple[Any, ...]]]:
    """Run one or more ``;``-separated statements in one round trip; every result set."""
    sets: list[list[tuple[Any, ...]]] = []
    with conn.cursor() as cur:
        cur.execute(sql, params)
        while True:
            if cur.description is not None:
                sets.append(list(cur.fetchall()))
            if not cur.nextset():
                break
    return sets


def is_mariadb(conn: Any) -> bool:
    return "mariadb" in str(conn.get_server_info()).lower()
