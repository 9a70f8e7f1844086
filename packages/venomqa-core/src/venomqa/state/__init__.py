"""What a state *is*: an abstraction of the stores' content and the context, not their bytes.

Real APIs store values that differ on every run (timestamps, random ids, salted hashes, tokens),
so two runs of the same calls never produce byte-identical data. The explorer therefore keys
states by a normal form (``normal``) that leaves out *volatile* fields (``rules``): declared with
``ignore:``, recognised by their form (``clues``), or learned by comparing two runs of the same
calls field by field (``explain``).
"""

from venomqa.state.explain import Explanation, explain
from venomqa.state.normal import VOLATILE, NormalForm, Normalizer
from venomqa.state.rules import CONTEXT, VolatileField, VolatileRules
from venomqa.state.view import StorePart, WorldView

__all__ = [
    "CONTEXT",
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
