"""venomqa.testing's store contract suite, run against a real PostgreSQL server with every
write coming from another process."""

from __future__ import annotations

import pytest
from _support_postgres import HERE, PostgresWriter, execute
from venomqa.testing import StoreContract
from venomqa_postgres import PostgresStore


class TestPostgresStoreContract(StoreContract):
    @pytest.fixture
    def store(self, pg_dsn: str) -> PostgresStore:
        execute(pg_dsn, "CREATE TABLE kv (key text PRIMARY KEY, value text NOT NULL)")
        return PostgresStore(dsn=pg_dsn)

    @pytest.fixture
    def writer(self, pg_dsn: str) -> PostgresWriter:
        return PostgresWriter(dsn=pg_dsn, support_dir=str(HERE))
