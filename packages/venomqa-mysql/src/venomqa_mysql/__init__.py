"""venomqa-mysql: roll a MySQL or MariaDB database back between branches, whoever writes it.

``MySQLStore`` (adapter name ``mysql``) records every change the API under test makes, through
any connection of any process, in undo logs filled by triggers, and undoes them on rollback.
Names load on first use, so that loading the plugin (and starting the CLI) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa_mysql.store import MySQLStore, MySQLToken

__getattr__ = lazy_getattr(
    __name__, {"MySQLStore": "venomqa_mysql.store", "MySQLToken": "venomqa_mysql.store"}
)

__all__ = ["MySQLStore", "MySQLToken"]
