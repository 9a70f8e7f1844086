"""What a state *is*: an abstraction of the stores' content and the context, not their bytes.

Real APIs store values that differ on every run (timestamps, random ids, salted hashes, tokens),
so two runs of the same calls never produce byte-identical data. The explorer therefore keys
states by a normal form (``normal``) that leaves out *volatile* fields (``rules``): declared with
``ignore:``, recognised by their form (``clues``), or learned by comparing two runs of the same
calls field by field (``explain``). Names load on first use (listing plugins imports ``view``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.lazy import lazy_getattr

if TYPE_CHECKING:
    from venomqa.state.explain import Explanation, explain
    from venomqa.state.normal import GONE, VOLATILE, NormalForm, Normalizer
    from venomqa.state.rules import CONTEXT, VolatileField, VolatileRules
    from venomqa.state.view import StorePart, WorldView

__getattr__ = lazy_getattr(
    __name__,
    {
        "Explanation": "venomqa.state.explain",
        "explain": "venomqa.state.explain",
        "GONE": "venomqa.state.normal",
        "VOLATILE": "venomqa.state.normal",
        "NormalForm": "venomqa.state.normal",
        "Normalizer": "venomqa.state.normal",
        "CONTEXT": "venomqa.state.rules",
        "VolatileField": "venomqa.state.rules",
        "VolatileRules": "venomqa.state.rules",
        "StorePart": "venomqa.state.view",
        "WorldView": "venomqa.state.view",
    },
)

__all__ = [
    "CONTEXT",
    "GONE",
    "VOLATILE",
    "Explanation",
    "NormalForm",
    "Normalizer",
    "StorePart",
    "VolatileField",
    "VolatileRules",
    "WorldView",
    "explain",
]
