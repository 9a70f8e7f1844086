"""Built-in stores of VenomQA core: ``SQLiteStore`` (adapter name ``sqlite``)."""

from venomqa.stores.sqlite import SQLiteStore, SQLiteToken

__all__ = ["SQLiteStore", "SQLiteToken"]
