"""Check, before installing anything, that VenomQA's role holds every privilege it needs.

A missing privilege becomes a StorePermissionError naming the privilege, the object and the
GRANT that fixes it, instead of a driver error halfway through setup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from venomqa.errors import StorePermissionError

from venomqa_postgres._catalog import SequenceInfo, TableInfo, quote_ident

_TABLE_PRIVILEGES = ("SELECT", "INSERT", "DELETE", "TRIGGER")
_SEQUENCE_PRIVILEGES = ("SELECT", "UPDATE")


def check_privileges(
    cur: Any,
    store: str,
    schema: str,
    tables: Sequence[TableInfo],
    sequences: Sequence[SequenceInfo],
) -> None:
    """Raise StorePermissionError for the first privilege the current role lacks."""
    cur.execute(
        "SELECT current_user, current_database(), "
        "has_database_privilege(current_database(), 'CREATE'), "
        "has_schema_privilege(%s, 'USAGE')",
        (schema,),
    )
    role, database, can_create, can_use = cur.fetchone()

    def refuse(privilege: str, kind: str, name: str, grant_on: str) -> None:
        raise StorePermissionError(
            f"role {role!r} lacks the {privilege} privilege on {kind} {name}, which VenomQA "
            f"needs to track it; run as its owner: GRANT {privilege} ON {grant_on} TO "
            f"{quote_ident(role)}",
            store=store,
        )

    if not can_create:
        refuse("CREATE", "database", database, f"DATABASE {quote_ident(database)}")
    if not can_use:
        refuse("USAGE", "schema", schema, f"SCHEMA {quote_ident(schema)}")
    for table in tables:
        for privilege in _TABLE_PRIVILEGES:
            cur.execute("SELECT has_table_privilege(%s::oid, %s)", (table.oid, privilege))
            if not cur.fetchone()[0]:
                refuse(privilege, "table", table.label, f"TABLE {table.q}")
    for seq in sequences:
        for privilege in _SEQUENCE_PRIVILEGES:
            cur.execute("SELECT has_sequence_privilege(%s::oid, %s)", (seq.oid, privilege))
            if not cur.fetchone()[0]:
                refuse(privilege, "sequence", seq.label, f"SEQUENCE {seq.q}")


def can_use_replica_role(cur: Any) -> bool:
    """Whether this role may ``SET session_replication_role`` (superuser or granted, PG 15+)."""
    cur.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")
    row = cur.fetchone()
    if row is not None and row[0]:
        return True
    cur.execute("SHOW server_version_num")
    if int(cur.fetchone()[0]) < 150000:
        return False
    cur.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
    return bool(cur.fetchone()[0])
