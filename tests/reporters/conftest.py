"""Fixtures for the reporter tests: one real run of the demo shop shared by the module tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from _support_reporters import chromium_available, shop_run
from services import require_service
from venomqa.models import RunReport


@pytest.fixture(scope="session")
def shop_report(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    """Exploration + journey results from the demo shop served by a separate process."""
    return shop_run(tmp_path_factory.mktemp("shop"))


@pytest.fixture
def needs_chromium() -> None:
    """Skip (or fail when CI=true) unless headless Chromium is installed."""
    if not chromium_available():
        require_service(
            "headless Chromium is not installed (/usr/bin/chromium); run scripts/ensure-chromium.sh"
        )


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A folder for the reports a test writes."""
    folder = tmp_path / "reports"
    folder.mkdir()
    return folder
