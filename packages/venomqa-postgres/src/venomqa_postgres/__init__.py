"""venomqa-postgres: roll a PostgreSQL database back between branches, whoever writes it.

``PostgresStore`` (adapter name ``postgres``) records every change the API under test makes,
through any connection of any process, in a server-side undo log, and undoes them on rollback.
Names load on first use, so that loading the plugin (and starting the CLI) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa_postgres.store import PostgresStore, PostgresToken

__getattr__ = lazy_getattr(
    __name__, {"PostgresStore": "venomqa_postgres.store", "PostgresToken": "venomqa_postgres.store"}
)

__all__ = ["PostgresStore", "PostgresToken"]
