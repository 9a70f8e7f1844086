"""The one-sentence error for a database that cannot be connected to.

``store 'db' (postgres): cannot connect to 127.0.0.1:5433/shop as user app: Connection refused
(is the server running on that host and accepting TCP/IP connections?)`` — where (host, port,
database) and as whom, from the DSN and the libpq environment defaults, then the driver's own
detail without the parts that repeat where. Passwords never appear.
"""

from __future__ import annotations

import getpass
import os
import re

from venomqa.errors import StoreUnreachableError
from venomqa.stores.kit import hide_password

_REPEATS_WHERE = re.compile(
    r"^(?:connection failed:\s*)?(?:connection to server (?:at|on) .*? failed:\s*)?", re.DOTALL
)


def cannot_connect(dsn: str, exc: BaseException, store: str) -> StoreUnreachableError:
    """The StoreUnreachableError for ``exc``, raised connecting to ``dsn``."""
    return StoreUnreachableError(f"cannot connect to {target(dsn)}: {detail(exc)}", store=store)


def target(dsn: str) -> str:
    """``HOST:PORT/DATABASE as user USER`` for ``dsn`` (libpq's defaults filled in)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = conninfo_to_dict(dsn)
    except Exception:  # a malformed DSN: psycopg's error says what is wrong with it
        return hide_password(dsn)
    host = str(given.get("host") or os.environ.get("PGHOST") or "the local socket")
    port = str(given.get("port") or os.environ.get("PGPORT") or "5432")
    user = str(given.get("user") or os.environ.get("PGUSER") or _login())
    database = str(given.get("dbname") or os.environ.get("PGDATABASE") or user)
    where = f"{host}:{port}" if not host.startswith("/") else f"{host} (port {port})"
    return f"{where}/{database} as user {user}"


def detail(exc: BaseException) -> str:
    """The driver's message on one line, without the prefix that repeats the address."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    first = _REPEATS_WHERE.sub("", lines[0]).strip() or lines[0]
    first = re.sub(r"\s+", " ", first)
    rest = " ".join(lines[1:])
    if rest:
        first += f" ({rest[:1].lower()}{rest[1:]})"
    return hide_password(first)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "(the login name)"
