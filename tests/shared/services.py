"""One rule for every suite: a missing service or package skips a test on a developer's laptop,
with the reason, and fails it when ``CI=true`` (where everything must be there)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def on_ci() -> bool:
    """Whether this is a CI run (``CI=true``, any case)."""
    return os.environ.get("CI", "").lower() == "true"


def require_service(reason: str) -> NoReturn:
    """Skip the test for ``reason`` (a missing service or tool), or fail it under CI."""
    if on_ci():
        pytest.fail(f"{reason} (CI=true: required services must be available)")
    pytest.skip(reason)


def require_module(name: str) -> ModuleType:
    """``import name``; when it cannot be imported, skip (or fail under CI) saying why."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require_service(f"cannot import {name}: {exc}")
