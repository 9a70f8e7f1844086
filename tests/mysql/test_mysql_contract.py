"""venomqa.testing's store contract suite, run against a real MariaDB/MySQL server with every
write coming from another process."""

from __future__ import annotations

import pytest
from _support_mysql import HERE, MySQLWriter, execute
from venomqa.testing import StoreContract
from venomqa_mysql import MySQLStore


class TestMySQLStoreContract(StoreContract):
    @pytest.fixture
    def store(self, my_dsn: str) -> MySQLStore:
        execute(my_dsn, "CREATE TABLE kv (k VARCHAR(100) PRIMARY KEY, v TEXT NOT NULL)")
        return MySQLStore(dsn=my_dsn)

    @pytest.fixture
    def writer(self, my_dsn: str) -> MySQLWriter:
        return MySQLWriter(dsn=my_dsn, support_dir=str(HERE))
