"""venomqa.testing's store contract suite, run against the built-in SQLiteStore.

The writer is a real separate Python process with its own sqlite3 connection.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _support_sqlite import SQLiteKeyValueWriter, create_db
from venomqa.stores import SQLiteStore
from venomqa.testing import ALL_CHECKS, ContractWriter, StoreContract, check_store_contract

SCHEMA = """
CREATE TABLE kv (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, value TEXT);
CREATE TABLE other (n INTEGER);
INSERT INTO other VALUES (1), (2);
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return create_db(tmp_path / "contract.db", SCHEMA)


class TestSQLiteStoreContract(StoreContract):
    @pytest.fixture
    def store(self, db: Path) -> SQLiteStore:
        return SQLiteStore(str(db))

    @pytest.fixture
    def writer(self, db: Path) -> SQLiteKeyValueWriter:
        return SQLiteKeyValueWriter(path=str(db))


def test_writer_satisfies_protocol(db: Path) -> None:
    assert isinstance(SQLiteKeyValueWriter(path=str(db)), ContractWriter)


def test_function_form_runs_every_check(db: Path) -> None:
    passed = check_store_contract(lambda: SQLiteStore(str(db)), SQLiteKeyValueWriter(path=str(db)))
    assert passed == [c.__name__ for c in ALL_CHECKS]


class _ForgetfulStore(SQLiteStore):
    """A broken store whose rollback does nothing: the suite must catch it."""

    def rollback(self, token: object) -> None:
        return None


def test_suite_fails_a_store_that_does_not_roll_back(db: Path) -> None:
    with pytest.raises(AssertionError, match="check_rollback_undoes_insert"):
        check_store_contract(lambda: _ForgetfulStore(str(db)), SQLiteKeyValueWriter(path=str(db)))
