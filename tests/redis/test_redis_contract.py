"""venomqa.testing's store contract suite against a real Redis, written by another process.

Once with keyspace notifications (the default) and once with the SCAN-diff fallback.
"""

from __future__ import annotations

from typing import Any

import pytest
from _support_redis import RedisKVWriter
from conftest import CONTRACT_DB, redis_url
from venomqa.testing import StoreContract
from venomqa_redis import RedisStore

URL = redis_url(CONTRACT_DB)


class TestRedisStoreContract(StoreContract):
    @pytest.fixture
    def store(self, contract_db: Any) -> RedisStore:
        return RedisStore(url=URL)

    @pytest.fixture
    def writer(self, contract_db: Any) -> RedisKVWriter:
        return RedisKVWriter(url=URL)


class TestRedisStoreContractScanMode(StoreContract):
    @pytest.fixture
    def store(self, contract_db: Any) -> RedisStore:
        return RedisStore(url=URL, mode="scan")

    @pytest.fixture
    def writer(self, contract_db: Any) -> RedisKVWriter:
        return RedisKVWriter(url=URL)
