"""Built-in stores of VenomQA core: ``SQLiteStore`` (adapter name ``sqlite``), and ``kit``, the
small helpers every adapter uses (token stack, set-up errors, password hiding)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa.stores.sqlite import SQLiteStore, SQLiteToken

__getattr__ = lazy_getattr(
    __name__, {"SQLiteStore": "venomqa.stores.sqlite", "SQLiteToken": "venomqa.stores.sqlite"}
)

__all__ = ["SQLiteStore", "SQLiteToken"]
