"""The venomqa plugin of venomqa-postgres: registers the ``postgres`` store adapter.

The store class is imported inside the hook, and the store imports psycopg only when it is
built, so loading plugins (and so starting the CLI) stays fast.
"""

from __future__ import annotations

from venomqa import hookimpl


@hookimpl
def venomqa_register_adapters() -> list[type]:
    from venomqa_postgres.store import PostgresStore

    return [PostgresStore]
