"""DatabasePort: read access to a SQL store for invariants (``world.database("db")``)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class DatabasePort(Protocol):
    """A SQL database invariants can query; rows come back as dicts keyed by column name."""

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Run ``sql`` with ``params``; each row as a dict of column -> value."""
        ...
