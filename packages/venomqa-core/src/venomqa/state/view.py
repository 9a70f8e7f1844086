"""WorldView: what the explorer knows of one concrete state, enough to key it and to diff it.

Each store contributes either its changed records (stores offering ``changed_records()``) or
its own fingerprint (any other store); the context contributes a copy of its data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from venomqa.ports.store import RecordChange

#: A store's part of a view: its changed records, or its native fingerprint.
StorePart = Sequence[RecordChange] | str


@dataclass(frozen=True, slots=True)
class WorldView:
    """One concrete state: every store's part (by store key) and the context's data."""

    stores: Mapping[str, StorePart]
    #: A copy of the context's data (its values are whatever actions stored).
    context: Mapping[str, object]
