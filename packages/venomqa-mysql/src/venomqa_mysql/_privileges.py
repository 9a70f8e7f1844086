"""The privileges VenomQA needs, checked before installing anything, and the server's
"access denied" errors turned into messages naming the privilege and the GRANT that fixes it.

Needed on the database: SELECT, INSERT, DELETE (the replay and the logs), CREATE and DROP (the
logs), ALTER (putting AUTO_INCREMENT counters back), TRIGGER, CREATE ROUTINE, ALTER ROUTINE and
EXECUTE (the rollback procedure), LOCK TABLES (waiting for writes in flight). The check reads
``information_schema`` (global, database and table grants of the current user); with an active
role it is skipped and the server's own refusal is translated instead.
"""

from __future__ import annotations

import re
from typing import Any

from venomqa.errors import StorePermissionError

NEEDED = {
    "SELECT": "read the tables and the undo logs",
    "INSERT": "put deleted rows back",
    "DELETE": "remove inserted rows",
    "CREATE": "create its undo log tables",
    "DROP": "remove its undo log tables at teardown",
    "ALTER": "put AUTO_INCREMENT counters back",
    "TRIGGER": "add the triggers that log every change",
    "CREATE ROUTINE": "create its rollback procedure",
    "ALTER ROUTINE": "drop its rollback procedure at teardown",
    "EXECUTE": "call its rollback procedure",
    "LOCK TABLES": "wait for writes in flight before a rollback",
}
_TABLE_LEVEL = {"SELECT", "INSERT", "DELETE", "ALTER", "TRIGGER", "CREATE", "DROP"}
#: Server error numbers that mean a privilege is missing.
DENIED = {1044, 1142, 1143, 1227, 1370, 1419}


def grant_all(database: str, account: str) -> str:
    """The one GRANT that gives VenomQA everything it needs on ``database``."""
    return f"GRANT {', '.join(NEEDED)} ON `{database}`.* TO {account}"


def _like(pattern: str, text: str) -> bool:
    """SQL LIKE as grants use it for database names (``\\_`` a literal underscore)."""
    regex = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    return re.fullmatch(regex, text) is not None


def account_of(cur: Any) -> str:
    """The current account as GRANT writes it: ``'user'@'host'``."""
    cur.execute("SELECT CURRENT_USER()")
    user, _, host = str(cur.fetchone()[0]).rpartition("@")
    return f"'{user}'@'{host}'"


def check_privileges(cur: Any, store: str, database: str, tables: list[str]) -> None:
    """StorePermissionError for the first privilege the current user lacks (see the module)."""
    try:
        cur.execute("SELECT CURRENT_ROLE()")
        if cur.fetchone()[0] not in (None, "NONE"):
            return
    except Exception:  # MySQL 5.7 has no roles
        pass
    account = account_of(cur)
    cur.execute(
        "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s",
        (account,),
    )
    held = {str(r[0]) for r in cur.fetchall()}
    if "ALL PRIVILEGES" in held:
        return
    cur.execute(
        "SELECT TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
        "WHERE GRANTEE = %s",
        (account,),
    )
    held |= {str(p) for s, p in cur.fetchall() if _like(str(s), database)}
    cur.execute(
        "SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES "
        "WHERE GRANTEE = %s AND TABLE_SCHEMA = %s",
        (account, database),
    )
    per_table: dict[str, set[str]] = {}
    for table, privilege in cur.fetchall():
        per_table.setdefault(str(table), set()).add(str(privilege))
    for privilege, why in NEEDED.items():
        if privilege in held:
            continue
        if privilege in _TABLE_LEVEL and privilege not in ("CREATE", "DROP"):
            lacking = [t for t in tables if privilege not in per_table.get(t, set())]
            if tables and not lacking:
                continue
        raise StorePermissionError(
            f"user {account} lacks the {privilege} privilege on database `{database}`, which "
            f"VenomQA needs to {why}; as an administrator run: GRANT {privilege} ON "
            f"`{database}`.* TO {account} (everything it needs: {grant_all(database, account)})",
            store=store,
        )


def explain_denied(exc: Exception, database: str, account: str | None) -> str | None:
    """A hint naming the privilege and the GRANT for a server "access denied" error, else None."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if code not in DENIED:
        return None
    who = account or "the user"
    if code == 1419:
        return (
            "; binary logging is on, so creating triggers and routines needs the SUPER "
            "privilege, or as an administrator: SET GLOBAL log_bin_trust_function_creators = 1"
        )
    message = str(exc.args[1]) if len(exc.args) > 1 else ""
    match = re.match(r"(\w+(?: \w+)?) command denied", message)
    privilege = match.group(1).upper() if match else None
    if privilege is None:
        found = re.search(r"need \(at least one of\) the (.+?) privilege", message)
        privilege = found.group(1) if found else None
    if privilege is not None:
        return (
            f"; the {privilege} privilege is missing: as an administrator run GRANT "
            f"{privilege} ON `{database}`.* TO {who} (everything VenomQA needs: "
            f"{grant_all(database, who)})"
        )
    return f"; as an administrator run: {grant_all(database, who)}"
