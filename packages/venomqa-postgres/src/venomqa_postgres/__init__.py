"""venomqa-postgres: roll a PostgreSQL database back between branches, whoever writes it.

``PostgresStore`` (adapter name ``postgres``) records every change the API under test makes,
through any connection of any process, in a server-side undo log, and undoes them on rollback.
"""

from venomqa_postgres.store import PostgresStore, PostgresToken

__all__ = ["PostgresStore", "PostgresToken"]
