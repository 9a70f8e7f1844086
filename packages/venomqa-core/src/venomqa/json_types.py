"""Type aliases shared by every layer: JSON values. Imports nothing of VenomQA.

``Json`` is a value as ``json.loads`` returns it and ``json.dumps`` writes it: request and
response bodies, the dictionaries of the ``to_dict()`` methods (the JSON report), the summaries
stores give from ``observe()``. Code reading one narrows it first (``isinstance(body, dict)``).
"""

from __future__ import annotations

from typing import TypeAlias

#: A JSON value: null, a boolean, a number, a string, an array or an object of JSON values.
Json: TypeAlias = bool | int | float | str | list["Json"] | dict[str, "Json"] | None
#: A JSON object.
JsonObject: TypeAlias = dict[str, Json]

__all__ = ["Json", "JsonObject"]
