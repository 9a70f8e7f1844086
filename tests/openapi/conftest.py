"""Fixtures of the OpenAPI tests: the shop (``_shop_api.py``) in its own process, buggy or not,
on a fresh SQLite file or PostgreSQL database (``backend``); only the openapi (and postgres)
plugins load."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _backends import Backend, PostgresBackend, SqliteBackend, postgres_database
from services import require_module


@pytest.fixture(autouse=True)
def openapi_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    require_module("fastapi")
    require_module("uvicorn")
    require_module("venomqa_openapi")
    from venomqa.plugins import LOAD_PLUGINS_ENV, reset_plugins

    monkeypatch.setenv(LOAD_PLUGINS_ENV, "openapi,postgres")
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The shop's database: a SQLite file, or a fresh PostgreSQL database (skipped, or failed
    under CI, without a server)."""
    if request.param == "sqlite":
        yield SqliteBackend(tmp_path)
        return
    with postgres_database() as dsn:
        yield PostgresBackend(dsn)
