"""Shared by every test folder: ``tests/shared`` (the blog demo's independent model) is
importable as plain modules."""

from __future__ import annotations

import sys
from pathlib import Path

_SHARED = str(Path(__file__).with_name("shared"))
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)
