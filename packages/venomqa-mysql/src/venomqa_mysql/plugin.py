"""The venomqa plugin of venomqa-mysql: registers the ``mysql`` store adapter.

The store class is imported inside the hook, and the store imports PyMySQL only when it is
built, so loading plugins (and so starting the CLI) stays fast.
"""

from __future__ import annotations

from venomqa import hookimpl


@hookimpl
def venomqa_register_adapters() -> list[type]:
    from venomqa_mysql.store import MySQLStore

    return [MySQLStore]
