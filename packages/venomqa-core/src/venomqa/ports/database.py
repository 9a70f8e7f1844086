"""DatabasePort: read access to a SQL store for invariants (``world.database("db")``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

#: Query parameters: positional (a sequence, for ``?``/``%s``) or named (a mapping).
QueryParams: TypeAlias = Sequence[object] | Mapping[str, object]


@runtime_checkable
class DatabasePort(Protocol):
    """A SQL database invariants can query; rows come back as dicts keyed by column name."""

    # Column values are whatever the driver returns (int, str, Decimal, datetime, ...), typed
    # Any as the drivers type them, so invariants can compare and compute with them directly.
    def query(self, sql: str, params: QueryParams = ()) -> list[dict[str, Any]]:
        """Run ``sql`` with ``params``; each row as a dict of column -> value."""
        ...
